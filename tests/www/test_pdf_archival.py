"""Every PDF the demo serves is archival and accessible: PDF/A-3b, tagged, PDF/UA-1, fonts embedded.

Read as a person's tools read them: poppler's ``pdffonts`` (every font "emb yes") and ``pdfinfo``
("Tagged: yes", "PDF subtype: PDF/A-3b"), and the XMP packet (``pdfaid``, ``pdfuaid``). Each PDF
is downloaded once, through its page, as the account that would download it.
"""

import datetime as dt

import pytest
from django.urls import reverse

from ancrage.conventions.models import Convention, ConventionVersion
from ancrage.diagnostic.models import Diagnostic
from ancrage.dossiers.models import Dossier
from tests.demo_accounts import blosne, login
from tests.pdf_checks import embedded_fonts, figures_without_alt, pdfinfo, xmp_identification

pytestmark = pytest.mark.poppler


def _diagnostic():
    # The diagnostic the other page tests read: its report has the charts and the map.
    diagnostic = Diagnostic.objects.get(titre__startswith="Diagnostic 2024 de l’EPN du Blosne")
    return reverse("diagnostic:pdf", args=[diagnostic.pk])


def _dossier():
    return reverse("dossiers:pdf", args=[Dossier.objects.filter(structure=blosne()).first().pk])


def _attestation():
    decided = Dossier.objects.filter(structure=blosne(), etat__in=["accepte", "refuse", "sans_suite"])
    return reverse("dossiers:attestation", args=[decided.first().pk])


def _bilan():
    return reverse("suivi:bilan", args=[blosne().pk]) + f"?annee={dt.date.today().year}"


def _convention_version():
    version = ConventionVersion.objects.filter(convention__structure=blosne()).exclude(pdf="").first()
    return reverse("conventions:download", kwargs={"pk": version.pk, "fmt": "pdf"})


def _convention_signee():
    signed = Convention.objects.filter(structure=blosne()).exclude(pdf_signe="").first()
    return reverse("conventions:signed", args=[signed.pk])


def _bilan_reseau():
    return reverse("reseau:bilan") + f"?annee={dt.date.today().year}"


DOCUMENTS = {
    "diagnostic": (_diagnostic, "animateur"),
    "dossier": (_dossier, "animateur"),
    "attestation": (_attestation, "animateur"),
    "bilan": (_bilan, "animateur"),
    "bilan du réseau": (_bilan_reseau, "coordinateur"),
    "convention": (_convention_version, "animateur"),
    "convention signée": (_convention_signee, "animateur"),
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_each_pdf_of_the_demo_is_pdfa_tagged_with_its_fonts_embedded(client, demo, name, tmp_path):
    url, account = DOCUMENTS[name]
    login(client, account)
    response = client.get(url())
    assert response.status_code == 200, name
    pdf = b"".join(response.streaming_content) if response.streaming else response.content
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)

    fonts = embedded_fonts(path)
    assert fonts, f"{name}: no font at all"
    assert [font for font, embedded in fonts if not embedded] == [], name

    info = pdfinfo(path)
    assert info["Tagged"] == "yes", name
    assert info["PDF subtype"] == "PDF/A-3b", name
    assert info["Title"], name
    assert xmp_identification(pdf) == {"pdfaid:part": "3", "pdfaid:conformance": "B", "pdfuaid:part": "1"}
    assert figures_without_alt(pdf) == [], f"{name}: a chart or an image has no alternate text"
