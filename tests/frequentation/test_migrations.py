"""The migration of the profiles to arrays (``frequentation/0003``) keeps every profile, in order."""

from ancrage.frequentation.aggregates import PROFILE_FIELDS
from ancrage.frequentation.comptages import profils_of
from ancrage.frequentation.models import FrequentationImport
from tests import migrations
from tests.organisations.factories import StructureFactory

BEFORE = [("frequentation", "0002_comptages_diagnostic")]
ROWS = [  # aggregates.PROFILE_FIELDS: as the Profil rows stored them ("" or NULL when unknown)
    ("352380101", "35238", 1990, 2024, "", "F", "CS3", "emploi", 3),
    ("", "35238", None, None, "60-74", "", "", "", 1),
    ("352380102", "35238", 2001, None, "", "M", "", "etudiant", 2),
]


def test_profile_rows_become_one_row_of_arrays_and_back(committed_db):
    latest = migrations.latest()
    structure = StructureFactory()
    try:
        apps = migrations.migrate(BEFORE).loader.project_state(BEFORE).apps
        Import, Profil = (
            apps.get_model("frequentation", "FrequentationImport"),
            apps.get_model("frequentation", "Profil"),
        )
        ids = []
        for rows in (ROWS, ROWS[1:]):
            dataset = Import.objects.create(
                structure_id=structure.pk,
                source="ancrage",
                unite="personnes",
                fichier="u.csv",
                sha256="0" * 64,
            )
            Profil.objects.bulk_create(
                Profil(dataset=dataset, **dict(zip(PROFILE_FIELDS, r, strict=True))) for r in rows
            )
            ids.append(dataset.pk)

        migrations.migrate(latest)
        for pk, rows in zip(ids, (ROWS, ROWS[1:]), strict=True):
            assert list(profils_of(FrequentationImport.objects.get(pk=pk)).rows()) == rows

        apps = migrations.migrate(BEFORE).loader.project_state(BEFORE).apps
        Profil = apps.get_model("frequentation", "Profil")
        for pk, rows in zip(ids, (ROWS, ROWS[1:]), strict=True):
            stored = Profil.objects.filter(dataset_id=pk).order_by("id").values_list(*PROFILE_FIELDS)
            assert list(stored) == rows
    finally:
        migrations.migrate(latest)
