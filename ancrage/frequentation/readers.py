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

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ancrage.core.importing import ImportRejected, IssueCollector
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
    """
    file, rows, header_index, columns = csv_table(source, filename, USAGERS_REQUIRED, USAGERS_COLUMNS[8:])
    issues = IssueCollector(file)
    this_year = current_year or dt.date.today().year
    usagers: list[Usager] = []
    seen: dict[str, int] = {}
    total = len(rows) - header_index - 1
    for k, row in enumerate(rows[header_index + 1 :]):
        line = header_index + 2 + k
        if progress and k % 1000 == 0:
            progress(k, total)
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(rows[header_index]):
            issues.add(
                f"Ligne de {len(row)} colonnes au lieu de {len(rows[header_index])} : "
                "vérifiez le séparateur et les guillemets.",
                line=line,
            )
            continue
        before = len(issues.issues)
        ident = _get(row, columns, "identifiant")
        if not ident:
            issues.add("Identifiant vide.", line=line, column="identifiant")
        elif ident in seen:
            issues.add(
                f"Identifiant « {ident} » en double (déjà ligne {seen[ident]}).",
                line=line,
                column="identifiant",
            )
        else:
            seen[ident] = line
        annee = None
        raw = _get(row, columns, "annee_naissance")
        if raw:
            if re.fullmatch(r"\d{4}", raw) and 1900 <= int(raw) <= this_year:
                annee = int(raw)
            else:
                issues.add(
                    f"Année de naissance « {raw} » invalide (AAAA, entre 1900 et {this_year}).",
                    line=line,
                    column="annee_naissance",
                )
        tranche = None
        raw = _get(row, columns, "tranche_age")
        if raw:
            tranche = parse_age_band(raw)
            if tranche is None:
                issues.add(
                    f"Tranche d'âge « {raw} » non reconnue "
                    "(ex. « 15-29 », « 75+ » ou un libellé de La Coop).",
                    line=line,
                    column="tranche_age",
                )
        sexe = None
        raw = _get(row, columns, "sexe")
        if raw:
            sexe = {"f": "F", "h": "H"}.get(raw.lower())
            if sexe is None:
                issues.add(f"Sexe « {raw} » non reconnu : F, H ou vide.", line=line, column="sexe")
        csp = None
        raw = _get(row, columns, "csp")
        if raw:
            m = re.fullmatch(r"(?:cs)?([1-8])", raw.lower())
            if m:
                csp = f"CS{m.group(1)}"
            else:
                issues.add(
                    f"CSP « {raw} » non reconnue : un chiffre de 1 à 8 ou vide.", line=line, column="csp"
                )
        situation = None
        raw = _get(row, columns, "situation")
        if raw:
            situation = SITUATIONS.get(fold_label(raw))
            if situation is None:
                issues.add(
                    f"Situation « {raw} » non reconnue : en emploi, sans emploi, scolarisé, retraité, "
                    "autre inactif ou vide.",
                    line=line,
                    column="situation",
                )
        iris, commune = _check_sector(
            issues, line, _get(row, columns, "code_iris"), _get(row, columns, "code_commune"), secteurs_connus
        )
        visite = None
        raw = _get(row, columns, "premiere_visite")
        if raw:
            try:
                visite = dt.date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
            except ValueError:
                visite = None
            if visite is None:
                issues.add(
                    f"Date de première visite « {raw} » invalide (AAAA-MM-JJ).",
                    line=line,
                    column="premiere_visite",
                )
            elif annee is not None and visite.year < annee:
                issues.add(
                    "Première visite antérieure à l'année de naissance.", line=line, column="premiere_visite"
                )
        if len(issues.issues) == before:
            usagers.append(
                Usager(
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
            )
    if not usagers and not issues:
        issues.add("Le fichier ne contient aucun usager après la ligne d'en-tête.", line=header_index + 1)
    issues.raise_if_any()
    if progress:
        progress(total, total)
    niveau = "iris" if any(u.code_iris for u in usagers) else "commune"
    return Frequentation(
        unite="personnes", source="ancrage", fichier=file, individus=tuple(usagers), niveau=niveau
    )


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
