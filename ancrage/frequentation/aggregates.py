"""The counts the diagnostic engine consumes, per location, for one reference year.

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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ancrage.core import arrays as stored

FORMAT_VERSION = 3  # 3: counts stored in their smallest unsigned type

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
        # Counts are stored in their smallest type (a quarter of the bytes to inflate at the
        # national tier), and read back as int64, the type every sum in the engine expects.
        arrays = {name: stored.smallest(getattr(self, name)) for name in self._ARRAYS}
        labels = {name: np.array(getattr(self, name), dtype=str) for name in self._LABELS}
        meta = np.array([FORMAT_VERSION, self.reference_year, self.age_min], dtype=np.int64)
        return stored.pack(meta=meta, **arrays, **labels)

    @classmethod
    def from_bytes(cls, data: bytes) -> Comptages:
        with stored.unpack(data) as z:
            version, reference_year, age_min = (int(x) for x in z["meta"])
            if version != FORMAT_VERSION:
                raise ValueError(f"Comptages format {version}, expected {FORMAT_VERSION}")
            arrays = {name: z[name].astype(np.int64) for name in cls._ARRAYS}
            labels = {name: tuple(z[name].tolist()) for name in cls._LABELS}
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


def _codes(values: Iterable) -> tuple[tuple, np.ndarray]:
    """Distinct values (in order of appearance) and the index of each value among them."""
    seen: dict = {}
    idx = np.fromiter((seen.setdefault(v, len(seen)) for v in values), dtype=np.intp)
    return tuple(seen), idx


def _used(labels: tuple, codes: np.ndarray) -> tuple[tuple, np.ndarray]:
    """The labels ``codes`` use, in order of first use, and the codes renumbered among them."""
    if codes.size == 0:
        return (), np.zeros(0, dtype=np.intp)
    unique, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    return tuple(labels[int(u)] for u in unique[order]), rank[inverse.ravel()]


def _count(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    n, k = shape
    if n == 0 or k == 0:
        return np.zeros(shape, dtype=np.int64)
    flat = np.bincount(rows * k + cols, weights=weights, minlength=n * k)
    return np.rint(flat).astype(np.int64).reshape(shape)


#: The categorical columns of :class:`Profils`: (labels attribute, codes attribute).
PROFILS_CATEGORIES = (
    ("tranches", "tranche"),
    ("sexes", "sexe"),
    ("csps", "csp"),
    ("situations", "situation"),
)


@dataclass(frozen=True, eq=False)
class Profils:
    """The joint profiles of one import (``PROFILE_FIELDS``), as columns.

    A profile is one combination of location × birth year × visit year × age band × sex × CSP ×
    situation, with the number of records that have it (``effectif``). There are almost as many
    profiles as usagers, so they are kept as one row of compressed arrays per import, not one
    database row each: categorical columns are codes into their labels ("" when unknown), years
    are integers (0 when unknown). Columns may come in any integer type (the import keeps the
    smallest); :meth:`from_bytes` gives int64.
    """

    locations: tuple[tuple[str, str], ...]  # (IRIS code, commune code), "" when unknown
    loc: np.ndarray  # (P,) index into ``locations``
    naissance: np.ndarray  # (P,) birth year, 0 when unknown
    visite: np.ndarray  # (P,) visit year, 0 when unknown
    tranches: tuple[str, ...]
    tranche: np.ndarray
    sexes: tuple[str, ...]
    sexe: np.ndarray
    csps: tuple[str, ...]
    csp: np.ndarray
    situations: tuple[str, ...]
    situation: np.ndarray
    effectif: np.ndarray  # (P,) records per profile

    def __len__(self) -> int:
        return len(self.effectif)

    @property
    def records(self) -> int:
        return int(self.effectif.sum())

    @classmethod
    def from_rows(cls, rows: Iterable[tuple]) -> Profils:
        """Profiles from rows of ``PROFILE_FIELDS`` ("" or ``None`` when unknown)."""
        columns = list(zip(*rows, strict=True)) or [()] * len(PROFILE_FIELDS)
        iris, communes, naissance, visite, tranche, sexe, csp, situation, effectif = columns
        size = len(effectif)
        locations, loc = _codes((i or "", c or "") for i, c in zip(iris, communes, strict=True))
        values = (tranche, sexe, csp, situation)
        coded = {
            codes: _codes(v or "" for v in column)
            for (_, codes), column in zip(PROFILS_CATEGORIES, values, strict=True)
        }
        return cls(
            locations=locations,
            loc=loc,
            naissance=np.fromiter((b or 0 for b in naissance), dtype=np.int64, count=size),
            visite=np.fromiter((v or 0 for v in visite), dtype=np.int64, count=size),
            **{labels: coded[codes][0] for labels, codes in PROFILS_CATEGORIES},
            **{codes: coded[codes][1] for _, codes in PROFILS_CATEGORIES},
            effectif=np.fromiter(effectif, dtype=np.int64, count=size),
        )

    @classmethod
    def from_counts(cls, counts: Mapping[tuple, int]) -> Profils:
        """Profiles from ``{profile: records}``, a profile being ``PROFILE_FIELDS`` but the last."""
        return cls.from_rows((*key, n) for key, n in counts.items())

    def rows(self) -> Iterable[tuple]:
        """The profiles as rows of ``PROFILE_FIELDS`` (``None`` for an unknown year)."""
        columns = [
            [self.locations[i][0] for i in self.loc.tolist()],
            [self.locations[i][1] for i in self.loc.tolist()],
            [y or None for y in self.naissance.tolist()],
            [y or None for y in self.visite.tolist()],
            *(
                [getattr(self, labels)[i] for i in getattr(self, codes).tolist()]
                for labels, codes in PROFILS_CATEGORIES
            ),
            self.effectif.tolist(),
        ]
        return zip(*columns, strict=True)

    # --- storage --------------------------------------------------------------------------------

    _ARRAYS = ("loc", "naissance", "visite", "tranche", "sexe", "csp", "situation", "effectif")
    _LABELS = ("tranches", "sexes", "csps", "situations")

    def to_bytes(self) -> bytes:
        arrays = {name: stored.smallest(getattr(self, name)) for name in self._ARRAYS}
        labels = {name: np.array(getattr(self, name), dtype=str) for name in self._LABELS}
        iris = np.array([i for i, _ in self.locations], dtype=str)
        communes = np.array([c for _, c in self.locations], dtype=str)
        meta = np.array([PROFILS_FORMAT_VERSION], dtype=np.int64)
        return stored.pack(meta=meta, iris=iris, communes=communes, **arrays, **labels)

    @classmethod
    def from_bytes(cls, data: bytes) -> Profils:
        with stored.unpack(data) as z:
            (version,) = (int(x) for x in z["meta"])
            if version != PROFILS_FORMAT_VERSION:
                raise ValueError(f"Profils format {version}, expected {PROFILS_FORMAT_VERSION}")
            arrays = {name: z[name].astype(np.int64) for name in cls._ARRAYS}
            labels = {name: tuple(str(x) for x in z[name]) for name in cls._LABELS}
            locations = tuple(zip((str(x) for x in z["iris"]), (str(x) for x in z["communes"]), strict=True))
        return cls(locations=locations, **arrays, **labels)


PROFILS_FORMAT_VERSION = 1


def comptages_from_profils(
    profils: Profils, reference_year: int, parse_band: Callable[[str], tuple | None]
) -> Comptages:
    """Count the profiles of an import for ``reference_year``, with no Python loop per profile.

    ``parse_band`` reads a band label (``readers.parse_age_band``): the universes of CSP and
    situation need the band's range. Labels come in the order of their first profile, as the
    engine always saw them.
    """
    size = len(profils)
    weights = profils.effectif.astype(float)
    locations, loc = _used(profils.locations, profils.loc)
    n_loc = len(locations)
    total = np.rint(np.bincount(loc, weights=weights, minlength=n_loc)).astype(np.int64)

    # Age as the engine computes it: (visit year, else the reference year) - birth year.
    birth, visit = profils.naissance.astype(np.int64), profils.visite.astype(np.int64)  # signed
    exact = birth != 0
    age_int = np.where(visit != 0, visit, reference_year) - birth
    age_min = int(age_int[exact].min()) if exact.any() else 0
    age_max = int(age_int[exact].max()) if exact.any() else -1
    ages = _count(loc[exact], age_int[exact] - age_min, weights[exact], (n_loc, age_max - age_min + 1))

    # Records without a birth year: their band, if any.
    named = np.array([bool(t) for t in profils.tranches], dtype=bool)[profils.tranche]
    labelled = ~exact & named
    band_labels, band_idx = _used(profils.tranches, profils.tranche[labelled])
    par_bande = _count(loc[labelled], band_idx, weights[labelled], (n_loc, len(band_labels)))

    # The known age range [low, high) of each record (NaN when unknown), as the engine sees it.
    bands = [parse_band(label) for label in band_labels]
    band_low = np.array([np.nan if b is None else b[0] for b in bands] + [np.nan])
    band_high = np.array(
        [np.nan if b is None else (np.inf if b[1] is None else b[1]) for b in bands] + [np.nan]
    )
    which = np.full(size, len(band_labels), dtype=np.intp)  # the NaN sentinel
    which[labelled] = band_idx
    age = age_int.astype(float)
    low = np.where(exact, age, band_low[which])
    high = np.where(exact, age + 1, band_high[which])

    def per_value(labels, codes, universe):
        labels, idx = _used(labels, codes)
        lo, hi = universe
        inside = (low >= lo) & (high <= hi)
        outside = (high <= lo) | (low >= hi)
        position = np.where(outside, DEHORS, np.where(inside, DEDANS, A_CHEVAL))
        k = len(labels)
        counts = _count(loc, idx * 3 + position, weights, (n_loc, k * 3)).reshape(n_loc, k, 3)
        return labels, counts

    sexes, sexe_idx = _used(profils.sexes, profils.sexe)
    par_sexe = _count(loc, sexe_idx, weights, (n_loc, len(sexes)))
    csps, par_csp = per_value(profils.csps, profils.csp, UNIVERS["csp"])
    situations, par_situation = per_value(profils.situations, profils.situation, UNIVERS["situation"])
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
