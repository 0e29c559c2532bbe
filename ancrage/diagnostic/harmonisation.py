"""Compare like with like: age bands shared by the population and the attendance.

Pure module: no Django. INSEE gives two age partitions (0-2 … 80+ and 0-14 … 75+), La Coop
its own bands, the usagers file exact birth years or bands. The rule (PRODUCT.md,
"Harmonising categories"):

* with exact ages, use an INSEE partition as it is, even when some records give a band: a band
  that fits inside one INSEE band counts there, a band that straddles several is *spread* over
  them in proportion to the sector's population in each part (:func:`spread_bands`), and those
  estimated users are flagged. A few users giving "30-44" never coarsen the scheme for everyone;
* with bands only, use the finest bands that both sides give exactly;
* when that leaves too coarse a cut, use the attendance bands and *estimate* the population
  of each band (uniform within INSEE bands); those bands carry ``approximation = True``.

Both INSEE partitions describe the same people, so the cumulative population F(x) ("residents
younger than x") is known exactly at every boundary of either partition. A band [a, b) is then
exact whenever a and b are both boundaries, even of different partitions: F(b) - F(a).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ancrage.frequentation.readers import AgeBand, band_label
from ancrage.territoire.insee import AGE_PARTITION_FINE, AGE_PARTITION_LARGE, Population

#: Upper age used to spread an open band ("80+") uniformly when a cut falls inside it.
AGE_MAX_INTERPOLATION = 100
#: Below this number of exact common bands, attendance bands with estimated population are used.
MIN_BANDES_EXACTES = 3

INF = 10_000  # stands for an open upper bound in the cut arithmetic


@dataclass(frozen=True)
class AgeScheme:
    """The age bands of one diagnostic, with the population of each sector in each band."""

    bands: tuple[AgeBand, ...]
    population: np.ndarray  # (n_secteurs, n_bands)
    present: np.ndarray  # (n_secteurs,) bool
    approximation: tuple[bool, ...]  # per band: population estimated, not read
    #: F(x) per sector at every known boundary (for spreading bands); None when not computed.
    cumulative: dict | None = None
    #: The ages served (eligible population) the bands are restricted to, (low, high or None).
    eligible: AgeBand | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(band_label(b) for b in self.bands)

    def index_of_age(self, ages: np.ndarray) -> np.ndarray:
        """Band index of exact ages (NaN, or outside every band -> -1)."""
        ages = np.asarray(ages, dtype=float)
        lows = np.array([b[0] for b in self.bands], dtype=float)
        top = self.bands[-1][1] if self.bands else None
        idx = np.searchsorted(lows, ages, side="right") - 1
        with np.errstate(invalid="ignore"):
            out = np.isnan(ages) | (ages < lows[0] if len(lows) else True)
            if top is not None:
                out = out | (ages >= top)
        return np.where(out, -1, idx)

    def index_of_band(self, band: AgeBand | None) -> int:
        """Index of the scheme band containing ``band`` entirely, else -1 (the record is not counted)."""
        if band is None:
            return -1
        low, high = band[0], INF if band[1] is None else band[1]
        for i, (a, b) in enumerate(self.bands):
            if a <= low and high <= (INF if b is None else b):
                return i
        return -1


def _cumulative(population: Population) -> tuple[dict[int, np.ndarray], np.ndarray, np.ndarray]:
    """F(x) for every boundary x of the partitions present, plus the total and the presence mask."""
    known: dict[int, np.ndarray] = {}
    total = None
    present = None
    for key, partition in (("age_large", AGE_PARTITION_LARGE), ("age_fin", AGE_PARTITION_FINE)):
        rep = population.repartitions.get(key)
        if rep is None:
            continue
        cum = np.cumsum(rep.values, axis=1)
        known.setdefault(0, np.zeros(len(population)))
        for j, (_, high) in enumerate(partition):
            if high is not None:
                known.setdefault(high, cum[:, j])
        if total is None:
            total, present = cum[:, -1], rep.present
        else:
            present = present & rep.present
    if total is None:
        raise ValueError("La population importée ne contient aucune répartition par âge.")
    known[INF] = total
    return known, total, present


def attendance_cuts(bands: Iterable[AgeBand]) -> set[int]:
    """Cut points compatible with every band used by the attendance: no band straddles them."""
    bands = set(bands)
    ends = {0}
    for low, high in bands:
        ends.add(low)
        if high is not None:
            ends.add(high)
    return {x for x in ends if not any(low < x < (INF if high is None else high) for low, high in bands)}


def _bands_from_cuts(cuts: Iterable[int]) -> tuple[AgeBand, ...]:
    points = sorted(set(cuts) | {0})
    return tuple((a, b) for a, b in zip(points, points[1:] + [None], strict=True))


def _interpolate(known: dict[int, np.ndarray], x: int) -> np.ndarray:
    if x in known:
        return known[x]
    xs = sorted(known)
    lo = max(k for k in xs if k < x)
    hi = min(k for k in xs if k > x)
    hi_x = AGE_MAX_INTERPOLATION if hi == INF else hi
    if hi_x <= lo:  # a cut beyond the interpolation age: the open band keeps everyone
        return known[lo]
    weight = min(1.0, (x - lo) / (hi_x - lo))
    return known[lo] + weight * (known[hi] - known[lo])


def harmonise_ages(
    population: Population,
    bandes_frequentation: Iterable[AgeBand],
    *,
    ages_exacts: bool = False,
    partition: str = "age_large",
    min_bandes: int = MIN_BANDES_EXACTES,
    eligible: AgeBand | None = None,
) -> AgeScheme:
    """Choose the age bands of a diagnostic and compute their population.

    ``bandes_frequentation``: every distinct band the attendance uses. ``ages_exacts``: some
    records have an exact age; the INSEE ``partition`` is then used as is, and the bands that do
    not fit one INSEE band are spread by :func:`spread_bands` (the caller's job). With no band at
    all, the INSEE partition is used as is too.

    ``eligible``: the ages the EPN serves, ``(low, high)`` (``high`` None: no upper bound). The
    bands are clipped to it and bands outside are dropped; a cut inside an INSEE band is
    estimated (uniform within the band) and flagged.
    """
    known, _, present = _cumulative(population)
    bands_in = set(bandes_frequentation)
    pop_cuts = {x for x in known if x != INF}
    if ages_exacts or not bands_in:
        key = (
            partition
            if partition in population.repartitions
            else next(k for k in ("age_large", "age_fin") if k in population.repartitions)
        )
        parts = AGE_PARTITION_LARGE if key == "age_large" else AGE_PARTITION_FINE
        cuts = {low for low, _ in parts}
    else:
        att_cuts = attendance_cuts(bands_in)
        exact = att_cuts & pop_cuts
        cuts = exact if len(exact) >= min_bandes or exact == att_cuts else att_cuts
    bands = _bands_from_cuts(cuts)
    if eligible is not None:
        bands = _clip(bands, eligible)
        if not bands:
            raise ValueError("Les âges servis ne recouvrent aucune tranche d'âge de la population.")
    columns = []
    approx = []
    for low, high in bands:
        upper = INF if high is None else high
        columns.append(np.maximum(_interpolate(known, upper) - _interpolate(known, low), 0.0))
        approx.append(low not in known or upper not in known)
    matrix = np.column_stack(columns) if columns else np.zeros((len(population), 0))
    return AgeScheme(bands, matrix, present.copy(), tuple(approx), known, eligible)


def _clip(bands: Iterable[AgeBand], eligible: AgeBand) -> tuple[AgeBand, ...]:
    """The bands restricted to the eligible ages (empty intersections dropped)."""
    lo_e, hi_e = eligible[0], INF if eligible[1] is None else eligible[1]
    out = []
    for low, high in bands:
        a, b = max(low, lo_e), min(INF if high is None else high, hi_e)
        if a < b:
            out.append((a, None if b == INF else b))
    return tuple(out)


def population_between(scheme: AgeScheme, low: int, high: int | None) -> np.ndarray:
    """Population of each sector aged ``low`` to ``high`` (exclusive; None: no bound), estimated
    uniformly inside an INSEE band when a bound is not one of its boundaries."""
    if scheme.cumulative is None:
        raise ValueError("scheme without cumulative population")
    upper = INF if high is None else high
    return np.maximum(_interpolate(scheme.cumulative, upper) - _interpolate(scheme.cumulative, low), 0.0)


def spread_bands(
    scheme: AgeScheme, band_counts: dict[AgeBand, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place the users who gave a band instead of an age: ``band_counts[band]`` = users per sector.

    A band inside one scheme band counts there, exactly. A band that straddles several is spread
    over them in proportion to the sector's population in each overlap (the territory's when the
    sector has nobody in that band). The part of a band outside the eligible ages is not
    counted. Returns ``(placed, estimated, outside)``: users per sector × scheme band (fractions
    allowed), the estimated part of it, and per sector the users left out (no overlap at all).
    """
    n, k = scheme.population.shape
    placed = np.zeros((n, k))
    estimated = np.zeros((n, k))
    outside = np.zeros(n)
    for band, counts in band_counts.items():
        counts = np.asarray(counts, dtype=float)
        inside = scheme.index_of_band(band)
        if inside >= 0:
            placed[:, inside] += counts
            continue
        low, high = band
        b_hi = INF if high is None else high
        weights = np.zeros((n, k))
        for j, (a, b) in enumerate(scheme.bands):
            lo_j, hi_j = max(a, low), min(INF if b is None else b, b_hi)
            if lo_j < hi_j:
                weights[:, j] = population_between(scheme, lo_j, None if hi_j == INF else hi_j)
        # The whole band's population: the share outside the eligible ages is not placed.
        whole = population_between(scheme, low, high)
        territory = weights.sum(axis=0)
        territory_whole = whole.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(
                whole[:, None] > 0,
                weights / np.where(whole > 0, whole, 1)[:, None],
                territory / territory_whole if territory_whole > 0 else 0.0,
            )
        share = np.nan_to_num(np.minimum(share, 1.0))
        part = counts[:, None] * share
        placed += part
        estimated += part
        outside += counts - part.sum(axis=1)
    return placed, estimated, np.maximum(outside, 0.0)


def band_overlap_share(band: AgeBand, target: AgeBand) -> float:
    """Share of ``band`` (in years, open bands closed at AGE_MAX_INTERPOLATION) inside ``target``."""
    a, b = band[0], AGE_MAX_INTERPOLATION if band[1] is None else band[1]
    c, d = target[0], AGE_MAX_INTERPOLATION if target[1] is None else target[1]
    if b <= a:
        return 0.0
    return max(0, min(b, d) - max(a, c)) / (b - a)
