"""Priorities of the collectivité: what the diagnostic's gaps are crossed with.

Pure module: no Django. A priority is a theme with a weight, targeting categories
(dimension + categorie) and/or sectors (codes, or every QPV sector). A priority with neither
targets everyone (e.g. démarches administratives).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from ancrage.core.importing import IssueCollector
from ancrage.diagnostic.harmonisation import band_overlap_share
from ancrage.frequentation.readers import CATEGORY_CODES, band_label, csv_table, fold_label, parse_age_band
from ancrage.territoire.insee import DIMENSIONS, Source

QPV = "QPV"
#: An age band counts as targeted when at least this share of its years is in the targeted band.
PART_MIN_TRANCHE = 0.5


#: A diagnostic ranks thousands of candidates against each priority, with a handful of band labels.
_band = functools.lru_cache(maxsize=1024)(parse_age_band)


@dataclass(frozen=True)
class Priorite:
    theme: str
    poids: float = 1.0
    categories: tuple[tuple[str, str], ...] = ()  # (dimension, categorie)
    secteurs: tuple[str, ...] = ()
    qpv: bool = False  # targets every sector flagged QPV

    @property
    def tout_public(self) -> bool:
        return not self.categories and not self.secteurs and not self.qpv

    def vise_categorie(self, dimension: str | None, categorie: str | None) -> bool:
        if not self.categories:
            return True
        if dimension is None:
            return False
        for dim, cat in self.categories:
            if dim != dimension:
                continue
            if dim == "age":
                band, target = _band(categorie or ""), _band(cat)
                if band and target and band_overlap_share(band, target) >= PART_MIN_TRANCHE:
                    return True
            elif cat == categorie:
                return True
        return False

    def vise_secteur(self, secteur: str | None, secteurs_qpv: Collection[str]) -> bool:
        if not self.secteurs and not self.qpv:
            return True
        if secteur is None:
            return False
        return secteur in self.secteurs or (self.qpv and secteur in secteurs_qpv)

    def vise_secteurs(self, secteurs: Sequence[str | None], secteurs_qpv: Collection[str]) -> np.ndarray:
        """:meth:`vise_secteur` of each sector, as booleans (a diagnostic has up to 50,000)."""
        if not self.secteurs and not self.qpv:
            return np.ones(len(secteurs), dtype=bool)
        # The sectors vise_secteur accepts, in one set (None is in none of them).
        targeted = set(self.secteurs) | (set(secteurs_qpv) if self.qpv else set())
        return np.fromiter(map(targeted.__contains__, secteurs), dtype=bool, count=len(secteurs))

    def correspond(
        self, dimension: str | None, categorie: str | None, secteur: str | None, secteurs_qpv: Collection[str]
    ) -> bool:
        return self.vise_categorie(dimension, categorie) and self.vise_secteur(secteur, secteurs_qpv)


DEFAULT_PRIORITES: tuple[Priorite, ...] = (
    Priorite("politique de la ville", 1.0, qpv=True),
    Priorite("jeunesse", 1.0, categories=(("age", "15-29"),)),
    Priorite("seniors", 1.0, categories=(("age", "60+"),)),
    Priorite("insertion / emploi", 1.0, categories=(("activite", "chomeur"),)),
    Priorite("démarches administratives", 1.0),
)

THEME_MAX_LENGTH = 120  # diagnostic.Priorite.theme
PRIORITES_COLUMNS = ("theme", "poids", "dimension", "categorie", "secteurs")


def read_priorites(source: Source, filename: str | None = None) -> list[Priorite]:
    """Read ``theme;poids;dimension;categorie;secteurs``.

    Several rows with the same theme add categories to it (same weight required). ``secteurs``
    lists codes separated by ``|`` or ``,``; the word ``QPV`` stands for every QPV sector.
    Empty dimension, categorie and secteurs: the theme targets everyone.
    """
    file, rows, header_index, columns = csv_table(source, filename, PRIORITES_COLUMNS)
    issues = IssueCollector(file)
    themes: dict[str, dict] = {}
    order: list[str] = []

    def get(row, name):
        j = columns[name]
        return row[j].strip() if j < len(row) else ""

    for k, row in enumerate(rows[header_index + 1 :]):
        line = header_index + 2 + k
        if not any(c.strip() for c in row):
            continue
        theme = get(row, "theme")
        if not theme:
            issues.add("Thème vide.", line=line, column="theme")
            continue
        if len(theme) > THEME_MAX_LENGTH:
            # The database refuses longer themes (PostgreSQL): refused here, with its place.
            issues.add(
                f"Thème trop long ({len(theme)} caractères, {THEME_MAX_LENGTH} au plus).",
                line=line,
                column="theme",
            )
            continue
        poids = _poids(get(row, "poids"), line, issues)
        dimension, categorie = _categorie(get(row, "dimension"), get(row, "categorie"), line, issues)
        secteurs = [s.strip().upper() for s in re.split(r"[|,]", get(row, "secteurs")) if s.strip()]
        qpv = QPV in secteurs
        secteurs = [s for s in secteurs if s != QPV]
        if poids is None:
            continue
        entry = themes.get(theme)
        if entry is None:
            entry = themes[theme] = {"poids": poids, "categories": [], "secteurs": [], "qpv": False}
            order.append(theme)
        elif entry["poids"] != poids:
            issues.add(
                f"Le thème « {theme} » a déjà un autre poids ({entry['poids']:g}).", line=line, column="poids"
            )
        if categorie:
            entry["categories"].append((dimension, categorie))
        entry["secteurs"].extend(s for s in secteurs if s not in entry["secteurs"])
        entry["qpv"] = entry["qpv"] or qpv
    if not themes and not issues:
        issues.add("Le fichier ne contient aucune priorité.", line=header_index + 1)
    issues.raise_if_any()
    return [
        Priorite(t, e["poids"], tuple(e["categories"]), tuple(e["secteurs"]), e["qpv"])
        for t, e in ((t, themes[t]) for t in order)
    ]


def _poids(text: str, line: int, issues: IssueCollector) -> float | None:
    """The theme's weight, or ``None`` (an issue added) when it is not a number in (0, 100]."""
    raw = text.replace(",", ".")
    poids = None
    if re.fullmatch(r"\d+(?:\.\d+)?", raw) and 0 < float(raw) <= 100:
        poids = float(raw)
    else:
        issues.add(
            f"Poids « {text} » invalide : un nombre positif (ex. 1 ou 2,5).",
            line=line,
            column="poids",
        )
    return poids


def _categorie(raw_dimension: str, raw_cat: str, line: int, issues: IssueCollector) -> tuple[str, str | None]:
    """The dimension (folded) and the category's normalised code in it, if any."""
    dimension = fold_label(raw_dimension)
    categorie = None
    if dimension:
        if dimension not in DIMENSIONS:
            issues.add(
                f"Dimension « {dimension} » inconnue (valeurs : {', '.join(DIMENSIONS)}).",
                line=line,
                column="dimension",
            )
        elif not raw_cat:
            issues.add("Catégorie vide alors qu'une dimension est donnée.", line=line, column="categorie")
        elif dimension == "age":
            band = parse_age_band(raw_cat)
            if band is None:
                issues.add(
                    f"Tranche d'âge « {raw_cat} » non reconnue (ex. « 15-29 », « 60+ »).",
                    line=line,
                    column="categorie",
                )
            else:
                categorie = band_label(band)
        else:
            categorie = CATEGORY_CODES[dimension].get(fold_label(raw_cat))
            if categorie is None:
                issues.add(
                    f"Catégorie « {raw_cat} » inconnue pour « {dimension} ».",
                    line=line,
                    column="categorie",
                )
    elif raw_cat:
        issues.add("Catégorie donnée sans dimension.", line=line, column="dimension")
    return dimension, categorie
