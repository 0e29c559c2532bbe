"""The counts the diagnostic engine consumes, per location, for one reference year (issue 8).

Pure module: no Django. The engine reads, for every attendance record, its location (IRIS,
commune), its age (exact, from the birth year and the visit year or the reference year; else its
age band), its sex, its CSP and its situation, each dimension on its own. So it needs the counts
per location × value of each dimension, not the joint profiles (``Profil``: birth year × visit
year × band × sex × CSP × situation × location, almost one row per usager). :class:`Comptages`
holds exactly those counts:

* ``total``: records per location;
* ``ages``: records with an exact age, per location × age (``age_min`` + column);
* ``par_bande``: records without a birth year, per location × age band label (``bandes``);
* ``par_sexe``: per location × sex value;
* ``par_csp`` and ``par_situation``: per location × value × position of the record's known age
  range in the universe of the INSEE table (inside, outside, straddling or unknown: ``DEDANS``,
  ``DEHORS``, ``A_CHEVAL``), which is all the engine asks of the age for those two dimensions.

An exact age depends on the reference year for records without a visit date, hence one
``Comptages`` per reference year. The engine turns locations into sectors (IRIS, commune or
quartier) and ages into the diagnostic's bands itself (they depend on the population), so a
``Comptages`` serves every level and every population. Counts are integers: the sums the engine
makes from them are exact, and its result is the very same as from the records (tested).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

FORMAT_VERSION = 1

#: The universe (age range) of the INSEE tables the engine compares CSP and situation with:
#: the CSP of residents aged 15 or more, the activity of residents aged 15 to 64.
UNIVERS = {"csp": (15, np.inf), "situation": (15, 65)}
DEDANS, DEHORS, A_CHEVAL = 0, 1, 2

#: The fields of one profile row, in order (``Profil``'s columns and ``effectif`` last).
PROFILE_FIELDS = (
    "code_iris",
    "code_commune",
    "annee_naissance",
    "annee_visite",
    "tranche_age",
    "sexe",
    "csp",
    "situation",
    "effectif",
)


@dataclass(frozen=True, eq=False)
class Comptages:
    """Per-location counts of one attendance for one reference year (see the module docstring)."""

    reference_year: int
    iris: tuple[str, ...]  # the location's IRIS code, "" when unknown
    communes: tuple[str, ...]  # the location's commune code, "" when unknown
    total: np.ndarray  # (L,)
    age_min: int
    ages: np.ndarray  # (L, A)
    bandes: tuple[str, ...]
    par_bande: np.ndarray  # (L, B)
    sexes: tuple[str, ...]
    par_sexe: np.ndarray  # (L, S)
    csps: tuple[str, ...]
    par_csp: np.ndarray  # (L, C, 3)
    situations: tuple[str, ...]
    par_situation: np.ndarray  # (L, V, 3)

    def __len__(self) -> int:
        return int(self.total.sum())

    # --- storage --------------------------------------------------------------------------------

    _ARRAYS = ("total", "ages", "par_bande", "par_sexe", "par_csp", "par_situation")
    _LABELS = ("iris", "communes", "bandes", "sexes", "csps", "situations")

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        labels = {name: np.array(getattr(self, name), dtype=str) for name in self._LABELS}
        meta = np.array([FORMAT_VERSION, self.reference_year, self.age_min], dtype=np.int64)
        np.savez_compressed(buffer, meta=meta, **arrays, **labels)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Comptages:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            version, reference_year, age_min = (int(x) for x in z["meta"])
            if version != FORMAT_VERSION:
                raise ValueError(f"Comptages format {version}, expected {FORMAT_VERSION}")
            arrays = {name: z[name] for name in cls._ARRAYS}
            labels = {name: tuple(str(x) for x in z[name]) for name in cls._LABELS}
        return cls(reference_year=reference_year, age_min=age_min, **arrays, **labels)


@dataclass(frozen=True)
class FrequentationComptee:
    """An attendance the engine reads as :class:`Comptages` (the database's), not as records.

    ``comptages(reference_year)`` gives (or computes and keeps) the counts for that year.
    """

    unite: str  # "personnes" | "accompagnements"
    source: str  # "ancrage" | "coop"
    fichier: str
    comptages: Callable[[int], Comptages]
    niveau: str | None = None


def _codes(values: list) -> tuple[tuple, np.ndarray]:
    """Distinct values (in order of appearance) and the index of each value among them."""
    seen: dict = {}
    idx = np.fromiter((seen.setdefault(v, len(seen)) for v in values), dtype=np.intp, count=len(values))
    return tuple(seen), idx


def _count(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    n, k = shape
    if n == 0 or k == 0:
        return np.zeros(shape, dtype=np.int64)
    flat = np.bincount(rows * k + cols, weights=weights, minlength=n * k)
    return np.rint(flat).astype(np.int64).reshape(shape)


def comptages_from_profiles(
    rows: Iterable[tuple], reference_year: int, parse_band: Callable[[str], tuple | None]
) -> Comptages:
    """Count profile rows (``PROFILE_FIELDS``: codes and values as ``Profil`` stores them, "" or
    ``None`` when unknown, the age band as a label) for ``reference_year``.

    ``parse_band`` reads a band label (``readers.parse_age_band``): the universes of CSP and
    situation need the band's range.
    """
    columns = list(zip(*rows, strict=True)) or [()] * len(PROFILE_FIELDS)
    iris, communes, naissance, visite, tranche, sexe, csp, situation, effectif = columns
    size = len(effectif)
    weights = np.fromiter(effectif, dtype=float, count=size)
    locations, loc = _codes([(i or "", c or "") for i, c in zip(iris, communes, strict=True)])
    n_loc = len(locations)
    total = np.rint(np.bincount(loc, weights=weights, minlength=n_loc)).astype(np.int64)

    # Age as the engine computes it: (visit year, else the reference year) - birth year.
    birth = np.fromiter((b or 0 for b in naissance), dtype=np.int64, count=size)
    visit = np.fromiter((v or 0 for v in visite), dtype=np.int64, count=size)
    exact = birth != 0
    age_int = np.where(visit != 0, visit, reference_year) - birth
    age_min = int(age_int[exact].min()) if exact.any() else 0
    age_max = int(age_int[exact].max()) if exact.any() else -1
    ages = _count(loc[exact], age_int[exact] - age_min, weights[exact], (n_loc, age_max - age_min + 1))

    # Records without a birth year: their band, if any.
    labelled = ~exact & np.fromiter((bool(t) for t in tranche), dtype=bool, count=size)
    band_labels, band_idx = _codes([t for t, keep in zip(tranche, labelled, strict=True) if keep])
    par_bande = _count(loc[labelled], band_idx, weights[labelled], (n_loc, len(band_labels)))

    # The known age range [low, high) of each record (NaN when unknown), as the engine sees it.
    bands = {label: parse_band(label) for label in band_labels}
    band_low = np.array([np.nan if b is None else b[0] for b in bands.values()] + [np.nan])
    band_high = np.array(
        [np.nan if b is None else (np.inf if b[1] is None else b[1]) for b in bands.values()] + [np.nan]
    )
    which = np.full(size, len(band_labels), dtype=np.intp)  # the NaN sentinel
    which[labelled] = band_idx
    age = age_int.astype(float)
    low = np.where(exact, age, band_low[which])
    high = np.where(exact, age + 1, band_high[which])

    def per_value(values, universe):
        labels, idx = _codes([v or "" for v in values])
        lo, hi = universe
        inside = (low >= lo) & (high <= hi)
        outside = (high <= lo) | (low >= hi)
        position = np.where(outside, DEHORS, np.where(inside, DEDANS, A_CHEVAL))
        k = len(labels)
        counts = _count(loc, idx * 3 + position, weights, (n_loc, k * 3)).reshape(n_loc, k, 3)
        return labels, counts

    sexes, sexe_idx = _codes([s or "" for s in sexe])
    par_sexe = _count(loc, sexe_idx, weights, (n_loc, len(sexes)))
    csps, par_csp = per_value(csp, UNIVERS["csp"])
    situations, par_situation = per_value(situation, UNIVERS["situation"])
    return Comptages(
        reference_year=reference_year,
        iris=tuple(i for i, _ in locations),
        communes=tuple(c for _, c in locations),
        total=total,
        age_min=age_min,
        ages=ages,
        bandes=band_labels,
        par_bande=par_bande,
        sexes=sexes,
        par_sexe=par_sexe,
        csps=csps,
        par_csp=par_csp,
        situations=situations,
        par_situation=par_situation,
    )
