"""Aggregated counts ``code_secteur;dimension;categorie;usagers`` (see ``docs/formats/agrege.md``).

Pure module: no Django.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ancrage.core.importing import IssueCollector
from ancrage.frequentation.readers.csvtext import cell, csv_table
from ancrage.frequentation.readers.labels import band_label, fold_label, parse_age_band
from ancrage.frequentation.readers.records import CompteAgrege, Frequentation
from ancrage.territoire.insee import (
    ACTIVITE_CATEGORIES,
    COMMUNE_RE,
    CSP_CATEGORIES,
    DIMENSIONS,
    DIPLOME_CATEGORIES,
    IRIS_RE,
    Source,
    normalise_commune,
    normalise_iris,
)

# --- Aggregated counts ----------------------------------------------------------------------------

AGREGE_COLUMNS = ("code_secteur", "dimension", "categorie", "usagers")
CATEGORY_CODES = {
    "sexe": {"f": "F", "h": "H"},
    "csp": {**{c.lower(): c for c in CSP_CATEGORIES}, **{str(i): f"CS{i}" for i in range(1, 9)}},
    "activite": {c: c for c in ACTIVITE_CATEGORIES},
    "diplome": {c: c for c in DIPLOME_CATEGORIES},
}


def read_aggregated(
    source: Source,
    filename: str | None = None,
    *,
    secteurs_connus: Collection[str] | None = None,
    unite: str = "personnes",
) -> Frequentation:
    """Read aggregated counts ``code_secteur;dimension;categorie;usagers``.

    ``dimension`` is one of age, sexe, csp, activite, diplome, or ``total`` (empty categorie) for
    the number of users of a sector when the categories do not add up to it.
    """
    if unite not in ("personnes", "accompagnements"):
        raise ValueError("unite doit valoir « personnes » ou « accompagnements ».")
    file, rows, header_index, columns = csv_table(source, filename, AGREGE_COLUMNS)
    issues = IssueCollector(file)
    records: list[CompteAgrege] = []
    seen: dict[tuple[str, str, str], int] = {}
    levels: set[str] = set()
    for k, row in enumerate(rows[header_index + 1 :]):
        line = header_index + 2 + k
        if not any(c.strip() for c in row):
            continue
        before = len(issues.issues)
        code = _code_secteur(cell(row, columns, "code_secteur"), line, levels, issues)
        dimension, categorie = _categorie(
            cell(row, columns, "dimension"), cell(row, columns, "categorie"), line, issues
        )
        count = _usagers(cell(row, columns, "usagers"), line, issues)
        key = (code, dimension, categorie)
        if len(issues.issues) == before:
            if key in seen:
                issues.add(f"Ligne en double (déjà ligne {seen[key]}).", line=line)
            else:
                seen[key] = line
                records.append(CompteAgrege(line, code, dimension, categorie, count))
    if not records and not issues:
        issues.add("Le fichier ne contient aucune ligne de comptage après l'en-tête.", line=header_index + 1)
    if len(levels) > 1:
        issues.add(
            "Le fichier mélange des codes IRIS, des codes communes et/ou des quartiers : "
            "un seul niveau par fichier."
        )
    issues.raise_if_any()
    inconnus = sorted(
        {r.code_secteur for r in records if secteurs_connus is not None} - set(secteurs_connus or ())
    )
    return Frequentation(
        unite=unite,
        source="agrege",
        fichier=file,
        agregats=tuple(records),
        niveau=levels.pop() if levels else None,
        infos={"secteurs_inconnus": inconnus},
    )


def _code_secteur(
    raw_code: str,
    line: int,
    levels: set[str],
    issues: IssueCollector,
) -> str:
    """The sector's code, normalised; its level (IRIS, commune or quartier) is added to ``levels``."""
    code = raw_code.upper()
    if IRIS_RE.match(normalise_iris(code)) and len(code) >= 8:
        code = normalise_iris(code)
        levels.add("iris")
    elif COMMUNE_RE.match(normalise_commune(code)) and len(code) >= 4:
        code = normalise_commune(code)
        levels.add("commune")
    elif not code:
        issues.add("Code de secteur vide.", line=line, column="code_secteur")
    else:
        levels.add("quartier")  # a quartier is a free name chosen by the user
    # A sector outside the imported population is kept: the diagnostic counts it apart.
    return code


def _categorie(raw_dimension: str, raw_cat: str, line: int, issues: IssueCollector) -> tuple[str, str]:
    """The dimension, and the category's normalised code in it ("" for the total, or when invalid)."""
    dimension = fold_label(raw_dimension)
    categorie = ""
    if dimension == "total":
        if raw_cat:
            issues.add("La dimension « total » n'a pas de catégorie.", line=line, column="categorie")
    elif dimension == "age":
        band = parse_age_band(raw_cat)
        if band is None:
            issues.add(
                f"Tranche d'âge « {raw_cat} » non reconnue (ex. « 15-29 », « 75+ »).",
                line=line,
                column="categorie",
            )
        else:
            categorie = band_label(band)
    elif dimension in CATEGORY_CODES:
        categorie = CATEGORY_CODES[dimension].get(fold_label(raw_cat), "")
        if not categorie:
            issues.add(
                f"Catégorie « {raw_cat} » inconnue pour la dimension « {dimension} » (valeurs : "
                + ", ".join(sorted(set(CATEGORY_CODES[dimension].values())))
                + ").",
                line=line,
                column="categorie",
            )
    else:
        issues.add(
            f"Dimension « {raw_dimension} » inconnue (valeurs : " + ", ".join((*DIMENSIONS, "total")) + ").",
            line=line,
            column="dimension",
        )
    return dimension, categorie


def _usagers(raw: str, line: int, issues: IssueCollector) -> int:
    """The number of users (0 when invalid)."""
    count = 0
    if re.fullmatch(r"\d{1,9}", raw):
        count = int(raw)
    elif re.fullmatch(r"-\s*\d+(?:[.,]\d+)?", raw):
        issues.add(f"Nombre d'usagers négatif ({raw}).", line=line, column="usagers")
    else:
        issues.add(
            f"Nombre d'usagers « {raw} » invalide : un entier positif ou nul.",
            line=line,
            column="usagers",
        )
    return count
