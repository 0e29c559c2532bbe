"""Directory imports are bounded as every import (``ancrage.core.jobs``): the upload is checked at
the page, each step has a CPU budget, an EPN has at most ``ANCRAGE_IMPORT_MAX_ACTIVE`` imports
waiting or running; and the review's decisions on doubtful pairs, posted from the job's page."""

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ancrage.diagnostic.models import ImportJob
from ancrage.partenaires import jobs, services
from ancrage.partenaires.models import ImportAnnuaire, Partenaire
from tests.partenaires.factories import epn_with_animateur

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "partenaires"
NC = (FIXTURES / "nouvelle-caledonie-90-lieux.json").read_bytes()
CHARENTE = (FIXTURES / "charente-meme-siret.json").read_bytes()
REFUSED = "Cet EPN a déjà 2 imports en attente ou en cours"

pytestmark = pytest.mark.django_db


@pytest.fixture
def animateur(client):
    epn, user = epn_with_animateur()
    client.force_login(user)
    return epn


def _upload(client, epn, data=NC, name="nc.json"):
    return client.post(
        reverse("partenaires:import"), {"epn": epn.pk, "fichier": SimpleUploadedFile(name, data)}
    )


def _workbook() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["nom", "commune"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- At most ANCRAGE_IMPORT_MAX_ACTIVE imports per EPN ---------------------------------------------


def test_a_third_waiting_directory_import_is_refused_another_epn_still_imports(client, settings, monkeypatch):
    animateur, user = epn_with_animateur()
    client.force_login(user)
    assert settings.ANCRAGE_IMPORT_MAX_ACTIVE == 2
    monkeypatch.setattr(jobs.QUEUE, "schedule", lambda pk: None)  # they wait for a worker
    for _ in range(2):
        assert _upload(client, animateur).status_code == 302
    response = _upload(client, animateur)
    assert response.status_code == 429
    html = response.content.decode()
    assert REFUSED in html and "attendez que l’un d’eux se termine" in html
    assert ImportAnnuaire.objects.filter(structure=animateur).count() == 2
    # Another EPN is not held up.
    other, other_user = epn_with_animateur()
    client.force_login(other_user)
    assert _upload(client, other).status_code == 302
    # Once one of them is done, there is room again.
    ImportAnnuaire.objects.filter(structure=animateur).update(state=ImportAnnuaire.State.TERMINE)
    client.force_login(user)
    assert _upload(client, animateur).status_code == 302


def test_the_diagnostic_s_imports_and_the_directory_s_count_together(client, animateur, monkeypatch):
    monkeypatch.setattr(jobs.QUEUE, "schedule", lambda pk: None)
    ImportJob.objects.create(structure=animateur, kind="population", fichier="p.csv")  # waiting
    assert _upload(client, animateur).status_code == 302
    assert _upload(client, animateur).status_code == 429


def test_confirming_counts_too_and_the_page_says_why(client, animateur, monkeypatch):
    assert _upload(client, animateur).status_code == 302
    ready = ImportAnnuaire.objects.get()
    assert ready.state == ImportAnnuaire.State.PRET
    monkeypatch.setattr(jobs.QUEUE, "schedule", lambda pk: None)
    for _ in range(2):
        assert _upload(client, animateur).status_code == 302
    response = client.post(ready.get_absolute_url(), {"action": "confirmer"}, follow=True)
    assert REFUSED in response.content.decode()
    ready.refresh_from_db()
    assert ready.state == ImportAnnuaire.State.PRET
    assert not Partenaire.objects.of_epn(animateur).exists()


# --- The CPU budget of each step ------------------------------------------------------------------


def test_an_analysis_past_its_cpu_time_fails_in_french(client, animateur, settings):
    settings.ANCRAGE_IMPORT_CPU_SECONDS = 1e-6
    assert _upload(client, animateur).status_code == 302
    batch = ImportAnnuaire.objects.get()
    assert batch.state == ImportAnnuaire.State.REFUSE
    assert "secondes de calcul" in batch.erreurs[0] and "Fichier « nc.json »" in batch.erreurs[0]
    assert bytes(batch.contenu) == b""  # the file is not kept
    assert "secondes de calcul" in client.get(batch.get_absolute_url()).content.decode()
    assert not Partenaire.objects.of_epn(animateur).exists()


def test_the_apply_step_past_its_cpu_time_fails_and_writes_nothing(client, animateur, settings):
    assert _upload(client, animateur).status_code == 302
    batch = ImportAnnuaire.objects.get()
    assert batch.state == ImportAnnuaire.State.PRET, batch.erreurs
    settings.ANCRAGE_IMPORT_CPU_SECONDS = 1e-6
    client.post(batch.get_absolute_url(), {"action": "confirmer"})
    batch.refresh_from_db()
    assert batch.state == ImportAnnuaire.State.REFUSE
    assert "secondes de calcul" in batch.erreurs[0] and "rien n’a été enregistré" in batch.erreurs[0]
    assert not Partenaire.objects.of_epn(animateur).exists()


# --- The upload checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("annuaire.csv", _workbook(), "n’est pas du type attendu (CSV, JSON) : classeur Excel (.xlsx)"),
        ("annuaire.json", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 200, "classeur Excel 97-2003"),
    ],
)
def test_a_file_of_the_wrong_type_is_refused_at_the_page(client, animateur, name, data, expected):
    response = _upload(client, animateur, data, name)
    assert response.status_code == 400
    html = response.content.decode()
    assert f"Fichier « {name} »" in html and expected in html
    assert not ImportAnnuaire.objects.exists()


def test_a_zip_bomb_is_refused_at_the_page_before_any_parser(client, animateur):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lieux.json", b"[" + b" " * (50 << 20) + b"]")
    response = _upload(client, animateur, out.getvalue(), "lieux.json")
    assert response.status_code == 400
    assert "n’est pas du type attendu" in response.content.decode()
    assert not ImportAnnuaire.objects.exists()


def test_a_file_kept_otherwise_is_checked_by_the_job_too(animateur):
    batch = ImportAnnuaire.objects.create(
        structure=animateur, nom_fichier="annuaire.csv", format="csv", contenu=_workbook()
    )
    jobs.run(batch.pk)
    batch.refresh_from_db()
    assert batch.state == ImportAnnuaire.State.REFUSE
    assert batch.erreurs[0].startswith("Fichier « annuaire.csv » : le contenu du fichier n’est pas du type")


# --- The review's decisions on doubtful pairs, through the page -------------------------------------


def _rives(batch) -> tuple[int, dict]:
    """The radio group number and the entry of the doubtful pair « Rives de charente »."""
    for number, item in enumerate(batch.resultat["douteux"], start=1):
        if item["nom"] == "Rives de charente":
            return number, item
    raise AssertionError(batch.resultat["douteux"])


@pytest.mark.parametrize("decision", list(services.DECISIONS))
def test_each_decision_on_a_doubtful_pair_gives_the_expected_directory(client, animateur, decision):
    assert _upload(client, animateur, CHARENTE, "charente.json").status_code == 302
    batch = ImportAnnuaire.objects.get()
    number, rives = _rives(batch)
    html = client.get(batch.get_absolute_url()).content.decode()
    for label in ("Laisser de côté", "Importer comme un lieu distinct", "Fusionner"):
        assert label in html
    assert f'name="douteux-{number}"' in html
    planned = len(batch.resultat["a_creer"])
    client.post(batch.get_absolute_url(), {"action": "confirmer", f"douteux-{number}": decision})
    batch.refresh_from_db()
    assert batch.state == ImportAnnuaire.State.TERMINE, batch.erreurs
    entries = Partenaire.objects.of_epn(animateur)
    other = rives["avec"]["nom"]
    assert entries.filter(structure__nom=other).count() == 1
    merged_ids = {item["id"] for item in batch.resultat["fusions"]}
    (kept,) = [item for item in batch.resultat["douteux"] if item["id"] == rives["id"]]
    assert kept["decision"] == decision
    if decision == services.DECISION_DISTINCT:  # one entry more, of its own
        assert entries.count() == planned + 1
        assert entries.filter(structure__nom="Rives de charente").exists()
        assert rives["id"] not in merged_ids
    elif decision == services.DECISION_FUSIONNER:  # into the other place: no entry more
        assert entries.count() == planned
        assert not entries.filter(structure__nom="Rives de charente").exists()
        assert rives["id"] in merged_ids
    else:  # left out: neither an entry nor a merge
        assert entries.count() == planned
        assert not entries.filter(structure__nom="Rives de charente").exists()
        assert rives["id"] not in merged_ids
