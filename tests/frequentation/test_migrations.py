"""Data migrations of ``frequentation``: profiles to arrays (0003), usager keys (0005), the
primary key's full pages (0006)."""

import pytest
from django.db import connection

from ancrage.frequentation.aggregates import PROFILE_FIELDS
from ancrage.frequentation.comptages import profils_of
from ancrage.frequentation.models import FrequentationImport, Usager, usager_pk
from ancrage.suivi.models import Beneficiaire
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


KEYS_BEFORE = [
    ("frequentation", "0004_usager_sans_contrainte_par_ligne"),
    ("suivi", "0002_beneficiaire_usager_detache"),
]


def test_usager_keys_become_import_and_line_and_links_follow(committed_db):
    """``frequentation/0005``: every usager gets the key ``usager_pk`` of its import and line, and a
    beneficiaire linked to an usager is still linked to the same one."""
    latest = migrations.latest()
    structure = StructureFactory()
    try:
        apps = migrations.migrate(KEYS_BEFORE).loader.project_state(KEYS_BEFORE).apps
        Import = apps.get_model("frequentation", "FrequentationImport")
        OldUsager = apps.get_model("frequentation", "Usager")
        OldBeneficiaire = apps.get_model("suivi", "Beneficiaire")
        imports = [
            Import.objects.create(
                structure_id=structure.pk,
                source="ancrage",
                unite="personnes",
                fichier="u.csv",
                sha256="0" * 64,
            )
            for _ in range(2)
        ]
        # Lines written out of order, and the same line in both imports.
        for dataset, lignes in zip(imports, ((3, 2), (2, 7)), strict=True):
            for ligne in lignes:
                OldUsager.objects.create(dataset=dataset, ligne=ligne, identifiant=f"{dataset.pk}-{ligne}")
        linked = OldUsager.objects.get(identifiant=f"{imports[1].pk}-7")
        OldBeneficiaire.objects.create(structure_id=structure.pk, identifiant="b", usager=linked)
        OldBeneficiaire.objects.create(structure_id=structure.pk, identifiant="c", usager=None)

        migrations.migrate(latest)
        keys = set(Usager.objects.values_list("pk", "dataset_id", "ligne"))
        assert keys == {
            (usager_pk(d.pk, ligne), d.pk, ligne)
            for d, lignes in zip(imports, ((3, 2), (2, 7)), strict=True)
            for ligne in lignes
        }
        links = dict(Beneficiaire.objects.values_list("identifiant", "usager__identifiant"))
        assert links == {"b": f"{imports[1].pk}-7", "c": None}

        # Backwards, the keys are kept, and the link with them.
        apps = migrations.migrate(KEYS_BEFORE).loader.project_state(KEYS_BEFORE).apps
        OldBeneficiaire = apps.get_model("suivi", "Beneficiaire")
        assert OldBeneficiaire.objects.get(identifiant="b").usager.identifiant == f"{imports[1].pk}-7"
    finally:
        migrations.migrate(latest)


def _primary_key_options() -> list[str] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.reloptions FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND x.indisprimary",
            [Usager._meta.db_table],
        )
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="an index storage parameter of PostgreSQL")
def test_usager_primary_key_fills_its_pages_and_back(committed_db):
    """``frequentation/0006``: the primary key, whose keys only grow, leaves no free space in its
    pages (fillfactor 100); backwards, the default comes back."""
    latest = migrations.latest()
    assert _primary_key_options() == ["fillfactor=100"]
    try:
        migrations.migrate([("frequentation", "0005_usager_cle_import_ligne")])
        assert _primary_key_options() is None
    finally:
        migrations.migrate(latest)
    assert _primary_key_options() == ["fillfactor=100"]
