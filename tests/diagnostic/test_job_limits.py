"""Imports are bounded: CPU time per step (measured in the job's thread at chunk boundaries), and
how many imports an EPN may have waiting or running at once."""

import io
from pathlib import Path

import openpyxl
import pytest
from django.urls import reverse

from ancrage.core.jobs import CpuBudget, CpuTimeExceeded
from ancrage.diagnostic import jobs
from ancrage.diagnostic.models import ImportJob
from ancrage.organisations.enums import Role
from ancrage.territoire import insee
from ancrage.territoire.models import PopulationImport
from tests.organisations.factories import MembershipFactory, StructureFactory

FIXTURES = Path(__file__).parents[1] / "fixtures"
POPULATION = FIXTURES / "insee" / "rennes-iris-2016.csv"
USAGERS = FIXTURES / "frequentation" / "correct-files" / "usagers.csv"


def _workbook(rows: int) -> bytes:
    workbook = openpyxl.Workbook()
    for n in range(rows):
        workbook.active.append([f"ligne {n}", n])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_the_budget_counts_this_thread_cpu_time():
    budget = CpuBudget(0.05)
    budget.check()  # nothing used yet
    with pytest.raises(CpuTimeExceeded):
        while True:
            sum(range(10_000))
            budget.check()
    assert budget.used() > 0.05
    CpuBudget(0).check()  # 0: no limit


def test_a_workbook_is_stopped_between_rows_not_after_the_whole_read():
    ticks = []

    def tick():
        ticks.append(1)
        if len(ticks) == 2:
            raise CpuTimeExceeded(1)

    with pytest.raises(CpuTimeExceeded):
        insee.spreadsheet_sheets(_workbook(5000), "xlsx", "f.xlsx", tick=tick)
    assert len(ticks) == 2  # stopped at the second boundary (row 2000 of 5000)
    # Without a tick, the same workbook reads as before.
    assert len(insee.spreadsheet_sheets(_workbook(5000), "xlsx", "f.xlsx")[0][1]) == 5000


@pytest.fixture
def animateur(db):
    membership = MembershipFactory(role=Role.ANIMATEUR)
    return membership.user, membership.structure


def _upload(client, structure, kind, data, name):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(reverse("diagnostic:import", args=[structure.pk, kind]), {"fichier": upload})


def test_an_import_past_its_cpu_time_is_refused_in_french(client, animateur, settings):
    user, epn = animateur
    client.force_login(user)
    settings.ANCRAGE_IMPORT_CPU_SECONDS = 1e-6
    _upload(client, epn, "population", _workbook(3000), "population.xlsx")
    job = ImportJob.objects.latest("id")
    assert job.state == ImportJob.State.REFUSE
    assert "secondes de calcul" in job.erreurs[0] and "population.xlsx" in job.erreurs[0]
    page = client.get(job.get_absolute_url()).content.decode()
    assert "secondes de calcul" in page


def test_the_apply_step_past_its_cpu_time_writes_nothing(client, animateur, settings):
    user, epn = animateur
    client.force_login(user)
    _upload(client, epn, "population", POPULATION.read_bytes(), POPULATION.name)
    job = ImportJob.objects.latest("id")
    assert job.state == ImportJob.State.PRET, job.erreurs
    settings.ANCRAGE_IMPORT_CPU_SECONDS = 1e-6
    client.post(job.get_absolute_url(), {"action": "confirmer"})
    job.refresh_from_db()
    assert job.state == ImportJob.State.REFUSE and "secondes de calcul" in job.erreurs[0]
    assert not PopulationImport.objects.exists()


def test_a_streamed_usagers_file_is_stopped_at_a_chunk(client, animateur, settings):
    user, epn = animateur
    client.force_login(user)
    _upload(client, epn, "population", POPULATION.read_bytes(), POPULATION.name)
    client.post(ImportJob.objects.latest("id").get_absolute_url(), {"action": "confirmer"})
    assert PopulationImport.objects.exists()
    settings.ANCRAGE_IMPORT_CPU_SECONDS = 1e-6
    _upload(client, epn, "frequentation", USAGERS.read_bytes(), USAGERS.name)
    job = ImportJob.objects.latest("id")
    assert job.state == ImportJob.State.REFUSE and "secondes de calcul" in job.erreurs[0]


def test_a_third_waiting_import_of_an_epn_is_refused(client, animateur, settings, monkeypatch):
    user, epn = animateur
    client.force_login(user)
    assert settings.ANCRAGE_IMPORT_MAX_ACTIVE == 2
    monkeypatch.setattr(jobs.QUEUE, "schedule", lambda pk: None)  # they wait for a worker
    for _ in range(2):
        assert _upload(client, epn, "population", POPULATION.read_bytes(), POPULATION.name).status_code == 302
    response = _upload(client, epn, "population", POPULATION.read_bytes(), POPULATION.name)
    assert response.status_code == 429
    assert "Cet EPN a déjà 2 imports en attente ou en cours" in response.content.decode()
    assert ImportJob.objects.filter(structure=epn).count() == 2
    # Another EPN is not held up.
    other = StructureFactory()
    MembershipFactory(user=user, structure=other, role=Role.ANIMATEUR)
    assert _upload(client, other, "population", POPULATION.read_bytes(), POPULATION.name).status_code == 302
    # Once one of them is done, there is room again.
    ImportJob.objects.filter(structure=epn).update(state=ImportJob.State.TERMINE)
    assert _upload(client, epn, "population", POPULATION.read_bytes(), POPULATION.name).status_code == 302


def test_confirming_counts_too(animateur, monkeypatch):
    _, epn = animateur
    ready = ImportJob.objects.create(
        structure=epn, kind="population", fichier="p.csv", state=ImportJob.State.PRET
    )
    monkeypatch.setattr(jobs.QUEUE, "schedule", lambda pk: None)
    for _ in range(2):
        jobs.job_submit(acting_user=None, structure=epn, kind="population", fichier="p.csv", contenu=b"x")
    with pytest.raises(jobs.TooManyImports):
        jobs.job_confirm(acting_user=None, job=ready)
    ready.refresh_from_db()
    assert ready.state == ImportJob.State.PRET
