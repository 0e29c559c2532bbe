"""System checks that stop a production start which would answer 500: sealing certificate, static files."""

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_pem_x509_certificate
from django.contrib.staticfiles import finders
from django.core.checks import Error, Tags, run_checks

from ancrage.conventions.checks import check_sealing_certificate
from ancrage.conventions.signature import create_dev_certificate
from ancrage.www.checks import check_static_manifest, template_static_names

MANIFEST_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return create_dev_certificate(tmp_path_factory.mktemp("certificat"), password="pilote", key_size=2048)


@pytest.fixture
def production(settings, certificate):
    settings.ANCRAGE_ALLOW_DEV_CERTIFICATE = False
    settings.ANCRAGE_SIGNATURE_PKCS12 = str(certificate.pkcs12_path)
    settings.ANCRAGE_SIGNATURE_PKCS12_PASSWORD = "pilote"
    settings.ANCRAGE_SIGNATURE_CERT = str(certificate.cert_path)
    return settings


def registered_ids(**kwargs):
    kwargs["include_deployment_checks"] = kwargs.pop("deploy")
    return {message.id for message in run_checks(**kwargs)}


def ids(errors):
    assert all(isinstance(error, Error) for error in errors)
    return [error.id for error in errors]


def test_the_documented_certificate_passes(production):
    assert check_sealing_certificate() == []


def test_development_needs_no_certificate(settings):
    settings.ANCRAGE_SIGNATURE_PKCS12 = ""
    settings.ANCRAGE_ALLOW_DEV_CERTIFICATE = True
    assert check_sealing_certificate() == []


def test_production_without_the_certificate_variables_fails_check_and_check_deploy(production):
    production.ANCRAGE_SIGNATURE_PKCS12 = ""
    production.ANCRAGE_SIGNATURE_PKCS12_PASSWORD = ""
    production.ANCRAGE_SIGNATURE_CERT = ""
    assert ids(check_sealing_certificate()) == ["ancrage.E001"]
    # Registered: `check` (and so `migrate`) and `check --deploy` report it.
    for deploy in (False, True):
        assert "ancrage.E001" in registered_ids(deploy=deploy)


def test_a_missing_pem_certificate_fails(production):
    production.ANCRAGE_SIGNATURE_CERT = ""
    assert ids(check_sealing_certificate()) == ["ancrage.E002"]


def test_an_unreadable_pem_certificate_fails(production, tmp_path):
    (tmp_path / "cert.pem").write_text("pas un certificat")
    production.ANCRAGE_SIGNATURE_CERT = str(tmp_path / "cert.pem")
    assert ids(check_sealing_certificate()) == ["ancrage.E003"]


def test_a_missing_pkcs12_file_fails(production, tmp_path):
    production.ANCRAGE_SIGNATURE_PKCS12 = str(tmp_path / "absent.p12")
    assert ids(check_sealing_certificate()) == ["ancrage.E004"]


def test_a_wrong_password_fails(production):
    production.ANCRAGE_SIGNATURE_PKCS12_PASSWORD = "erroné"
    assert ids(check_sealing_certificate()) == ["ancrage.E005"]


def test_a_pkcs12_without_its_key_fails(production, certificate, tmp_path):
    cert = load_pem_x509_certificate(certificate.cert_path.read_bytes())
    p12 = pkcs12.serialize_key_and_certificates(
        b"sans-cle", None, None, [cert], serialization.BestAvailableEncryption(b"pilote")
    )
    (tmp_path / "sans-cle.p12").write_bytes(p12)
    production.ANCRAGE_SIGNATURE_PKCS12 = str(tmp_path / "sans-cle.p12")
    assert ids(check_sealing_certificate()) == ["ancrage.E006"]


def test_the_stylesheet_belongs_to_an_app_so_collectstatic_copies_it(settings):
    settings.STATICFILES_DIRS = []
    assert "ancrage/ancrage.css" in template_static_names()
    assert finders.find("ancrage/ancrage.css")


def write_manifest(root, names):
    root.mkdir(parents=True, exist_ok=True)
    paths = {name: name.replace(".", ".0123456789ab.", 1) for name in names}
    (root / "staticfiles.json").write_text(json.dumps({"paths": paths, "version": "1.1"}))


def test_a_missing_manifest_fails_check_deploy(settings, tmp_path):
    settings.STORAGES = MANIFEST_STORAGES
    settings.STATIC_ROOT = tmp_path / "static"
    assert ids(check_static_manifest()) == ["ancrage.E010"]
    assert "ancrage.E010" in registered_ids(deploy=True)


def test_a_manifest_without_the_stylesheet_fails_check_deploy(settings, tmp_path):
    settings.STORAGES = MANIFEST_STORAGES
    settings.STATIC_ROOT = tmp_path / "static"
    write_manifest(settings.STATIC_ROOT, template_static_names() - {"ancrage/ancrage.css"})
    [error] = check_static_manifest()
    assert error.id == "ancrage.E012" and "ancrage/ancrage.css" in error.msg
    assert "ancrage.E012" in registered_ids(deploy=True)
    write_manifest(settings.STATIC_ROOT, template_static_names())
    assert check_static_manifest() == []


def test_the_manifest_is_not_checked_before_collectstatic_writes_it(settings, tmp_path):
    settings.STORAGES = MANIFEST_STORAGES
    settings.STATIC_ROOT = tmp_path / "static"
    # Only `check --deploy`: `migrate` and `collectstatic` (the staticfiles checks) run before it exists.
    assert "ancrage.E010" not in registered_ids(deploy=False)
    assert "ancrage.E010" not in registered_ids(deploy=False, tags=[Tags.staticfiles])
    assert "ancrage.E010" in registered_ids(deploy=True, tags=[Tags.staticfiles])
