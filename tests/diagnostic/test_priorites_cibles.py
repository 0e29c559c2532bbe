"""Priorities: defaults, CSV, matching; targets: thematics from the standard's services."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.core.importing import ImportRejected
from ancrage.diagnostic import cibles
from ancrage.diagnostic.priorites import DEFAULT_PRIORITES, Priorite, read_priorites
from tests.properties import examples


def test_defaults():
    by_theme = {p.theme: p for p in DEFAULT_PRIORITES}
    assert by_theme["politique de la ville"].qpv
    assert by_theme["jeunesse"].vise_categorie("age", "15-29")
    assert by_theme["seniors"].vise_categorie("age", "75+") and by_theme["seniors"].vise_categorie(
        "age", "60-74"
    )
    assert by_theme["seniors"].vise_categorie("age", "40+")  # a harmonised band mostly inside 60+
    assert not by_theme["seniors"].vise_categorie("age", "30-44")
    assert by_theme["insertion / emploi"].vise_categorie("activite", "chomeur")
    assert by_theme["démarches administratives"].tout_public
    assert by_theme["politique de la ville"].vise_secteur("352380901", {"352380901"})
    assert not by_theme["politique de la ville"].vise_secteur(None, {"352380901"})


def test_priorities_csv():
    content = (
        b"theme;poids;dimension;categorie;secteurs\n"
        b"jeunesse;2;age;15-29;\n"
        b"jeunesse;2;activite;etudiant;\n"
        b"quartiers;1,5;;;QPV|352380101\n"
    )
    jeunesse, quartiers = read_priorites(content, "p.csv")
    assert jeunesse.categories == (("age", "15-29"), ("activite", "etudiant")) and jeunesse.poids == 2
    assert quartiers.qpv and quartiers.secteurs == ("352380101",) and quartiers.poids == 1.5


def test_priorities_csv_errors_are_located():
    content = b"theme;poids;dimension;categorie;secteurs\nx;-1;age;15-29;\ny;1;pointure;42;\n"
    with pytest.raises(ImportRejected) as exc:
        read_priorites(content, "p.csv")
    assert [(i.line, i.column) for i in exc.value.issues] == [(2, "poids"), (3, "dimension")]


def test_services_copied_from_the_standard_unchanged():
    data = json.loads((Path(cibles.__file__).parent / "data" / "services.json").read_text(encoding="utf-8"))
    assert len(data["Service"]) == 9
    for famille, keys in cibles.FAMILLES.items():
        assert famille and all(k in cibles.services_standard() for k in keys)


def test_thematic_follows_priority_then_category():
    jeunesse = DEFAULT_PRIORITES[1]
    assert (
        cibles.suggerer_thematique("age", "15-29", [jeunesse])["famille"] == "enfance, jeunesse et scolarité"
    )
    assert cibles.suggerer_thematique("activite", "chomeur", [])["famille"] == "insertion et emploi"
    assert (
        cibles.suggerer_thematique("age", "75+", [DEFAULT_PRIORITES[-1]])["famille"] == "seniors et autonomie"
    )


def test_rounding_of_gaps():
    assert cibles.environ(143.4) == "140" and cibles.environ(37) == "35" and cibles.environ(7.4) == "7"


_CODES = st.sampled_from(["352380101", "352380102", "352380103", "35238", "Le Blosne"])


@examples(200, deadline=None)
@given(
    st.lists(_CODES | st.none(), max_size=20),
    st.lists(_CODES, max_size=3),
    st.booleans(),
    st.sets(_CODES, max_size=3),
)
def test_sectors_targeted_as_a_column_are_those_targeted_one_by_one(secteurs, cibles, qpv, secteurs_qpv):
    priorite = Priorite("thème", 1.0, secteurs=tuple(cibles), qpv=qpv)
    got = priorite.vise_secteurs(secteurs, secteurs_qpv)
    assert got.dtype == bool
    assert got.tolist() == [priorite.vise_secteur(s, secteurs_qpv) for s in secteurs]
