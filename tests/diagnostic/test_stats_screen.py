"""The cheap screen of the cell tests changes no flag and no q-value below α (stats.poisson_test)."""

import functools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ancrage.bench import generator
from ancrage.diagnostic import stats
from ancrage.diagnostic.engine import run_diagnostic
from ancrage.frequentation.readers import read_usagers
from ancrage.territoire.insee import read_insee
from tests.properties import examples


def _cells(seed=0):
    rng = np.random.default_rng(seed)
    e = np.concatenate([rng.uniform(0, 30, 20_000), rng.lognormal(3, 2, 30_000), [0, 1e-9, 1e6, np.nan, 5]])
    noise = rng.lognormal(0, 0.3, e.size - 5)
    o = np.concatenate(
        [rng.poisson(np.nan_to_num(e[:-5]) * noise).astype(float), [0, 3, 1e6 + 1500, 2, np.nan]]
    )
    o[:500] += rng.uniform(0, 1, 500)  # non-integer counts are tested monotonically too
    return o, e


def test_screened_cells_are_exactly_those_left_at_one_and_cannot_be_significant():
    o, e = _cells()
    exact = stats.poisson_test(o, e)
    screened = stats.poisson_test(o, e, screen=stats.ALPHA)
    skipped = stats._poisson_screen(o, e, stats.ALPHA)
    assert skipped.mean() > 0.3  # the screen does save work on ordinary cells
    assert (screened[skipped] == 1).all()
    assert (exact[skipped] >= stats.ALPHA).all()
    np.testing.assert_array_equal(screened[~skipped], exact[~skipped])  # bit for bit, NaN included


def test_q_values_below_alpha_and_flags_are_unchanged():
    o, e = _cells(1)
    q_exact = stats.benjamini_hochberg(stats.poisson_test(o, e))
    q_screen = stats.benjamini_hochberg(stats.poisson_test(o, e, screen=stats.ALPHA))
    significant = q_exact < stats.ALPHA
    assert significant.sum() > 1000
    np.testing.assert_array_equal(q_screen < stats.ALPHA, significant)
    np.testing.assert_array_equal(q_screen[significant], q_exact[significant])
    np.testing.assert_array_equal(stats.flag_shortfall(o, e, q_screen), stats.flag_shortfall(o, e, q_exact))


@examples(200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 400), st.floats(0.0, 300.0, allow_nan=False)), min_size=1, max_size=60),
    st.floats(0.001, 0.2),
)
def test_screen_property(cells, level):
    o = np.array([c[0] for c in cells], dtype=float)
    e = np.array([c[1] for c in cells])
    exact = stats.poisson_test(o, e)
    screened = stats.poisson_test(o, e, screen=level)
    below = exact < level
    np.testing.assert_array_equal(screened[below], exact[below])
    assert (screened[~below & np.isfinite(exact)] >= level).all()
    q_exact, q_screen = stats.benjamini_hochberg(exact), stats.benjamini_hochberg(screened)
    np.testing.assert_array_equal(q_screen < level, q_exact < level)
    np.testing.assert_array_equal(q_screen[q_exact < level], q_exact[q_exact < level])


def test_diagnostic_is_identical_with_and_without_the_screen(tmp_path, monkeypatch):
    generator.generate("mini", tmp_path)
    population = read_insee(tmp_path / "population.csv")
    usagers = read_usagers(tmp_path / "usagers.csv", current_year=generator.REFERENCE_YEAR)
    screened = run_diagnostic(population, usagers, reference_year=generator.REFERENCE_YEAR)
    monkeypatch.setattr(stats, "stats_cellules", functools.partial(stats.stats_cellules, screen=None))
    exact = run_diagnostic(population, usagers, reference_year=generator.REFERENCE_YEAR)
    assert screened == exact
    assert any(c["secteur"] for c in exact["cibles"])  # cell and sector targets were compared too


_P = st.floats(0.0, 1.0) | st.sampled_from([np.nan, 0.0, 0.01, 0.05, 1.0]) | st.floats(0.0, 0.06)


@examples(300, deadline=None)
@given(st.lists(_P, max_size=80), st.sampled_from([0.05, 0.01, 0.2]))
def test_q_values_sorted_below_a_level_only(pvalues, level):
    """exact_below: the q-values below the level are the exact ones, bit for bit (ties, NaN
    and values at the level included); the others are at least the level."""
    p = np.array(pvalues, dtype=float)
    exact = stats.benjamini_hochberg(p)
    partial = stats.benjamini_hochberg(p, exact_below=level)
    below = exact < level
    np.testing.assert_array_equal(partial < level, below)
    np.testing.assert_array_equal(partial[below], exact[below])
    np.testing.assert_array_equal(np.isnan(partial), np.isnan(exact))
    assert (partial[~below & np.isfinite(exact)] >= level).all()


def test_q_values_sorted_below_alpha_on_a_large_diagnostic():
    o, e = _cells(1)
    p = stats.poisson_test(o, e, screen=stats.ALPHA)
    exact, partial = stats.benjamini_hochberg(p), stats.benjamini_hochberg(p, exact_below=stats.ALPHA)
    significant = exact < stats.ALPHA
    assert significant.sum() > 1000
    np.testing.assert_array_equal(partial[significant], exact[significant])
    np.testing.assert_array_equal(stats.flag_shortfall(o, e, partial), stats.flag_shortfall(o, e, exact))


def test_diagnostic_is_identical_with_every_q_value_exact(tmp_path, monkeypatch):
    generator.generate("mini", tmp_path)
    population = read_insee(tmp_path / "population.csv")
    usagers = read_usagers(tmp_path / "usagers.csv", current_year=generator.REFERENCE_YEAR)
    partial = run_diagnostic(population, usagers, reference_year=generator.REFERENCE_YEAR)
    full = stats.benjamini_hochberg
    monkeypatch.setattr(stats, "benjamini_hochberg", lambda p, exact_below=None: full(p))
    exact = run_diagnostic(population, usagers, reference_year=generator.REFERENCE_YEAR)
    assert partial == exact
    assert any(c["secteur"] for c in exact["cibles"])
