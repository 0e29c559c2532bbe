"""Faults in the middle of a document generation: no half version, no stray file, and a retry.

On PostgreSQL a real worker process is killed (SIGKILL) after it wrote the version's files,
inside its transaction. Everywhere, an error after the files were written removes them, and a
worker whose attempt was superseded (requeued after a timeout) writes nothing.
"""

import time
from pathlib import Path

import pytest
from django.urls import reverse

from ancrage.conventions import jobs, services
from ancrage.conventions.enums import JobState
from ancrage.conventions.models import ConventionVersion, GenerationJob
from tests.worker_faults import kill_worker_midway

WORKER = """
from ancrage.conventions import jobs
real = jobs.audit_record
def audit_record(*args, **kwargs):  # after the files and the version row, before the commit
    real(*args, **kwargs)
    halt()
jobs.audit_record = audit_record
jobs.run(int(sys.argv[1]))
"""


def _files(media: Path, convention) -> list[str]:
    folder = media / "conventions" / str(convention.pk)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _waiting_job(world, convention) -> GenerationJob:
    """A generation asked for, not run yet (as when the page's thread has not started)."""
    return GenerationJob.objects.create(convention=convention, created_by=world.animateur)


def test_a_worker_killed_mid_generation_leaves_no_version_and_the_retry_cleans_up(
    committed_db, media, settings, tmp_path
):
    from tests.conventions.world import build_world

    world = build_world()
    convention = services.convention_create_from_action(
        acting_user=world.animateur, action=world.action, date_debut=world.start
    )
    job = _waiting_job(world, convention)
    kill_worker_midway(WORKER, job.pk, tmp_path, env={"MEDIA_ROOT": str(media)}, what="the generation")

    job.refresh_from_db()
    assert job.state == JobState.EN_COURS and job.attempt == 1
    assert not ConventionVersion.objects.filter(convention=convention).exists()
    orphans = _files(media, convention)
    # The DOCX, the ODT and the PDF the dead attempt wrote before its commit.
    assert len(orphans) == 3 and all(f"-g{job.pk}." in name for name in orphans), orphans
    assert not jobs.is_stale(job)
    # Asking again while the job looks alive gives the same job back, untouched.
    again = services.convention_version_request(acting_user=world.animateur, convention=convention)
    assert again.pk == job.pk and again.state == JobState.EN_COURS

    settings.ANCRAGE_JOBS_TIMEOUT = 0  # its heartbeat is now too old: the worker is deemed dead
    for _ in range(100):  # the server releases the dead backend's row lock when it notices the kill
        retried = services.convention_version_request(acting_user=world.animateur, convention=convention)
        if retried.state == JobState.TERMINE:
            break
        time.sleep(0.1)
    assert retried.pk == job.pk and retried.state == JobState.TERMINE and retried.attempt == 2
    version = ConventionVersion.objects.get(convention=convention)
    assert retried.version_id == version.pk and version.numero == 1
    assert _files(media, convention) == sorted(
        Path(name).name for name in (version.docx.name, version.odt.name, version.pdf.name)
    )


def test_an_error_after_the_files_were_written_leaves_neither_version_nor_file(world, media, monkeypatch):
    from tests.conventions.test_services import draft

    convention = draft(world)
    job = _waiting_job(world, convention)

    def broken(*args, **kwargs):
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(jobs, "audit_record", broken)
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.ECHEC and "réessayez" in job.erreur
    assert not ConventionVersion.objects.filter(convention=convention).exists()
    assert _files(media, convention) == []


def test_a_superseded_attempt_writes_nothing(world, media, settings):
    from tests.conventions.test_services import draft

    convention = draft(world)
    job = _waiting_job(world, convention)
    assert jobs.QUEUE.claim(job.pk, jobs.QUEUE.steps[0])
    slow = GenerationJob.objects.get(pk=job.pk)  # the first worker, slow, not dead
    settings.ANCRAGE_JOBS_TIMEOUT = 0
    assert jobs.recover_stale() == 1  # requeued meanwhile, and run by another worker
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.TERMINE and job.attempt == slow.attempt + 1
    jobs._generate(slow)  # the slow worker wakes up: its attempt is over
    assert ConventionVersion.objects.filter(convention=convention).count() == 1
    assert len(_files(media, convention)) == 3  # DOCX, ODT and PDF
    job.refresh_from_db()
    assert job.state == JobState.TERMINE


@pytest.mark.parametrize("stale", [False, True])
def test_the_job_page_offers_a_retry_only_when_the_worker_died(world, client, settings, stale):
    from tests.conventions.test_services import draft
    from tests.security.world import login

    convention = draft(world)
    job = _waiting_job(world, convention)
    GenerationJob.objects.filter(pk=job.pk).update(state=JobState.EN_COURS, attempt=1)
    if stale:
        settings.ANCRAGE_JOBS_TIMEOUT = 0
    login(client, world.animateur)
    page = client.get(reverse("conventions:job", args=[job.pk])).content.decode()
    assert ("Relancer la génération" in page) is stale
    assert ('http-equiv="refresh"' in page) is not stale
