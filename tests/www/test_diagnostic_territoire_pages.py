"""The import preview of a population base (territory, replacement, blanks), its withdrawal and
restoration, and the users not placed on the diagnostic's page and in its PDF."""

import io
from pathlib import Path

import pytest
from django.urls import reverse
from pypdf import PdfReader

from ancrage.diagnostic.models import Diagnostic, ImportJob
from ancrage.frequentation.models import FrequentationImport
from ancrage.organisations.enums import Role
from ancrage.territoire.models import PopulationImport
from tests.organisations.factories import CollectiviteFactory, MembershipFactory, StructureFactory

FIXTURES = Path(__file__).parents[1] / "fixtures"
RENNES = FIXTURES / "insee" / "rennes-iris-2016.csv"
ILLE_ET_VILAINE = FIXTURES / "insee" / "ille-et-vilaine-extrait-2016.csv"


@pytest.fixture
def blosne(db, client):
    """An animateur of an EPN of Rennes Métropole, logged in, and the EPN."""
    epn = StructureFactory(collectivite=CollectiviteFactory(rennes_metropole=True))
    membership = MembershipFactory(role=Role.ANIMATEUR, structure=epn)
    client.force_login(membership.user)
    return epn


def _analyse(client, epn, kind, data: bytes, name: str) -> ImportJob:
    upload = io.BytesIO(data)
    upload.name = name
    client.post(reverse("diagnostic:import", args=[epn.pk, kind]), {"fichier": upload, "format": "ancrage"})
    return ImportJob.objects.latest("id")


def _confirm(client, job):
    client.post(job.get_absolute_url(), {"action": "confirmer"})
    job.refresh_from_db()
    assert job.state == ImportJob.State.TERMINE, job.erreurs


def test_the_preview_lists_the_communes_outside_and_what_the_replacement_changes(client, blosne):
    _confirm(client, _analyse(client, blosne, "population", RENNES.read_bytes(), RENNES.name))
    job = _analyse(client, blosne, "population", ILLE_ET_VILAINE.read_bytes(), ILLE_ET_VILAINE.name)
    assert job.state == ImportJob.State.PRET, job.erreurs
    page = client.get(job.get_absolute_url()).content.decode()
    assert "3 communes hors de la collectivité ignorées" in page
    for commune in ("Saint-Malo", "Janzé", "Dinard"):
        assert commune in page
    assert "La base actuelle sera remplacée" in page and "rennes-iris-2016.csv" in page
    assert "2 communes ajoutées : Bruz (35047), Cesson-Sévigné (35051)" in page
    _confirm(client, job)
    epn_page = client.get(reverse("diagnostic:epn", args=[blosne.pk])).content.decode()
    assert "Bases remplacées ou retirées" in epn_page and "Rétablir" in epn_page

    rennes = PopulationImport.objects.get(fichier=RENNES.name)
    response = client.post(reverse("diagnostic:population", args=[rennes.pk]), {"action": "retablir"})
    assert response.status_code == 302
    assert list(PopulationImport.objects.actives().values_list("fichier", flat=True)) == [RENNES.name]


def test_a_resident_outside_the_territory_is_imported_and_reported_on_the_page_and_pdf(client, blosne):
    _confirm(client, _analyse(client, blosne, "population", RENNES.read_bytes(), RENNES.name))
    lines = [
        "identifiant;annee_naissance;tranche_age;sexe;csp;situation;code_iris;code_commune;premiere_visite"
    ]
    lines += [f"u{k};1960;;F;;;352380101;;" for k in range(30)]
    lines += ["saint-malo;1970;;H;;;352880101;;"]  # one resident outside the territory
    job = _analyse(client, blosne, "frequentation", ("\n".join(lines) + "\n").encode(), "usagers.csv")
    assert job.state == ImportJob.State.PRET, job.erreurs
    preview = client.get(job.get_absolute_url()).content.decode()
    assert "Usagers hors territoire ou non localisés" in preview and "1 : hors territoire" in preview
    _confirm(client, job)
    dataset = FrequentationImport.objects.get()
    assert dataset.nb_enregistrements == 31
    client.post(
        reverse("diagnostic:compute", args=[blosne.pk]), {"frequentation": dataset.pk, "niveau": "iris"}
    )
    diagnostic = Diagnostic.objects.get()
    assert diagnostic.resultat["non_places"]["hors_territoire"] == 1
    page = client.get(diagnostic.get_absolute_url()).content.decode()
    assert "1 personne hors des secteurs du diagnostic" in page
    assert "hors territoire : commune absente de la population importée" in page
    pdf = client.get(reverse("diagnostic:pdf", args=[diagnostic.pk]))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "hors des secteurs du diagnostic" in text and "hors territoire" in text


def test_a_table_de_passage_is_kept_from_the_sectors_page_and_read_by_the_diagnostic(client, blosne):
    """Synthetic table de passage (made up for the test: 352389999 stands for a later IRIS)."""
    _confirm(client, _analyse(client, blosne, "population", RENNES.read_bytes(), RENNES.name))
    url = reverse("diagnostic:secteurs", args=[blosne.pk])
    bad = io.BytesIO(b"code_iris;code_iris_population\n352389999;352380102\n352389999;352380103\n")
    bad.name = "passage.csv"
    page = client.post(url, {"action": "passage", "passage": bad}).content.decode()
    assert "Fichier « passage.csv », ligne 3, colonne code_iris_population" in page
    good = io.BytesIO(b"code_iris;code_iris_population\n352389999;352380102\n")
    good.name = "passage-synthetique.csv"
    assert client.post(url, {"action": "passage", "passage": good}).status_code == 302
    lines = [
        "identifiant;annee_naissance;tranche_age;sexe;csp;situation;code_iris;code_commune;premiere_visite"
    ]
    lines += [f"u{k};1960;;F;;;352389999;;" for k in range(4)] + ["v;1960;;F;;;352380101;;"]
    _confirm(client, _analyse(client, blosne, "frequentation", ("\n".join(lines) + "\n").encode(), "u.csv"))
    dataset = FrequentationImport.objects.get()
    client.post(
        reverse("diagnostic:compute", args=[blosne.pk]), {"frequentation": dataset.pk, "niveau": "iris"}
    )
    resultat = Diagnostic.objects.get().resultat
    assert resultat["iris_convertis"] == 4 and sum(resultat["non_places"].values()) == 0
