"""The migration of the import jobs' files to slices (``diagnostic/0004``) keeps every byte."""

import hashlib

from ancrage.diagnostic import jobs
from ancrage.diagnostic.models import ImportJob
from tests import migrations
from tests.organisations.factories import StructureFactory

BEFORE = [("diagnostic", "0003_importjob_attempt")]
FILES = [b"identifiant;annee_naissance\nu1;1958\n", bytes(range(256)) * (2 * (8 << 20) // 256) + b"fin", None]


def test_a_job_file_becomes_slices_and_back(committed_db):
    latest = migrations.latest()
    structure = StructureFactory()
    try:
        apps = migrations.migrate(BEFORE).loader.project_state(BEFORE).apps
        Job = apps.get_model("diagnostic", "ImportJob")
        ids = [
            Job.objects.create(
                structure_id=structure.pk,
                kind="frequentation",
                fichier="u.csv",
                sha256="0" * 64,
                contenu=data,
            ).pk
            for data in FILES
        ]

        migrations.migrate(latest)
        for pk, data in zip(ids, FILES, strict=True):
            job = ImportJob.objects.get(pk=pk)
            assert job.parts.count() == (0 if data is None else -(-len(data) // (8 << 20)))
            with jobs._job_file(job) as (path, sha256):
                assert path.read_bytes() == (data or b"")
                assert sha256 == hashlib.sha256(data or b"").hexdigest()

        apps = migrations.migrate(BEFORE).loader.project_state(BEFORE).apps
        Job = apps.get_model("diagnostic", "ImportJob")
        for pk, data in zip(ids, FILES, strict=True):
            stored = Job.objects.filter(pk=pk).values_list("contenu", flat=True).get()
            assert (None if stored is None else bytes(stored)) == data
    finally:
        migrations.migrate(latest)
