"""Ancrage's usagers file (one row per person, see ``docs/formats/usagers.md``), row by row.

Pure module: no Django. The columns, one function per field, the validation of one row, and
:func:`read_usagers_exact`, the reference reader; the streamed, vectorised reader
(:mod:`ancrage.frequentation.readers.stream`) calls the very same field functions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Collection
from pathlib import Path

from ancrage.core.importing import IssueCollector
from ancrage.frequentation.readers.csvtext import cell, csv_table
from ancrage.frequentation.readers.labels import AgeBand, fold_label, parse_age_band
from ancrage.frequentation.readers.records import Frequentation, Progress, Usager
from ancrage.territoire.insee import COMMUNE_RE, IRIS_RE, Source, normalise_commune, normalise_iris

# --- Ancrage usagers file -------------------------------------------------------------------------

USAGERS_COLUMNS = (
    "identifiant",
    "annee_naissance",
    "tranche_age",
    "sexe",
    "csp",
    "situation",
    "code_iris",
    "code_commune",
    "premiere_visite",
    "oriente_par",
)
USAGERS_REQUIRED = USAGERS_COLUMNS[:8]

#: Values of the ``situation`` column of the usagers file.
SITUATIONS = {
    "en emploi": "actif_occupe",
    "sans emploi": "chomeur",
    "scolarise": "etudiant",
    "retraite": "retraite",
    "autre inactif": "autre_inactif",
}


TEMPLATE_PATH = Path(__file__).parents[1] / "data" / "modele-usagers.csv"


#: Why a record cannot be placed in the imported population (see ``placement``), as the diagnostic
#: JSON's ``non_places`` names them, with the words the pages use.
NON_PLACES = {
    "hors_territoire": "hors territoire : commune absente de la population importée",
    "iris_inconnu": "non localisés : code IRIS absent de la population (autre géographie des IRIS ?)",
    "sans_iris": "non localisés : commune seule, sans code IRIS",
    "hors_quartiers": "non localisés : IRIS hors des quartiers définis",
    "sans_code": "non localisés : ni code IRIS ni code commune",
}


def placement(iris: str | None, commune: str | None, secteurs_connus: Collection[str] | None) -> str | None:
    """Why a record with these codes is not in the imported territory (a key of ``NON_PLACES``),
    or ``None`` when it is (or when no territory is given). The record is kept either way: the
    diagnostic counts it apart, under that reason."""
    if not iris and not commune:
        return "sans_code"
    if secteurs_connus is None:
        return None
    if iris:
        if iris in secteurs_connus:
            return None
        return "iris_inconnu" if iris[:5] in secteurs_connus else "hors_territoire"
    return None if commune in secteurs_connus else "hors_territoire"


def check_sector(
    issues: IssueCollector,
    line: int,
    iris_raw: str,
    commune_raw: str,
    secteurs_connus: Collection[str] | None,
) -> tuple[str | None, str | None]:
    """The record's codes, normalised; a malformed code is an issue. A well-formed code outside
    ``secteurs_connus`` is no issue: the record is kept, and counted apart (``placement``)."""
    iris = normalise_iris(iris_raw) if iris_raw else None
    commune = normalise_commune(commune_raw) if commune_raw else None
    ok = True
    if iris is not None and not IRIS_RE.match(iris):
        issues.add(
            f"Code IRIS « {iris_raw} » invalide (9 caractères attendus).", line=line, column="code_iris"
        )
        ok = False
    if commune is not None and not COMMUNE_RE.match(commune):
        issues.add(
            f"Code commune « {commune_raw} » invalide (5 caractères attendus).",
            line=line,
            column="code_commune",
        )
        ok = False
    if ok and iris and commune and iris[:5] != commune:
        issues.add(
            f"Le code IRIS « {iris} » n'appartient pas à la commune « {commune} ».",
            line=line,
            column="code_iris",
        )
        ok = False
    return iris, commune


def usager_row(
    row: list[str],
    line: int,
    header_len: int,
    columns: dict[str, int],
    issues: IssueCollector,
    this_year: int,
    secteurs_connus: Collection[str] | None,
    check_identifiant: Callable[[str, int], str | None],
) -> Usager | None:
    """Validate one row of the usagers file: the record, or ``None`` (blank row, or issues added).

    ``check_identifiant(ident, line)`` returns the message of a duplicate, or ``None``.
    """
    if not any(c.strip() for c in row):
        return None
    if len(row) > header_len:
        issues.add(
            f"Ligne de {len(row)} colonnes au lieu de {header_len} : "
            "vérifiez le séparateur et les guillemets.",
            line=line,
        )
        return None
    before = len(issues.issues)
    ident = cell(row, columns, "identifiant")
    if not ident:
        issues.add("Identifiant vide.", line=line, column="identifiant")
    elif (message := check_identifiant(ident, line)) is not None:
        issues.add(message, line=line, column="identifiant")
    annee, message = parse_annee_naissance(cell(row, columns, "annee_naissance"), this_year)
    if message:
        issues.add(message, line=line, column="annee_naissance")
    tranche, message = parse_tranche_age(cell(row, columns, "tranche_age"))
    if message:
        issues.add(message, line=line, column="tranche_age")
    sexe, message = parse_sexe(cell(row, columns, "sexe"))
    if message:
        issues.add(message, line=line, column="sexe")
    csp, message = parse_csp(cell(row, columns, "csp"))
    if message:
        issues.add(message, line=line, column="csp")
    situation, message = parse_situation(cell(row, columns, "situation"))
    if message:
        issues.add(message, line=line, column="situation")
    iris, commune = check_sector(
        issues, line, cell(row, columns, "code_iris"), cell(row, columns, "code_commune"), secteurs_connus
    )
    visite, message = parse_premiere_visite(cell(row, columns, "premiere_visite"))
    if message:
        issues.add(message, line=line, column="premiere_visite")
    elif visite is not None and annee is not None and visite.year < annee:
        issues.add("Première visite antérieure à l'année de naissance.", line=line, column="premiere_visite")
    if len(issues.issues) != before:
        return None
    return Usager(
        ligne=line,
        identifiant=ident,
        annee_naissance=annee,
        tranche_age=tranche,
        sexe=sexe,
        csp=csp,
        situation=situation,
        code_iris=iris,
        code_commune=commune,
        premiere_visite=visite,
        oriente_par=cell(row, columns, "oriente_par") or None,
    )


# One function per field: the per-row reader and the vectorised one (on each distinct value of a
# chunk) call the very same code, so they accept and normalise exactly the same values.


def parse_annee_naissance(raw: str, this_year: int) -> tuple[int | None, str | None]:
    if not raw:
        return None, None
    if re.fullmatch(r"\d{4}", raw) and 1900 <= int(raw) <= this_year:
        return int(raw), None
    return None, f"Année de naissance « {raw} » invalide (AAAA, entre 1900 et {this_year})."


def parse_tranche_age(raw: str) -> tuple[AgeBand | None, str | None]:
    if not raw:
        return None, None
    tranche = parse_age_band(raw)
    if tranche is None:
        return None, (
            f"Tranche d'âge « {raw} » non reconnue (ex. « 15-29 », « 75+ » ou un libellé de La Coop)."
        )
    return tranche, None


def parse_sexe(raw: str) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    sexe = {"f": "F", "h": "H"}.get(raw.lower())
    return sexe, None if sexe else f"Sexe « {raw} » non reconnu : F, H ou vide."


def parse_csp(raw: str) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    m = re.fullmatch(r"(?:cs)?([1-8])", raw.lower())
    if m:
        return f"CS{m.group(1)}", None
    return None, f"CSP « {raw} » non reconnue : un chiffre de 1 à 8 ou vide."


def parse_situation(raw: str) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    situation = SITUATIONS.get(fold_label(raw))
    if situation is None:
        return None, (
            f"Situation « {raw} » non reconnue : en emploi, sans emploi, scolarisé, retraité, "
            "autre inactif ou vide."
        )
    return situation, None


def parse_premiere_visite(raw: str) -> tuple[dt.date | None, str | None]:
    if not raw:
        return None, None
    try:
        visite = dt.date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
    except ValueError:
        visite = None
    if visite is None:
        return None, f"Date de première visite « {raw} » invalide (AAAA-MM-JJ)."
    return visite, None


def read_usagers_exact(
    source: Source,
    filename: str | None = None,
    *,
    secteurs_connus: Collection[str] | None = None,
    current_year: int | None = None,
    progress: Progress | None = None,
) -> Frequentation:
    """The per-row reader of the usagers file: the whole file in memory, one record per row.

    The reference for :func:`read_usagers` (which gives the same records and the same errors),
    and what it falls back to for the files its streaming path does not take (quoted cells…).
    """
    file, rows, header_index, columns = csv_table(source, filename, USAGERS_REQUIRED, USAGERS_COLUMNS[8:])
    issues = IssueCollector(file)
    this_year = current_year or dt.date.today().year
    usagers: list[Usager] = []
    seen: dict[str, int] = {}

    def check_identifiant(ident: str, line: int) -> str | None:
        if ident in seen:
            return f"Identifiant « {ident} » en double (déjà ligne {seen[ident]})."
        seen[ident] = line
        return None

    total = len(rows) - header_index - 1
    header_len = len(rows[header_index])
    for k, row in enumerate(rows[header_index + 1 :]):
        line = header_index + 2 + k
        if progress and k % 1000 == 0:
            progress(k, total)
        record = usager_row(
            row, line, header_len, columns, issues, this_year, secteurs_connus, check_identifiant
        )
        if record is not None:
            usagers.append(record)
    if not usagers and not issues:
        issues.add("Le fichier ne contient aucun usager après la ligne d'en-tête.", line=header_index + 1)
    issues.raise_if_any()
    if progress:
        progress(total, total)
    niveau = "iris" if any(u.code_iris for u in usagers) else "commune"
    non_places = Counter(placement(u.code_iris, u.code_commune, secteurs_connus) for u in usagers)
    non_places.pop(None, None)
    return Frequentation(
        unite="personnes",
        source="ancrage",
        fichier=file,
        individus=tuple(usagers),
        niveau=niveau,
        infos={"non_places": dict(sorted(non_places.items()))},
    )
