"""Ranked target publics: the diagnostic's significant gaps crossed with the priorities.

Pure module: no Django. Each target (category × sector × priorities) gets a score, a plain-French
explanation with its numbers, and a suggested thematic: a family from the seed (emploi,
développement économique, démarches administratives, jeunesse…) and services of the national
standard (``data/services.json``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from ancrage.core.wording import nombre
from ancrage.diagnostic.priorites import Priorite
from ancrage.frequentation.readers import fold_label, parse_age_band
from ancrage.territoire.libelles import libelle_secteur

DATA = Path(__file__).parent / "data"

#: The French label of each dimension, and of each category code below: the one table the pages,
#: PDFs and exports read (a code never shows as « activite chomeur »).
DIMENSION_LABELS = {
    "age": "Âge",
    "sexe": "Sexe",
    "csp": "Catégorie socioprofessionnelle",
    "activite": "Situation d'activité (15-64 ans)",
    "diplome": "Diplôme",
}

CATEGORY_LABELS = {
    "sexe": {"F": "femmes", "H": "hommes"},
    "csp": {
        "CS1": "agriculteurs exploitants",
        "CS2": "artisans, commerçants et chefs d'entreprise",
        "CS3": "cadres et professions intellectuelles supérieures",
        "CS4": "professions intermédiaires",
        "CS5": "employés",
        "CS6": "ouvriers",
        "CS7": "retraités",
        "CS8": "autres personnes sans activité professionnelle",
    },
    "activite": {
        "actif_occupe": "actifs en emploi (15-64 ans)",
        "chomeur": "chômeurs (15-64 ans)",
        "etudiant": "élèves et étudiants (15-64 ans)",
        "retraite": "retraités de 15 à 64 ans",
        "autre_inactif": "autres inactifs (15-64 ans)",
    },
    "diplome": {
        "sans_diplome_ou_bepc": "personnes sans diplôme ou avec au plus le brevet",
        "cap_bep": "titulaires d'un CAP ou d'un BEP",
        "bac": "titulaires du baccalauréat",
        "superieur": "diplômés du supérieur",
    },
}


def dimension_label(dimension: str | None) -> str:
    if not dimension:
        return "Tous les habitants"
    return DIMENSION_LABELS.get(dimension, dimension)


def category_label(dimension: str | None, categorie: str | None) -> str:
    if dimension is None or categorie is None:
        return "habitants"
    if dimension == "age":
        band = parse_age_band(categorie)
        if band is None:
            return f"personnes de {categorie} ans"
        low, high = band
        if high is None:
            return f"personnes de {low} ans et plus"
        if low == 0:
            return f"enfants de moins de {high} ans"
        return f"personnes de {low} à {high - 1} ans"
    return CATEGORY_LABELS.get(dimension, {}).get(categorie, categorie)


# --- Thematics ------------------------------------------------------------------------------------


@cache
def services_standard() -> dict[str, str]:
    """Key -> French label of the standard's 9 services."""
    data = json.loads((DATA / "services.json").read_text(encoding="utf-8"))
    return {item["key"]: item["value"] for item in data["Service"]}


# Families named by the seed ("emploi, développement économique, démarches administratives, etc.")
# and by PRODUCT.md's priority themes, each with the standard's services that serve it.
FAMILLES = {
    "politique de la ville": (
        "AideAuxDemarchesAdministratives",
        "AccesInternetEtMaterielInformatique",
        "MaterielInformatiqueAPrixSolidaire",
    ),
    "enfance, jeunesse et scolarité": (
        "ParentaliteEtEducationAvecLeNumerique",
        "LoisirsEtCreationsNumeriques",
        "ComprehensionDuMondeNumerique",
    ),
    "insertion et emploi": (
        "InsertionProfessionnelleViaLeNumerique",
        "MaitriseDesOutilsNumeriquesDuQuotidien",
    ),
    "seniors et autonomie": (
        "MaitriseDesOutilsNumeriquesDuQuotidien",
        "UtilisationSecuriseeDuNumerique",
        "AideAuxDemarchesAdministratives",
    ),
    "développement économique": ("InsertionProfessionnelleViaLeNumerique", "ComprehensionDuMondeNumerique"),
    "démarches administratives": (
        "AideAuxDemarchesAdministratives",
        "MaitriseDesOutilsNumeriquesDuQuotidien",
    ),
    "aménagement du territoire": (
        "AccesInternetEtMaterielInformatique",
        "MaterielInformatiqueAPrixSolidaire",
    ),
}
_THEME_KEYWORDS = (
    ("ville", "politique de la ville"),
    ("qpv", "politique de la ville"),
    ("enfan", "enfance, jeunesse et scolarité"),
    ("jeun", "enfance, jeunesse et scolarité"),
    ("scol", "enfance, jeunesse et scolarité"),
    ("senior", "seniors et autonomie"),
    ("age", "seniors et autonomie"),
    ("emploi", "insertion et emploi"),
    ("insertion", "insertion et emploi"),
    ("econom", "développement économique"),
    ("demarch", "démarches administratives"),
    ("amenag", "aménagement du territoire"),
    ("territ", "aménagement du territoire"),
)


def _famille_of_category(dimension: str | None, categorie: str | None) -> str:
    if dimension == "age" and categorie:
        band = parse_age_band(categorie)
        if band:
            low, high = band
            if high is not None and high <= 18:
                return "enfance, jeunesse et scolarité"
            if low >= 55:
                return "seniors et autonomie"
            if low < 30 and (high is None or high <= 30):
                return "insertion et emploi" if low >= 15 else "enfance, jeunesse et scolarité"
    mapping = {
        ("activite", "chomeur"): "insertion et emploi",
        ("activite", "etudiant"): "enfance, jeunesse et scolarité",
        ("activite", "retraite"): "seniors et autonomie",
        ("activite", "actif_occupe"): "insertion et emploi",
        ("csp", "CS1"): "développement économique",
        ("csp", "CS2"): "développement économique",
        ("csp", "CS5"): "insertion et emploi",
        ("csp", "CS6"): "insertion et emploi",
        ("csp", "CS7"): "seniors et autonomie",
        ("diplome", "cap_bep"): "insertion et emploi",
    }
    return mapping.get((dimension or "", categorie or ""), "démarches administratives")


def suggerer_thematique(dimension: str | None, categorie: str | None, priorites: Sequence[Priorite]) -> dict:
    """The heaviest matching priority names the family; otherwise the category does."""
    famille = None
    for priorite in sorted(priorites, key=lambda p: -p.poids):
        if priorite.tout_public:
            continue  # "everyone" says nothing about this public; let a specific priority speak
        folded = fold_label(priorite.theme)
        famille = next((f for kw, f in _THEME_KEYWORDS if kw in folded), None)
        if famille:
            break
    famille = famille or _famille_of_category(dimension, categorie)
    labels = services_standard()
    return {"famille": famille, "services": [{"cle": k, "libelle": labels[k]} for k in FAMILLES[famille]]}


# --- Scores and explanations ----------------------------------------------------------------------


def fmt_int(x: float) -> str:
    return f"{round(x):,}".replace(",", "\u202f")


def fmt_dec(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def environ(x: float) -> str:
    """Round a gap so that it does not look more precise than it is."""
    if x >= 1000:
        return fmt_int(float(f"{x:.3g}"))  # 3 significant digits
    if x >= 100:
        return fmt_int(round(x, -1))
    if x >= 20:
        return fmt_int(5 * round(x / 5))
    return fmt_int(x)


def fmt_q(q: float) -> str:
    if q < 0.001:
        return "moins de 0,1 %"
    return f"environ {fmt_dec(100 * q, 1)} %"


#: The wording of a flag: a Benjamini-Hochberg q-value is not the probability that a gap is chance.
SIGNIFICATIF = "écart significatif (taux de fausses découvertes contrôlé à 5 %)"


def fmt_range(low: float, high: float) -> str:
    """ "entre 590 et 1 010" (bounds rounded like the gap, the low bound never below 0 users)."""
    return f"entre {environ(max(low, 0.0))} et {environ(max(high, 0.0))}"


def facteur_significativite(q: np.ndarray) -> np.ndarray:
    """1 for q ≤ 0.001, about 0.43 at q = 0.05: a surer gap weighs more, never more than its size."""
    return np.minimum(1.0, -np.log10(np.maximum(q, 1e-300)) / 3)


@dataclass
class Candidat:
    """A significant gap, before ranking."""

    dimension: str | None
    categorie: str | None
    secteur: str | None
    nom_secteur: str | None
    usagers: float
    attendus: float
    population: float
    qvalue: float
    taux_reference: float  # users per inhabitant used for the expectation
    kind: str  # "secteur", "categorie", "cellule"
    priorites: list[Priorite] = field(default_factory=list)
    manquants: float | None = None
    manquants_ic: tuple[float, float] | None = None
    standardise_age: bool = False

    @property
    def missing(self) -> float:
        return self.attendus - self.usagers if self.manquants is None else self.manquants


@dataclass(frozen=True, eq=False)
class Ecarts:
    """The significant gaps of one kind and dimension, as columns: one row per gap.

    A national diagnostic has about 130,000 of them, and only the best ``max_cibles`` become
    :class:`Candidat` objects. ``categorie`` indexes ``categories`` (the dimension's labels);
    ``secteur`` indexes the diagnostic's sectors, -1 for a gap of the whole territory.
    """

    kind: str  # "secteur", "categorie", "cellule"
    dimension: str | None
    categories: Sequence[str | None]
    categorie: np.ndarray  # (m,) int
    secteur: np.ndarray  # (m,) int, -1: the whole territory
    usagers: np.ndarray  # (m,)
    attendus: np.ndarray  # (m,)
    population: np.ndarray  # (m,)
    qvalue: np.ndarray  # (m,)
    taux_reference: np.ndarray  # (m,)
    #: Missing users (default: expected - observed; a category's share: (p·n − k)/(1 − p)).
    manquants: np.ndarray | None = None
    manquants_ic: tuple[np.ndarray, np.ndarray] | None = None  # 95 % range of ``manquants``
    standardise_age: bool = False  # expected shares standardised by age (the CSP)

    def __len__(self) -> int:
        return len(self.usagers)

    def missing(self) -> np.ndarray:
        return self.attendus - self.usagers if self.manquants is None else self.manquants


def _explication(c: Candidat, unite: str) -> str:
    unit = "usager" if unite == "personnes" else "accompagnement"

    def count(x: float, written: str | None = None) -> str:
        return nombre(round(x), unit, chiffre=written if written is not None else fmt_int(x))

    def habitants(x: float) -> str:
        return nombre(round(x), "habitant", chiffre=fmt_int(x))

    label = category_label(c.dimension, c.categorie)
    manquants = c.missing
    nom = libelle_secteur(c.secteur, c.nom_secteur)
    where = f" du secteur « {nom} »" if c.secteur else " du territoire"
    plage = f" (intervalle à 95 % : {fmt_range(*c.manquants_ic)})" if c.manquants_ic else ""
    attendus = "attendu" if round(c.attendus) < 2 else "attendus"
    plus = f"Environ {count(manquants, environ(manquants))} de plus parmi les {label}{where}{plage}"
    if c.kind == "secteur":
        text = (
            f"Le secteur « {nom} » compte {count(c.usagers)} pour "
            f"{habitants(c.population)}, alors qu'environ {fmt_int(c.attendus)} étaient attendus "
            f"au taux moyen du territoire, compte tenu de l'âge de ses habitants : "
            f"il manque environ {count(manquants, environ(manquants))}{plage}."
        )
    elif c.kind == "categorie":
        standard = (
            " La part attendue tient compte de l'âge des usagers (standardisation par l'âge) : "
            "un manque de personnes âgées n'est pas compté une seconde fois chez les retraités."
            if c.standardise_age
            else ""
        )
        text = (
            f"{plus} donneraient à la "
            f"fréquentation la même composition que la population. "
            f"Aujourd'hui : {count(c.usagers)}, "
            f"contre {fmt_int(c.attendus)} {attendus}.{standard}"
        )
    else:
        text = (
            f"{plus} permettraient d'atteindre "
            f"le taux moyen du territoire ({fmt_dec(1000 * c.taux_reference)} pour 1 000 habitants). "
            f"Aujourd'hui : {count(c.usagers)} pour {habitants(c.population)} "
            f"({fmt_dec(1000 * c.usagers / c.population) if c.population else '0'} pour 1 000), "
            f"contre {fmt_int(c.attendus)} {attendus}."
        )
    text += f" {SIGNIFICATIF[0].upper()}{SIGNIFICATIF[1:]}."
    if c.priorites:
        text += (
            " Priorités de la collectivité : "
            + ", ".join(f"{p.theme} (poids {p.poids:g})" for p in c.priorites)
            + "."
        )
    return text


def rank_cibles(
    ecarts: Sequence[Ecarts],
    secteurs: Sequence[str],
    noms: Sequence[str | None],
    priorites: Sequence[Priorite],
    secteurs_qpv: Collection[str],
    unite: str,
    max_cibles: int | None = 50,
) -> list[dict]:
    """Score and rank the gaps: missing users × significance × (1 + sum of matching weights).

    ``secteurs`` and ``noms``: the codes and names of the sectors the gaps' ``secteur`` index.
    Scores are computed on the columns; only the gaps that can rank (the best ``max_cibles``, and
    those tied with the last) are made :class:`Candidat` objects, sorted by score, then sector,
    dimension and category.
    """
    # Does each priority target each sector? One test per sector and priority (index -1: none).
    vise_secteurs = [p.vise_secteurs([*secteurs, None], secteurs_qpv) for p in priorites]
    scores = []
    for e in ecarts:
        matching = np.zeros(len(e))  # summed in the priorities' order, as sum() would
        for p, vise_secteur in zip(priorites, vise_secteurs, strict=True):
            vise_categorie = np.array([p.vise_categorie(e.dimension, c) for c in e.categories], dtype=bool)
            vise = vise_categorie[e.categorie] & vise_secteur[e.secteur]
            matching = matching + np.where(vise, p.poids, 0.0)
        scores.append(e.missing() * facteur_significativite(e.qvalue) * (1 + matching))
    flat = np.concatenate(scores) if scores else np.zeros(0)
    keep = np.ones(len(flat), dtype=bool)
    if max_cibles is not None and len(flat) > max_cibles:
        # Every gap scoring at least the max_cibles-th best can rank (ties break on names).
        last = -np.partition(-flat, max_cibles - 1)[max_cibles - 1] if max_cibles > 0 else np.inf
        keep = flat >= last
    scored = []
    offset = 0
    for e, score in zip(ecarts, scores, strict=True):
        for r in np.flatnonzero(keep[offset : offset + len(e)]):
            s = int(e.secteur[r])
            c = Candidat(
                e.dimension,
                e.categories[e.categorie[r]],
                secteurs[s] if s >= 0 else None,
                noms[s] if s >= 0 else None,
                float(e.usagers[r]),
                float(e.attendus[r]),
                float(e.population[r]),
                float(e.qvalue[r]),
                float(e.taux_reference[r]),
                e.kind,
                manquants=float(e.missing()[r]),
                manquants_ic=(
                    None
                    if e.manquants_ic is None
                    else (float(e.manquants_ic[0][r]), float(e.manquants_ic[1][r]))
                ),
                standardise_age=e.standardise_age,
            )
            c.priorites = [
                p for p in priorites if p.correspond(c.dimension, c.categorie, c.secteur, secteurs_qpv)
            ]
            scored.append((float(score[r]), c))
        offset += len(e)
    scored.sort(
        key=lambda item: (-item[0], item[1].secteur or "", item[1].dimension or "", item[1].categorie or "")
    )
    if max_cibles is not None:
        scored = scored[:max_cibles]
    result = []
    for rang, (score, c) in enumerate(scored, start=1):
        thematique = suggerer_thematique(c.dimension, c.categorie, c.priorites)
        explication = _explication(c, unite)
        labels = ", ".join(s["libelle"] for s in thematique["services"])
        explication += f" Thématique suggérée : {thematique['famille']} ({labels})."
        result.append(
            {
                "rang": rang,
                "dimension": c.dimension,
                "categorie": c.categorie,
                "secteur": c.secteur,
                "priorites": [p.theme for p in c.priorites],
                "score": score,
                "explication": explication,
                "thematique": thematique,
                "usagers": c.usagers,
                "usagers_attendus": c.attendus,
                "usagers_manquants": c.missing,
                "usagers_manquants_ic95": None if c.manquants_ic is None else list(c.manquants_ic),
                "qvalue": c.qvalue,
            }
        )
    return result
