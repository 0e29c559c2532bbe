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
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ancrage.diagnostic import placement, stats
from ancrage.diagnostic.cibles import Ecarts, rank_cibles
from ancrage.diagnostic.harmonisation import AgeScheme, band_overlap_share, harmonise_ages, spread_bands
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
#: INSEE: in communes of 10,000 inhabitants or more the census is an annual sample, so their
#: IRIS figures are estimates; the complementary exploitation (C columns) is a sample everywhere.
SEUIL_COMMUNE_SONDAGE = 10_000
#: INSEE's guidance: counts below 200 from a sample "doivent être maniés avec précaution".
SEUIL_PRUDENCE = 200
#: Dimensions read from C (complementary exploitation, sampled) columns.
DIMENSIONS_ESTIMEES = frozenset({"csp"})
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
    estimes: np.ndarray | None = None  # (n_secteurs, k): the part of usagers spread from bands


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


def diagnostic_json(result: Mapping) -> str:
    """The diagnostic's JSON as ``ancrage diagnostic --json`` writes it, and as the REST API
    serves a saved one (``Diagnostic.resultat``, the same dict)."""
    return json.dumps(result, ensure_ascii=False, indent=2)


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
    ages: tuple[int, int | None] | None = None,
    passage: Mapping[str, str] | None = None,
) -> dict:
    """Compute the diagnostic and return it as the JSON-ready dict documented in docs/diagnostic.md.

    ``population``: IRIS population (from :func:`ancrage.territoire.insee.read_insee` /
    ``merge_populations``). ``niveau``: ``iris``, ``commune`` or ``quartier`` (then ``quartiers`` maps
    IRIS -> quartier). ``secteurs_qpv``: codes of QPV sectors at that level.
    ``reference_year``: year used for the age of users without a first-visit date (default:
    this year). ``frequentation``: the records or counts read from a file, or the counts kept in
    the database (:class:`~ancrage.frequentation.aggregates.FrequentationComptee`, same result).
    ``ages``: the ages the EPN serves, ``(low, high exclusive or None)``; category shares and sector
    rates then use that eligible population (the all-ages rate stays, as ``taux_pour_mille_tous_ages``).
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
    if ages is not None:
        ages = _check_ages(ages)
        if not ("age_large" in population.repartitions or "age_fin" in population.repartitions):
            raise DiagnosticImpossible(
                "Les âges servis demandent une population par tranche d'âge (base « évolution et "
                "structure de la population »)."
            )
    pop = _sectorise(population, niveau, quartiers, noms_quartiers)
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

    dims, sector_users, hors_public = _counts(pop, frequentation, niveau, quartiers, index, year, ages)
    total = np.asarray(pop.total, dtype=float)
    valid_total = np.isfinite(total)
    age = dims.get("age")
    if ages is not None and age is not None:
        eligible_total = np.where(valid_total & age.present, age.population.sum(axis=1), np.nan)
    else:
        eligible_total = total
    valid_eligible = np.isfinite(eligible_total)
    sect, cat_results, cell_results, attendus_csp = _statistics(
        dims, sector_users, eligible_total, valid_eligible
    )
    q_sect = stats.benjamini_hochberg(np.where(valid_eligible, sect.pvalues, np.nan))
    sous_frequente = stats.flag_shortfall(sect.usagers, sect.attendus, q_sect)
    q_cat = {d: stats.benjamini_hochberg(cat_results[d].pvalues) for d in dims}
    q_cell = _q_cells(dims, cat_results, cell_results, q_cat, sous_frequente)

    estimation = _estimation_recensement(population, pop, niveau, quartiers)
    secteurs_json = _secteurs_of(
        pop, total, eligible_total, valid_eligible, sect, sous_frequente, q_sect, estimation
    )
    categories_json, ecarts = _categories_and_gaps(
        dims, cat_results, cell_results, q_cat, q_cell, attendus_csp
    )
    ecarts.append(_sector_gaps(sect, eligible_total, q_sect, sous_frequente))
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
        "public": _public_json(ages, dims, hors_public),
        "methode": {
            "tests": "unilatéraux (déficit)",
            "correction": "Benjamini-Hochberg par question (secteurs ; catégories de chaque "
            "dimension ; cellules des secteurs ou catégories signalés)",
            "taux_fausses_decouvertes": stats.ALPHA,
            "min_attendus": stats.MIN_ATTENDUS,
            "ecart_min": stats.ECART_MIN,
            "lissage": "bayésien empirique Poisson-gamma, méthode des moments (Marshall 1991)",
            "csp_standardisee_age": attendus_csp is not None,
        },
    }


def _check_ages(ages) -> tuple[int, int | None]:
    """The ages served, as (low, high exclusive or None), with a French message when wrong."""
    try:
        low, high = int(ages[0]), None if ages[1] is None else int(ages[1])
    except (TypeError, ValueError, IndexError):
        raise DiagnosticImpossible("Âges servis illisibles : donnez par exemple 15+ ou 60-74.") from None
    if low < 0 or (high is not None and high <= low):
        raise DiagnosticImpossible(f"Âges servis incohérents : de {low} à {high} ans.")
    return low, high


def ages_label(ages) -> str:
    """ "tous âges", "15 ans et plus", "de 60 à 74 ans" (``high`` exclusive)."""
    if ages is None:
        return "tous âges"
    low, high = ages
    if high is None:
        return f"{low} ans et plus"
    return f"de {low} à {high - 1} ans"


def parse_ages(text: str | None) -> tuple[int, int | None] | None:
    """``"15+"`` -> (15, None), ``"60-74"`` -> (60, 75); empty -> None (all ages)."""
    if text is None or not str(text).strip() or str(text).strip().lower() in {"tous", "tous âges"}:
        return None
    band = parse_age_band(str(text).strip())
    if band is None:
        raise DiagnosticImpossible(f"Âges servis « {text} » illisibles : donnez par exemple 15+ ou 60-74.")
    return _check_ages(band)


def infer_ages(categories: Sequence[str], usagers: np.ndarray, attendus: np.ndarray) -> tuple | None:
    """Ages served suggested by the data: the leading and trailing age bands with no user at all
    although at least :data:`stats.MIN_ATTENDUS` were expected are left out. The user confirms."""
    bands = [parse_age_band(c) for c in categories]
    empty = (np.asarray(usagers) == 0) & (np.asarray(attendus) >= stats.MIN_ATTENDUS)
    first, last = 0, len(bands) - 1
    while first <= last and empty[first]:
        first += 1
    while last >= first and empty[last]:
        last -= 1
    if first > last or (first == 0 and last == len(bands) - 1) or None in bands:
        return None
    return bands[first][0], bands[last][1]


def _public_json(ages, dims, hors_public: float) -> dict:
    age = dims.get("age")
    suggestion = None
    if ages is None and age is not None:
        k = age.usagers[age.present].sum(axis=0)
        popc = age.population[age.present].sum(axis=0)
        expected = k.sum() * popc / popc.sum() if popc.sum() > 0 else np.zeros_like(k)
        suggestion = infer_ages(age.categories, k, expected)
    return {
        "ages": None if ages is None else [ages[0], ages[1]],
        "libelle": ages_label(ages),
        "usagers_hors_public": float(hors_public),
        "suggestion": None if suggestion is None else [suggestion[0], suggestion[1]],
        "suggestion_libelle": None if suggestion is None else ages_label(suggestion),
        "usagers_estimes_age": (
            float(age.estimes.sum()) if age is not None and age.estimes is not None else 0.0
        ),
    }


def _estimation_recensement(population, pop, niveau, quartiers) -> np.ndarray:
    """Per sector: are its figures survey estimates (a commune of 10,000 inhabitants or more)?"""
    if population.niveau != "iris":
        return np.asarray(
            [np.nan_to_num(t) >= SEUIL_COMMUNE_SONDAGE for t in np.asarray(pop.total, dtype=float)]
        )
    commune_total: dict[str, float] = {}
    totals = np.nan_to_num(np.asarray(population.total, dtype=float))
    for code, t in zip(population.codes, totals, strict=True):
        commune_total[code[:5]] = commune_total.get(code[:5], 0.0) + float(t)
    big = {c for c, t in commune_total.items() if t >= SEUIL_COMMUNE_SONDAGE}
    if niveau == "iris" or niveau == "commune":
        return np.array([code[:5] in big for code in pop.codes], dtype=bool)
    big_q = {q for iris, q in quartiers.items() if iris[:5] in big}
    return np.array([code in big_q for code in pop.codes], dtype=bool)


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


def _counts(pop, frequentation, niveau, quartiers, index, year, ages):
    """Users per dimension (sectors × categories) and per sector, from whichever form the input has,
    and the number of users left out because their age is outside the ages served."""
    if isinstance(frequentation, FrequentationComptee):
        return _from_comptages(
            pop, frequentation.comptages(year), frequentation.source, niveau, quartiers, index, ages
        )
    if frequentation.individus:
        return _from_individus(pop, frequentation, niveau, quartiers, index, year, ages)
    dims, sector_users = _from_agregats(pop, frequentation, niveau, quartiers, index, ages)
    return dims, sector_users, 0.0


def _csp_standardised(dims) -> np.ndarray | None:
    """Expected CSP shares among users given their ages (indirect standardisation by age).

    INSEE gives the CSP and the age of the residents aged 15 or more separately, not crossed.
    The joint table age × CSP of the territory is estimated by raking (iterative proportional
    fitting) a structural seed to both margins: the working CSPs (CS1-CS6) mostly under 60, the
    retired (CS7) from 55 on, the other inactive (CS8) at every age, more among the young. The
    expected share of CSP c is then Σ_a w_a P(c | a), w_a the share of age band a among the
    users aged 15 or more: a retired share below the population's is only a shortfall when it
    is below what the users' own ages predict. One gap (few elderly users) then gives one
    target (the 75+), not two (the 75+ and the retired).
    """
    age, csp = dims.get("age"), dims.get("csp")
    if age is None or csp is None or csp.categories != CSP_CATEGORIES:
        return None
    bands = [parse_age_band(c) for c in age.categories]
    if None in bands:
        return None
    adult = np.array([band_overlap_share(b, (15, None)) for b in bands])
    if not (adult > 0).any():
        return None
    mask = age.present & csp.present
    age_pop = age.population[mask].sum(axis=0) * adult
    csp_pop = csp.population[mask].sum(axis=0)
    users_age = age.usagers[mask].sum(axis=0) * adult
    if age_pop.sum() <= 0 or csp_pop.sum() <= 0 or users_age.sum() <= 0:
        return None
    seed = np.array([[_csp_seed(c, b) for c in CSP_CATEGORIES] for b in bands])
    joint = _rake(seed * (age_pop > 0)[:, None], age_pop, csp_pop * age_pop.sum() / csp_pop.sum())
    rows = joint.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        conditional = np.where(rows[:, None] > 0, joint / rows[:, None], 0.0)
    w = users_age / users_age.sum()
    return w @ conditional


def _csp_seed(csp: str, band) -> float:
    """Relative weight of a CSP in an age band, averaged over the band's years (15 to 100)."""
    low, high = max(band[0], 15), 100 if band[1] is None else min(band[1], 100)
    if high <= low:
        return 0.0

    def weight(age: int) -> float:
        if csp == "CS7":
            return 0.0 if age < 50 else 0.1 if age < 55 else 0.5 if age < 60 else 1.0
        if csp == "CS8":
            return 1.0 if age < 25 else 0.3
        return 1.0 if age < 60 else 0.15 if age < 65 else 0.03 if age < 75 else 0.005

    return float(np.mean([weight(a) for a in range(low, high)]))


def _rake(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Iterative proportional fitting of ``seed`` to the margins ``rows`` and ``cols``."""
    m = seed.astype(float).copy()
    for _ in range(iterations):
        r = m.sum(axis=1)
        m *= np.where(r > 0, rows / np.where(r > 0, r, 1), 0.0)[:, None]
        c = m.sum(axis=0)
        m *= np.where(c > 0, cols / np.where(c > 0, c, 1), 0.0)[None, :]
        if np.allclose(m.sum(axis=1), rows, rtol=1e-10, atol=1e-9):
            break
    return m


def _statistics(dims, sector_users, total, valid_total):
    """The sector, category and cell statistics (p-values not yet corrected)."""
    age = dims.get("age")
    if age is not None and age.usagers.sum() > 0:
        sect = stats.stats_secteurs(
            sector_users, np.where(valid_total, total, 0), age.usagers, age.population
        )
    else:
        sect = stats.stats_secteurs(sector_users, np.where(valid_total, total, 0))

    attendus_csp = _csp_standardised(dims)
    cat_results = {}
    cell_results = {}
    for name, d in dims.items():
        mask = d.present
        pop_c = d.population[mask].sum(axis=0)
        users_c = d.usagers[mask].sum(axis=0)
        cat_results[name] = stats.stats_categories(users_c, pop_c, attendus_csp if name == "csp" else None)
        rate = users_c.sum() / pop_c.sum() if pop_c.sum() > 0 else 0.0
        cells = stats.stats_cellules(d.usagers, d.population, rate)
        cells.pvalues[~mask] = np.nan
        cell_results[name] = (cells, rate)
    return sect, cat_results, cell_results, attendus_csp


def _q_cells(dims, cat_results, cell_results, q_cat, sous_frequente):
    """One Benjamini-Hochberg family per dimension, of the cells inside a flagged sector or a flagged
    category of that dimension (the other cells are not tested: q = NaN)."""
    q_cell = {}
    for name in dims:
        r = cat_results[name]
        flagged_cat = stats.flag_shortfall(r.usagers, r.attendus, q_cat[name])
        inside = sous_frequente[:, None] | flagged_cat[None, :]
        p = np.where(inside, cell_results[name][0].pvalues, np.nan)
        q_cell[name] = stats.benjamini_hochberg(p, exact_below=stats.ALPHA)
    return q_cell


def _secteurs_of(pop, total, eligible, valid_eligible, sect, sous_frequente, q_sect, estimation):
    """The sectors of the JSON at full precision: columns first, then one dict per sector."""
    ok = valid_eligible & (np.where(valid_eligible, eligible, 0) > 0)
    tot = np.where(np.isfinite(total), total, 0.0)
    ok_all = np.isfinite(total) & (tot > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo_all, hi_all = stats.poisson_ci(sect.usagers)
        taux_all = np.where(ok_all, 1000 * sect.usagers / np.where(ok_all, tot, 1), np.nan)
        ic_all = (
            np.where(ok_all, 1000 * lo_all / np.where(ok_all, tot, 1), np.nan),
            np.where(ok_all, 1000 * hi_all / np.where(ok_all, tot, 1), np.nan),
        )
    faibles = ~(sect.attendus >= stats.MIN_ATTENDUS)
    prudence = faibles | (estimation & (np.nan_to_num(eligible) < SEUIL_PRUDENCE))
    columns = (
        pop.codes,
        pop.noms,
        _nums(total),
        np.rint(sect.usagers).astype(np.int64).tolist(),
        _nums(np.where(ok, sect.taux_pour_mille, np.nan)),
        _nums(sect.taux_ic[0]),
        _nums(sect.taux_ic[1]),
        ok.tolist(),
        _nums(sect.ratio),
        sous_frequente.astype(bool).tolist(),
        _nums(eligible),
        _nums(taux_all),
        _nums(ic_all[0]),
        _nums(ic_all[1]),
        _nums(sect.attendus),
        _nums(sect.ratio_ic[0]),
        _nums(sect.ratio_ic[1]),
        _nums(sect.manquants),
        _nums(sect.manquants_ic[0]),
        _nums(sect.manquants_ic[1]),
        _nums(sect.ratio_lisse),
        faibles.tolist(),
        np.asarray(estimation, dtype=bool).tolist(),
        prudence.tolist(),
        _nums(q_sect),
        _nums(sect.usagers),
    )
    with gc_paused():
        return _secteurs_json(*columns)


def _categories_and_gaps(
    dims, cat_results, cell_results, q_cat, q_cell, attendus_csp
) -> tuple[list[dict], list[Ecarts]]:
    """The categories of the JSON, and the flagged gaps of each dimension (by category, by cell)."""
    categories_json = []
    ecarts: list[Ecarts] = []
    for name in DIMENSIONS:
        if name not in dims:
            continue
        d, r = dims[name], cat_results[name]
        flags = stats.flag_shortfall(r.usagers, r.attendus, q_cat[name])
        estimes = d.estimes[d.present].sum(axis=0) if d.estimes is not None else np.zeros(len(d.categories))
        standardised = name == "csp" and attendus_csp is not None
        for j, cat in enumerate(d.categories):
            categories_json.append(
                {
                    "dimension": name,
                    "categorie": cat,
                    "population": _f(r.population[j]),
                    "usagers": int(round(r.usagers[j])),
                    "part_population": _f(r.part_population[j]),
                    "part_usagers": _f(r.part_usagers[j]),
                    "indice_representation": _f(r.indice[j]),
                    "ic95": [_f(r.part_usagers_ic[0][j]), _f(r.part_usagers_ic[1][j])],
                    "sous_represente": bool(flags[j]),
                    "usagers_manquants": _f(r.manquants[j]),
                    "approximation": bool(d.approximation[j] or estimes[j] > 0),
                    "usagers_precis": _f(r.usagers[j]),
                    "usagers_estimes": _f(estimes[j]),
                    "usagers_attendus": _f(r.attendus[j]),
                    "part_attendue": _f(attendus_csp[j]) if standardised else _f(r.part_population[j]),
                    "standardise_age": standardised,
                    "indice_ic95": [_f(r.indice_ic[0][j]), _f(r.indice_ic[1][j])],
                    "usagers_manquants_ic95": [_f(r.manquants_ic[0][j]), _f(r.manquants_ic[1][j])],
                    "pvalue": _f(r.pvalues[j]),
                    "qvalue": _f(q_cat[name][j]),
                    "estimation_recensement": name in DIMENSIONS_ESTIMEES,
                }
            )
        rows = np.flatnonzero(flags)
        share = r.usagers.sum() / r.population.sum() if r.population.sum() > 0 else 0.0
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
                np.full(len(rows), share),
                manquants=r.manquants[rows],
                manquants_ic=(r.manquants_ic[0][rows], r.manquants_ic[1][rows]),
                standardise_age=standardised,
            )
        )
        cells, rate = cell_results[name]
        i, j = np.nonzero(stats.flag_shortfall(d.usagers, cells.attendus, q_cell[name]))
        lo, hi = stats.poisson_ci(d.usagers[i, j])
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
                manquants_ic=(cells.attendus[i, j] - hi, cells.attendus[i, j] - lo),
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
        manquants_ic=(sect.manquants_ic[0][i], sect.manquants_ic[1][i]),
    )


_SECTEUR_FIELDS = (
    "code",
    "nom",
    "population",
    "usagers",
    "taux_pour_mille",
    "ic95_bas",
    "ic95_haut",
    "has_rate",
    "ratio_standardise",
    "sous_frequente",
    "population_eligible",
    "taux_pour_mille_tous_ages",
    "ic95_tous_ages_bas",
    "ic95_tous_ages_haut",
    "usagers_attendus",
    "ratio_ic95_bas",
    "ratio_ic95_haut",
    "usagers_manquants",
    "manquants_bas",
    "manquants_haut",
    "ratio_lisse",
    "attendus_faibles",
    "estimation_recensement",
    "prudence",
    "qvalue",
    "usagers_precis",
)


def _secteurs_json(*columns) -> list[dict]:
    out = []
    for row in zip(*columns, strict=True):
        v = dict(zip(_SECTEUR_FIELDS, row, strict=True))
        has_rate = v.pop("has_rate")
        low, high = v.pop("ic95_bas"), v.pop("ic95_haut")
        v["ic95"] = [low, high] if has_rate else None
        a_lo, a_hi = v.pop("ic95_tous_ages_bas"), v.pop("ic95_tous_ages_haut")
        v["ic95_tous_ages"] = [a_lo, a_hi] if v["taux_pour_mille_tous_ages"] is not None else None
        r_lo, r_hi = v.pop("ratio_ic95_bas"), v.pop("ratio_ic95_haut")
        v["ratio_ic95"] = [r_lo, r_hi] if v["ratio_standardise"] is not None else None
        m_lo, m_hi = v.pop("manquants_bas"), v.pop("manquants_haut")
        v["usagers_manquants_ic95"] = [m_lo, m_hi] if v["usagers_attendus"] is not None else None
        out.append(v)
    return out


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


def _nums(values) -> list:
    """Each value at full precision (machine outputs are never rounded); None when not finite."""
    values = np.asarray(values, dtype=float)
    out = values.tolist()
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        out[i] = None
    return out


def _f(x):
    """One value at full precision, None when not finite."""
    x = float(x)
    return x if np.isfinite(x) else None


# --- Attendance -> sector × category counts -------------------------------------------------------


_SIMPLE = {  # dimension: (population table, categories, record attribute, age universe)
    "sexe": ("sexe", SEXE_CATEGORIES, "sexe", None),
    "csp": ("csp", CSP_CATEGORIES, "csp", UNIVERS["csp"]),
    "activite": ("activite", ACTIVITE_CATEGORIES, "situation", ACTIVITY_AGES),
}


def _from_individus(pop, freq: Frequentation, niveau, quartiers, index, year, eligible=None):
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
    hors = np.zeros(n)
    if "age_large" in pop.repartitions or "age_fin" in pop.repartitions:
        band_set = sorted({b for b in bands if b is not None}, key=lambda b: (b[0], b[1] or 10_000))
        exact = np.isfinite(ages)
        if band_set or exact.any():
            scheme = harmonise_ages(pop, set(band_set), ages_exacts=bool(exact.any()), eligible=eligible)
            k = len(scheme.bands)
            cat = np.where(exact, scheme.index_of_age(np.where(exact, ages, 0)), -1).astype(np.intp)
            counts = _matrix(sector_idx, cat, n, k)
            band_id = {b: j for j, b in enumerate(band_set)}
            bid = np.array([band_id.get(b, -1) if b is not None else -1 for b in bands], dtype=np.intp)
            per_band = _matrix(sector_idx, bid, n, len(band_set))
            placed, estimated, outside = spread_bands(
                scheme, {b: per_band[:, j] for j, b in enumerate(band_set)}
            )
            if eligible is not None:
                hors = (
                    outside
                    + _matrix(sector_idx, np.where(exact & (cat < 0), 0, -1).astype(np.intp), n, 1)[:, 0]
                )
            dims["age"] = _age_dimension(scheme, counts + placed, estimated)
    sector_users = sector_users - hors
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
        # With ages served, the dimension keeps its INSEE table's own universe (INSEE does not cross
        # it with age): the comparison is approximate, as it is from the counts, which keep no age.
        approx = eligible is not None
        if universe is not None:
            lo_u, hi_u = universe
            inside = (low >= lo_u) & (high <= hi_u)
            outside = (high <= lo_u) | (low >= hi_u)
            cat = np.where(outside, -1, cat)
            counted = cat >= 0
            # Counted users whose age is unknown or straddles the universe: not exactly comparable.
            approx = approx or bool((counted & ~inside).any())
        if freq.source == "coop" and name == "activite":
            approx = True  # "Sans emploi" is not INSEE's "chômeur"; "Retraité" includes the over-64s
        counts = _matrix(sector_idx, cat, n, len(cats))
        if counts.sum() == 0:
            continue  # the attendance says nothing about this dimension
        dims[name] = _Dimension(name, cats, rep.values, rep.present, counts, (approx,) * len(cats))
    return dims, sector_users, float(hors.sum())


def _from_comptages(pop, c: Comptages, source: str, niveau, quartiers, index, eligible=None):
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
    hors = np.zeros(n)
    if "age_large" in pop.repartitions or "age_fin" in pop.repartitions:
        age_dim, hors = _age_of_comptages(pop, c, to_sectors, eligible)
        if age_dim is not None:
            dims["age"] = age_dim
    sector_users = sector_users - hors
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
        approx = approx or eligible is not None  # the counts keep no age: all ages are counted
        matrix = to_sectors(counts, cat, len(cats))
        if matrix.sum() == 0:
            continue  # the attendance says nothing about this dimension
        dims[name] = _Dimension(name, cats, rep.values, rep.present, matrix, (approx,) * len(cats))
    return dims, sector_users, float(hors.sum())


def _age_of_comptages(pop, c: Comptages, to_sectors, eligible):
    """The age dimension from the counts: exact ages placed, bands spread (see spread_bands)."""
    n = len(pop)
    band_of = {label: parse_age_band(label) for label in c.bandes}
    band_set = {b for b in band_of.values() if b is not None}
    exact = bool(c.ages.sum() > 0)
    if not (band_set or exact):
        return None, np.zeros(n)
    scheme = harmonise_ages(pop, band_set, ages_exacts=exact, eligible=eligible)
    k = len(scheme.bands)
    ages = np.arange(c.age_min, c.age_min + c.ages.shape[1], dtype=float)
    age_cat = scheme.index_of_age(ages).astype(np.intp)
    counts = to_sectors(c.ages, age_cat, k)
    per_band: dict = {}
    if len(c.bandes):
        by_label = to_sectors(c.par_bande, np.arange(len(c.bandes), dtype=np.intp), len(c.bandes))
        for j, label in enumerate(c.bandes):
            b = band_of[label]
            if b is not None:
                per_band[b] = per_band.get(b, 0) + by_label[:, j]
    placed, estimated, outside = spread_bands(scheme, per_band)
    hors = np.zeros(n)
    if eligible is not None:
        hors = outside + to_sectors(c.ages, np.where(age_cat < 0, 0, -1).astype(np.intp), 1)[:, 0]
    return _age_dimension(scheme, counts + placed, estimated), hors


def _age_dimension(scheme: AgeScheme, usagers: np.ndarray, estimes: np.ndarray | None = None) -> _Dimension:
    return _Dimension(
        "age", scheme.labels, scheme.population, scheme.present, usagers, scheme.approximation, estimes
    )


def _from_agregats(pop, freq: Frequentation, niveau, quartiers, index, eligible=None):
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
        band_set = {b for _, b, _ in age_rows if b}
        scheme = harmonise_ages(pop, band_set, eligible=eligible)
        per_band: dict = {}
        for i, b, u in age_rows:
            if b:
                per_band.setdefault(b, np.zeros(n))[i] += u
        counts, estimated, _ = spread_bands(scheme, per_band)
        per_dim_sector["age"] = counts.sum(axis=1)
        dims["age"] = _age_dimension(scheme, counts, estimated)
    if has_total:
        sector_users = totals
    elif per_dim_sector:
        # Each dimension sums to the sector's users minus its unknowns: the largest is the best bound.
        sector_users = np.max(np.vstack(list(per_dim_sector.values())), axis=0)
    else:
        sector_users = totals
    return dims, sector_users


__all__ = ["DiagnosticImpossible", "run_diagnostic", "band_label", "parse_age_band"]
