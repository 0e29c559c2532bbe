"""The decoded arrays ``population_of`` keeps between diagnostics are never those of another row.

Each read is compared with the population decoded afresh from the database, after imports,
replacements, deletions, ids used again (SQLite gives a deleted row's id to the next one) and
arrays rewritten in place.
"""

import hashlib

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from ancrage.territoire import insee, packed, services
from ancrage.territoire.models import PopulationImport, PopulationValeurs
from tests.organisations.factories import StructureFactory
from tests.properties import examples
from tests.territoire.test_population_arrays import assert_same_population

TABLES = {"sexe": ("F", "H"), "activite": insee.ACTIVITE_CATEGORIES}


def synthetic(seed: int, tables=("sexe",), n: int | None = None) -> insee.Population:
    """A small population whose codes, size and values depend on ``seed``."""
    rng = np.random.default_rng(seed)
    n = n if n is not None else int(rng.integers(1, 6))
    codes = tuple(f"3523801{i:02d}" for i in sorted(rng.choice(99, n, replace=False)))
    return insee.Population(
        niveau="iris",
        codes=codes,
        noms=codes,
        communes=tuple(c[:5] for c in codes),
        total=rng.integers(0, 5000, n).astype(float),
        total_derive=False,
        repartitions={
            key: insee.Repartition(
                key,
                key,
                TABLES[key],
                rng.random((n, len(TABLES[key]))) * 1000,
                np.ones(n, dtype=bool),
                False,
                insee.UNIVERS[key],
            )
            for key in tables
        },
        millesime=2020,
        fichiers=(f"base-{seed}.csv",),
    )


def store(structure, population: insee.Population, seed: int) -> PopulationImport:
    return services.population_import(
        acting_user=None,
        structure=structure,
        population=population,
        fichier=population.fichiers[0],
        sha256=hashlib.sha256(f"{seed}-{structure.pk}".encode()).hexdigest(),
    )


def fresh(structure) -> insee.Population | None:
    """The population decoded from the database without the cache."""
    datasets = list(
        PopulationImport.objects.actives().filter(structure=structure).order_by("created_at", "id")
    )
    if not datasets:
        return None
    noms = dict(services.Secteur.objects.filter(structure=structure).values_list("code", "nom"))
    populations = []
    for d in datasets:
        data = PopulationValeurs.objects.filter(dataset=d).values_list("donnees", flat=True).first()
        populations.append(
            packed.to_population(
                None if data is None else bytes(data),
                tables=d.tables,
                noms=noms,
                total_derive=d.total_derive,
                millesime=d.millesime,
                fichiers=(d.fichier,),
            )
        )
    return insee.merge_populations(populations)


def assert_current(structure):
    got, expected = services.population_of(structure), fresh(structure)
    if expected is None:
        assert got is None
    else:
        assert_same_population(got, expected)


def test_a_second_read_reuses_the_decoded_arrays_and_they_are_read_only(db):
    structure = StructureFactory()
    store(structure, synthetic(1, n=4), 1)
    first = services.population_of(structure)
    with CaptureQueriesContext(connection) as queries:
        second = services.population_of(structure)
    assert not any('."donnees" FROM' in q["sql"] for q in queries.captured_queries)
    assert second.total is first.total
    assert_same_population(second, fresh(structure))
    with pytest.raises(ValueError, match="read-only"):
        second.total[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        second.repartitions["sexe"].values[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        second.repartitions["sexe"].present[0] = False


def test_an_id_given_again_does_not_bring_back_the_deleted_import(db):
    """SQLite gives the id of a deleted last row to the next one: the same import id, arrays id,
    even the same creation time, with another file, reads as the other file."""
    structure = StructureFactory()
    old = store(structure, synthetic(2, n=3), 2)
    old_valeurs = PopulationValeurs.objects.get(dataset=old)
    assert services.population_of(structure).codes == synthetic(2, n=3).codes
    pk, valeurs_pk, created_at = old.pk, old_valeurs.pk, old.created_at
    old.delete()  # a real deletion (population_delete withdraws a base, keeping it to restore)
    new_population = synthetic(3, n=3)
    new = PopulationImport.objects.create(
        pk=pk,
        structure=structure,
        fichier="autre.csv",
        sha256=hashlib.sha256(b"autre").hexdigest(),
        millesime=2020,
        tables=["sexe"],
        total_derive=False,
        nb_secteurs=3,
    )
    PopulationImport.objects.filter(pk=pk).update(created_at=created_at)
    PopulationValeurs.objects.create(
        pk=valeurs_pk, dataset=new, version=packed.FORMAT_VERSION, donnees=packed.to_bytes(new_population)
    )
    got = services.population_of(structure)
    assert got.codes == new_population.codes
    np.testing.assert_array_equal(got.total, new_population.total)
    assert_current(structure)


def test_arrays_rewritten_or_removed_are_read_again(db):
    structure = StructureFactory()
    dataset = store(structure, synthetic(4, n=2), 4)
    services.population_of(structure)
    PopulationValeurs.objects.filter(dataset=dataset).update(donnees=packed.to_bytes(synthetic(5, n=5)))
    assert services.population_of(structure).codes == synthetic(5, n=5).codes
    assert_current(structure)
    PopulationValeurs.objects.filter(dataset=dataset).delete()
    assert services.population_of(structure).codes == ()


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["import", "delete", "read"]),
        st.integers(0, 10**6),
        st.sampled_from([("sexe",), ("activite",), ("sexe", "activite")]),
    ),
    min_size=1,
    max_size=12,
)


@examples(25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(OPERATIONS)
def test_every_read_is_the_database_s_current_population(db, operations):
    """Imports (a base carrying a table replaces the one before), deletions and reads in any
    order, on two EPN: every read equals the population decoded afresh."""
    structures = [StructureFactory(), StructureFactory()]
    for step, (operation, seed, tables) in enumerate(operations):
        structure = structures[seed % 2]
        if operation == "import":
            store(structure, synthetic(seed, tables), f"{seed}-{step}")
        elif operation == "delete":
            datasets = list(PopulationImport.objects.actives().filter(structure=structure).order_by("id"))
            if datasets:
                services.population_delete(acting_user=None, dataset=datasets[seed % len(datasets)])
        for s in structures:
            assert_current(s)


def test_the_kept_arrays_stay_within_their_bound(db, monkeypatch):
    """The least recently read go first; the last one read always stays."""
    structures = [StructureFactory() for _ in range(3)]
    for i, structure in enumerate(structures):
        store(structure, synthetic(10 + i, n=5), 10 + i)
    monkeypatch.setattr(services, "_decoded", services.OrderedDict())
    one = services._nbytes(packed.from_bytes(packed.to_bytes(synthetic(10, n=5))))
    monkeypatch.setattr(services, "DECODED_MAX_BYTES", 2 * one)
    for structure in structures:
        services.population_of(structure)
    assert len(services._decoded) == 2
    monkeypatch.setattr(services, "DECODED_MAX_BYTES", 0)
    services.population_of(structures[0])
    assert len(services._decoded) == 1
    for structure in structures:
        assert_current(structure)


@pytest.mark.parametrize("niveau", ["iris", "commune", "quartier"])
def test_a_diagnostic_reads_the_kept_read_only_arrays_without_writing_them(db, tmp_path, niveau):
    from ancrage.bench import generator
    from ancrage.diagnostic.engine import run_diagnostic
    from ancrage.frequentation.readers import read_usagers

    generator.generate("mini", tmp_path)
    read = insee.read_insee(tmp_path / "population.csv")
    usagers = read_usagers(tmp_path / "usagers.csv", current_year=generator.REFERENCE_YEAR)
    structure = StructureFactory()
    store(structure, read, 20)
    services.population_of(structure)
    kept = services.population_of(structure)
    assert not kept.total.flags.writeable
    quartiers = {code: f"Q{code[-1]}" for code in read.codes}
    args = {"niveau": niveau, "quartiers": quartiers, "reference_year": generator.REFERENCE_YEAR}
    assert run_diagnostic(kept, usagers, **args) == run_diagnostic(read, usagers, **args)
    assert_current(structure)
