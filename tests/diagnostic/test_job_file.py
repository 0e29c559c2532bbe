"""The import job reads its file from its row by slices, never whole (bounded memory)."""

import hashlib
import io
import math

import pytest
from django.core.files import File
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from ancrage.core import safe_files
from ancrage.core.importing import ImportRejected
from ancrage.diagnostic import jobs
from ancrage.diagnostic.models import ImportJob
from tests.organisations.factories import StructureFactory
from tests.properties import examples


def _job(contenu: bytes) -> ImportJob:
    job = ImportJob.objects.create(
        structure=StructureFactory(),
        kind=ImportJob.Kind.FREQUENTATION,
        fichier="usagers.csv",
        sha256=hashlib.sha256(contenu).hexdigest(),
    )
    jobs._keep_file(job, contenu)
    return job


class JobFileTests(TestCase):
    @examples(25, deadline=None)
    @given(st.binary(max_size=200), st.integers(min_value=1, max_value=64))
    def test_the_file_is_kept_and_copied_by_slices(self, contenu, slice_size):
        original = jobs.FILE_SLICE
        jobs.FILE_SLICE = slice_size
        try:
            job = _job(contenu)
            assert job.parts.count() == math.ceil(len(contenu) / slice_size)
            assert all(len(part.donnees) <= slice_size for part in job.parts.all())
            with CaptureQueriesContext(connection) as queries, jobs._job_file(job) as (path, sha256):
                assert path.read_bytes() == contenu
                assert sha256 == hashlib.sha256(contenu).hexdigest()
        finally:
            jobs.FILE_SLICE = original
        assert not path.exists()
        # One query for the slices' ids, then one per slice: never one for the whole file.
        assert len(queries) == 1 + job.parts.count()


class _ReadBySlices(io.BytesIO):
    """An uploaded file that fails if it is asked for more than a slice at once."""

    def read(self, size=-1):
        assert 0 < size <= 64, f"read({size}): more than a slice asked for at once"
        return super().read(size)


@pytest.mark.django_db
def test_an_uploaded_file_is_kept_by_slices_without_being_read_whole(monkeypatch):
    contenu = b"identifiant;annee_naissance\n" + b"u1;1958\n" * 100
    monkeypatch.setattr(jobs, "FILE_SLICE", 64)
    monkeypatch.setattr(jobs.QUEUE, "schedule", lambda pk: None)  # kept as deposited, not analysed
    job = jobs.job_submit(
        acting_user=None,
        structure=StructureFactory(),
        kind="frequentation",
        fichier="u.csv",
        contenu=File(_ReadBySlices(contenu), name="usagers.csv"),
    )
    assert job.sha256 == hashlib.sha256(contenu).hexdigest()
    assert job.parts.count() == math.ceil(len(contenu) / 64)
    with jobs._job_file(job) as (path, sha256):
        assert path.read_bytes() == contenu and sha256 == job.sha256


@pytest.mark.django_db
def test_a_job_without_its_file_gives_an_empty_file():
    job = _job(b"identifiant\n")
    jobs._forget_file(ImportJob.objects.filter(pk=job.pk))
    with jobs._job_file(job) as (path, sha256):
        assert path.read_bytes() == b"" and sha256 == hashlib.sha256(b"").hexdigest()


@pytest.mark.django_db
def test_a_national_size_file_goes_through_in_slices(monkeypatch):
    """More than one slice, as a 561 MiB file is (PostgreSQL refuses a value of more than 1 GB in
    one message: the single column the file used to be kept in)."""
    contenu = bytes(range(256)) * (3 * jobs.FILE_SLICE // 256) + b"fin"
    job = _job(contenu)
    assert job.parts.count() == 4
    with jobs._job_file(job) as (path, sha256):
        assert sha256 == job.sha256 and path.stat().st_size == len(contenu)


def test_the_upload_checks_read_the_size_given_with_a_head():
    head = b"identifiant;annee_naissance\n"
    assert safe_files.check_upload(head, filename="u.csv", size=10_000) == "csv"
    with pytest.raises(ImportRejected, match="au-delà de la limite"):
        safe_files.check_upload(head, filename="u.csv", size=10**12)
    with pytest.raises(ImportRejected, match="vide"):
        safe_files.check_upload(b"", filename="u.csv", size=0)
