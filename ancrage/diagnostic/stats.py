"""The statistics of the territorial diagnostic: numbers in, numbers out.

Pure module: no Django, numpy/scipy only, every function works on whole arrays (50,000 sectors
× 30 categories stay well under half a second).

Choices, and why:

* Rates and standardised ratios get **exact Poisson** (Garwood) 95 % intervals: counts per
  sector are small, where normal approximations are wrong.
* Shares among users get **Clopper–Pearson** exact binomial intervals, for the same reason.
  The population shares are treated as known: they come from the census of a whole territory,
  whose sampling error is small beside that of an EPN's few hundred users.
* Significance: the question is always "are there *fewer* users than expected?", so the tests
  are exact **one-sided** tests (Poisson lower tail for a count against its expected count,
  binomial lower tail for a share against the population share).
* Multiple tests: **Benjamini–Hochberg, one family per question**, false discovery rate 5 %:
  the sectors form one family; the categories of each dimension form one family each; the
  sector × category cells of a dimension form one family, restricted to the cells that lie in a
  flagged sector or in a flagged category of that dimension (a cell is only looked at to say
  *where* a shortfall already found is). A flag reads "écart significatif (taux de fausses
  découvertes contrôlé à 5 %)": among the gaps flagged, at most 5 % are expected to be chance,
  which is not "the probability that this gap is chance".
* **Materiality floors**, not evidence rules: a gap is only reported when at least
  :data:`MIN_ATTENDUS` users are expected (below that the whole gap is a handful of people, not
  enough to build an action on) and when observed ≤ 80 % of expected (:data:`ECART_MIN`): with
  thousands of users a 3 % shortfall is significant and yet not worth an action.
* Every ratio and every count of missing users comes with its 95 % range (Garwood for counts,
  Clopper–Pearson for shares, mapped through the same formula).
* The map shows **Empirical-Bayes** (Poisson–gamma) smoothed ratios (:func:`eb_smooth`): a
  sector of 90 inhabitants with 3 users is pulled towards the territory's ratio, a large sector
  keeps its own. Tables keep the raw ratios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

ALPHA = 0.05
#: Minimum expected users for a test to be run (and thus for any flag).
MIN_ATTENDUS = 10.0
#: Minimum relative shortfall for a flag: observed / expected must be at most 1 - ECART_MIN.
ECART_MIN = 0.2


# --- Intervals and tests --------------------------------------------------------------------------


def poisson_ci(counts: np.ndarray, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for the mean of a Poisson count.

    Counts repeat (50,000 sectors share a few hundred distinct counts): the inverse incomplete
    gamma, the costly part, is computed once per distinct count, then spread back."""
    k = np.asarray(counts, dtype=float)
    distinct, where = np.unique(k, return_inverse=True)
    with np.errstate(invalid="ignore"):
        low = np.where(distinct > 0, special.gammaincinv(np.maximum(distinct, 1e-300), alpha / 2), 0.0)
        high = special.gammaincinv(distinct + 1, 1 - alpha / 2)
    where = where.reshape(k.shape)
    return low[where], high[where]


def poisson_test(observed: np.ndarray, expected: np.ndarray, *, screen: float | None = None) -> np.ndarray:
    """Exact two-sided p-value of ``observed`` under Poisson(``expected``) (doubled smaller tail).

    With ``screen`` (a significance level), a cell whose p-value is *proven* to be at least
    ``screen`` by :func:`_poisson_screen` is not computed and gets p = 1: it cannot be significant
    at that level, nor change any Benjamini-Hochberg q-value below it (see
    :func:`benjamini_hochberg`). Every p-value below ``screen`` is the exact one, bit for bit.
    """
    o, e = np.broadcast_arrays(np.asarray(observed, dtype=float), np.asarray(expected, dtype=float))
    if screen is not None:
        p = np.ones(o.shape)
        todo = ~_poisson_screen(o, e, screen)
        p[todo] = poisson_test(o[todo], e[todo])
        return np.where(e > 0, p, np.nan)
    # The Poisson median lies in [e - ln 2, e + 1/3]: below e - 1 the lower tail is the smaller one,
    # above e + 1 the upper tail. Computing one tail per cell halves the cost on large territories.
    below, above = o <= e - 1, o >= e + 1
    middle = ~(below | above)
    tail = np.ones(o.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        tail[below] = special.pdtr(o[below], e[below])  # P(X <= o)
        tail[above] = special.pdtrc(o[above] - 1, e[above])  # P(X >= o)
        om, em = o[middle], e[middle]
        tail[middle] = np.minimum(special.pdtr(om, em), np.where(om > 0, special.pdtrc(om - 1, em), 1.0))
    p = np.minimum(1.0, 2 * tail)
    return np.where(e > 0, p, np.nan)


#: Geometric step of the grid of means used by the screen: 2 % between grid points.
_SCREEN_STEP = 1.02
#: Relative margin on the tail threshold, far above the relative error of scipy's pdtr (~1e-13).
_SCREEN_MARGIN = 1e-6


def _poisson_screen(o: np.ndarray, e: np.ndarray, level: float) -> np.ndarray:
    """Cells whose two-sided Poisson p-value is proven to be at least ``level``, cheaply.

    Both tails must be at least ``t = level / 2`` (with a margin). On a geometric grid of means
    λ_0 < λ_1 < … covering the cells' expected counts, compute exactly (with scipy's pdtr):

    * ``L[g]``, a count with P(X ≤ L[g]; λ_g) ≥ t;
    * ``U[g]``, a count with P(X ≥ U[g]; λ_g) ≥ t.

    For a cell with λ_g ≤ e ≤ λ_{g+1}: P(X ≤ o; e) ≥ P(X ≤ o; λ_{g+1}) (the lower tail decreases
    with the mean) ≥ P(X ≤ L[g+1]; λ_{g+1}) ≥ t whenever o ≥ L[g+1] (it increases with the count),
    and likewise P(X ≥ o; e) ≥ P(X ≥ o; λ_g) ≥ t whenever o ≤ U[g]. Cells with
    L[g+1] ≤ o ≤ U[g] therefore have p ≥ level. Any other cell (NaN, o or e below 1, near the
    bounds) is left to the exact computation: the screen only ever saves work.
    """
    screened = np.zeros(o.shape, dtype=bool)
    # o >= 1: the exact upper tail P(X >= o) is read as pdtrc(o - 1, e), undefined below 1.
    # e >= 1 keeps the grid short (tiny means are rare and cheap to compute exactly).
    ok = np.isfinite(o) & np.isfinite(e) & (e >= 1) & (o >= 1)
    if not ok.any():
        return screened
    low, high = e[ok].min(), e[ok].max()
    steps = int(np.ceil(np.log(high / low) / np.log(_SCREEN_STEP))) + 1
    grid = low * _SCREEN_STEP ** np.arange(steps + 1)
    grid[-1] = max(grid[-1], high)
    t = level / 2 * (1 + _SCREEN_MARGIN)
    # Start just outside the normal approximation of the quantiles, then move each bound by one
    # count until its tail condition holds exactly (a few steps).
    spread = special.ndtri(1 - t) * np.sqrt(grid)
    lower = np.maximum(np.floor(grid - spread) - 3, 0)
    upper = np.ceil(grid + spread) + 4
    for _ in range(50):
        short = special.pdtr(lower, grid) < t
        long = special.pdtrc(upper - 1, grid) < t
        if not (short.any() or long.any()):
            break
        lower += short
        upper -= long
    # Bounds still unproven (never seen in practice) screen nothing.
    lower[special.pdtr(lower, grid) < t] = np.inf
    upper[special.pdtrc(upper - 1, grid) < t] = -np.inf
    ee, oo = e[ok], o[ok]
    # The grid index from a logarithm (cheaper than a search); rounding is harmless because the
    # bracket grid[g] <= e <= grid[g + 1] that the proof needs is checked exactly.
    g = np.clip((np.log(ee / low) / np.log(_SCREEN_STEP)).astype(np.intp), 0, len(grid) - 2)
    inside = (grid[g] <= ee) & (ee <= grid[g + 1])
    screened[ok] = inside & (oo >= lower[g + 1]) & (oo <= upper[g])
    return screened


def poisson_lower_p(observed, expected) -> np.ndarray:
    """Exact one-sided p-value of a shortfall: P(X <= observed) for X ~ Poisson(expected)."""
    o, e = np.broadcast_arrays(np.asarray(observed, dtype=float), np.asarray(expected, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = special.pdtr(o, np.where(e > 0, e, 1.0))
    return np.where((e > 0) & np.isfinite(o), p, np.nan)


def binom_lower_p(k, n, p) -> np.ndarray:
    """Exact one-sided p-value of a share below ``p``: P(K <= k) for K ~ Binomial(n, p)."""
    k = np.asarray(k, dtype=float)
    n = np.broadcast_to(np.asarray(n, dtype=float), k.shape)
    p = np.broadcast_to(np.asarray(p, dtype=float), k.shape)
    with np.errstate(invalid="ignore"):
        out = stats.binom.cdf(k, n, p)
    return np.where((n > 0) & (p > 0) & (p < 1), out, np.nan)


def eb_smooth(observed, expected) -> tuple[np.ndarray, float, float]:
    """Empirical-Bayes (Poisson–gamma) smoothed ratios, by the method of moments (Marshall, 1991).

    Model: O_i ~ Poisson(E_i θ_i), θ_i ~ Gamma(shape a, rate b) (mean m = a / b, variance v).
    Moments over the sectors with E_i > 0: m = ΣO / ΣE, v = Σ E_i (R_i − m)² / ΣE − m / Ē
    (Ē the mean of E_i), floored at 0. The posterior mean is (O_i + a) / (E_i + b) with
    a = m² / v, b = m / v: R_i shrunk towards m by the weight E_i / (E_i + b). When v = 0 every
    sector gets m. Returns the smoothed ratios (NaN where E_i = 0), a and b (inf when v = 0).
    """
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    ok = np.isfinite(o) & np.isfinite(e) & (e > 0)
    out = np.full(o.shape, np.nan)
    if not ok.any():
        return out, float("nan"), float("nan")
    oo, ee = o[ok], e[ok]
    m = oo.sum() / ee.sum()
    r = oo / ee
    v = max(0.0, float((ee * (r - m) ** 2).sum() / ee.sum() - m / ee.mean()))
    if v <= 0 or m <= 0:
        out[ok] = m
        return out, float("inf"), float("inf")
    a, b = m * m / v, m / v
    out[ok] = (oo + a) / (ee + b)
    return out, a, b


def funnel_limits(expected, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Control limits of a ratio O / E around 1 at two-sided ``level`` (0.95, 0.998), exact Poisson.

    Spiegelhalter (2005): r_p = the p-quantile of Poisson(E); the limit is (r_p − α) / E with
    α = (F(r_p) − p) / (F(r_p) − F(r_p − 1)), which interpolates the discrete quantile so that
    the limits are smooth in E."""
    e = np.asarray(expected, dtype=float)
    out = []
    for p in ((1 - level) / 2, 1 - (1 - level) / 2):
        r = stats.poisson.ppf(p, e)
        f_r = stats.poisson.cdf(r, e)
        f_r1 = stats.poisson.cdf(r - 1, e)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(f_r > f_r1, (f_r - p) / (f_r - f_r1), 0.0)
            out.append(np.where(e > 0, np.maximum(r - alpha, 0.0) / e, np.nan))
    return out[0], out[1]


def binom_ci(k: np.ndarray, n: np.ndarray, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Clopper–Pearson interval of a proportion k / n."""
    k = np.asarray(k, dtype=float)
    n = np.broadcast_to(np.asarray(n, dtype=float), k.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, stats.beta.ppf(alpha / 2, np.maximum(k, 1), n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, np.maximum(n - k, 1)), 1.0)
    bad = n <= 0
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def binom_test(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Exact two-sided p-value of k successes in n trials of probability p (doubled smaller tail)."""
    k = np.asarray(k, dtype=float)
    n = np.broadcast_to(np.asarray(n, dtype=float), k.shape)
    p = np.broadcast_to(np.asarray(p, dtype=float), k.shape)
    with np.errstate(invalid="ignore"):
        lower = stats.binom.cdf(k, n, p)
        upper = stats.binom.sf(k - 1, n, p)
    out = np.minimum(1.0, 2 * np.minimum(lower, upper))
    return np.where((n > 0) & (p > 0) & (p < 1), out, np.nan)


def benjamini_hochberg(pvalues: np.ndarray, *, exact_below: float | None = None) -> np.ndarray:
    """BH-adjusted p-values (q-values) of every finite p; NaN (tests not run) stay NaN.

    q of the i-th smallest p is min over j ≥ i of p_(j) × m / j. A term with p_(j) ≥ α is at
    least α (m / j ≥ 1), so every q below α depends only on m and on the p-values below α: a
    p-value known only to be at least α (see ``poisson_test(screen=...)``) changes no q below α,
    hence no flag.

    For the same reason, with ``exact_below`` (a level α) only the p-values below α are sorted:
    every q-value below α is the exact one, bit for bit, and every other finite p gets a q-value
    of at least α (1, or an upper bound of its q), not its own. A diagnostic of 50,000 sectors
    has about a million tests, few of them below α.
    """
    p = np.asarray(pvalues, dtype=float)
    flat = p.ravel()
    ok = np.flatnonzero(np.isfinite(flat))
    q = np.full(flat.shape, np.nan)
    m = ok.size
    if m:
        if exact_below is not None:
            q[ok] = 1.0
            ok = ok[flat[ok] < exact_below]  # the smallest p-values: their ranks are 1, 2, …
        values = flat[ok]
        order = np.argsort(values)
        ranked = values[order] * m / np.arange(1, ok.size + 1)
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        q[ok[order]] = np.minimum(ranked, 1.0)
    return q.reshape(p.shape)


def flag_shortfall(observed, expected, qvalues, alpha: float = ALPHA) -> np.ndarray:
    """Significant, large enough and far enough below expectation to be worth telling."""
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    q = np.asarray(qvalues, dtype=float)
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(q)
            & (q < alpha)
            & (expected >= MIN_ATTENDUS)
            & (observed <= (1 - ECART_MIN) * expected)
        )


# --- Per sector -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecteurStats:
    usagers: np.ndarray
    population: np.ndarray
    taux_pour_mille: np.ndarray
    taux_ic: tuple[np.ndarray, np.ndarray]
    attendus: np.ndarray  # expected users from the territory's rate in each category
    ratio: np.ndarray  # observed / expected (indirect standardisation)
    ratio_ic: tuple[np.ndarray, np.ndarray]
    pvalues: np.ndarray  # one-sided (shortfall); NaN where no test was run
    manquants: np.ndarray | None = None  # expected - observed
    manquants_ic: tuple[np.ndarray, np.ndarray] | None = None  # expected - Garwood bounds
    ratio_lisse: np.ndarray | None = None  # Empirical-Bayes smoothed ratio (map only)


def stats_secteurs(
    usagers: np.ndarray,
    population: np.ndarray,
    usagers_par_categorie: np.ndarray | None = None,
    population_par_categorie: np.ndarray | None = None,
) -> SecteurStats:
    """Rates per 1,000 and indirectly standardised ratios per sector.

    With a sector × category breakdown (usually age), the expected count of a sector is
    Σ_c population[s, c] × rate_c, rate_c being the territory's rate in category c; users of
    unknown category are spread in proportion so that expected counts sum to observed ones.
    That separates "this sector is under-served" from "this sector is older".
    Without a breakdown, the territory's crude rate is used (crude ratio).
    """
    o = np.asarray(usagers, dtype=float)
    n = np.asarray(population, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        taux = np.where(n > 0, 1000 * o / n, np.nan)
        lo, hi = poisson_ci(o)
        taux_ic = (np.where(n > 0, 1000 * lo / n, np.nan), np.where(n > 0, 1000 * hi / n, np.nan))
        if usagers_par_categorie is not None and population_par_categorie is not None:
            uc = np.asarray(usagers_par_categorie, dtype=float)
            pc = np.asarray(population_par_categorie, dtype=float)
            pop_c = pc.sum(axis=0)
            rate_c = np.where(pop_c > 0, uc.sum(axis=0) / pop_c, 0.0)
            attendus = pc @ rate_c
            known = uc.sum()
            if known > 0:
                attendus = attendus * (o.sum() / known)
        else:
            total_pop = n[np.isfinite(n)].sum()
            attendus = n * (o.sum() / total_pop) if total_pop > 0 else np.zeros_like(n)
        ratio = np.where(attendus > 0, o / attendus, np.nan)
        ratio_ic = (
            np.where(attendus > 0, lo / attendus, np.nan),
            np.where(attendus > 0, hi / attendus, np.nan),
        )
    p = np.where(attendus >= MIN_ATTENDUS, poisson_lower_p(o, attendus), np.nan)
    # The expected count is fixed, the observed one is a Poisson draw of mean μ: the shortfall
    # attendus - μ lies in [attendus - high, attendus - low] with 95 % confidence.
    manquants_ic = (attendus - hi, attendus - lo)
    lisse, _, _ = eb_smooth(o, attendus)
    return SecteurStats(o, n, taux, taux_ic, attendus, ratio, ratio_ic, p, attendus - o, manquants_ic, lisse)


# --- Per category ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategorieStats:
    usagers: np.ndarray
    population: np.ndarray
    part_usagers: np.ndarray
    part_population: np.ndarray
    part_usagers_ic: tuple[np.ndarray, np.ndarray]
    indice: np.ndarray  # representation index: part_usagers / part_population
    attendus: np.ndarray
    manquants: np.ndarray  # users to add to this category for its share to equal p (< 0: over)
    pvalues: np.ndarray  # one-sided (shortfall)
    indice_ic: tuple[np.ndarray, np.ndarray] | None = None
    manquants_ic: tuple[np.ndarray, np.ndarray] | None = None


def stats_categories(
    usagers: np.ndarray, population: np.ndarray, attendus_part: np.ndarray | None = None
) -> CategorieStats:
    """Share among users against share in the population, for the categories of one dimension.

    Users of unknown category are not in ``usagers``: shares are among users whose category is
    known, which assumes the unknowns are spread like the knowns.

    The missing users of a category of share p in the population, k of n users, is the number x
    that equalises its share: (k + x) / (n + x) = p, so x = (p·n − k) / (1 − p) (adding users of
    this category also grows the total). Its 95 % range maps the Clopper–Pearson bounds of k / n
    through the same formula: x = n (p − k/n) / (1 − p).

    ``attendus_part``: the expected shares when they are not the population's (the CSP
    standardised by age); the index and the test then compare with those.
    """
    k = np.asarray(usagers, dtype=float)
    pop = np.asarray(population, dtype=float)
    n_users = k.sum()
    n_pop = pop.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        part_u = k / n_users if n_users > 0 else np.full_like(k, np.nan)
        part_p = pop / n_pop if n_pop > 0 else np.full_like(pop, np.nan)
    ref = part_p if attendus_part is None else np.asarray(attendus_part, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        indice = np.where(ref > 0, part_u / ref, np.nan)
    ic = binom_ci(k, n_users)
    attendus = n_users * ref
    p = np.where(attendus >= MIN_ATTENDUS, binom_lower_p(k, n_users, ref), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(ref < 1, n_users / (1 - ref), np.nan)
        manquants = (ref * n_users - k) / np.where(ref < 1, 1 - ref, np.nan)
        manquants_ic = (scale * (ref - ic[1]), scale * (ref - ic[0]))
        indice_ic = (np.where(ref > 0, ic[0] / ref, np.nan), np.where(ref > 0, ic[1] / ref, np.nan))
    return CategorieStats(k, pop, part_u, part_p, ic, indice, attendus, manquants, p, indice_ic, manquants_ic)


# --- Per sector × category ------------------------------------------------------------------------


@dataclass(frozen=True)
class CelluleStats:
    attendus: np.ndarray  # (n_secteurs, n_categories)
    manquants: np.ndarray
    pvalues: np.ndarray  # one-sided (shortfall)


def stats_cellules(
    usagers: np.ndarray, population: np.ndarray, taux_reference: float, *, screen: float | None = ALPHA
) -> CelluleStats:
    """Users of one category in one sector against the territory's average rate.

    ``taux_reference`` is the territory's rate (users per inhabitant) for the dimension; the
    expected count is the number of users this category of this sector would have at that rate:
    "about 140 more 15-29 year olds from this quartier would reach the territory's average rate".

    The test is one-sided (a shortfall), the Poisson lower tail, one call of scipy's ``pdtr``
    over the cells (``screen`` is kept for callers; the one-sided tail needs no screen).
    """
    o = np.asarray(usagers, dtype=float)
    attendus = np.asarray(population, dtype=float) * taux_reference
    eligible = attendus >= MIN_ATTENDUS
    p = np.full(o.shape, np.nan)
    if eligible.any():
        p[eligible] = poisson_lower_p(o[eligible], attendus[eligible])
    return CelluleStats(attendus, attendus - o, p)
