"""« Courriels de la démonstration »: the demo's e-mails go to the console and to a page that
lists them (recipient, subject, date, body, attachments); the page exists in the demo only, and
production refuses the backend that feeds it."""

import os
import subprocess
import sys

import pytest
from django.core import mail as django_mail

from ancrage.core import mail
from ancrage.demo.models import CourrielDemo
from tests.test_settings import PROD_ENV

STORING = "ancrage.demo.mail.ConsoleAndStoreBackend"


@pytest.fixture
def demo_mail(settings):
    settings.ANCRAGE_DEMO = True
    settings.EMAIL_BACKEND = STORING


def test_a_message_goes_to_the_console_and_to_the_page_with_its_attachment(db, client, demo_mail, capsys):
    message = mail.message(
        to="partenaire@demo.ancrage.fr",
        subject="Votre code de signature",
        template="conventions/emails/demande.txt",
        context={
            "destinataire": type("U", (), {"get_full_name": "Awa", "email": "x"})(),
            "convention": {"titre": "Convention test", "reference": "CONV-1", "structure": {"nom": "EPN"}},
            "etape": {"kind": "signature", "label": "Signature", "mode": "un"},
            "relance": False,
            "url": "http://127.0.0.1:8000/conventions/1/",
        },
        attachments=[("convention-signee.pdf", b"%PDF-1.7 demo", "application/pdf")],
    )
    assert mail.send([message]) == 1
    assert "Votre code de signature" in capsys.readouterr().out  # the console, as before
    stored = CourrielDemo.objects.get()
    assert stored.destinataires_liste == ["partenaire@demo.ancrage.fr"]

    page = client.get("/demo/courriels/")
    html = page.content.decode()
    assert page.status_code == 200
    for text in (
        "partenaire@demo.ancrage.fr",
        "Votre code de signature",
        "http://127.0.0.1:8000/conventions/1/",
    ):
        assert text in html
    assert "convention-signee.pdf" in html
    piece = stored.pieces.get()
    download = client.get(f"/demo/courriels/{stored.pk}/pieces/{piece.pk}/")
    assert download.content == b"%PDF-1.7 demo" and download["Content-Type"] == "application/pdf"
    assert client.get("/demo/courriels/?destinataire=elu@").content.decode().count('ancrage-courriel"') == 0


@pytest.mark.parametrize(
    "demo, backend", [(False, STORING), (True, "django.core.mail.backends.locmem.EmailBackend")]
)
def test_the_page_exists_in_the_demo_only(db, client, settings, demo, backend):
    settings.ANCRAGE_DEMO, settings.EMAIL_BACKEND = demo, backend
    assert client.get("/demo/courriels/").status_code == 404
    assert client.get("/demo/courriels/1/pieces/1/").status_code == 404


def test_production_never_uses_the_storing_backend():
    code = "import django; django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND)"
    default = subprocess.run(
        [sys.executable, "-c", code], env=PROD_ENV, capture_output=True, text=True, timeout=60
    )
    assert default.returncode == 0, default.stderr
    assert "ancrage.demo" not in default.stdout
    forced = subprocess.run(
        [sys.executable, "-c", code],
        env={**PROD_ENV, "EMAIL_BACKEND": STORING},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert forced.returncode != 0 and "réservé à la démonstration" in forced.stderr


def test_the_test_and_base_settings_do_not_store_either(settings):
    from ancrage.config.settings import base

    assert "ancrage.demo" not in base.EMAIL_BACKEND
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"
    assert isinstance(django_mail.get_connection(), django_mail.backends.locmem.EmailBackend)
    assert os.environ.get("EMAIL_BACKEND", "") != STORING
