"""Users outside the territory, with an unknown code or with no sector: kept, counted apart, by reason."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from ancrage.core.importing import ImportRejected
from ancrage.diagnostic.engine import run_diagnostic
from ancrage.frequentation import readers
from ancrage.territoire import insee
from tests.properties import examples

FIXTURES = Path(__file__).parents[1] / "fixtures"
EDGE = FIXTURES / "frequentation" / "edge-cases"
RENNES = insee.read_insee(FIXTURES / "insee" / "rennes-iris-2016.csv")
KNOWN = set(RENNES.codes) | {c[:5] for c in RENNES.codes}
HEADER = ";".join(readers.USAGERS_COLUMNS)


def _file(rows: list[tuple[str, str]]) -> bytes:
    lines = [HEADER] + [f"u{k};1970;;F;;;{iris};{commune};;" for k, (iris, commune) in enumerate(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_a_resident_outside_the_territory_is_imported_and_counted_apart():
    """The file that refused the whole import (one IRIS outside the territory) is read whole."""
    freq = readers.read_usagers(EDGE / "iris-inconnu.csv", secteurs_connus={"352380101", "35238"})
    assert [u.code_iris for u in freq.individus] == ["352380101", "999999999"]
    assert freq.infos["non_places"] == {"hors_territoire": 1}
    exact = readers.read_usagers_exact(EDGE / "iris-inconnu.csv", secteurs_connus={"352380101", "35238"})
    assert exact.infos == freq.infos


def test_the_diagnostic_reports_every_user_it_cannot_place_by_reason():
    inside = [(code, "") for code in RENNES.codes[:40] for _ in range(5)]
    outside = [
        ("350470101", ""),  # Bruz: another commune of Ille-et-Vilaine, not in the base
        ("", "35047"),  # the same, by its commune code
        ("352389999", ""),  # Rennes, but an IRIS the 2016 base does not have (another geography)
        ("", "35238"),  # Rennes, without its IRIS
        ("", ""),  # no code at all
    ]
    freq = readers.read_usagers(_file(inside + outside), "u.csv", secteurs_connus=KNOWN)
    assert len(freq) == len(inside) + len(outside)
    resultat = run_diagnostic(RENNES, freq, niveau="iris")
    assert resultat["non_places"] == {
        "hors_territoire": 2,
        "iris_inconnu": 1,
        "sans_iris": 1,
        "hors_quartiers": 0,
        "sans_code": 1,
        "quartier_inconnu": 0,
    }
    assert sum(s["usagers"] for s in resultat["secteurs"]) == len(inside)
    # At the commune level, Rennes's users are all placed: only Bruz and the blank stay apart.
    communes = run_diagnostic(RENNES, freq, niveau="commune")
    assert communes["non_places"]["hors_territoire"] == 2 and communes["non_places"]["sans_code"] == 1
    assert sum(communes["non_places"].values()) == 3
    assert communes["secteurs"][0]["nom"] == "Rennes"  # not « Rennes (IRIS 0101) »


def test_a_table_de_passage_places_the_iris_of_another_geography():
    """Synthetic table de passage (made up for the test: 352389999 stands for a later IRIS)."""
    freq = readers.read_usagers(_file([("352389999", "")] * 3 + [("352380101", "")]), "u.csv")
    without = run_diagnostic(RENNES, freq, niveau="iris")
    assert without["non_places"]["iris_inconnu"] == 3 and without["iris_convertis"] == 0
    passage = insee.read_passage_iris(
        b"code_iris;code_iris_population\n352389999;352380102\n", "passage-synthetique.csv"
    )
    withp = run_diagnostic(RENNES, freq, niveau="iris", passage=passage)
    assert withp["iris_convertis"] == 3 and sum(withp["non_places"].values()) == 0
    assert {s["code"]: s["usagers"] for s in withp["secteurs"]}["352380102"] == 3


def test_a_table_de_passage_refuses_a_code_with_two_targets_with_its_place():
    data = b"code_iris;code_iris_population\n352389999;352380102\n352389999;352380103\n"
    with pytest.raises(ImportRejected) as exc:
        insee.read_passage_iris(data, "passage.csv")
    issue = exc.value.issues[0]
    assert (issue.file, issue.line, issue.column) == ("passage.csv", 3, "code_iris_population")
    assert "un seul IRIS" in issue.message


def test_aggregated_counts_outside_the_territory_are_reported():
    data = b"code_secteur;dimension;categorie;usagers\n35238;total;;40\n35047;total;;7\n35047;age;15-29;5\n"
    freq = readers.read_aggregated(data, "agrege.csv", secteurs_connus=KNOWN)
    assert freq.infos["secteurs_inconnus"] == ["35047"]
    resultat = run_diagnostic(RENNES, freq, niveau="commune")
    assert resultat["non_places"]["hors_territoire"] == 7


CODES = st.one_of(
    st.sampled_from(RENNES.codes[:10]).map(lambda c: (c, "")),
    st.sampled_from(RENNES.codes[:10]).map(lambda c: ("", c[:5])),
    st.sampled_from(["350470101", "352389999", "290190000", "2A0040101"]).map(lambda c: (c, "")),
    st.sampled_from(["35047", "29019", "2B033"]).map(lambda c: ("", c)),
    st.just(("", "")),
)


@examples(60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(CODES, min_size=1, max_size=80), chunk=st.sampled_from([64, 1 << 20]))
def test_property_out_of_territory_codes_are_never_refused_nor_lost(rows, chunk):
    """Any mix of codes in and out of the territory: every row is read (streamed or not), and
    the diagnostic's placed and non-placed users add up to the file's users."""
    data = _file(rows)
    stream = readers.UsagersStream(data, "u.csv", secteurs_connus=KNOWN, chunk_bytes=chunk)
    freq = stream.read()
    exact = readers.read_usagers_exact(data, "u.csv", secteurs_connus=KNOWN)
    assert len(freq) == len(exact) == len(rows)
    assert freq.infos == exact.infos
    expected = sum(1 for iris, commune in rows if not (iris or commune) or (iris or commune) not in KNOWN)
    assert sum(freq.infos["non_places"].values()) == expected
    for niveau in ("iris", "commune"):
        if niveau == "iris" and freq.niveau == "commune":
            continue
        resultat = run_diagnostic(RENNES, freq, niveau=niveau)
        placed = sum(s["usagers"] for s in resultat["secteurs"])
        assert placed + sum(resultat["non_places"].values()) == len(rows)


def test_at_the_quartier_level_an_iris_outside_every_quartier_is_reported():
    blosne = [c for c in RENNES.codes if c.startswith("3523811")]
    other = next(c for c in RENNES.codes if not c.startswith("3523811"))
    freq = readers.read_usagers(_file([(blosne[0], "")] * 4 + [(other, "")] * 2), "u.csv")
    resultat = run_diagnostic(
        RENNES,
        freq,
        niveau="quartier",
        quartiers=dict.fromkeys(blosne, "Le Blosne"),
        noms_quartiers={"Le Blosne": "Le Blosne"},
    )
    assert [(s["nom"], s["usagers"]) for s in resultat["secteurs"]] == [("Le Blosne", 4)]
    assert resultat["non_places"]["hors_quartiers"] == 2
