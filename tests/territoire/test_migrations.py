"""The migration of the population values to arrays (``territoire/0002``) keeps every value, in order."""

import numpy as np

from ancrage.territoire import insee, services
from ancrage.territoire.models import PopulationImport
from tests import migrations
from tests.organisations.factories import StructureFactory

BEFORE = [("territoire", "0001_initial")]
FIELDS = ("code_secteur", "table", "categorie", "valeur")
# As the PopulationValeur rows stored them: a total row per IRIS (NULL when unknown), then the
# non-zero values (zeros were not stored).
STRUCTURE = [
    ("352380102", "total", "", 1611.844),
    ("352380102", "age_large", "0-14", 278.711),
    ("352380102", "age_large", "75+", 132.3069),
    ("352380102", "sexe", "F", 857.7887),
    ("352380102", "sexe", "H", 754.0553),
    ("352380101", "total", "", 2238.1324),
    ("352380101", "sexe", "H", 1060.2917),
    ("352380103", "total", "", 0.0),  # an IRIS with no resident: no value at all
]
ACTIVITE = [  # an activity base alone: no total population
    ("352380101", "total", "", None),
    ("352380101", "activite", "chomeur", 12.5),
    ("352380101", "activite", "actif_occupe", 800.25),
    ("352380102", "total", "", None),
    ("352380102", "activite", "retraite", 3.0),
]
BASES = ((STRUCTURE, ["age_large", "sexe"], False), (ACTIVITE, ["activite"], True))


def test_population_rows_become_one_row_of_arrays_and_back(committed_db):
    latest = migrations.latest()
    structure = StructureFactory()
    try:
        apps = migrations.migrate(BEFORE).loader.project_state(BEFORE).apps
        Import, Valeur = (
            apps.get_model("territoire", "PopulationImport"),
            apps.get_model("territoire", "PopulationValeur"),
        )
        ids = []
        for rows, tables, derive in BASES:
            dataset = Import.objects.create(
                structure_id=structure.pk,
                fichier=f"{tables[0]}.csv",
                sha256=tables[0].ljust(64, "0"),
                millesime=2021,
                tables=tables,
                total_derive=derive,
                nb_secteurs=sum(r[1] == "total" for r in rows),
            )
            Valeur.objects.bulk_create(
                Valeur(dataset=dataset, **dict(zip(FIELDS, r, strict=True))) for r in rows
            )
            ids.append(dataset.pk)

        migrations.migrate(latest)
        for pk, (rows, tables, derive) in zip(ids, BASES, strict=True):
            population = services._dataset_population(PopulationImport.objects.get(pk=pk), {})
            codes = tuple(r[0] for r in rows if r[1] == "total")
            assert population.codes == codes and population.total_derive == derive
            expected_total = [np.nan if r[3] is None else r[3] for r in rows if r[1] == "total"]
            np.testing.assert_array_equal(population.total, expected_total)
            assert list(population.repartitions) == tables
            for key in tables:
                rep = population.repartitions[key]
                expected = np.zeros((len(codes), len(rep.categories)))
                for code, table, categorie, valeur in rows:
                    if table == key:
                        expected[codes.index(code), rep.categories.index(categorie)] = valeur
                np.testing.assert_array_equal(rep.values, expected)
                assert rep.present.all()
        merged = services.population_of(structure)
        assert merged.codes == ("352380102", "352380101", "352380103")
        assert merged.repartitions["activite"].present.tolist() == [True, True, False]
        assert merged.repartitions["activite"].categories == insee.ACTIVITE_CATEGORIES

        apps = migrations.migrate(BEFORE).loader.project_state(BEFORE).apps
        Valeur = apps.get_model("territoire", "PopulationValeur")
        for pk, (rows, _, _) in zip(ids, BASES, strict=True):
            stored = Valeur.objects.filter(dataset_id=pk).order_by("id").values_list(*FIELDS)
            # Back in the sector order; within a sector, tables and categories in their order.
            assert sorted(stored, key=_order(rows)) == sorted(rows, key=_order(rows))
            assert [r[0] for r in stored if r[1] == "total"] == [r[0] for r in rows if r[1] == "total"]
    finally:
        migrations.migrate(latest)


def _order(rows):
    codes = [r[0] for r in rows if r[1] == "total"]
    return lambda r: (codes.index(r[0]), r[1] != "total", r[1], r[2])
