"""Statistics checked against scipy.stats called directly and against plain-Python arithmetic."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special
from scipy import stats as sps

from ancrage.diagnostic import stats
from tests.properties import examples


def test_poisson_ci_matches_chi2_formula():
    k = np.array([0, 1, 3, 10, 250])
    lo, hi = stats.poisson_ci(k)
    for ki, low, high in zip(k, lo, hi, strict=True):
        exp_lo = 0.0 if ki == 0 else sps.chi2.ppf(0.025, 2 * ki) / 2
        assert low == pytest.approx(exp_lo, abs=1e-9)
        assert high == pytest.approx(sps.chi2.ppf(0.975, 2 * ki + 2) / 2)


@examples(200, deadline=None)
@given(
    st.lists(
        st.integers(0, 3000).map(float)
        | st.floats(0, 1e6)
        | st.sampled_from([np.nan, np.inf, -0.0, 0.0, 0.5]),
        max_size=60,
    ),
    st.sampled_from([0.05, 0.1]),
)
def test_poisson_ci_of_a_column_is_the_interval_of_each_count(counts, alpha):
    """Computed once per distinct count, the bounds are bit for bit those of each count alone."""
    lo, hi = stats.poisson_ci(np.array(counts, dtype=float), alpha)
    with np.errstate(invalid="ignore"):
        for k, low, high in zip(counts, lo.tolist(), hi.tolist(), strict=True):
            one_low = special.gammaincinv(max(k, 1e-300), alpha / 2) if k > 0 else 0.0
            one_high = special.gammaincinv(k + 1, 1 - alpha / 2)
            assert np.array_equal([low, high], [one_low, one_high], equal_nan=True)
    shaped = stats.poisson_ci(np.array([[3.0, 0.0], [3.0, 7.0]]))
    assert shaped[0].shape == shaped[1].shape == (2, 2)
    assert shaped[1][0, 0] == shaped[1][1, 0] == stats.poisson_ci(np.array([3.0]))[1][0]


def test_poisson_test_matches_plain_python():
    for o, e in [(0, 12.0), (3, 10.0), (30, 12.5), (12, 12.0)]:
        cdf = sum(math.exp(-e) * e**i / math.factorial(i) for i in range(o + 1))
        sf = 1 - sum(math.exp(-e) * e**i / math.factorial(i) for i in range(o))
        assert stats.poisson_test(np.array([o]), np.array([e]))[0] == pytest.approx(min(1, 2 * min(cdf, sf)))


def test_binomial_ci_and_test_match_scipy():
    k, n, p = np.array([0, 5, 40, 100]), 100, np.array([0.1, 0.2, 0.3, 0.9])
    lo, hi = stats.binom_ci(k, n)
    pv = stats.binom_test(k, n, p)
    for i in range(4):
        ci = sps.binomtest(int(k[i]), n).proportion_ci(0.95, method="exact")
        assert (lo[i], hi[i]) == pytest.approx((ci.low, ci.high))
        lower, upper = sps.binom.cdf(k[i], n, p[i]), sps.binom.sf(k[i] - 1, n, p[i])
        assert pv[i] == pytest.approx(min(1, 2 * min(lower, upper)))


def test_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.5])
    # m = 4 finite tests; sorted 0.01, 0.03, 0.04, 0.5 -> 0.04, 0.0533, 0.0533, 0.5
    q = stats.benjamini_hochberg(p)
    assert q[0] == pytest.approx(0.04)
    assert q[2] == pytest.approx(0.04 * 4 / 3) and q[1] == pytest.approx(0.04 * 4 / 3)
    assert np.isnan(q[3]) and q[4] == pytest.approx(0.5)


def test_sector_rates_and_standardised_ratio_by_hand():
    users = np.array([30, 5])
    pop_age = np.array([[1000.0, 1000.0], [200.0, 1800.0]])  # sector 2 is older
    users_age = np.array([[25.0, 5.0], [4.0, 1.0]])
    s = stats.stats_secteurs(users, pop_age.sum(axis=1), users_age, pop_age)
    assert s.taux_pour_mille.tolist() == [15.0, 2.5]
    rate_young, rate_old = 29 / 1200, 6 / 2800
    expected_2 = 200 * rate_young + 1800 * rate_old
    assert s.attendus[1] == pytest.approx(expected_2)  # all users have a known age: no rescaling
    assert s.ratio[1] == pytest.approx(5 / expected_2)
    lo, hi = stats.poisson_ci(np.array([5]))
    assert s.taux_ic[0][1] == pytest.approx(1000 * lo[0] / 2000)
    assert s.ratio_ic[1][1] == pytest.approx(hi[0] / expected_2)


def test_categories_by_hand():
    c = stats.stats_categories(np.array([10, 90]), np.array([5000.0, 5000.0]))
    assert c.part_usagers.tolist() == [0.1, 0.9] and c.part_population.tolist() == [0.5, 0.5]
    assert c.indice.tolist() == pytest.approx([0.2, 1.8])
    # (p·n − k)/(1 − p): 80 more users of the first category make it 90 of 180, half.
    assert c.manquants.tolist() == pytest.approx([80, -80])
    assert (10 + 80) / (100 + 80) == pytest.approx(0.5)
    assert c.pvalues[0] == pytest.approx(sps.binomtest(10, 100, 0.5).pvalue)


def test_no_test_and_no_flag_on_tiny_counts():
    # 3 users, all men: the women category has an expected count of 1.5, so no test is run.
    c = stats.stats_categories(np.array([0, 3]), np.array([5000.0, 5000.0]))
    assert np.isnan(c.pvalues).all()
    q = stats.benjamini_hochberg(c.pvalues)
    assert not stats.flag_shortfall(c.usagers, c.attendus, q).any()


def test_small_shortfall_with_many_users_is_not_flagged():
    # 9,500 observed against 10,000 expected: significant, but only 5 % below.
    p = stats.poisson_test(np.array([9500]), np.array([10000.0]))
    assert p[0] < 0.001
    assert not stats.flag_shortfall([9500], [10000.0], p)[0]


def test_empirical_bayes_pulls_a_tiny_sector_towards_the_territory():
    """An IRIS of 90 inhabitants with 3 users (1.2 expected) has a raw ratio of 2.5; smoothed, it is
    close to the territory's; a large sector keeps its own ratio."""
    rng = np.random.default_rng(4)
    expected = np.concatenate([[1.2, 400.0], rng.uniform(20, 200, 60)])
    observed = np.concatenate([[3.0, 200.0], rng.poisson(expected[2:] * rng.gamma(20, 1 / 20, 60))])
    smoothed, a, b = stats.eb_smooth(observed, expected)
    m = observed.sum() / expected.sum()
    assert abs(smoothed[0] - m) < 0.3 * abs(2.5 - m)
    assert smoothed[1] == pytest.approx(0.5, abs=0.05)
    assert smoothed[1] == pytest.approx((200 + a) / (400 + b))


def test_one_sided_tests_only_see_shortfalls():
    assert stats.poisson_lower_p(np.array([30.0]), np.array([10.0]))[0] > 0.99  # an excess is no shortfall
    assert stats.poisson_lower_p(np.array([2.0]), np.array([10.0]))[0] == pytest.approx(0.00277, rel=1e-2)
    assert stats.binom_lower_p(np.array([5.0]), np.array([100.0]), np.array([0.12]))[0] == pytest.approx(
        0.01522, rel=1e-3
    )
