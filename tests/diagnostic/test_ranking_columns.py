"""The diagnostic's columnar paths against the one-value-at-a-time rules they replace.

``rank_cibles`` scores its gaps as columns and builds objects for the best ``max_cibles`` only;
the engine writes its JSON figures a column at a time, at full precision. Both must give exactly
what the plain Python rules give, ties and missing values included.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.diagnostic.cibles import Ecarts, rank_cibles
from ancrage.diagnostic.engine import _nums
from ancrage.diagnostic.priorites import DEFAULT_PRIORITES, Priorite
from tests.properties import examples

SECTEURS = ("352380101", "352380102", "352380103", "352380104")
NOMS = ("Blosne Est", "Blosne Ouest", None, "Gare")
QPV = {"352380101", "352380103"}
CATEGORIES = {"age": ("0-14", "15-29", "60-74", "75+"), "activite": ("chomeur", "etudiant"), None: (None,)}
PRIORITES = (*DEFAULT_PRIORITES, Priorite("gare", 2.5, secteurs=("352380104",)))


def _reference(ecarts, priorites, unite, max_cibles):
    """The ranking as it was written before it was vectorised: one score per gap, in Python."""
    rows = []
    for e in ecarts:
        for r in range(len(e)):
            s = int(e.secteur[r])
            secteur = SECTEURS[s] if s >= 0 else None
            categorie = e.categories[e.categorie[r]]
            matching = [p for p in priorites if p.correspond(e.dimension, categorie, secteur, QPV)]
            poids = 1 + sum(p.poids for p in matching)
            facteur = min(1.0, -math.log10(max(float(e.qvalue[r]), 1e-300)) / 3)
            score = (float(e.attendus[r]) - float(e.usagers[r])) * facteur * poids
            rows.append((score, secteur or "", e.dimension or "", categorie or ""))
    rows.sort(key=lambda row: (-row[0], *row[1:]))
    return rows if max_cibles is None else rows[:max_cibles]


@st.composite
def ecarts(draw):
    groups = []
    for kind, dimension in (("cellule", "age"), ("categorie", "activite"), ("secteur", None)):
        m = draw(st.integers(0, 12))
        categories = CATEGORIES[dimension]
        secteur_max = -1 if kind == "categorie" else len(SECTEURS) - 1
        secteur_min = -1 if kind == "categorie" else 0
        # Few distinct figures, so that ties (broken on the names) are frequent.
        usagers = draw(st.lists(st.sampled_from([0.0, 1.0, 3.0]), min_size=m, max_size=m))
        gap = draw(st.lists(st.sampled_from([0.5, 2.0, 7.25]), min_size=m, max_size=m))
        q = draw(st.lists(st.sampled_from([1e-320, 1e-4, 0.01, 0.049]), min_size=m, max_size=m))
        groups.append(
            Ecarts(
                kind,
                dimension,
                categories,
                np.array(
                    draw(st.lists(st.integers(0, len(categories) - 1), min_size=m, max_size=m)), dtype=int
                ),
                np.array(
                    draw(st.lists(st.integers(secteur_min, secteur_max), min_size=m, max_size=m)), dtype=int
                ),
                np.array(usagers),
                np.array(usagers) + np.array(gap),
                np.full(m, 100.0),
                np.array(q),
                np.full(m, 0.01),
            )
        )
    return groups


@examples(200, deadline=None)
@given(ecarts(), st.sampled_from([None, 0, 1, 3, 10]))
def test_columnar_ranking_is_the_per_gap_ranking(groups, max_cibles):
    cibles = rank_cibles(groups, SECTEURS, NOMS, PRIORITES, QPV, "personnes", max_cibles)
    expected = _reference(groups, PRIORITES, "personnes", max_cibles)
    assert [(c["secteur"] or "", c["dimension"] or "", c["categorie"] or "") for c in cibles] == [
        row[1:] for row in expected
    ]
    assert [c["score"] for c in cibles] == pytest.approx([row[0] for row in expected], rel=1e-12)
    assert [c["rang"] for c in cibles] == list(range(1, len(expected) + 1))


def test_a_ranked_gap_names_its_sector_and_matching_priorities():
    group = Ecarts(
        "cellule",
        "age",
        CATEGORIES["age"],
        np.array([1, 2]),
        np.array([0, 3]),
        np.array([2.0, 5.0]),
        np.array([10.0, 6.0]),
        np.array([400.0, 300.0]),
        np.array([1e-5, 0.04]),
        np.array([0.02, 0.02]),
    )
    first, second = rank_cibles([group], SECTEURS, NOMS, PRIORITES, QPV, "personnes", 50)
    assert (first["secteur"], first["categorie"]) == ("352380101", "15-29")
    assert first["priorites"] == ["politique de la ville", "jeunesse", "démarches administratives"]
    assert "Blosne Est" in first["explication"]
    assert second["priorites"] == ["seniors", "démarches administratives", "gare"]


_VALUES = st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=30)


@examples(300, deadline=None)
@given(_VALUES)
def test_a_column_is_written_at_full_precision(values):
    """Machine outputs are never rounded: every finite value as it is, None for NaN and infinities."""
    got = _nums(np.array(values, dtype=float))
    expected = [x if math.isfinite(x) else None for x in values]
    assert json.dumps(got) == json.dumps(expected)
