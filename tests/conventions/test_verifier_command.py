"""`ancrage verifier FICHIER.pdf`: a signed convention verifies; one changed byte does not."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ancrage.conventions.platform import platform_certificate
from ancrage.conventions.signature import Signatory, sign_pdf


@pytest.fixture
def signed_pdf(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    from ancrage.conventions.documents import generate_pdf
    from tests.conventions.conftest import make_content

    pdf = generate_pdf("partenariat_generique", make_content())
    signed = sign_pdf(
        pdf.content,
        [Signatory("Loïc Tanguy", "Élu", "Rennes Métropole", dt.date(2026, 11, 29))],
        **platform_certificate().signer_kwargs(),
    )
    path = tmp_path / "convention.pdf"
    path.write_bytes(signed.content)
    return path, signed.sha256


@pytest.mark.django_db  # the report says whether this Ancrage knows the convention
def test_a_signed_convention_verifies(signed_pdf, capsys):
    path, sha256 = signed_pdf
    call_command("verifier", str(path), "--sha256", sha256)
    assert "Résultat : VALIDE" in capsys.readouterr().out


@pytest.mark.django_db
def test_one_changed_byte_fails_verification(signed_pdf, capsys):
    path, _ = signed_pdf
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="pas valide"):
        call_command("verifier", str(path))
    assert "NON VALIDE" in capsys.readouterr().out


def test_the_development_certificate_is_created_once(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    first = platform_certificate()
    second = platform_certificate()
    assert first.is_development and first.pkcs12_path == second.pkcs12_path
    assert first.cert_path.read_bytes() == second.cert_path.read_bytes()


def test_production_refuses_to_create_a_self_signed_certificate(tmp_path, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.VAR_DIR = tmp_path
    settings.ANCRAGE_ALLOW_DEV_CERTIFICATE = False
    with pytest.raises(ImproperlyConfigured, match="auto-signé"):
        platform_certificate()
