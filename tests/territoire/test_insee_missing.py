"""Blank cells (INSEE's secret statistique), vintages, territory restriction and commune names."""

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.territoire import insee
from tests.properties import examples

FIXTURES = Path(__file__).parents[1] / "fixtures" / "insee"
RENNES_CSV = FIXTURES / "rennes-iris-2016.csv"
EMPLOI_PARIS = FIXTURES / "paris-emploi-2015-extrait.csv"


def _rennes_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(RENNES_CSV.read_text(encoding="utf-8"))))


def _csv(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def test_a_blank_cell_is_a_missing_value_of_that_iris_and_table_not_a_refusal():
    rows = _rennes_rows()
    header = rows[0]
    rows[3][header.index("P16_POP75P")] = ""  # the third IRIS: its age table is secret
    rows[5][header.index("C16_POP15P_CS1")] = ""  # the fifth IRIS: its CSP table is secret
    pop = insee.read_insee(_csv(rows), "rennes-secret.csv")
    third, fifth = rows[3][1], rows[5][1]
    assert pop.manquantes == {"age_large": (third,), "csp": (fifth,)}
    i, j = pop.index()[third], pop.index()[fifth]
    assert not pop.repartitions["age_large"].present[i] and pop.repartitions["csp"].present[i]
    assert not pop.repartitions["csp"].present[j] and pop.repartitions["age_large"].present[j]
    assert np.isnan(pop.total[i])  # the total is the sum of the age bands: unknown
    assert len(pop) == len(rows) - 1


@examples(40, deadline=None)
@given(blanks=st.sets(st.tuples(st.integers(1, 84), st.integers(4, 17)), max_size=30))
def test_property_any_blank_cells_make_exactly_those_iris_missing(blanks):
    """Whatever cells are blank: the file is read, every IRIS is kept, an IRIS is missing from a
    table exactly when one of the table's cells is blank, and the others keep their values."""
    rows = _rennes_rows()
    header = rows[0]
    original = insee.read_insee(RENNES_CSV)
    for line, column in blanks:
        rows[line][column] = ""
    pop = insee.read_insee(_csv(rows), "blancs.csv")
    assert pop.codes == original.codes
    for key, rep in pop.repartitions.items():
        prefix = "C16_POP15P_CS" if key == "csp" else "P16_POP"
        columns = {j for j, name in enumerate(header) if name.startswith(prefix)}
        expected = {rows[line][1] for line, column in blanks if column in columns}
        assert set(pop.manquantes.get(key, ())) == expected
        assert {pop.codes[i] for i in np.flatnonzero(~rep.present)} == expected
        kept = rep.present
        np.testing.assert_array_equal(rep.values[kept], original.repartitions[key].values[kept])


def test_bases_of_two_vintages_are_refused_when_merged():
    age_2016 = insee.read_insee(RENNES_CSV)
    emploi_2015 = insee.read_insee(EMPLOI_PARIS)
    with pytest.raises(insee.MillesimesMelanges, match="2015, 2016"):
        insee.merge_populations([age_2016, emploi_2015])


def test_restrict_to_communes_lists_the_communes_left_out():
    rows = _rennes_rows()
    bruz = list(rows[1])
    bruz[1], bruz[2] = "350470101", "Bruz"
    pop = insee.read_insee(_csv([*rows, bruz]), "ille-et-vilaine.csv")
    kept, ignored = insee.restrict_to_communes(pop, {"35238"})
    assert len(kept) == len(rows) - 1 and all(c == "35238" for c in kept.communes)
    name, n_iris, population = ignored["35047"]
    assert (name, n_iris) == ("Bruz", 1) and population == pytest.approx(pop.total[-1])
    assert insee.restrict_to_communes(pop, {"35238", "35047"}) == (pop, {})


@pytest.mark.parametrize(
    ("nom", "code", "commune"),
    [
        ("Saint-Malo (IRIS 0101)", "352880101", "Saint-Malo"),
        ("Rennes - Le Blosne", "352381101", "Rennes"),
        ("Miquelon-Langlade", "975010000", "Miquelon-Langlade"),
        ("352380101", "352380101", ""),
    ],
)
def test_a_commune_is_named_by_its_name_not_after_its_first_iris(nom, code, commune):
    assert insee.commune_name(nom, code) == commune
