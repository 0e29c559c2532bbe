"""An import's population, stored as one row of arrays, reads back as it was imported."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from ancrage.core import arrays
from ancrage.territoire import insee, packed, services
from ancrage.territoire.models import PopulationImport, PopulationValeurs
from tests.organisations.factories import StructureFactory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "insee"
FILES = (
    "rennes-iris-2016.csv",  # total derived from the age bands
    "base-ic-evol-struct-pop-2016-com.xls",  # P_POP read, four tables, communes without IRIS
    "base-ic-activite-residents-2016-com-cIA.xls",  # no total: NaN everywhere
    "paris-diplomes-2015-extrait.csv",
    "habitat-2016-arrondissements-corse-outremer.csv",
)


def _store(structure, population: insee.Population, fichier: str) -> PopulationImport:
    return services.population_import(
        acting_user=None,
        structure=structure,
        population=population,
        fichier=fichier,
        sha256=hashlib.sha256(fichier.encode() + str(structure.pk).encode()).hexdigest(),
    )


def tables_sorted(population: insee.Population) -> insee.Population:
    """``population`` with its tables in the order an import reads them back: sorted by key."""
    return insee.Population(
        **{**vars(population), "repartitions": dict(sorted(population.repartitions.items()))}
    )


def assert_same_population(got: insee.Population, expected: insee.Population):
    assert got.codes == expected.codes
    assert got.noms == expected.noms and got.communes == expected.communes
    np.testing.assert_array_equal(got.total, expected.total)  # NaN where unknown, on both sides
    assert got.total.dtype == np.float64
    assert (got.total_derive, got.millesime, got.fichiers, got.niveau) == (
        expected.total_derive,
        expected.millesime,
        expected.fichiers,
        expected.niveau,
    )
    assert list(got.repartitions) == list(expected.repartitions)
    for key, rep in expected.repartitions.items():
        stored = got.repartitions[key]
        assert (stored.key, stored.dimension, stored.categories) == (rep.key, rep.dimension, rep.categories)
        assert (stored.complementaire, stored.univers) == (rep.complementaire, rep.univers)
        assert stored.values.dtype == np.float64 and stored.values.shape == rep.values.shape
        np.testing.assert_array_equal(stored.values, np.where(rep.present[:, None], rep.values, 0.0))
        np.testing.assert_array_equal(stored.present, rep.present)


@pytest.mark.parametrize("fichier", FILES)
def test_population_read_back_equals_population_imported(db, fichier):
    structure = StructureFactory()
    read = insee.read_insee(FIXTURES / fichier)
    dataset = _store(structure, read, fichier)
    assert PopulationValeurs.objects.get(dataset=dataset).version == packed.FORMAT_VERSION
    assert_same_population(services.population_of(structure), tables_sorted(read))


def test_missing_totals_and_a_sector_absent_from_one_table(db):
    """Not from a reader (a base has every table for every sector), but the format keeps it."""
    structure = StructureFactory()
    codes = ("352380101", "352380102", "352380103")
    present = np.array([True, False, True])
    population = insee.Population(
        niveau="iris",
        codes=codes,
        noms=codes,
        communes=tuple(c[:5] for c in codes),
        total=np.array([1234.5678, np.nan, 0.0]),
        total_derive=False,
        repartitions={
            "sexe": insee.Repartition(
                "sexe",
                "sexe",
                ("F", "H"),
                np.array([[600.25, 634.3178], [0.0, 0.0], [0.0, 1e-9]]),
                present,
                False,
                insee.UNIVERS["sexe"],
            ),
            "activite": insee.Repartition(
                "activite",
                "activite",
                insee.ACTIVITE_CATEGORIES,
                np.arange(15.0).reshape(3, 5) / 7,
                np.ones(3, dtype=bool),
                False,
                insee.UNIVERS["activite"],
            ),
        },
        millesime=2021,
        fichiers=("a-la-main.csv",),
    )
    _store(structure, population, "a-la-main.csv")
    got = services.population_of(structure)
    assert_same_population(got, tables_sorted(population))
    assert np.isnan(got.total[1]) and got.total[2] == 0.0


def test_bases_merge_as_before(db):
    """Two bases of one EPN (structure + activity) merge as their readers' populations do."""
    structure = StructureFactory()
    names = ("base-ic-evol-struct-pop-2016-com.xls", "base-ic-activite-residents-2016-com-cIA.xls")
    reads = [insee.read_insee(FIXTURES / name) for name in names]
    for read, name in zip(reads, names, strict=True):
        _store(structure, read, name)
    got = services.population_of(structure)
    # The stored tables come back in the import's (sorted) order.
    expected = insee.merge_populations(
        [insee.Population(**{**vars(r), "repartitions": dict(sorted(r.repartitions.items()))}) for r in reads]
    )
    assert_same_population(got, expected)


def test_an_import_without_arrays_reads_as_no_sector(db):
    structure = StructureFactory()
    dataset = _store(structure, insee.read_insee(FIXTURES / "rennes-iris-2016.csv"), "r.csv")
    PopulationValeurs.objects.filter(dataset=dataset).delete()
    got = services.population_of(structure)
    assert got.codes == () and got.total.shape == (0,)
    assert {k: r.values.shape for k, r in got.repartitions.items()} == {"age_large": (0, 6), "csp": (0, 8)}


def test_rows_of_the_former_storage_round_trip():
    read = insee.read_insee(FIXTURES / "base-ic-activite-residents-2016-com-cIA.xls")
    rows = list(packed.population_rows(read))
    assert all(r[3] is None for r in rows if r[1] == packed.TOTAL)  # unknown totals: NULL
    assert all(r[3] for r in rows if r[1] != packed.TOTAL)  # zeros are not stored
    data = packed.population_from_rows(rows, ["activite"])
    got = packed.to_population(
        data,
        tables=["activite"],
        noms=dict(zip(read.codes, read.noms, strict=True)),
        total_derive=True,
        millesime=2016,
        fichiers=read.fichiers,
    )
    assert_same_population(got, read)


def test_another_format_version_is_refused():
    data = arrays.pack(meta=np.array([packed.FORMAT_VERSION + 1]), codes=np.array(["352380101"]))
    with pytest.raises(ValueError, match="format"):
        packed.from_bytes(data)
