"""One entry point for the territorial diagnostic: population + attendance (+ priorities) -> JSON.

Pure module: no Django. :func:`run_diagnostic` returns the JSON shape (``secteurs``,
``categories``, ``cibles``, ``unite``) that docs/diagnostic.md documents. Every
cell-level computation is vectorised; Python loops run over records (once) and over dimensions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ancrage.diagnostic import placement, stats
from ancrage.diagnostic.cibles import Ecarts, rank_cibles
from ancrage.diagnostic.harmonisation import AgeScheme, harmonise_ages
from ancrage.diagnostic.priorites import DEFAULT_PRIORITES, Priorite
from ancrage.frequentation.aggregates import A_CHEVAL, DEDANS, UNIVERS, Comptages, FrequentationComptee
from ancrage.frequentation.readers import Frequentation, band_label, parse_age_band
from ancrage.territoire.insee import (
    ACTIVITE_CATEGORIES,
    CSP_CATEGORIES,
    DIMENSIONS,
    DIPLOME_CATEGORIES,
    SEXE_CATEGORIES,
    Population,
    aggregate_population,
)

NIVEAUX = ("iris", "commune", "quartier")
ACTIVITY_AGES = UNIVERS["situation"]  # the activite-residents base counts residents aged 15 to 64


class DiagnosticImpossible(ValueError):
    """The inputs cannot give a diagnostic (message in French, for the user)."""


@dataclass(frozen=True)
class _Dimension:
    name: str
    categories: tuple[str, ...]
    population: np.ndarray  # (n_secteurs, k)
    present: np.ndarray  # (n_secteurs,)
    usagers: np.ndarray  # (n_secteurs, k)
    approximation: tuple[bool, ...]


def _sectorise(
    population: Population, niveau: str, quartiers: Mapping[str, str] | None, noms_quartiers
) -> Population:
    if niveau not in NIVEAUX:
        raise DiagnosticImpossible(f"Niveau « {niveau} » inconnu : iris, commune ou quartier.")
    if niveau == "quartier":
        if not quartiers:
            raise DiagnosticImpossible("Le niveau quartier demande la liste des IRIS de chaque quartier.")
        if population.niveau != "iris":
            raise DiagnosticImpossible("Les quartiers se construisent à partir d'une population par IRIS.")
        return aggregate_population(population, quartiers, niveau="quartier", noms=noms_quartiers)
    if niveau == "commune":
        return population if population.niveau == "commune" else aggregate_population(population)
    if population.niveau != "iris":
        raise DiagnosticImpossible("La population importée n'est pas détaillée par IRIS.")
    return population


def _sector_of(code_iris, code_commune, niveau, quartiers) -> str | None:
    if niveau == "iris":
        return code_iris
    if niveau == "commune":
        return code_iris[:5] if code_iris else code_commune
    return quartiers.get(code_iris) if code_iris else None


def _matrix(sector_idx: np.ndarray, cat_idx: np.ndarray, n: int, k: int, weights=None) -> np.ndarray:
    ok = (sector_idx >= 0) & (cat_idx >= 0)
    flat = sector_idx[ok] * k + cat_idx[ok]
    w = None if weights is None else np.asarray(weights, dtype=float)[ok]
    return np.bincount(flat, weights=w, minlength=n * k).astype(float).reshape(n, k)


def run_diagnostic(
    population: Population,
    frequentation: Frequentation | FrequentationComptee,
    *,
    priorites: Sequence[Priorite] | None = None,
    niveau: str = "iris",
    quartiers: Mapping[str, str] | None = None,
    noms_quartiers: Mapping[str, str] | None = None,
    secteurs_qpv: Collection[str] = (),
    reference_year: int | None = None,
    max_cibles: int | None = 50,
    passage: Mapping[str, str] | None = None,
) -> dict:
    """Compute the diagnostic and return it as the JSON-ready dict documented in docs/diagnostic.md.

    ``population``: IRIS population (from :func:`ancrage.territoire.insee.read_insee` /
    ``merge_populations``). ``niveau``: ``iris``, ``commune`` or ``quartier`` (then ``quartiers`` maps
    IRIS -> quartier). ``secteurs_qpv``: codes of QPV sectors at that level.
    ``reference_year``: year used for the age of users without a first-visit date (default:
    this year). ``frequentation``: the records or counts read from a file, or the counts kept in
    the database (:class:`~ancrage.frequentation.aggregates.FrequentationComptee`, same result).
    ``passage``: a table de passage (IRIS code of the attendance -> IRIS of the population) for
    attendance coded in another IRIS geography. Records that find no sector are counted by
    reason in ``non_places`` (:mod:`ancrage.diagnostic.placement`), never dropped in silence.
    """
    priorites = list(DEFAULT_PRIORITES if priorites is None else priorites)
    if frequentation.niveau == "commune" and niveau == "iris":
        raise DiagnosticImpossible(
            "La fréquentation n'est connue que par commune (par exemple l'export de La Coop) : "
            "choisissez le niveau « commune »."
        )
    pop = _sectorise(population, niveau, quartiers, noms_quartiers)
    n = len(pop)
    index = pop.index()
    quartiers = quartiers or {}
    year = reference_year or dt.date.today().year
    if isinstance(frequentation, FrequentationComptee):
        comptes = frequentation.comptages(year)  # read once: the placement counts read them too
        frequentation = dataclasses.replace(frequentation, comptages=lambda _year: comptes)
    direct = (index, quartiers)
    if passage:
        index, quartiers = placement.with_passage(index, quartiers, passage, niveau)
    non_places, convertis = _non_places(population, frequentation, niveau, direct, (index, quartiers), year)

    dims, sector_users = _counts(pop, frequentation, niveau, quartiers, index, year)
    total = np.asarray(pop.total, dtype=float)
    valid_total = np.isfinite(total)
    sect, cat_results, cell_results = _statistics(dims, sector_users, total, valid_total)
    q_sect, q_cat, q_cell = _q_values(dims, sect, valid_total, cat_results, cell_results, n)
    sous_frequente = stats.flag_shortfall(sect.usagers, sect.attendus, q_sect)

    secteurs_json = _secteurs_of(pop, total, valid_total, sect, sous_frequente)
    categories_json, ecarts = _categories_and_gaps(dims, cat_results, cell_results, q_cat, q_cell)
    ecarts.append(_sector_gaps(sect, total, q_sect, sous_frequente))
    cibles = rank_cibles(
        ecarts, pop.codes, pop.noms, priorites, set(secteurs_qpv), frequentation.unite, max_cibles
    )
    return {
        "secteurs": secteurs_json,
        "categories": categories_json,
        "cibles": cibles,
        "unite": frequentation.unite,
        "non_places": non_places,
        "iris_convertis": convertis,
    }


def _non_places(population, frequentation, niveau, direct, extended, year) -> tuple[dict[str, int], int]:
    """The records found in no sector, by reason, and those placed through the table de passage."""
    codes, communes = set(population.codes), set(population.communes)
    if not isinstance(frequentation, FrequentationComptee) and not frequentation.individus:
        index, quartiers = extended

        def found(code: str) -> bool:
            if len(code) == 9 and niveau != "iris":
                code = code[:5] if niveau == "commune" else quartiers.get(code, "")
            return code in index

        status = {a.code_secteur: found(a.code_secteur) for a in frequentation.agregats}
        counts = placement.agregats_non_places(
            frequentation.agregats, status, niveau=niveau, codes=codes, communes=communes
        )
        return counts, 0
    comptes = frequentation.comptages(year) if isinstance(frequentation, FrequentationComptee) else None

    def placed(iris, commune, lookup) -> bool:
        index, quartiers = lookup
        return (_sector_of(iris, commune, niveau, quartiers) or "") in index

    rows = []
    for (iris, commune), n in placement.locations(frequentation, comptes).items():
        found = placed(iris, commune, extended)
        rows.append(((iris, commune), n, found, found and not placed(iris, commune, direct)))
    return placement.non_places(rows, niveau=niveau, codes=codes, communes=communes)


def _counts(pop, frequentation, niveau, quartiers, index, year) -> tuple[dict[str, _Dimension], np.ndarray]:
    """Users per dimension (sectors × categories) and per sector, from whichever form the input has."""
    if isinstance(frequentation, FrequentationComptee):
        return _from_comptages(
            pop, frequentation.comptages(year), frequentation.source, niveau, quartiers, index
        )
    if frequentation.individus:
        return _from_individus(pop, frequentation, niveau, quartiers, index, year)
    return _from_agregats(pop, frequentation, niveau, quartiers, index)


def _statistics(dims, sector_users, total, valid_total):
    """The sector, category and cell statistics (p-values not yet corrected)."""
    age = dims.get("age")
    if age is not None and age.usagers.sum() > 0:
        sect = stats.stats_secteurs(
            sector_users, np.where(valid_total, total, 0), age.usagers, age.population
        )
    else:
        sect = stats.stats_secteurs(sector_users, np.where(valid_total, total, 0))

    cat_results = {}
    cell_results = {}
    for name, d in dims.items():
        mask = d.present
        pop_c = d.population[mask].sum(axis=0)
        users_c = d.usagers[mask].sum(axis=0)
        cat_results[name] = stats.stats_categories(users_c, pop_c)
        rate = users_c.sum() / pop_c.sum() if pop_c.sum() > 0 else 0.0
        cells = stats.stats_cellules(d.usagers, d.population, rate)
        cells.pvalues[~mask] = np.nan
        cell_results[name] = (cells, rate)
    return sect, cat_results, cell_results


def _q_values(dims, sect, valid_total, cat_results, cell_results, n):
    """Benjamini-Hochberg over every test of this diagnostic at once, split back per test."""
    sect_p = np.where(valid_total, sect.pvalues, np.nan)
    parts = (
        [sect_p] + [cat_results[d].pvalues for d in dims] + [cell_results[d][0].pvalues.ravel() for d in dims]
    )
    # Only q-values below ALPHA are read (flags, and the q of flagged gaps): exact_below sorts only
    # the p-values below it.
    q_all = (
        stats.benjamini_hochberg(np.concatenate(parts), exact_below=stats.ALPHA) if parts else np.array([])
    )
    offset = 0
    q_sect = q_all[offset : offset + n]
    offset += n
    q_cat = {}
    for d in dims:
        size = len(dims[d].categories)
        q_cat[d] = q_all[offset : offset + size]
        offset += size
    q_cell = {}
    for d in dims:
        shape = dims[d].usagers.shape
        q_cell[d] = q_all[offset : offset + shape[0] * shape[1]].reshape(shape)
        offset += shape[0] * shape[1]
    return q_sect, q_cat, q_cell


def _secteurs_of(pop, total, valid_total, sect, sous_frequente) -> list[dict]:
    """The sectors of the JSON: columns first (one rounding pass per field), then one dict per sector."""
    ok = valid_total & (np.where(valid_total, total, 0) > 0)
    columns = (
        pop.codes,
        pop.noms,
        _nums(total, 1),
        np.rint(sect.usagers).astype(np.int64).tolist(),
        _nums(np.where(ok, sect.taux_pour_mille, np.nan), 2),
        _nums(sect.taux_ic[0], 2),
        _nums(sect.taux_ic[1], 2),
        ok.tolist(),
        _nums(sect.ratio, 3),
        sous_frequente.astype(bool).tolist(),
    )
    with gc_paused():
        return _secteurs_json(*columns)


def _categories_and_gaps(dims, cat_results, cell_results, q_cat, q_cell) -> tuple[list[dict], list[Ecarts]]:
    """The categories of the JSON, and the flagged gaps of each dimension (by category, by cell)."""
    categories_json = []
    ecarts: list[Ecarts] = []
    for name in DIMENSIONS:
        if name not in dims:
            continue
        d, r = dims[name], cat_results[name]
        flags = stats.flag_shortfall(r.usagers, r.attendus, q_cat[name])
        for j, cat in enumerate(d.categories):
            categories_json.append(
                {
                    "dimension": name,
                    "categorie": cat,
                    "population": _num(r.population[j], 1),
                    "usagers": int(round(r.usagers[j])),
                    "part_population": _num(r.part_population[j], 4),
                    "part_usagers": _num(r.part_usagers[j], 4),
                    "indice_representation": _num(r.indice[j], 3),
                    "ic95": [_num(r.part_usagers_ic[0][j], 4), _num(r.part_usagers_ic[1][j], 4)],
                    "sous_represente": bool(flags[j]),
                    "usagers_manquants": _num(r.attendus[j] - r.usagers[j], 1),
                    "approximation": bool(d.approximation[j]),
                }
            )
        rows = np.flatnonzero(flags)
        ecarts.append(
            Ecarts(
                "categorie",
                name,
                d.categories,
                rows,
                np.full(len(rows), -1),
                r.usagers[rows],
                r.attendus[rows],
                r.population[rows],
                q_cat[name][rows],
                np.full(len(rows), r.usagers.sum() / r.population.sum()),
            )
        )
        cells, rate = cell_results[name]
        i, j = np.nonzero(stats.flag_shortfall(d.usagers, cells.attendus, q_cell[name]))
        ecarts.append(
            Ecarts(
                "cellule",
                name,
                d.categories,
                j,
                i,
                d.usagers[i, j],
                cells.attendus[i, j],
                d.population[i, j],
                q_cell[name][i, j],
                np.full(len(i), rate),
            )
        )
    return categories_json, ecarts


def _sector_gaps(sect, total, q_sect, sous_frequente) -> Ecarts:
    """The under-served sectors, as gaps."""
    i = np.flatnonzero(sous_frequente)
    return Ecarts(
        "secteur",
        None,
        (None,),
        np.zeros(len(i), dtype=np.intp),
        i,
        sect.usagers[i],
        sect.attendus[i],
        total[i],
        q_sect[i],
        np.zeros(len(i)),
    )


def _secteurs_json(codes, noms, population, usagers, taux, low, high, has_rate, ratio, flag) -> list[dict]:
    return [
        {
            "code": code,
            "nom": nom,
            "population": population,
            "usagers": usagers,
            "taux_pour_mille": taux,
            "ic95": [low, high] if has_rate else None,
            "ratio_standardise": ratio,
            "sous_frequente": flag,
        }
        for code, nom, population, usagers, taux, low, high, has_rate, ratio, flag in zip(
            codes, noms, population, usagers, taux, low, high, has_rate, ratio, flag, strict=True
        )
    ]


@contextlib.contextmanager
def gc_paused():
    """The cyclic garbage collector off for a block that allocates many containers and no cycle.

    Building one dict (and ``ic95`` list) per sector allocates 100,000 containers at the national
    tier: enough to set off a full collection, which walks every object of the process (about
    0.1 s) and finds nothing to free. Reference counting still frees everything; the collector
    is switched back on (if it was on) on the way out, exception or not."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _nums(values, digits: int) -> list:
    """Each value rounded to ``digits`` (an int when whole and ``digits`` ≤ 1); None when not finite.

    Exactly Python's ``round`` (correctly rounded, unlike ``np.round``), a column at a time. With
    ``s = x × 10**digits`` (one rounding, relative error ≤ 2**-53), ``rint(s)`` is the integer
    Python's ``round`` picks unless ``s`` lies within that error of a half (or is too large to
    tell): those few values are rounded by ``round`` itself. Then ``m / 10**digits`` (exact
    integer and power of ten, one correctly rounded division) is the float nearest the decimal
    ``m × 10**-digits``, which is what ``round`` returns."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    scale = 10.0**digits
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * scale
        rounded = np.rint(scaled) / scale
        doubt = finite & (
            ~(np.abs(scaled) < 2.0**52)
            | (np.abs(scaled - np.floor(scaled) - 0.5) <= np.abs(scaled) * 2.0**-50)
        )
    for i in np.flatnonzero(doubt).tolist():
        rounded[i] = round(float(values[i]), digits)
    out = rounded.tolist()
    for i in np.flatnonzero(~finite).tolist():
        out[i] = None
    if digits <= 1:
        # A whole rounded value is written as an int (and only one within 0.05 of an integer can
        # be whole when rounded to one digit).
        whole = finite & (rounded == np.floor(rounded))
        for i in np.flatnonzero(whole).tolist():
            out[i] = int(out[i])
    return out


def _num(x, digits: int):
    return _nums([x], digits)[0]


# --- Attendance -> sector × category counts -------------------------------------------------------


_SIMPLE = {  # dimension: (population table, categories, record attribute, age universe)
    "sexe": ("sexe", SEXE_CATEGORIES, "sexe", None),
    "csp": ("csp", CSP_CATEGORIES, "csp", UNIVERS["csp"]),
    "activite": ("activite", ACTIVITE_CATEGORIES, "situation", ACTIVITY_AGES),
}


def _from_individus(pop, freq: Frequentation, niveau, quartiers, index, year):
    n = len(pop)
    records = freq.individus
    sector_idx = np.fromiter(
        (index.get(_sector_of(r.code_iris, r.code_commune, niveau, quartiers) or "", -1) for r in records),
        dtype=np.intp,
        count=len(records),
    )
    sector_users = np.bincount(sector_idx[sector_idx >= 0], minlength=n).astype(float)

    ages = np.array(
        [
            (
                (r.premiere_visite.year if getattr(r, "premiere_visite", None) else year) - r.annee_naissance
                if r.annee_naissance
                else np.nan
            )
            for r in records
        ],
        dtype=float,
    )
    bands = [None if r.annee_naissance else r.tranche_age for r in records]
    dims: dict[str, _Dimension] = {}
    if "age_large" in pop.repartitions or "age_fin" in pop.repartitions:
        band_set = {b for b in bands if b is not None}
        if band_set or np.isfinite(ages).any():
            scheme = harmonise_ages(pop, band_set, ages_exacts=bool(np.isfinite(ages).any()))
            cat = scheme.index_of_age(ages)
            band_cache = {b: scheme.index_of_band(b) for b in band_set}
            cat = np.where(np.isfinite(ages), cat, [band_cache.get(b, -1) if b else -1 for b in bands])
            dims["age"] = _age_dimension(
                scheme, _matrix(sector_idx, cat.astype(np.intp), n, len(scheme.bands))
            )

    # Known age range of each record, to keep out of a dimension those its universe excludes.
    low = np.where(np.isfinite(ages), ages, [b[0] if b else np.nan for b in bands])
    high = np.where(
        np.isfinite(ages), ages + 1, [(np.inf if b[1] is None else b[1]) if b else np.nan for b in bands]
    )
    for name, (key, cats, attr, universe) in _SIMPLE.items():
        rep = pop.repartitions.get(key)
        if rep is None:
            continue
        lookup = {c: j for j, c in enumerate(cats)}
        cat = np.fromiter(
            (lookup.get(getattr(r, attr), -1) for r in records), dtype=np.intp, count=len(records)
        )
        approx = False
        if universe is not None:
            lo_u, hi_u = universe
            inside = (low >= lo_u) & (high <= hi_u)
            outside = (high <= lo_u) | (low >= hi_u)
            cat = np.where(outside, -1, cat)
            counted = cat >= 0
            # Counted users whose age is unknown or straddles the universe: not exactly comparable.
            approx = bool((counted & ~inside).any())
        if freq.source == "coop" and name == "activite":
            approx = True  # "Sans emploi" is not INSEE's "chômeur"; "Retraité" includes the over-64s
        counts = _matrix(sector_idx, cat, n, len(cats))
        if counts.sum() == 0:
            continue  # the attendance says nothing about this dimension
        dims[name] = _Dimension(name, cats, rep.values, rep.present, counts, (approx,) * len(cats))
    return dims, sector_users


def _from_comptages(pop, c: Comptages, source: str, niveau, quartiers, index):
    """The same as :func:`_from_individus`, from the per-location counts (no loop over records)."""
    n = len(pop)
    if niveau == "iris":
        # _sector_of gives the IRIS code ("" when unknown, as the counts keep it): a lookup each.
        located_at = map(index.get, c.iris, itertools.repeat(-1))
    else:
        located_at = (
            index.get(_sector_of(i or None, m or None, niveau, quartiers) or "", -1)
            for i, m in zip(c.iris, c.communes, strict=True)
        )
    sector = np.fromiter(located_at, dtype=np.intp, count=len(c.iris))

    located = sector >= 0

    def to_sectors(counts: np.ndarray, cat: np.ndarray, k: int) -> np.ndarray:
        """Sum the (location, column) counts into (sector, category); cat[column] = -1: not counted.

        Columns into categories by a product with a 0/1 matrix, then locations into sectors column by
        column. Counts are integers, so the float sums are exact whatever their order."""
        columns = np.zeros((len(cat), k))
        columns[np.flatnonzero(cat >= 0), cat[cat >= 0]] = 1
        per_location = counts[located].astype(float) @ columns
        return np.stack(
            [np.bincount(sector[located], weights=per_location[:, j], minlength=n) for j in range(k)], axis=1
        ).reshape(n, k)

    sector_users = _matrix(sector, np.zeros(len(sector), dtype=np.intp), n, 1, c.total)[:, 0]
    dims: dict[str, _Dimension] = {}
    if "age_large" in pop.repartitions or "age_fin" in pop.repartitions:
        band_of = {label: parse_age_band(label) for label in c.bandes}
        band_set = {b for b in band_of.values() if b is not None}
        exact = bool(c.ages.sum() > 0)
        if band_set or exact:
            scheme = harmonise_ages(pop, band_set, ages_exacts=exact)
            ages = np.arange(c.age_min, c.age_min + c.ages.shape[1], dtype=float)
            cat = np.concatenate(
                [
                    scheme.index_of_age(ages).astype(np.intp),
                    np.array([scheme.index_of_band(band_of[b]) for b in c.bandes], dtype=np.intp),
                ]
            )
            counts = np.hstack([c.ages, c.par_bande])
            dims["age"] = _age_dimension(scheme, to_sectors(counts, cat, len(scheme.bands)))
    per_value = {"sexe": (c.sexes, c.par_sexe), "csp": (c.csps, c.par_csp)}
    per_value["situation"] = (c.situations, c.par_situation)
    for name, (key, cats, attr, universe) in _SIMPLE.items():
        rep = pop.repartitions.get(key)
        if rep is None:
            continue
        lookup = {cat: j for j, cat in enumerate(cats)}
        values, counts = per_value[attr]
        cat = np.array([lookup.get(v or None, -1) for v in values], dtype=np.intp)
        approx = False
        if universe is not None:
            # Outside the universe: not counted; straddling it (or unknown age): counted, approximate.
            approx = bool(counts[:, cat >= 0, A_CHEVAL].sum() > 0)
            keep = np.full((len(values), 3), -1, dtype=np.intp)
            keep[:, DEDANS] = keep[:, A_CHEVAL] = cat
            counts, cat = counts.reshape(len(c.iris), -1), keep.ravel()
        if source == "coop" and name == "activite":
            approx = True  # "Sans emploi" is not INSEE's "chômeur"; "Retraité" includes the over-64s
        matrix = to_sectors(counts, cat, len(cats))
        if matrix.sum() == 0:
            continue  # the attendance says nothing about this dimension
        dims[name] = _Dimension(name, cats, rep.values, rep.present, matrix, (approx,) * len(cats))
    return dims, sector_users


def _age_dimension(scheme: AgeScheme, usagers: np.ndarray) -> _Dimension:
    return _Dimension("age", scheme.labels, scheme.population, scheme.present, usagers, scheme.approximation)


def _from_agregats(pop, freq: Frequentation, niveau, quartiers, index):
    n = len(pop)

    def sector(code: str) -> int:
        if len(code) == 9 and niveau != "iris":
            code = code[:5] if niveau == "commune" else quartiers.get(code, "")
        return index.get(code, -1)

    rows = [(sector(a.code_secteur), a) for a in freq.agregats]
    rows = [(i, a) for i, a in rows if i >= 0]
    dims: dict[str, _Dimension] = {}
    per_dim_sector = {}
    totals = np.zeros(n)
    has_total = False
    for i, a in rows:
        if a.dimension == "total":
            totals[i] += a.usagers
            has_total = True
    fixed = {
        "sexe": SEXE_CATEGORIES,
        "csp": CSP_CATEGORIES,
        "activite": ACTIVITE_CATEGORIES,
        "diplome": DIPLOME_CATEGORIES,
    }
    for name, cats in fixed.items():
        rep = pop.repartitions.get(name)
        if rep is None:
            continue
        lookup = {c: j for j, c in enumerate(cats)}
        sel = [
            (i, lookup[a.categorie], a.usagers)
            for i, a in rows
            if a.dimension == name and a.categorie in lookup
        ]
        if not sel:
            continue
        s, c, w = (np.array(x) for x in zip(*sel, strict=True))
        counts = _matrix(s.astype(np.intp), c.astype(np.intp), n, len(cats), w)
        per_dim_sector[name] = counts.sum(axis=1)
        dims[name] = _Dimension(name, cats, rep.values, rep.present, counts, (False,) * len(cats))
    age_rows = [(i, a.tranche_age, a.usagers) for i, a in rows if a.dimension == "age"]
    if age_rows and ("age_large" in pop.repartitions or "age_fin" in pop.repartitions):
        scheme = harmonise_ages(pop, {b for _, b, _ in age_rows if b})
        s = np.array([i for i, _, _ in age_rows], dtype=np.intp)
        c = np.array([scheme.index_of_band(b) for _, b, _ in age_rows], dtype=np.intp)
        w = np.array([u for _, _, u in age_rows], dtype=float)
        counts = _matrix(s, c, n, len(scheme.bands), w)
        per_dim_sector["age"] = counts.sum(axis=1)
        dims["age"] = _age_dimension(scheme, counts)
    if has_total:
        sector_users = totals
    elif per_dim_sector:
        # Each dimension sums to the sector's users minus its unknowns: the largest is the best bound.
        sector_users = np.max(np.vstack(list(per_dim_sector.values())), axis=0)
    else:
        sector_users = totals
    return dims, sector_users


__all__ = ["DiagnosticImpossible", "run_diagnostic", "band_label", "parse_age_band"]
