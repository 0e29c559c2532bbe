"""The public verification page (/verifier/) and `ancrage verifier`: one report, rendered twice.

One convention is sealed for the module (with the platform certificate the settings name); each
test posts it, or a changed copy, as a visitor who is not logged in.
"""

import datetime as dt
import html
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from ancrage.conventions.documents import generate_pdf
from ancrage.conventions.models import Convention
from ancrage.conventions.signature import Signatory, create_dev_certificate, sign_pdf
from tests.conventions.conftest import make_content
from tests.organisations.factories import StructureFactory

pytestmark = pytest.mark.django_db

URL = "/verifier/"
SIGNATORIES = [
    Signatory("Yann Morvan", "Responsable de l'EPN", "EPN des Glycines", dt.datetime(2026, 11, 28, 9, 15)),
    Signatory("Nguyễn Thị Ánh", "Présidente", "Association Sông Hồng", dt.datetime(2026, 11, 29, 14, 2)),
    Signatory("Loïc Tanguy", "Vice-président", "Rennes Métropole", dt.datetime(2026, 11, 30, 10, 5)),
]


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return create_dev_certificate(tmp_path_factory.mktemp("cert"), key_size=2048)


@pytest.fixture(scope="module")
def signed(cert):
    pdf = generate_pdf("partenariat_generique", make_content())
    return sign_pdf(
        pdf.content,
        SIGNATORIES,
        pkcs12_path=cert.pkcs12_path,
        pkcs12_password=cert.pkcs12_password,
        box=pdf.signature_box,
    )


@pytest.fixture(autouse=True)
def platform(settings, cert):
    settings.ANCRAGE_SIGNATURE_PKCS12 = str(cert.pkcs12_path)
    settings.ANCRAGE_SIGNATURE_PKCS12_PASSWORD = cert.pkcs12_password
    settings.ANCRAGE_SIGNATURE_CERT = str(cert.cert_path)
    cache.clear()  # the per-IP counter
    yield
    cache.clear()


def post(data: bytes, name: str = "convention.pdf", client=None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client or Client(enforce_csrf_checks=True)
    page = client.get(URL)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    return client.post(
        URL,
        {"fichier": SimpleUploadedFile(name, data, "application/pdf"), "csrfmiddlewaretoken": token},
    )


def report_text(response) -> str:
    """The page's report as `ancrage verifier` prints it: verdict, then each row."""
    body = response.content.decode()
    section = re.search(r'<section[^>]*id="rapport".*?</section>', body, re.S)[0]

    def text(fragment: str) -> str:
        return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", fragment).split()))

    ok = "fr-alert--success" in section
    lines = [
        f"Résultat : {'VALIDE' if ok else 'NON VALIDE'}",
        text(re.search(r'<p id="verdict">(.*?)</p>', section, re.S)[1]),
    ]
    for label, value in re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", section, re.S):
        items = re.findall(r"<li>(.*?)</li>", value, re.S)
        if items:
            lines.append(f"{text(label)} :")
            lines.extend(f"  - {text(item)}" for item in items)
        else:
            lines.append(f"{text(label)} : {text(value)}")
    return "\n".join(lines)


def test_the_page_is_open_to_anyone_and_linked_from_the_footer(client):
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Vérifier une convention signée</h1>" in body
    assert 'enctype="multipart/form-data"' in body and "csrfmiddlewaretoken" in body
    assert f'href="{reverse("verification:verifier")}" id="lien-verifier"' in body


def test_a_sealed_convention_reads_who_signed_when_and_that_it_is_intact(signed):
    response = post(signed.content)
    assert response.status_code == 200
    report = report_text(response)
    assert report.startswith("Résultat : VALIDE\nLe document est intact")
    assert "Intégrité : Aucune modification depuis le scellement." in report
    assert "  - Nguyễn Thị Ánh, Présidente (Association Sông Hồng), le 29/11/2026 à 14:02" in report
    assert "  - Yann Morvan, Responsable de l'EPN (EPN des Glycines), le 28/11/2026 à 09:15" in report
    assert "Horodatage : Aucun horodatage par une autorité tierce." in report
    assert "Niveau de signature : PAdES B-B" in report
    assert "c’est le certificat de cette plateforme Ancrage" in report
    assert "Convention connue : Non" in report
    assert f"Empreinte SHA-256 : {signed.sha256}" in report


def test_a_convention_of_this_ancrage_is_recognised_by_its_hash_and_nothing_more(signed):
    convention = Convention.objects.create(
        structure=StructureFactory(),
        titre="Titre confidentiel de la convention",
        objet="Objet confidentiel",
        reference="CONV-SECRET-42",
        date_debut=dt.date(2026, 1, 1),
        pdf_signe_sha256=signed.sha256,
    )
    body = post(signed.content).content.decode()
    assert "Convention connue : Oui" in report_text(post(signed.content))
    for secret in (
        convention.titre,
        convention.objet,
        convention.reference,
        f"/conventions/{convention.pk}/",
    ):
        assert secret not in body


def test_a_changed_byte_is_reported_and_the_signatories_are_not_shown(signed):
    data = bytearray(signed.content)
    data[len(data) // 3] ^= 0x01
    response = post(bytes(data))
    report = report_text(response)
    assert report.startswith("Résultat : NON VALIDE")
    assert "Nguyễn" not in report and "Yann Morvan" not in report


def test_an_appended_byte_is_reported(signed):
    report = report_text(post(signed.content + b"%% ajout\n"))
    assert report.startswith("Résultat : NON VALIDE")
    assert "ajoutées au fichier après la dernière signature" in report


def test_a_file_that_is_not_a_pdf_gets_a_french_message():
    response = post(b"PK\x03\x04 pas un pdf", name="convention.docx")
    assert response.status_code == 400
    body = html.unescape(response.content.decode())
    assert "« convention.docx » : le contenu du fichier n’est pas du type attendu (document PDF)" in body
    assert 'id="rapport"' not in body


def test_an_unsigned_pdf_tells_it_and_leaks_nothing(signed):
    import io

    from pyhanko.pdf_utils.writer import PdfFileWriter

    out = io.BytesIO()
    PdfFileWriter().write(out)  # a one-page PDF with no signature
    unsigned = out.getvalue()
    report = report_text(post(unsigned))
    assert report == (
        "Résultat : NON VALIDE\nLe document ne comporte aucune signature électronique.\n"
        f"Empreinte SHA-256 : {__import__('hashlib').sha256(unsigned).hexdigest()}"
    )


def test_a_file_over_the_limit_is_refused_before_it_is_read(settings):
    settings.ANCRAGE_VERIFIER_MAX_SIZE = 1024 * 1024
    response = post(b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 100_000))  # past the limit and its envelope
    assert response.status_code == 413
    assert "Fichier trop volumineux" in response.content.decode()


def test_a_file_over_the_limit_within_the_envelope_gets_the_form_message(settings):
    settings.ANCRAGE_VERIFIER_MAX_SIZE = 100_000
    response = post(b"%PDF-1.7\n" + b"0" * 120_000)  # under the body limit (+ 64 Kio), over the file's
    assert response.status_code == 400
    assert "au-delà de la limite de" in html.unescape(response.content.decode())


def test_other_anonymous_pages_still_refuse_large_bodies():
    response = Client().post("/compte/connexion/", {"x": "0" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_uploads_are_limited_per_ip_address(settings, signed):
    settings.ANCRAGE_VERIFIER_LIMIT = 2
    client = Client(enforce_csrf_checks=True)
    assert post(b"%PDF-1.7 x", client=client).status_code in (200, 400)
    assert post(b"%PDF-1.7 x", client=client).status_code in (200, 400)
    response = post(signed.content, client=client)
    assert response.status_code == 429
    assert "Trop de vérifications ont été demandées depuis votre adresse" in html.unescape(
        response.content.decode()
    )
    assert 'id="rapport"' not in response.content.decode()


def test_the_form_is_protected_against_cross_site_posts(signed):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = Client(enforce_csrf_checks=True).post(
        URL, {"fichier": SimpleUploadedFile("c.pdf", signed.content, "application/pdf")}
    )
    assert response.status_code == 403


def test_the_upload_is_never_written_to_disk(signed, settings, tmp_path, monkeypatch):
    import tempfile

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # past it, Django would write a temporary file
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert post(signed.content).status_code == 200
    assert list(tmp_path.iterdir()) == []


def test_the_command_prints_the_pages_report(signed, tmp_path, capsys):
    path = tmp_path / "convention.pdf"
    path.write_bytes(signed.content)
    call_command("verifier", str(path), "--sha256", signed.sha256)
    assert capsys.readouterr().out.strip() == report_text(post(signed.content))

    changed = bytearray(signed.content)
    changed[len(changed) // 3] ^= 0x01
    path.write_bytes(bytes(changed))
    with pytest.raises(CommandError, match="pas valide"):
        call_command("verifier", str(path))
    assert capsys.readouterr().out.strip() == report_text(post(bytes(changed)))


def test_a_changed_file_still_names_the_platforms_certificate(signed):
    data = bytearray(signed.content)
    data[len(data) // 3] ^= 0x01
    report = report_text(post(bytes(data)))
    assert "c’est le certificat de cette plateforme Ancrage" in report
    assert "n'est pas celui de la plateforme" not in report


def test_a_pdf_sealed_elsewhere_is_intact_but_not_this_platforms(signed, settings, tmp_path):
    other = create_dev_certificate(tmp_path, key_size=2048)
    settings.ANCRAGE_SIGNATURE_PKCS12 = str(other.pkcs12_path)
    settings.ANCRAGE_SIGNATURE_CERT = str(other.cert_path)
    report = report_text(post(signed.content))
    assert report.startswith(
        "Résultat : NON VALIDE\n"
        "Le document est intact, mais il n’a pas été scellé par cette plateforme Ancrage."
    )
    assert "ce n’est pas le certificat de cette plateforme Ancrage" in report
