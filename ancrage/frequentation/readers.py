"""Read attendance (fréquentation) files into normalised records.

Pure module: no Django. Three sources:

* Ancrage's own usagers file (one row per person, see ``docs/formats/usagers.md``);
* the XLSX activity export of La Coop de la médiation numérique (one row per accompaniment,
  sectors are communes, see ``design/COOP_EXPORT.md``);
* aggregated counts ``code_secteur;dimension;categorie;usagers``.

Each reader returns a :class:`Frequentation` with every record, or raises
:class:`ImportRejected` with every problem found (French, located): nothing is half-read.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ancrage.core.importing import ImportIssue, ImportRejected, IssueCollector
from ancrage.territoire.insee import (
    ACTIVITE_CATEGORIES,
    COMMUNE_RE,
    CSP_CATEGORIES,
    DIMENSIONS,
    DIPLOME_CATEGORIES,
    IRIS_RE,
    Source,
    cell_text,
    column_letter,
    decode_text,
    load_bytes,
    normalise_commune,
    normalise_iris,
    reject,
    sniff_format,
    split_csv,
    spreadsheet_sheets,
)

Progress = Callable[[int, int], None]

# --- Age bands ------------------------------------------------------------------------------------

AgeBand = tuple[int, int | None]  # [low, high) in years; high None for an open band ("75+")

#: La Coop's age bands (Tranche d'âge du bénéficiaire), in its order.
COOP_TRANCHES_AGE: dict[str, AgeBand] = {
    "Moins de 12 ans": (0, 12),
    "12 - 17 ans": (12, 18),
    "18 - 24 ans": (18, 25),
    "25 - 39 ans": (25, 40),
    "40 - 59 ans": (40, 60),
    "60 - 69 ans": (60, 70),
    "70 ans et plus": (70, None),
}
COOP_SEXE = {"Masculin": "H", "Féminin": "F"}
COOP_STATUT = {
    "Scolarisé": "etudiant",
    "Sans emploi": "chomeur",
    "En emploi": "actif_occupe",
    "Retraité": "retraite",
}
NON_COMMUNIQUE = ("Non communiqué", "Non communiqué ou hétérogène")

#: Values of the ``situation`` column of the usagers file.
SITUATIONS = {
    "en emploi": "actif_occupe",
    "sans emploi": "chomeur",
    "scolarise": "etudiant",
    "retraite": "retraite",
    "autre inactif": "autre_inactif",
}

MAX_AGE = 120


@functools.lru_cache(maxsize=4096)  # a file repeats a handful of labels on every row (issue 8)
def fold_label(text: str) -> str:
    """Lower case, no accents, single spaces, straight apostrophes: for matching labels."""
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'").replace("\u00a0", " "))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


_COOP_AGE_FOLDED = {fold_label(k): v for k, v in COOP_TRANCHES_AGE.items()}


def parse_age_band(text: str) -> AgeBand | None:
    """Parse an INSEE band (``"15-29"``, ``"75+"``) or a La Coop label; ``None`` if not a band."""
    folded = fold_label(text)
    if folded in _COOP_AGE_FOLDED:
        return _COOP_AGE_FOLDED[folded]
    compact = folded.replace(" ", "").replace("\u2013", "-").removesuffix("ans")
    if m := re.fullmatch(r"(\d{1,3})-(\d{1,3})", compact):
        low, high = int(m.group(1)), int(m.group(2))
        return (low, high + 1) if low <= high <= MAX_AGE else None
    if m := re.fullmatch(r"(\d{1,3})(?:\+|ansetplus|etplus)", compact):
        low = int(m.group(1))
        return (low, None) if low <= MAX_AGE else None
    if m := re.fullmatch(r"(?:<|moinsde)(\d{1,3})", compact):
        high = int(m.group(1))
        return (0, high) if 0 < high <= MAX_AGE else None
    return None


def band_label(band: AgeBand) -> str:
    low, high = band
    return f"{low}+" if high is None else f"{low}-{high - 1}"


# --- Records --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usager:
    """One person of the usagers file (pseudonymous)."""

    ligne: int
    identifiant: str
    annee_naissance: int | None
    tranche_age: AgeBand | None
    sexe: str | None  # "F" | "H"
    csp: str | None  # "CS1".."CS8"
    situation: str | None  # one of ACTIVITE_CATEGORIES
    code_iris: str | None
    code_commune: str | None
    premiere_visite: dt.date | None
    oriente_par: str | None


@dataclass(frozen=True)
class Accompagnement:
    """One row of La Coop's export: one accompanied person in one activity."""

    ligne: int
    date: dt.date | None
    type: str
    id_cra: str | None
    tranche_age: AgeBand | None
    sexe: str | None
    situation: str | None
    code_commune: str | None
    annee_naissance: int | None = None
    csp: str | None = None
    code_iris: str | None = None


@dataclass(frozen=True)
class CompteAgrege:
    """A count of users of one category in one sector (``dimension == "total"``: all users)."""

    ligne: int
    code_secteur: str
    dimension: str
    categorie: str  # normalised code; an age band is written "15-29" / "75+"
    usagers: int

    @property
    def tranche_age(self) -> AgeBand | None:
        return parse_age_band(self.categorie) if self.dimension == "age" else None


@dataclass(frozen=True)
class Frequentation:
    """Attendance ready for the diagnostic: individual records or aggregated counts."""

    unite: str  # "personnes" | "accompagnements"
    source: str  # "ancrage" | "coop" | "agrege"
    fichier: str
    individus: tuple[Usager | Accompagnement, ...] = ()
    agregats: tuple[CompteAgrege, ...] = ()
    niveau: str | None = None  # finest sector level the data gives: "iris" or "commune"
    infos: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.individus) if self.individus else sum(a.usagers for a in self.agregats)


# --- Shared CSV scaffolding -----------------------------------------------------------------------


def csv_table(
    source: Source, filename: str | None, required: Sequence[str], optional: Sequence[str] = ()
) -> tuple[str, list[list[str]], int, dict[str, int]]:
    """Decode and split a CSV whose header row holds ``required`` column names (any order)."""
    data, file = load_bytes(source, filename)
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise reject(file, "Le fichier est vide.")
    if sniff_format(data) != "csv":
        raise reject(
            file, "Ce fichier est un classeur Excel : enregistrez-le au format CSV (séparateur « ; »)."
        )
    text = decode_text(data, file)
    wanted = set(required)

    def is_header(cells: list[str]) -> bool:
        return wanted <= {fold_label(c) for c in cells}

    def looks_like_header(cells: list[str]) -> bool:
        return len(wanted & {fold_label(c) for c in cells}) >= max(1, len(wanted) // 2)

    try:
        rows, _ = split_csv(text, file, is_header)
    except ImportRejected:
        # Tell the user which columns are missing when the header is otherwise recognisable.
        for delimiter in (";", ","):
            first = next((line for line in text.splitlines() if line.strip()), "")
            cells = [c.strip().strip('"') for c in first.split(delimiter)]
            if len(cells) > 1 and looks_like_header(cells):
                missing = [c for c in required if c not in {fold_label(x) for x in cells}]
                raise reject(
                    file,
                    "Colonne(s) obligatoire(s) absente(s) : " + ", ".join(f"« {c} »" for c in missing) + ".",
                    line=1,
                ) from None
        raise
    header_index = next(i for i, r in enumerate(rows) if is_header([c.strip() for c in r]))
    header = [fold_label(c) for c in rows[header_index]]
    columns = {name: header.index(name) for name in (*required, *optional) if name in header}
    return file, rows, header_index, columns


def _get(row: list[str], columns: dict[str, int], name: str) -> str:
    j = columns.get(name)
    return row[j].strip() if j is not None and j < len(row) else ""


def _check_sector(
    issues: IssueCollector,
    line: int,
    iris_raw: str,
    commune_raw: str,
    secteurs_connus: Collection[str] | None,
) -> tuple[str | None, str | None]:
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
    if ok and secteurs_connus is not None:
        if iris and iris not in secteurs_connus and iris[:5] not in secteurs_connus:
            issues.add(
                f"Code IRIS « {iris} » inconnu : il n'est dans aucune base de population importée.",
                line=line,
                column="code_iris",
            )
        elif not iris and commune and commune not in secteurs_connus:
            issues.add(
                f"Code commune « {commune} » inconnu : il n'est dans aucune base de population importée.",
                line=line,
                column="code_commune",
            )
    return iris, commune


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


def _usager_row(
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
    ident = _get(row, columns, "identifiant")
    if not ident:
        issues.add("Identifiant vide.", line=line, column="identifiant")
    elif (message := check_identifiant(ident, line)) is not None:
        issues.add(message, line=line, column="identifiant")
    annee, message = _annee_naissance(_get(row, columns, "annee_naissance"), this_year)
    if message:
        issues.add(message, line=line, column="annee_naissance")
    tranche, message = _tranche_age(_get(row, columns, "tranche_age"))
    if message:
        issues.add(message, line=line, column="tranche_age")
    sexe, message = _sexe(_get(row, columns, "sexe"))
    if message:
        issues.add(message, line=line, column="sexe")
    csp, message = _csp(_get(row, columns, "csp"))
    if message:
        issues.add(message, line=line, column="csp")
    situation, message = _situation(_get(row, columns, "situation"))
    if message:
        issues.add(message, line=line, column="situation")
    iris, commune = _check_sector(
        issues, line, _get(row, columns, "code_iris"), _get(row, columns, "code_commune"), secteurs_connus
    )
    visite, message = _premiere_visite(_get(row, columns, "premiere_visite"))
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
        oriente_par=_get(row, columns, "oriente_par") or None,
    )


# One function per field: the per-row reader and the vectorised one (on each distinct value of a
# chunk) call the very same code, so they accept and normalise exactly the same values.


def _annee_naissance(raw: str, this_year: int) -> tuple[int | None, str | None]:
    if not raw:
        return None, None
    if re.fullmatch(r"\d{4}", raw) and 1900 <= int(raw) <= this_year:
        return int(raw), None
    return None, f"Année de naissance « {raw} » invalide (AAAA, entre 1900 et {this_year})."


def _tranche_age(raw: str) -> tuple[AgeBand | None, str | None]:
    if not raw:
        return None, None
    tranche = parse_age_band(raw)
    if tranche is None:
        return None, (
            f"Tranche d'âge « {raw} » non reconnue (ex. « 15-29 », « 75+ » ou un libellé de La Coop)."
        )
    return tranche, None


def _sexe(raw: str) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    sexe = {"f": "F", "h": "H"}.get(raw.lower())
    return sexe, None if sexe else f"Sexe « {raw} » non reconnu : F, H ou vide."


def _csp(raw: str) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    m = re.fullmatch(r"(?:cs)?([1-8])", raw.lower())
    if m:
        return f"CS{m.group(1)}", None
    return None, f"CSP « {raw} » non reconnue : un chiffre de 1 à 8 ou vide."


def _situation(raw: str) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    situation = SITUATIONS.get(fold_label(raw))
    if situation is None:
        return None, (
            f"Situation « {raw} » non reconnue : en emploi, sans emploi, scolarisé, retraité, "
            "autre inactif ou vide."
        )
    return situation, None


def _premiere_visite(raw: str) -> tuple[dt.date | None, str | None]:
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
        record = _usager_row(
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
    return Frequentation(
        unite="personnes", source="ancrage", fichier=file, individus=tuple(usagers), niveau=niveau
    )


def read_usagers(
    source: Source,
    filename: str | None = None,
    *,
    secteurs_connus: Collection[str] | None = None,
    current_year: int | None = None,
    progress: Progress | None = None,
) -> Frequentation:
    """Read Ancrage's usagers CSV (one row per person).

    ``secteurs_connus`` (IRIS and/or commune codes of the imported population), when given,
    makes an unknown sector an error rather than a silently dropped user.

    Streams the file by chunks (see :class:`UsagersStream`); the records are kept as columns
    (:class:`UsagerColumns`, a sequence of :class:`Usager`).
    """
    return scan_usagers(
        source, filename, secteurs_connus=secteurs_connus, current_year=current_year, progress=progress
    ).read()


# --- La Coop XLSX export --------------------------------------------------------------------------

COOP_COLUMNS = {
    "date": "Date",
    "type": "Type",
    "code_commune": "Code Insee du bénéficiaire",
    "sexe": "Genre du bénéficiaire",
    "tranche_age": "Tranche d’âge du bénéficiaire",
    "situation": "Statut du bénéficiaire",
    "id_cra": "ID CRA",
}
COOP_REQUIRED = ("code_commune", "sexe", "tranche_age", "situation")
COOP_FOLDED = {fold_label(v): k for k, v in COOP_COLUMNS.items()}


def read_coop_export(
    source: Source,
    filename: str | None = None,
    *,
    secteurs_connus: Collection[str] | None = None,
    progress: Progress | None = None,
) -> Frequentation:
    """Read La Coop's activity export (XLSX). Unit: accompaniments; sectors: communes."""
    data, file = load_bytes(source, filename)
    if not data.strip():
        raise reject(file, "Le fichier est vide.")
    if sniff_format(data) != "xlsx":
        raise reject(
            file, "Ce fichier n'est pas un classeur Excel (.xlsx) : l'export de La Coop est un fichier XLSX."
        )
    sheets = spreadsheet_sheets(data, "xlsx", file)
    found = None
    for name, rows in sorted(sheets, key=lambda s: s[0] != "Activités"):
        for i, row in enumerate(rows[:200]):
            cells = {fold_label(cell_text(c)): j for j, c in enumerate(row) if cell_text(c)}
            matched = {COOP_FOLDED[c]: j for c, j in cells.items() if c in COOP_FOLDED}
            if all(k in matched for k in COOP_REQUIRED):
                found = (name, rows, i, matched)
                break
        if found:
            break
    if found is None:
        raise reject(
            file,
            "Ligne d'en-tête de l'export de La Coop introuvable : les colonnes "
            + ", ".join(f"« {COOP_COLUMNS[k]} »" for k in COOP_REQUIRED)
            + " sont obligatoires.",
        )
    sheet, rows, header_index, columns = found
    issues = IssueCollector(file, sheet)
    records: list[Accompagnement] = []
    total = len(rows) - header_index - 1
    sexe_f = {fold_label(k): v for k, v in COOP_SEXE.items()}
    statut_f = {fold_label(k): v for k, v in COOP_STATUT.items()}
    unknown = {fold_label(v) for v in NON_COMMUNIQUE} | {""}

    def get(row, key) -> tuple[str, str]:
        j = columns.get(key)
        if j is None:
            return "", ""
        return (cell_text(row[j]) if j < len(row) else ""), column_letter(j)

    for k, row in enumerate(rows[header_index + 1 :]):
        line = header_index + 2 + k
        if progress and k % 1000 == 0:
            progress(k, total)
        if not any(cell_text(c) for c in row):
            continue
        before = len(issues.issues)
        raw, letter = get(row, "sexe")
        sexe = sexe_f.get(fold_label(raw))
        if sexe is None and fold_label(raw) not in unknown:
            issues.add(f"Genre « {raw} » non reconnu.", line=line, column=letter)
        raw, letter = get(row, "tranche_age")
        tranche = _COOP_AGE_FOLDED.get(fold_label(raw))
        if tranche is None and fold_label(raw) not in unknown:
            issues.add(f"Tranche d'âge « {raw} » non reconnue.", line=line, column=letter)
        raw, letter = get(row, "situation")
        situation = statut_f.get(fold_label(raw))
        if situation is None and fold_label(raw) not in unknown:
            issues.add(f"Statut « {raw} » non reconnu.", line=line, column=letter)
        raw, letter = get(row, "code_commune")
        commune = normalise_commune(raw) if raw else None
        if commune is not None:
            if not COMMUNE_RE.match(commune):
                issues.add(
                    f"Code Insee « {raw} » invalide (5 caractères attendus).", line=line, column=letter
                )
            elif secteurs_connus is not None and commune not in secteurs_connus:
                issues.add(
                    f"Code Insee « {commune} » inconnu : il n'est dans aucune base de population importée.",
                    line=line,
                    column=letter,
                )
        j = columns.get("date")
        value = row[j] if j is not None and j < len(row) else None
        date = (
            value.date() if isinstance(value, dt.datetime) else value if isinstance(value, dt.date) else None
        )
        raw, _ = get(row, "type")
        ident, _ = get(row, "id_cra")
        if len(issues.issues) == before:
            records.append(
                Accompagnement(
                    ligne=line,
                    date=date,
                    type=raw,
                    id_cra=ident or None,
                    tranche_age=tranche,
                    sexe=sexe,
                    situation=situation,
                    code_commune=commune,
                )
            )
    if not records and not issues:
        issues.add("L'export ne contient aucun accompagnement.", line=header_index + 1)
    issues.raise_if_any()
    if progress:
        progress(total, total)
    return Frequentation(
        unite="accompagnements", source="coop", fichier=file, individus=tuple(records), niveau="commune"
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
        raw_code = _get(row, columns, "code_secteur")
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
        if secteurs_connus is not None and code and code not in secteurs_connus:
            issues.add(
                f"Secteur « {raw_code} » inconnu : il n'est dans aucune base de population importée.",
                line=line,
                column="code_secteur",
            )
        dimension = fold_label(_get(row, columns, "dimension"))
        raw_cat = _get(row, columns, "categorie")
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
                f"Dimension « {_get(row, columns, 'dimension')} » inconnue (valeurs : "
                + ", ".join((*DIMENSIONS, "total"))
                + ").",
                line=line,
                column="dimension",
            )
        raw = _get(row, columns, "usagers")
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
    return Frequentation(
        unite=unite,
        source="agrege",
        fichier=file,
        agregats=tuple(records),
        niveau=levels.pop() if levels else None,
    )


def read_frequentation(
    source: Source, filename: str | None = None, *, format: str = "ancrage", **options
) -> Frequentation:
    """Dispatch on ``format``: ``ancrage`` (usagers CSV), ``coop`` (La Coop XLSX) or ``agrege``."""
    readers = {"ancrage": read_usagers, "coop": read_coop_export, "agrege": read_aggregated}
    if format not in readers:
        raise ValueError(f"Format de fréquentation inconnu : {format!r}.")
    return readers[format](source, filename, **options)


TEMPLATE_PATH = Path(__file__).parent / "data" / "modele-usagers.csv"


# --- The usagers file, streamed and vectorised (issue 8) ------------------------------------------
#
# A file of millions of rows is read by chunks of about CHUNK_BYTES. Each chunk is split with numpy
# (no Python object per cell) and validated column by column: every *distinct* value of a column
# goes through the same field function as the per-row reader (``_annee_naissance``, ``_sexe``,
# ``_check_sector``…), and the rows get the result through numpy's inverse index. A chunk the
# vectorised path cannot take (a short row, a blank line, a NUL) or in which any value is invalid
# is read again by the per-row reader (``_usager_row``), so the records and the French, located
# errors are exactly those of :func:`read_usagers_exact` (tested, with hypothesis).
#
# Identifiers are unique across the file: each row keeps a 64-bit hash of its identifier (8 bytes
# a row, not a Python string); only when two hashes are equal is the file read again to compare
# the identifiers of those rows and write the exact "en double (déjà ligne N)" errors.
#
# The vectorised path takes files without any double quote and with one line per row (the
# generator's, Excel's "CSV (séparateur : point-virgule)" without quoted cells). Other files are
# read whole by the per-row reader, then served by the same chunks.

CHUNK_BYTES = 4 << 20
HEAD_BYTES = 1 << 20  # what the header and the format are read from
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # what str.strip() removes, in ASCII
_ASCII_SPACE[128:] = True  # a non-ASCII byte at the edge: let Python decide (NBSP, U+3000…)


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether ``data`` decodes, checked by slices (no text of the whole file in memory)."""
    if data.isascii():
        return True
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for k in range(0, len(data), 1 << 24):
            decoder.decode(data[k : k + (1 << 24)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _s_array(values: Sequence[bytes]) -> np.ndarray:
    """A NUL-padded numpy bytes array (at least one byte wide)."""
    array = np.array(values, dtype=bytes)
    return array if array.dtype.itemsize else array.astype("S1")


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a bytes array without NUL, and the index of each value among them,
    as ``np.unique(values, return_inverse=True)`` but sorted as integers (in no useful order).

    Each value is read as 64-bit words, exact up to 8 bytes; wider values are folded into one
    word, and a collision of the folded keys (checked on the words) falls back to ``np.unique``.
    """
    n, width = len(values), values.dtype.itemsize
    words = -(-width // 8)
    matrix = np.zeros((n, words * 8), dtype=np.uint8)
    matrix[:, :width] = np.ascontiguousarray(values).view(np.uint8).reshape(n, width)
    word = matrix.view(np.uint64)
    key = word[:, 0].copy()
    if width <= 2:
        # At most two bytes: each key is below 2**16, so a table of the keys replaces the sort
        # (the sexe or the CSP: 2.9 ms per 150,000 rows instead of 7.9 ms).
        seen = np.zeros(1 << 16, dtype=bool)
        seen[key] = True
        distinct = np.flatnonzero(seen)
        row = np.empty(1 << 16, dtype=np.intp)
        row[key] = np.arange(n)  # a row of each key (rows of one key hold the same value)
        return values[row[distinct]], (np.cumsum(seen) - 1)[key]
    with np.errstate(over="ignore"):
        for k in range(1, words):
            key = (key * _FNV_PRIME) ^ word[:, k]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if words > 1 and not np.array_equal(word[first][inverse], word):
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse.ravel()
    return values[first], inverse


def hash_bytes(values: np.ndarray) -> np.ndarray:
    """FNV-1a (64 bits) of each value of a bytes array, whatever its width."""
    n, width = len(values), values.dtype.itemsize
    matrix = np.ascontiguousarray(values).view(np.uint8).reshape(n, width)
    lengths = np.char.str_len(values) if n else np.zeros(0, dtype=np.int64)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(width):
            live = lengths > c
            h = np.where(live, (h ^ matrix[:, c].astype(np.uint64)) * _FNV_PRIME, h)
    return h


@dataclass
class Coded:
    """A column of a chunk as codes into its distinct values (a dictionary-encoded column)."""

    codes: np.ndarray  # int32, one per row
    values: list  # the distinct values (canonical: int, str, date, band, tuple or None)


@dataclass
class UsagerChunk:
    """Valid records of consecutive rows of the usagers file, as columns."""

    ligne: np.ndarray  # int64
    identifiant: np.ndarray  # bytes (UTF-8), stripped
    oriente_par: np.ndarray  # bytes (UTF-8), stripped ("" for none)
    annee_naissance: Coded  # int | None
    tranche_age: Coded  # AgeBand | None
    sexe: Coded
    csp: Coded
    situation: Coded
    secteur: Coded  # (code_iris | None, code_commune | None)
    premiere_visite: Coded  # date | None

    def __len__(self) -> int:
        return len(self.ligne)

    def records(self) -> list[Usager]:
        def values(coded: Coded) -> list:
            return [coded.values[c] for c in coded.codes.tolist()]

        secteurs = values(self.secteur)
        return [
            Usager(
                ligne=ligne,
                identifiant=ident.decode(),
                annee_naissance=annee,
                tranche_age=tranche,
                sexe=sexe,
                csp=csp,
                situation=situation,
                code_iris=secteur[0],
                code_commune=secteur[1],
                premiere_visite=visite,
                oriente_par=oriente.decode() or None,
            )
            for ligne, ident, annee, tranche, sexe, csp, situation, secteur, visite, oriente in zip(
                self.ligne.tolist(),
                self.identifiant.tolist(),
                values(self.annee_naissance),
                values(self.tranche_age),
                values(self.sexe),
                values(self.csp),
                values(self.situation),
                secteurs,
                values(self.premiere_visite),
                self.oriente_par.tolist(),
                strict=True,
            )
        ]

    @classmethod
    def of_records(cls, records: Sequence[Usager]) -> UsagerChunk:
        def coded(items: list) -> Coded:
            index: dict = {}
            codes = np.fromiter((index.setdefault(v, len(index)) for v in items), np.int32, len(items))
            return Coded(codes, list(index))

        return cls(
            ligne=np.array([r.ligne for r in records], dtype=np.int64),
            identifiant=_s_array([r.identifiant.encode() for r in records]),
            oriente_par=_s_array([(r.oriente_par or "").encode() for r in records]),
            annee_naissance=coded([r.annee_naissance for r in records]),
            tranche_age=coded([r.tranche_age for r in records]),
            sexe=coded([r.sexe for r in records]),
            csp=coded([r.csp for r in records]),
            situation=coded([r.situation for r in records]),
            secteur=coded([(r.code_iris, r.code_commune) for r in records]),
            premiere_visite=coded([r.premiere_visite for r in records]),
        )


class UsagerColumns(Sequence):
    """The records of an usagers file, kept as columnar chunks; a sequence of :class:`Usager`.

    Indexing and iteration build the records on demand (a full iteration builds them once and
    keeps them: the engine makes several passes).
    """

    def __init__(self, chunks: Sequence[UsagerChunk]):
        self.chunks = [c for c in chunks if len(c)]
        self._starts = np.cumsum([0] + [len(c) for c in self.chunks])
        self._records: tuple[Usager, ...] | None = None

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __iter__(self):
        if self._records is None:
            self._records = tuple(r for chunk in self.chunks for r in chunk.records())
        return iter(self._records)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if self._records is not None:
            return self._records[index]
        k = int(np.searchsorted(self._starts, index, side="right")) - 1
        chunk = self.chunks[k]
        i = index - int(self._starts[k])
        one = UsagerChunk(
            ligne=chunk.ligne[i : i + 1],
            identifiant=chunk.identifiant[i : i + 1],
            oriente_par=chunk.oriente_par[i : i + 1],
            **{
                name: Coded(getattr(chunk, name).codes[i : i + 1], getattr(chunk, name).values)
                for name in (
                    "annee_naissance",
                    "tranche_age",
                    "sexe",
                    "csp",
                    "situation",
                    "secteur",
                    "premiere_visite",
                )
            },
        )
        return one.records()[0]

    def __eq__(self, other):
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    __hash__ = None


@dataclass
class _Plan:
    """How the file is read: ``fast`` (streamed from its bytes) or ``rows`` (read whole)."""

    file: str
    mode: str
    encoding: str = "utf-8"
    delimiter: str = ";"
    header_len: int = 0
    columns: dict[str, int] = field(default_factory=dict)
    start: int = 0  # byte offset of the first row after the header
    total: int = 0  # rows after the header
    rows: list[list[str]] | None = None
    header_index: int = 0


class UsagersStream:
    """The usagers file, validated and served by chunks (:meth:`chunks`), without holding it whole.

    ``chunks()`` yields :class:`UsagerChunk` (valid records only) and, once the whole file is read,
    raises :class:`ImportRejected` with every problem, exactly as :func:`read_usagers_exact`
    would. A consumer that writes the chunks must therefore do it in one transaction. ``niveau``
    and ``total`` are known after a full pass.
    """

    unite = "personnes"
    source = "ancrage"
    agregats = ()

    def __init__(
        self,
        source: Source,
        filename: str | None = None,
        *,
        secteurs_connus: Collection[str] | None = None,
        current_year: int | None = None,
        progress: Progress | None = None,
        chunk_bytes: int = CHUNK_BYTES,
    ):
        # A path is read block by block, at each pass (a national file is 561 MiB: the import
        # should not hold it); bytes and file objects are held.
        self.path = Path(source) if isinstance(source, str | Path) else None
        if self.path is None:
            self.data, self.fichier = load_bytes(source, filename)
        else:
            self.data, self.fichier = None, filename or self.path.name
        self.secteurs_connus = secteurs_connus
        self.this_year = current_year or dt.date.today().year
        self.progress = progress
        self.chunk_bytes = chunk_bytes
        self.niveau: str | None = None
        self.records = 0
        self.total = 0  # rows after the header, once ``chunks()`` has started

    # -- planning --------------------------------------------------------------------------------

    def _open(self):
        if self.path is None:
            return io.BytesIO(self.data)
        try:
            return open(self.path, "rb")  # noqa: SIM115 (closed by the caller's with)
        except OSError as exc:
            raise reject(self.fichier, f"Le fichier ne peut pas être lu ({exc.strerror}).") from None

    def _windows(self, start: int = 0):
        """(byte offset, bytes) from ``start`` to the end of the file, by blocks of at most
        ``chunk_bytes`` (unless a line is longer) that end after a newline or at the end of the
        file: a block never splits a line, a ``\\r\\n`` or a character."""
        size = self.chunk_bytes
        with self._open() as f:
            f.seek(start)
            pos, buffer, eof = start, b"", False

            def more() -> None:
                nonlocal buffer, eof
                piece = f.read(size)
                eof, buffer = not piece, buffer + piece

            while True:
                while len(buffer) <= size and not eof:
                    more()
                if not buffer:
                    return
                cut = buffer.rfind(b"\n", 0, size) + 1
                while not cut:  # a line longer than a block
                    nl = buffer.find(b"\n", size)
                    if nl >= 0 or eof:
                        cut = nl + 1 if nl >= 0 else len(buffer)
                    else:
                        more()
                yield pos, buffer[:cut]
                pos, buffer = pos + cut, buffer[cut:]

    def _whole(self) -> bytes:
        if self.data is None:
            with self._open() as f:
                return f.read()
        return self.data

    def _plan(self) -> _Plan:
        file = self.fichier
        fast = _Plan(file=file, mode="fast")
        with self._open() as f:
            head = f.read(HEAD_BYTES)
        # One pass over the file for what the fast reader needs of all of it.
        blank, utf8, newlines, last = True, True, 0, b""
        for _, block in self._windows():
            blank = blank and not block.strip(b" \t\r\n\xef\xbb\xbf")
            if b"\x00" in block or b'"' in block or block.count(b"\r") != block.count(b"\r\n"):
                return self._rows_plan()
            utf8 = utf8 and _decodes(block, "utf-8")
            newlines += block.count(b"\n")
            last = block
        if blank or sniff_format(head) != "csv":
            return self._rows_plan()
        if not utf8:  # Windows-1252, checked in a second pass (rare)
            if not all(_decodes(block, "cp1252") for _, block in self._windows()):
                return self._rows_plan()
            fast.encoding = "cp1252"
        start = 3 if fast.encoding == "utf-8" and head.startswith(b"\xef\xbb\xbf") else 0
        head_end = start
        lines = []
        for _ in range(51):
            nl = head.find(b"\n", head_end)
            end = len(head) if nl < 0 else nl
            lines.append(head[head_end:end].removesuffix(b"\r").decode(fast.encoding, errors="replace"))
            head_end = end + 1
            if nl < 0:
                break
        wanted = set(USAGERS_REQUIRED)

        def is_header(cells: list[str]) -> bool:
            return wanted <= {fold_label(c.strip()) for c in cells}

        if is_header(lines[0].split(";")):
            fast.delimiter = ";"
        elif not any(is_header(line.split(";")) for line in lines[:50]) and is_header(lines[0].split(",")):
            fast.delimiter = ","
        else:
            return self._rows_plan()
        cells = lines[0].split(fast.delimiter)
        header = [fold_label(c) for c in cells]
        fast.header_len = len(cells)
        fast.columns = {name: header.index(name) for name in USAGERS_COLUMNS if name in header}
        nl = head.find(b"\n", start)
        if nl < 0 and len(head) == HEAD_BYTES:
            return self._rows_plan()  # a header line of more than HEAD_BYTES: let the row reader say
        fast.start = len(head) if nl < 0 else nl + 1
        # Rows after the header: its newline is the first of the file's; a last row may lack one.
        fast.total = max(newlines - 1, 0) + (1 if last and not last.endswith(b"\n") and nl >= 0 else 0)
        return fast

    def _rows_plan(self) -> _Plan:
        file, rows, header_index, columns = csv_table(
            self._whole(), self.fichier, USAGERS_REQUIRED, USAGERS_COLUMNS[8:]
        )
        return _Plan(
            file=file,
            mode="rows",
            rows=rows,
            header_index=header_index,
            header_len=len(rows[header_index]),
            columns=columns,
            total=len(rows) - header_index - 1,
        )

    # -- blocks of rows ----------------------------------------------------------------------------

    def _blocks(self, plan: _Plan):
        """(first line number, bytes of whole lines, or None and a list of rows) per chunk."""
        if plan.mode == "rows":
            rows = plan.rows[plan.header_index + 1 :]
            step = max(1000, self.chunk_bytes // 64)
            for k in range(0, len(rows), step):
                yield plan.header_index + 2 + k, None, rows[k : k + step]
            return
        line = 2
        for _, block in self._windows(plan.start):
            yield line, block, None
            line += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)

    def _split(self, plan: _Plan, block: bytes) -> list[list[str]]:
        """The rows of a block as ``csv.reader`` gives them (a block has no quote)."""
        text = block.decode(plan.encoding)
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=plan.delimiter, strict=True))

    # -- the chunks --------------------------------------------------------------------------------

    def chunks(self):
        plan = self._plan()
        issues = IssueCollector(plan.file)
        hashes: list[np.ndarray] = []
        lines: list[np.ndarray] = []
        done = 0
        iris_seen = False
        self.records, self.total = 0, plan.total
        if self.progress:
            self.progress(0, plan.total)
        for first_line, block, rows in self._blocks(plan):
            chunk = None
            if block is not None:
                chunk = self._fast_chunk(plan, first_line, block)
                if chunk is None:
                    rows = self._split(plan, block)
            if chunk is None:
                chunk, ident_hashes, ident_lines = self._exact_chunk(plan, first_line, rows, issues)
                hashes.append(ident_hashes)
                lines.append(ident_lines.astype(np.int32))  # a line number fits 31 bits
                n_rows = len(rows)
            else:
                hashes.append(hash_bytes(chunk.identifiant))
                lines.append(chunk.ligne.astype(np.int32))
                n_rows = len(chunk)
            done += n_rows
            if len(chunk):
                self.records += len(chunk)
                iris_seen = iris_seen or any(s[0] for s in chunk.secteur.values)
                if not issues:
                    yield chunk
            if self.progress:
                self.progress(min(done, plan.total), plan.total)
        # Joined, then the parts let go: 12 bytes a row (120 MB at the national tier) held once.
        all_hashes = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
        hashes.clear()
        all_lines = np.concatenate(lines) if lines else np.zeros(0, np.int32)
        lines.clear()
        duplicates = self._duplicates(plan, all_hashes, all_lines)
        del all_hashes, all_lines
        if duplicates:
            merged = sorted(
                [(i.line, 0, k, i) for k, i in enumerate(duplicates)]
                + [(i.line or 0, 1, k, i) for k, i in enumerate(issues.issues)],
                key=lambda t: t[:3],
            )
            issues.issues = [t[3] for t in merged][: issues.max_issues]
        if not self.records and not issues:
            issues.add(
                "Le fichier ne contient aucun usager après la ligne d'en-tête.", line=plan.header_index + 1
            )
        issues.raise_if_any()
        self.niveau = "iris" if iris_seen else "commune"

    def _exact_chunk(self, plan: _Plan, first_line: int, rows: list[list[str]], issues: IssueCollector):
        """The per-row reader on a block: its chunk, and the hashes and lines of its identifiers."""
        idents: list[bytes] = []
        ident_lines: list[int] = []

        def check_identifiant(ident: str, line: int) -> None:
            idents.append(ident.encode())
            ident_lines.append(line)

        records = []
        for k, row in enumerate(rows):
            record = _usager_row(
                row,
                first_line + k,
                plan.header_len,
                plan.columns,
                issues,
                self.this_year,
                self.secteurs_connus,
                check_identifiant,
            )
            if record is not None:
                records.append(record)
        chunk = UsagerChunk.of_records(records)
        return chunk, hash_bytes(_s_array(idents)), np.array(ident_lines, dtype=np.int64)

    def _duplicates(self, plan: _Plan, hashes: np.ndarray, lines: np.ndarray) -> list[ImportIssue]:
        """The "en double" errors, exact: the rows whose hash is not unique are compared by text."""
        if len(hashes) < 2:
            return []
        order = np.argsort(hashes, kind="stable")
        sorted_hashes = hashes[order]
        same = sorted_hashes[1:] == sorted_hashes[:-1]
        if not same.any():
            return []
        flagged = np.zeros(len(hashes), dtype=bool)
        flagged[1:] |= same
        flagged[:-1] |= same
        candidates = set(lines[order[flagged]].tolist())
        found: dict[int, str] = {}
        for first_line, block, rows in self._blocks(plan):
            if rows is None:
                rows = self._split(plan, block)
            for k, row in enumerate(rows):
                if first_line + k in candidates:
                    found[first_line + k] = _get(row, plan.columns, "identifiant")
        collector = IssueCollector(plan.file)
        seen: dict[str, int] = {}
        for line in sorted(found):
            ident = found[line]
            if ident in seen:
                collector.add(
                    f"Identifiant « {ident} » en double (déjà ligne {seen[ident]}).",
                    line=line,
                    column="identifiant",
                )
            else:
                seen[ident] = line
        return collector.issues

    def _fast_chunk(self, plan: _Plan, first_line: int, block: bytes) -> UsagerChunk | None:
        """The block's records, vectorised; ``None`` when the per-row reader must read it."""
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
        if plan.encoding != "utf-8" and not block.isascii():
            block = block.decode(plan.encoding).encode("utf-8")
        if not block.endswith(b"\n"):
            block += b"\n"
        if block.startswith(b"\n") or b"\n\n" in block:
            return None  # blank lines: the per-row reader skips them
        buf = np.frombuffer(block, dtype=np.uint8)
        ends_of_lines = np.flatnonzero(buf == 10)
        n, ncols = len(ends_of_lines), plan.header_len
        delims = np.flatnonzero(buf == ord(plan.delimiter))
        if len(delims) != n * (ncols - 1):
            return None
        delims = delims.reshape(n, ncols - 1)
        # Row i of ``delims`` holds the i-th group of ncols - 1 separators. When every group lies
        # inside its own line, every line holds at least ncols - 1 of them, so exactly that many
        # (their total is n × (ncols - 1)); a short or long row puts some group across two lines.
        if ncols > 1 and (
            (delims[:, -1] > ends_of_lines).any() or (delims[1:, 0] < ends_of_lines[:-1]).any()
        ):
            return None  # a short or long row
        starts = np.empty((n, ncols), dtype=np.int64)
        starts[:, 0] = np.concatenate(([0], ends_of_lines[:-1] + 1))
        starts[:, 1:] = delims + 1
        stops = np.empty((n, ncols), dtype=np.int64)
        stops[:, :-1] = delims
        stops[:, -1] = ends_of_lines
        lengths = stops - starts
        # Every window of ``widest`` bytes of the block (NULs after it), one row per byte: a cell
        # is then copied as one row of this view, with no index computed for each of its bytes.
        widest = max(int(lengths.max()), 1)
        windows = np.lib.stride_tricks.as_strided(
            np.frombuffer(block + bytes(widest), dtype=np.uint8),
            shape=(len(block) + 1, widest),
            strides=(1, 1),
            writeable=False,
        )

        def column(name: str) -> np.ndarray:
            j = plan.columns.get(name)
            if j is None:
                return np.zeros(n, dtype="S1")
            length = lengths[:, j]
            width = max(int(length.max()), 1)
            cells = windows[starts[:, j], :width]
            if not (length == width).all():  # the bytes past a cell's end become NULs
                cells[np.arange(width) >= length[:, None]] = 0
            return cells.view(f"S{width}").ravel()

        def stripped(values: np.ndarray) -> np.ndarray:
            """``str.strip()`` of each value; Python's own where an edge byte may be a space."""
            matrix = values.view(np.uint8).reshape(n, values.dtype.itemsize)
            lengths = np.char.str_len(values)
            last = matrix[np.arange(n), np.maximum(lengths - 1, 0)]
            if (_ASCII_SPACE[matrix[:, 0]] | _ASCII_SPACE[last]).any():
                return _s_array([v.decode().strip().encode() for v in values.tolist()])
            return values

        def coded(values: np.ndarray, check) -> Coded | None:
            distinct, inverse = _distinct(values)
            out = []
            for raw in distinct.tolist():
                value, message = check(raw.decode().strip())
                if message:
                    return None
                out.append(value)
            return Coded(inverse.astype(np.int32).ravel(), out)

        identifiant = stripped(column("identifiant"))
        if not np.char.str_len(identifiant).all():
            return None  # an empty identifier (or a blank row)
        this_year = self.this_year
        parts = {
            "annee_naissance": coded(column("annee_naissance"), lambda raw: _annee_naissance(raw, this_year)),
            "tranche_age": coded(column("tranche_age"), _tranche_age),
            "sexe": coded(column("sexe"), _sexe),
            "csp": coded(column("csp"), _csp),
            "situation": coded(column("situation"), _situation),
            "premiere_visite": coded(column("premiere_visite"), _premiere_visite),
        }
        if any(part is None for part in parts.values()):
            return None
        iris, commune = column("code_iris"), column("code_commune")
        if (np.char.find(iris, b"\x01") >= 0).any() or (np.char.find(commune, b"\x01") >= 0).any():
            return None
        pairs = np.char.add(np.char.add(iris, b"\x01"), commune)
        secteurs_connus = self.secteurs_connus

        def sector(raw: str):
            iris_raw, commune_raw = raw.split("\x01")
            scratch = IssueCollector()
            value = _check_sector(scratch, 0, iris_raw.strip(), commune_raw.strip(), secteurs_connus)
            return value, bool(scratch)

        secteur = coded(pairs, sector)
        if secteur is None:
            return None
        # A birth year after the first visit.
        annees = np.array([v or 0 for v in parts["annee_naissance"].values], dtype=np.int64)
        visites = np.array([v.year if v else 0 for v in parts["premiere_visite"].values], dtype=np.int64)
        a, v = annees[parts["annee_naissance"].codes], visites[parts["premiere_visite"].codes]
        if ((a > 0) & (v > 0) & (v < a)).any():
            return None
        return UsagerChunk(
            ligne=np.arange(first_line, first_line + n, dtype=np.int64),
            identifiant=identifiant,
            oriente_par=stripped(column("oriente_par")),
            secteur=secteur,
            **parts,
        )

    # -- whole file --------------------------------------------------------------------------------

    def read(self) -> Frequentation:
        chunks = list(self.chunks())
        return Frequentation(
            unite="personnes",
            source="ancrage",
            fichier=self.fichier,
            individus=UsagerColumns(chunks),
            niveau=self.niveau,
        )


def scan_usagers(
    source: Source,
    filename: str | None = None,
    *,
    secteurs_connus: Collection[str] | None = None,
    current_year: int | None = None,
    progress: Progress | None = None,
) -> UsagersStream:
    """The usagers file as a stream of validated chunks (nothing is read before ``chunks()``)."""
    return UsagersStream(
        source, filename, secteurs_connus=secteurs_connus, current_year=current_year, progress=progress
    )
