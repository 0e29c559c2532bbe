from pathlib import Path

import numpy as np
import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from ancrage.diagnostic.engine import run_diagnostic
from ancrage.frequentation import readers, services
from ancrage.frequentation.comptages import profils_of
from ancrage.frequentation.models import Usager, usager_pk
from ancrage.territoire import insee
from tests.diagnostic.test_engine import biased_usagers
from tests.organisations.factories import StructureFactory
from tests.properties import examples

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def population():
    return insee.read_insee(FIXTURES / "insee" / "rennes-iris-2016.csv")


def _store(freq, structure):
    return services.frequentation_import(
        acting_user=None, structure=structure, frequentation=freq, sha256="x" * 64
    )


def test_profiles_give_the_same_diagnostic_as_the_raw_records(db, population):
    freq = biased_usagers(population)
    dataset = _store(freq, StructureFactory())
    assert Usager.objects.filter(dataset=dataset).count() == len(freq.individus)
    # Far fewer profiles than records: that is what the diagnostic reads.
    assert len(profils_of(dataset)) < len(freq.individus)
    rebuilt = services.frequentation_of(dataset)
    assert len(rebuilt.individus) == len(freq.individus)
    kwargs = {"secteurs_qpv": {"352380902"}, "reference_year": 2024}
    assert run_diagnostic(population, rebuilt, **kwargs) == run_diagnostic(population, freq, **kwargs)


@pytest.mark.parametrize(
    ("name", "fmt", "niveau"),
    [
        ("usagers.csv", "ancrage", "iris"),
        ("agrege.csv", "agrege", "iris"),
        ("export-coop.xlsx", "coop", "commune"),
    ],
)
def test_every_source_round_trips(db, population, name, fmt, niveau):
    path = FIXTURES / "frequentation" / "correct-files" / name
    freq = readers.read_frequentation(path, format=fmt)
    dataset = _store(freq, StructureFactory())
    rebuilt = services.frequentation_of(dataset)
    assert rebuilt.unite == freq.unite and len(rebuilt) == len(freq)
    assert run_diagnostic(population, rebuilt, niveau=niveau, reference_year=2024) == run_diagnostic(
        population, freq, niveau=niveau, reference_year=2024
    )


def test_usagers_export_uses_the_import_format(db):
    path = FIXTURES / "frequentation" / "correct-files" / "usagers.csv"
    dataset = _store(readers.read_usagers(path), StructureFactory())
    rows = list(services.usagers_export_rows(dataset))
    assert rows[0] == list(readers.USAGERS_COLUMNS)
    assert rows[1][:6] == ["u001", 1958, "", "F", "7", "retraité"]
    # The export reads back as a valid usagers file.
    text = "\n".join(";".join(str(c) for c in r) for r in rows)
    assert len(readers.read_usagers(text.encode(), "export.csv").individus) == len(rows) - 1


@pytest.mark.parametrize(("name", "fmt"), [("usagers.csv", "ancrage"), ("export-coop.xlsx", "coop")])
def test_an_imports_usagers_are_one_range_of_keys_in_line_order(db, name, fmt):
    """An usager's key is its import's id × 2**32 plus its line, whichever way it was written (COPY
    of chunks, or per row for La Coop); ``of_import`` finds exactly one import's, in line order."""
    path = FIXTURES / "frequentation" / "correct-files" / name
    structure = StructureFactory()
    first, second = (_store(readers.read_frequentation(path, format=fmt), structure) for _ in range(2))
    for dataset in (first, second):
        rows = list(Usager.objects.of_import(dataset).order_by("pk").values_list("pk", "dataset_id", "ligne"))
        assert rows == sorted(
            (usager_pk(dataset.pk, ligne), dataset.pk, ligne)
            for ligne in Usager.objects.filter(dataset=dataset).values_list("ligne", flat=True)
        )
        assert len(rows) == dataset.nb_enregistrements > 0
    assert Usager.objects.of_import(first.pk).count() + Usager.objects.of_import(second).count() == (
        Usager.objects.count()
    )


def test_usagers_by_import_have_a_block_range_index_on_postgresql(db):
    """The cascade from a deleted import finds its usagers through an index that costs the import
    next to nothing: BRIN on PostgreSQL (a B-tree on SQLite, where BRIN does not exist)."""
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, Usager._meta.db_table)
    index = indexes["usager_dataset_blocs"]
    assert index["columns"] == ["dataset_id"]
    if connection.vendor == "postgresql":
        assert index["type"] == "brin"
    # No other index than the primary key's: an import fills no second B-tree row by row.
    others = {name for name, c in indexes.items() if c["index"] and not c["primary_key"]}
    assert others == {"usager_dataset_blocs"}


@examples(300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**63 - 1) | st.integers(0, 10**6), max_size=50))
def test_decimal_text_is_the_decimal_text_of_each_integer(values):
    # The COPY's keys and lines: written digit by digit, the same text as Python's str.
    text = services._decimal_text(np.array(values, dtype=np.int64))
    assert [v.decode() for v in text.tolist()] == [str(v) for v in values]


def test_decimal_text_of_a_first_chunk_and_of_a_later_one():
    first = np.arange(2, 20_002, dtype=np.int64)  # 1 to 5 digits
    later = usager_pk(7, 0) + np.arange(3_000_000, 3_020_000, dtype=np.int64)
    for values in (first, later):
        assert services._decimal_text(values).tolist() == [str(v).encode() for v in values.tolist()]
