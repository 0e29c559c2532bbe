"""Faults in the middle of an import: nothing half-written, and the job can be run again.

On PostgreSQL a real worker process is killed (SIGKILL) in the middle of its import transaction.
Everywhere, an error raised inside the transaction at a given batch leaves no row, and a worker
whose attempt was superseded (requeued after a timeout) writes nothing.
"""

import time
from pathlib import Path

import pytest

from ancrage.diagnostic import jobs
from ancrage.diagnostic.models import ImportJob
from ancrage.frequentation import readers
from ancrage.frequentation import services as frequentation_services
from ancrage.frequentation.comptages import profils_of
from ancrage.frequentation.models import FrequentationImport, Profils, Usager
from ancrage.organisations.enums import Role
from tests.dossiers.conftest import committed_db  # noqa: F401  (PostgreSQL, committed rows)
from tests.organisations.factories import MembershipFactory
from tests.worker_faults import kill_worker_midway

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROWS = 40
USAGERS = (
    ";".join(readers.USAGERS_COLUMNS)
    + "\n"
    + "".join(f"u{k:03};19{50 + k % 40};;F;;;352380101;35238;2024-01-02;\n" for k in range(ROWS))
).encode()

WORKER = """
from ancrage.diagnostic import jobs
from ancrage.frequentation import services
services.BATCH_SIZE = 5
real, calls = services._write_rows, []
def write_rows(*args, **kwargs):
    result = real(*args, **kwargs)
    calls.append(1)
    if len(calls) == 3:  # in the middle of the import transaction
        halt()
    return result
services._write_rows = write_rows
jobs.run(int(sys.argv[1]))
"""


def _ready_job(epn, user) -> ImportJob:
    population = (FIXTURES / "insee" / "rennes-iris-2016.csv").read_bytes()
    job = jobs.job_submit(
        acting_user=user, structure=epn, kind="population", fichier="p.csv", contenu=population
    )
    jobs.job_confirm(acting_user=user, job=job)
    job = jobs.job_submit(
        acting_user=user,
        structure=epn,
        kind="frequentation",
        fichier="u.csv",
        contenu=USAGERS,
        options={"format": "ancrage"},
    )
    job.refresh_from_db()
    assert job.state == ImportJob.State.PRET, job.erreurs
    return job


@pytest.fixture
def staff(db):
    membership = MembershipFactory(role=Role.RESPONSABLE)
    return membership.user, membership.structure


def test_a_worker_killed_mid_import_leaves_nothing_and_the_job_is_retried(
    committed_db,  # noqa: F811
    tmp_path,
    settings,
):
    membership = MembershipFactory(role=Role.RESPONSABLE)
    user, epn = membership.user, membership.structure
    job = _ready_job(epn, user)
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.IMPORT_DEMANDE)
    kill_worker_midway(WORKER, job.pk, tmp_path, what="the import")

    job.refresh_from_db()
    assert job.state == ImportJob.State.IMPORT and job.attempt == 2  # analysed, then stuck "en cours"
    assert (FrequentationImport.objects.count(), Usager.objects.count(), Profils.objects.count()) == (0, 0, 0)
    assert not jobs.is_stale(job)
    assert jobs.job_retry(acting_user=user, job=job) is False  # a live-looking job is not rerun

    settings.ANCRAGE_JOBS_TIMEOUT = 0  # its heartbeat is now too old: the worker is deemed dead
    job.refresh_from_db()
    assert jobs.is_stale(job)
    for _ in range(100):  # the server releases the dead backend's row lock when it notices the kill
        if jobs.job_retry(acting_user=user, job=job):
            break
        time.sleep(0.1)
    job.refresh_from_db()
    assert job.state == ImportJob.State.TERMINE and job.attempt == 3
    assert FrequentationImport.objects.count() == 1 and Usager.objects.count() == ROWS
    assert profils_of(FrequentationImport.objects.get()).records == ROWS


@pytest.mark.parametrize("failing_batch", [1, 2, 5, 8])
def test_an_error_at_any_batch_of_the_transaction_leaves_no_row(staff, monkeypatch, failing_batch):
    user, epn = staff
    job = _ready_job(epn, user)
    monkeypatch.setattr(frequentation_services, "BATCH_SIZE", 5)
    real, calls = frequentation_services._write_rows, []

    def write_rows(*args, **kwargs):
        calls.append(1)
        if len(calls) == failing_batch:
            raise RuntimeError("panne simulée")
        return real(*args, **kwargs)

    monkeypatch.setattr(frequentation_services, "_write_rows", write_rows)
    jobs.job_confirm(acting_user=user, job=job)
    job.refresh_from_db()
    assert job.state == ImportJob.State.REFUSE and "rien n'a été enregistré" in job.erreurs[0]
    assert (FrequentationImport.objects.count(), Usager.objects.count(), Profils.objects.count()) == (0, 0, 0)


def test_a_superseded_attempt_writes_nothing(staff, settings):
    user, epn = staff
    job = _ready_job(epn, user)
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.IMPORT_DEMANDE)
    assert jobs.QUEUE.claim(job.pk, jobs.APPLY)
    slow = ImportJob.objects.get(pk=job.pk)  # the first worker, slow, not dead
    settings.ANCRAGE_JOBS_TIMEOUT = 0
    assert jobs.recover_stale() == 1  # requeued meanwhile, and run by another worker
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == ImportJob.State.TERMINE and job.attempt == slow.attempt + 1
    jobs._apply(slow)  # the slow worker wakes up: its attempt is over
    assert FrequentationImport.objects.count() == 1 and Usager.objects.count() == ROWS
    job.refresh_from_db()
    assert job.state == ImportJob.State.TERMINE
