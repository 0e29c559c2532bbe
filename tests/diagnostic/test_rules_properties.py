"""Property tests of the harmonisation (any mix of exact ages and bands, any ages served) and of
the families of tests (one Benjamini-Hochberg family per question), on real Rennes IRIS."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from ancrage.diagnostic import stats
from ancrage.diagnostic.engine import run_diagnostic
from ancrage.diagnostic.harmonisation import harmonise_ages, spread_bands
from ancrage.frequentation import readers
from ancrage.territoire import insee
from tests.properties import examples

RENNES = Path(__file__).parents[1] / "fixtures" / "insee" / "rennes-iris-2016.csv"
HEADER = ";".join(readers.USAGERS_COLUMNS)
POPULATION = insee.read_insee(RENNES)
SMALL = dataclasses.replace(
    POPULATION,
    codes=POPULATION.codes[:12],
    noms=POPULATION.noms[:12],
    communes=POPULATION.communes[:12],
    total=POPULATION.total[:12],
    repartitions={
        k: dataclasses.replace(r, values=r.values[:12], present=r.present[:12])
        for k, r in POPULATION.repartitions.items()
    },
)

bands = st.tuples(st.integers(0, 90), st.integers(1, 40), st.booleans()).map(
    lambda t: (t[0], None if t[2] else t[0] + t[1])
)
eligibles = st.none() | st.sampled_from([(15, None), (18, None), (60, None), (15, 65), (25, 60)])


@examples(150, deadline=None)
@given(
    st.lists(st.integers(0, 99), max_size=40),
    st.lists(bands, max_size=8),
    st.lists(st.integers(1, 30), min_size=8, max_size=8),
    eligibles,
)
def test_every_user_with_an_age_or_a_band_is_placed_or_counted_apart(ages, band_list, counts, eligible):
    exact = bool(ages)
    scheme = harmonise_ages(POPULATION, set(band_list), ages_exacts=exact, eligible=eligible)
    if exact:  # a band never coarsens the INSEE partition when exact ages exist
        full = ("0-14", "15-29", "30-44", "45-59", "60-74", "75+")
        if eligible is None:
            assert scheme.labels == full
    n = len(POPULATION)
    per_band = {}
    for b, c in zip(band_list, counts, strict=False):
        per_band[b] = per_band.get(b, np.zeros(n)) + np.full(n, float(c))
    placed, estimated, outside = spread_bands(scheme, per_band)
    given_users = sum(v.sum() for v in per_band.values())
    # Nothing is lost: placed + left outside the ages served = what was given.
    assert placed.sum() + outside.sum() == pytest.approx(given_users, rel=1e-9, abs=1e-9)
    assert (placed >= -1e-12).all() and (estimated <= placed + 1e-9).all()
    if eligible is None:
        assert outside.sum() == pytest.approx(0, abs=1e-9)
    for b, v in per_band.items():  # a band inside one scheme band is never an estimate
        if scheme.index_of_band(b) >= 0 and len(per_band) == 1:
            assert estimated.sum() == 0 and placed[:, scheme.index_of_band(b)].sum() == v.sum()
    idx = scheme.index_of_age(np.array(ages, dtype=float))
    for a, j in zip(ages, idx, strict=True):
        if j >= 0:
            low, high = scheme.bands[j]
            assert low <= a and (high is None or a < high)
        else:
            assert eligible is not None and (
                a < eligible[0] or (eligible[1] is not None and a >= eligible[1])
            )


@st.composite
def attendance(draw):
    """Up to 300 users of 12 real IRIS, each with a birth year or a band, some with a CSP."""
    m = draw(st.integers(20, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = draw(st.lists(st.floats(0.0, 1.0), min_size=12, max_size=12))
    w = np.array(weights) + 1e-3
    sectors = rng.choice(12, size=m, p=w / w.sum())
    band_share = draw(st.sampled_from([0.0, 0.01, 0.3, 1.0]))
    lines = [HEADER]
    for k, s in enumerate(sectors):
        age = int(rng.integers(0, 95))
        csp = f"CS{rng.integers(1, 9)}" if rng.random() < 0.5 and age >= 15 else ""
        if rng.random() < band_share:
            low = 5 * (age // 5)
            lines.append(f"u{k};;{low}-{low + 9};;{csp};;{SMALL.codes[s]};;2024-06-01;")
        else:
            lines.append(f"u{k};{2024 - age};;;{csp};;{SMALL.codes[s]};;2024-06-01;")
    return readers.read_usagers("\n".join(lines).encode(), "u.csv")


@examples(40, deadline=None)
@given(attendance(), eligibles)
def test_each_question_is_its_own_family(freq, eligible):
    """Sector q-values are BH of the sector p-values alone, each dimension's categories BH of their
    own p-values (recomputed with scipy), and a cell is only tested inside a flagged sector or
    category; every flag is significant at 5 % within its family."""
    result = run_diagnostic(SMALL, freq, reference_year=2024, ages=eligible)
    sect = result["secteurs"]
    attendus = np.array([s["usagers_attendus"] or 0.0 for s in sect])
    p = np.array(
        [
            sps.poisson.cdf(s["usagers_precis"], e)
            if e >= stats.MIN_ATTENDUS and s["population_eligible"]
            else np.nan
            for s, e in zip(sect, attendus, strict=True)
        ]
    )
    tested = np.isfinite(p)
    if tested.any():
        q = sps.false_discovery_control(p[tested])
        got = np.array([s["qvalue"] for s, t in zip(sect, tested, strict=True) if t], dtype=float)
        np.testing.assert_allclose(got, q, rtol=1e-6)
    for s in sect:
        if s["sous_frequente"]:
            assert s["qvalue"] < 0.05 and s["usagers_precis"] <= 0.8 * s["usagers_attendus"]
    for dim in {c["dimension"] for c in result["categories"]}:
        cats = [c for c in result["categories"] if c["dimension"] == dim]
        pv = np.array([np.nan if c["pvalue"] is None else c["pvalue"] for c in cats])
        ok = np.isfinite(pv)
        if ok.any():
            got = np.array([c["qvalue"] for c, t in zip(cats, ok, strict=True) if t], dtype=float)
            np.testing.assert_allclose(got, sps.false_discovery_control(pv[ok]), rtol=1e-6)
        for c in cats:
            assert not c["sous_represente"] or c["qvalue"] < 0.05
    flagged_sectors = {s["code"] for s in sect if s["sous_frequente"]}
    flagged_cats = {(c["dimension"], c["categorie"]) for c in result["categories"] if c["sous_represente"]}
    for cible in result["cibles"]:
        if cible["secteur"] and cible["dimension"]:  # a cell
            assert (
                cible["secteur"] in flagged_sectors
                or (cible["dimension"], cible["categorie"]) in flagged_cats
            )
    if eligible is not None:
        assert not any(c["categorie"] == "0-14" for c in result["categories"] if c["dimension"] == "age")
