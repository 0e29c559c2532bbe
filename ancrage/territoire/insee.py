"""Read the INSEE census bases at IRIS level into population tables.

Pure module: no Django. Reads the three "bases infracommunales" Ancrage needs
(evol-struct-pop, activite-residents, diplomes-formation), whatever their vintage
(``P16_`` … ``P23_``) and format (CSV with ``;`` or ``,``, .xls, .xlsx), as INSEE
publishes them (title lines, a French label row, then the code row) or as third
parties re-export them (extra pandas index column, no COM, no P_POP).

The result is a :class:`Population`: one row per sector (IRIS, commune or quartier)
and, per dimension, a matrix sectors × categories. Every problem is reported at once
with its place, through :class:`ancrage.core.importing.ImportRejected`.

The small tabular helpers (decoding, delimiter sniffing, spreadsheet rows) are shared
with ``ancrage.frequentation.readers``.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ancrage.core.importing import ImportRejected, IssueCollector
from ancrage.territoire.libelles import commune_of_nom

# --- Categories -----------------------------------------------------------------------------------

#: INSEE's two age partitions, as (lower bound, upper bound exclusive or None for open band).
AGE_PARTITION_FINE = (
    (0, 3),
    (3, 6),
    (6, 11),
    (11, 18),
    (18, 25),
    (25, 40),
    (40, 55),
    (55, 65),
    (65, 80),
    (80, None),
)
AGE_PARTITION_LARGE = ((0, 15), (15, 30), (30, 45), (45, 60), (60, 75), (75, None))

SEXE_CATEGORIES = ("F", "H")
CSP_CATEGORIES = tuple(f"CS{i}" for i in range(1, 9))
ACTIVITE_CATEGORIES = ("actif_occupe", "chomeur", "etudiant", "retraite", "autre_inactif")
# Before 2017 INSEE merged "no diploma" and "BEPC" and had one "supérieur" column; later vintages split
# them. Ancrage keeps the coarser common categories so that every vintage gives the same ones.
DIPLOME_CATEGORIES = ("sans_diplome_ou_bepc", "cap_bep", "bac", "superieur")

DIMENSIONS = ("age", "sexe", "csp", "activite", "diplome")

#: Universe of each table: who is counted in its denominator.
UNIVERS = {
    "age_fin": "population totale",
    "age_large": "population totale",
    "sexe": "population totale",
    "csp": "population de 15 ans ou plus",
    "activite": "population de 15 à 64 ans",
    "diplome": "population non scolarisée de 15 ans ou plus",
}


def age_label(low: int, high: int | None) -> str:
    """INSEE-style label of an age band: ``"15-29"``, ``"75+"`` (``high`` is exclusive)."""
    return f"{low}+" if high is None else f"{low}-{high - 1}"


def _age_suffix(low: int, high: int | None) -> str:
    return f"{low:02d}P" if high is None else f"{low:02d}{high - 1:02d}"


# Column suffixes (after the "Pyy_"/"Cyy_" prefix) for each table, in category order.
_TABLE_COLUMNS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "age_fin": (
        "P",
        tuple(age_label(lo, hi) for lo, hi in AGE_PARTITION_FINE),
        tuple("POP" + _age_suffix(lo, hi) for lo, hi in AGE_PARTITION_FINE),
    ),
    "age_large": (
        "P",
        tuple(age_label(lo, hi) for lo, hi in AGE_PARTITION_LARGE),
        tuple("POP" + _age_suffix(lo, hi) for lo, hi in AGE_PARTITION_LARGE),
    ),
    "sexe": ("P", SEXE_CATEGORIES, ("POPF", "POPH")),
    "csp": ("C", CSP_CATEGORIES, tuple(f"POP15P_CS{i}" for i in range(1, 9))),
    "activite": (
        "P",
        ACTIVITE_CATEGORIES,
        ("ACTOCC1564", "CHOM1564", "ETUD1564", "RETR1564", "AINACT1564"),
    ),
}
# Diploma columns: category -> alternative column sets (first complete set wins).
_DIPLOME_COLUMNS = {
    "sans_diplome_ou_bepc": (("NSCOL15P_DIPLMIN", "NSCOL15P_BEPC"), ("NSCOL15P_DIPLMIN",)),
    "cap_bep": (("NSCOL15P_CAPBEP",),),
    "bac": (("NSCOL15P_BAC",),),
    "superieur": (("NSCOL15P_SUP2", "NSCOL15P_SUP34", "NSCOL15P_SUP5"), ("NSCOL15P_SUP",)),
}

_VINTAGE_RE = re.compile(r"^([PC])(\d{2})_([A-Z0-9_]+)$")
# Commune code: 2 digits (or 2A/2B for Corsica) + 3 digits; overseas 97x/98x fit the same shape.
COMMUNE_RE = re.compile(r"^(?:\d{2}|2[AB])\d{3}$")
IRIS_RE = re.compile(r"^(?:\d{2}|2[AB])\d{7}$")


# --- Public types ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repartition:
    """Population of each sector by category of one dimension (one INSEE table)."""

    key: str  # "age_fin", "age_large", "sexe", "csp", "activite", "diplome"
    dimension: str  # one of DIMENSIONS
    categories: tuple[str, ...]
    values: np.ndarray  # float64, shape (n_secteurs, n_categories)
    present: np.ndarray  # bool, shape (n_secteurs,): False where the sector is missing from the base
    complementaire: bool  # from the complementary exploitation (C columns: weighted, not integers)
    univers: str


@dataclass(frozen=True)
class Population:
    """Resident population by sector, with one :class:`Repartition` per available table."""

    niveau: str  # "iris", "commune" or "quartier"
    codes: tuple[str, ...]
    noms: tuple[str, ...]
    communes: tuple[str, ...]  # commune (or arrondissement) of each sector; "" for multi-commune quartiers
    total: np.ndarray  # float64 (n_secteurs,)
    total_derive: bool  # True when no P_POP column was read and the total is a sum of age bands
    repartitions: dict[str, Repartition] = field(default_factory=dict)
    millesime: int | None = None
    fichiers: tuple[str, ...] = ()
    #: Blank cells read (INSEE's secret statistique): table key (or "total" for P_POP) -> the IRIS
    #: whose value is missing. Such an IRIS has ``present=False`` in that table (NaN total).
    manquantes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.codes)

    def index(self) -> dict[str, int]:
        return dict(zip(self.codes, range(len(self.codes)), strict=True))


# --- Tabular helpers (shared with the attendance readers) -----------------------------------------

Source = str | Path | bytes | BinaryIO


def load_bytes(source: Source, filename: str | None = None) -> tuple[bytes, str]:
    """Return the bytes of a path, bytes or binary file object, with a display name."""
    if isinstance(source, bytes | bytearray):
        return bytes(source), filename or "fichier"
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            return path.read_bytes(), filename or path.name
        except OSError as exc:
            raise reject(filename or path.name, f"Le fichier ne peut pas être lu ({exc.strerror}).") from None
    data = source.read()
    name = filename or Path(getattr(source, "name", "") or "fichier").name
    return data, name


def reject(file: str, message: str, *, sheet: str | None = None, line: int | None = None) -> ImportRejected:
    collector = IssueCollector(file, sheet)
    collector.add(message, line=line)
    return ImportRejected(collector.issues)


def sniff_format(data: bytes) -> str:
    """``"xlsx"``, ``"xls"`` or ``"csv"``, from the magic bytes (never trust the extension alone)."""
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    return "csv"


def decode_text(data: bytes, file: str) -> str:
    """Decode UTF-8 (with or without BOM) or Windows-1252; refuse binary data (a NUL anywhere: it
    could be neither stored nor quoted in a message kept by PostgreSQL)."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise reject(
            file,
            "Ce fichier n'est pas un fichier texte (CSV) : il contient des données binaires.",
            line=data.count(b"\n", 0, nul) + 1,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise reject(
            file,
            f"Encodage non reconnu (octet {exc.start + 1}) : "
            "enregistrez le fichier en UTF-8 ou en Windows-1252.",
        ) from None


def split_csv(text: str, file: str, expected: Callable[[list[str]], bool]) -> tuple[list[list[str]], str]:
    """Split CSV text, choosing among ``;``, ``,`` and tab the delimiter that makes ``expected`` true
    for some row. Returns the rows and the delimiter, or raises a located error."""
    candidates = []
    for delimiter in (";", ","):
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
        except csv.Error as exc:
            candidates.append((delimiter, None, str(exc)))
            continue
        if any(expected([cell.strip() for cell in row]) for row in rows[:50]):
            return rows, delimiter
        candidates.append((delimiter, rows, None))
    raise reject(
        file,
        "En-tête introuvable : vérifiez que le séparateur de colonnes est « ; » ou « , » "
        "et que la ligne d'en-tête contient les noms de colonnes attendus.",
    )


def spreadsheet_sheets(
    data: bytes, kind: str, file: str, *, tick: Callable[[], None] | None = None
) -> list[tuple[str, list[list[object]]]]:
    """All sheets of a workbook as lists of rows of cell values. ``tick`` is called every
    ``TICK_ROWS`` rows (an import job checks its CPU time there); what it raises goes through."""
    sheets: list[tuple[str, list[list[object]]]] = []
    ticking = _Ticker(tick)
    try:
        with warnings.catch_warnings():
            # openpyxl/xlrd warn about styles and extensions they skip; irrelevant to the values.
            warnings.simplefilter("ignore")
            if kind == "xlsx":
                import openpyxl

                workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
                try:
                    for ws in workbook.worksheets:
                        rows = [ticking(list(row)) for row in ws.iter_rows(values_only=True)]
                        sheets.append((ws.title, rows))
                finally:
                    workbook.close()
            else:
                import xlrd

                book = xlrd.open_workbook(file_contents=data, on_demand=True)
                for sheet in book.sheets():
                    sheets.append(
                        (
                            sheet.name,
                            [ticking([_xls_value(c) for c in sheet.row(r)]) for r in range(sheet.nrows)],
                        )
                    )
    except _Ticker.Raised as raised:  # the caller's own exception, not a broken workbook
        raise raised.__cause__ from None
    except Exception:  # zip, xlrd (XLRDError, CompDocError), openpyxl and parse errors alike
        # The library's class name would mean nothing to the user (hypothesis found "CompDocError").
        raise reject(
            file, "Ce fichier n'est pas un classeur Excel lisible : il est abîmé, tronqué ou protégé."
        ) from None
    return sheets


TICK_ROWS = 1000


class _Ticker:
    """Calls ``tick`` every ``TICK_ROWS`` rows; what it raises is wrapped so that the reader's
    catch-all does not mistake it for a broken workbook."""

    class Raised(Exception):
        pass

    def __init__(self, tick: Callable[[], None] | None):
        self.tick = tick
        self.rows = 0

    def __call__(self, row):
        self.rows += 1
        if self.tick is not None and self.rows % TICK_ROWS == 0:
            try:
                self.tick()
            except Exception as exc:
                raise _Ticker.Raised() from exc
        return row


def _xls_value(cell) -> object:
    # xlrd: 0 empty, 1 text, 2 number, 3 date, 4 bool, 5 error, 6 blank
    if cell.ctype in (0, 6):
        return None
    if cell.ctype == 5:
        return "#ERREUR"
    return cell.value


def cell_text(value: object) -> str:
    """Text of a cell; integral floats (Excel stores codes as numbers) lose their ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value).strip()


def column_letter(index: int) -> str:
    """Spreadsheet column name of a 0-based index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def parse_number(text: str, decimal_comma: bool) -> float | None:
    text = text.strip().replace("\u00a0", "").replace(" ", "")
    if decimal_comma:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def normalise_iris(raw: str) -> str:
    """IRIS code as INSEE writes it; re-exports sometimes drop the leading zero of départements 01-09."""
    code = raw.strip().upper()
    if len(code) == 8 and code.isdigit():
        code = "0" + code
    return code


def normalise_commune(raw: str) -> str:
    code = raw.strip().upper()
    if len(code) == 4 and code.isdigit():
        code = "0" + code
    return code


# --- INSEE reader ---------------------------------------------------------------------------------


def _is_insee_header(cells: list[str]) -> bool:
    upper = [c.strip().upper() for c in cells]
    return "IRIS" in upper and any(_VINTAGE_RE.match(c) for c in upper)


def _find_header(rows: Sequence[Sequence[object]]) -> int | None:
    for i, row in enumerate(rows[:100]):
        if _is_insee_header([cell_text(c) for c in row]):
            return i
    return None


def read_insee(
    source: Source, filename: str | None = None, *, tick: Callable[[], None] | None = None
) -> Population:
    """Read one INSEE IRIS base (any of the three, any vintage, CSV/XLS/XLSX) into a :class:`Population`.
    ``tick``: see ``spreadsheet_sheets``.

    Raises :class:`ImportRejected` listing every problem (French, located) if anything is wrong.
    """
    data, file = load_bytes(source, filename)
    if not data.strip():
        raise reject(file, "Le fichier est vide.")
    kind = sniff_format(data)
    if kind == "csv" and file.lower().endswith((".xls", ".xlsx")):
        raise reject(file, "Ce fichier porte une extension Excel mais n'est pas un classeur Excel.")
    sheet_name: str | None = None
    if kind == "csv":
        text = decode_text(data, file)
        rows, delimiter = split_csv(text, file, _is_insee_header)
        decimal_comma = delimiter == ";"
        table: list[list[object]] = [list(r) for r in rows]
        header_index = _find_header(table)
        line_offset = 1
    else:
        decimal_comma = False
        sheets = spreadsheet_sheets(data, kind, file, tick=tick)
        header_index = None
        table = []
        for name, sheet_rows in sheets:
            header_index = _find_header(sheet_rows)
            if header_index is not None:
                sheet_name, table = name, sheet_rows
                break
        if header_index is None:
            raise reject(
                file,
                "Aucune feuille ne contient la ligne des codes de variables INSEE "
                "(une ligne avec « IRIS » et des colonnes comme « P21_POP »).",
            )
        line_offset = 1
    assert header_index is not None
    return _parse_table(table, header_index, file, sheet_name, decimal_comma, line_offset)


def _parse_table(
    table: list[list[object]],
    header_index: int,
    file: str,
    sheet: str | None,
    decimal_comma: bool,
    line_offset: int,
) -> Population:
    issues = IssueCollector(file, sheet)
    header = [cell_text(c).upper() for c in table[header_index]]
    header_line = header_index + line_offset
    columns, yy = _header_columns(header, header_line, issues)
    wanted, complementaire = _tables_of(columns, yy)
    if not wanted:
        raise reject(
            file,
            "Aucune variable de population reconnue : le fichier doit être une base INSEE "
            "« évolution et structure de la population », « activité des résidents » "
            "ou « diplômes-formation » à l'IRIS.",
            sheet=sheet,
            line=header_line,
        )
    if "IRIS" not in columns:
        raise reject(file, "Colonne « IRIS » absente.", sheet=sheet, line=header_line)
    flat_columns = [(key, cat, idx) for key, cats in wanted.items() for cat, idx in cats]
    codes, communes, noms, value_rows, pop_values = _read_rows(
        table,
        header_index,
        line_offset,
        header=header,
        columns=columns,
        flat_columns=flat_columns,
        pop_col=columns.get(f"P{yy}_POP"),
        decimal_comma=decimal_comma,
        issues=issues,
    )
    if not codes and not issues:
        issues.add("Le fichier ne contient aucune ligne de données après l'en-tête.", line=header_line)
    issues.raise_if_any()

    matrix = np.asarray(value_rows, dtype=np.float64).reshape(len(codes), len(flat_columns))
    repartitions = _repartitions(wanted, complementaire, matrix)
    total, derive = _total_population(pop_values, repartitions, len(codes))
    manquantes = {
        key: tuple(codes[i] for i in np.flatnonzero(~rep.present).tolist())
        for key, rep in repartitions.items()
        if not rep.present.all()
    }
    if pop_values and np.isnan(total).any():
        manquantes["total"] = tuple(codes[i] for i in np.flatnonzero(np.isnan(total)).tolist())
    return Population(
        niveau="iris",
        codes=tuple(codes),
        noms=tuple(noms),
        communes=tuple(communes),
        total=total,
        total_derive=derive,
        repartitions=repartitions,
        millesime=2000 + int(yy),
        fichiers=(file,),
        manquantes=manquantes,
    )


def _header_columns(
    header: list[str], header_line: int, issues: IssueCollector
) -> tuple[dict[str, int], str]:
    """The header's columns by name, and its vintage (two digits); raises on a duplicate or a mix."""
    columns: dict[str, int] = {}
    vintages: set[str] = set()
    for j, name in enumerate(header):
        if not name:
            continue  # the unnamed pandas index column of re-exported files
        if name in columns:
            issues.add(
                f"La colonne « {name} » apparaît deux fois.", line=header_line, column=column_letter(j)
            )
            continue
        columns[name] = j
        match = _VINTAGE_RE.match(name)
        if match:
            vintages.add(match.group(2))
    if len(vintages) > 1:
        issues.add(
            "Le fichier mélange plusieurs millésimes ("
            + ", ".join(sorted("20" + v for v in vintages))
            + ") : importez un fichier par millésime.",
            line=header_line,
        )
    issues.raise_if_any()
    return columns, vintages.pop()


def _tables_of(
    columns: dict[str, int], yy: str
) -> tuple[dict[str, list[tuple[str, list[int]]]], dict[str, bool]]:
    """The tables this file carries, each with its categories' columns, and which are complementary.

    A table is read only if all its columns are there.
    """

    def col(kind: str, suffix: str) -> int | None:
        return columns.get(f"{kind}{yy}_{suffix}")

    wanted: dict[str, list[tuple[str, list[int]]]] = {}
    complementaire: dict[str, bool] = {}
    for key, (kind, cats, suffixes) in _TABLE_COLUMNS.items():
        idx = [col(kind, s) for s in suffixes]
        if all(i is not None for i in idx):
            wanted[key] = [(c, [i]) for c, i in zip(cats, idx, strict=True)]  # type: ignore[list-item]
            complementaire[key] = kind == "C"
        elif key == "csp":
            # Some re-exports carry the CSP as P columns; accept them, they stay weighted estimates.
            idx = [col("P", s) for s in suffixes]
            if all(i is not None for i in idx):
                wanted[key] = [(c, [i]) for c, i in zip(cats, idx, strict=True)]  # type: ignore[list-item]
                complementaire[key] = True
    diplome = []
    for cat, alternatives in _DIPLOME_COLUMNS.items():
        for alt in alternatives:
            idx = [col("P", s) for s in alt]
            if all(i is not None for i in idx):
                diplome.append((cat, idx))
                break
    if len(diplome) == len(_DIPLOME_COLUMNS):
        wanted["diplome"] = diplome  # type: ignore[assignment]
        complementaire["diplome"] = False
    return wanted, complementaire


def _read_rows(
    table: list[list[object]],
    header_index: int,
    line_offset: int,
    *,
    header: list[str],
    columns: dict[str, int],
    flat_columns: list[tuple[str, str, list[int]]],
    pop_col: int | None,
    decimal_comma: bool,
    issues: IssueCollector,
) -> tuple[list[str], list[str], list[str], list[list[float]], list[float]]:
    """The rows after the header: codes, communes, names, values of ``flat_columns``, populations.

    The loop over the rows is kept in one piece: it runs once per IRIS (50,000 at national scale).
    """
    iris_col = columns["IRIS"]
    com_col = columns.get("COM")
    libcom_col = columns.get("LIBCOM")
    libiris_col = columns.get("LIBIRIS")
    codes: list[str] = []
    communes: list[str] = []
    noms: list[str] = []
    value_rows: list[list[float]] = []
    pop_values: list[float] = []
    seen: dict[str, int] = {}
    needed_cols = sorted(
        {i for _, _, idx in flat_columns for i in idx} | ({pop_col} if pop_col is not None else set())
    )

    def read_number(row: list[object], j: int, line: int) -> float:
        raw = row[j] if j < len(row) else None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            value: float | None = float(raw) if np.isfinite(raw) else None
        else:
            # A blank cell (INSEE's secret statistique) is NaN: a missing value for this IRIS
            # and this table (see ``_repartitions``), reported, not a refusal.
            value = parse_number(cell_text(raw), decimal_comma) if cell_text(raw) else np.nan
        if value is None:
            issues.add(
                f"Valeur « {cell_text(raw)} » non numérique dans « {header[j]} ».",
                line=line,
                column=column_letter(j),
            )
            return 0.0
        if value < 0:
            issues.add(
                f"Valeur négative ({cell_text(raw)}) dans « {header[j]} ».",
                line=line,
                column=column_letter(j),
            )
            return 0.0
        return value

    for i in range(header_index + 1, len(table)):
        row = table[i]
        line = i + line_offset
        if not any(cell_text(c) for c in row):
            continue
        raw_iris = cell_text(row[iris_col]) if iris_col < len(row) else ""
        # INSEE spreadsheets may end with a footnote line; it has no IRIS and no numbers.
        if not raw_iris and not any(cell_text(row[j]) for j in needed_cols if j < len(row)):
            continue
        code = normalise_iris(raw_iris)
        if not IRIS_RE.match(code):
            issues.add(
                f"Code IRIS « {raw_iris} » invalide (9 caractères attendus).",
                line=line,
                column=column_letter(iris_col),
            )
            continue
        if code in seen:
            issues.add(
                f"Code IRIS « {code} » en double (déjà ligne {seen[code]}).",
                line=line,
                column=column_letter(iris_col),
            )
            continue
        seen[code] = line
        commune = code[:5]
        if com_col is not None and com_col < len(row) and cell_text(row[com_col]):
            declared = normalise_commune(cell_text(row[com_col]))
            if declared != commune:
                issues.add(
                    f"La commune « {declared} » ne correspond pas au code IRIS « {code} ».",
                    line=line,
                    column=column_letter(com_col),
                )
        codes.append(code)
        communes.append(commune)
        libcom = cell_text(row[libcom_col]) if libcom_col is not None and libcom_col < len(row) else ""
        libiris = cell_text(row[libiris_col]) if libiris_col is not None and libiris_col < len(row) else ""
        if libiris and libcom and not libiris.startswith(libcom):
            noms.append(f"{libcom} - {libiris}")
        elif libiris:
            noms.append(libiris)
        elif libcom and not code.endswith("0000"):
            # Re-exports without LIBIRIS: keep sectors of one commune apart in lists and charts.
            noms.append(f"{libcom} (IRIS {code[5:]})")
        else:
            noms.append(libcom or code)
        value_rows.append([sum(read_number(row, j, line) for j in idx) for _, _, idx in flat_columns])
        if pop_col is not None:
            pop_values.append(read_number(row, pop_col, line))
    return codes, communes, noms, value_rows, pop_values


def _repartitions(
    wanted: dict[str, list[tuple[str, list[int]]]], complementaire: dict[str, bool], matrix: np.ndarray
) -> dict[str, Repartition]:
    """One :class:`Repartition` per table, from its columns of the value matrix (in ``wanted``'s order)."""
    repartitions: dict[str, Repartition] = {}
    start = 0
    for key, cats in wanted.items():
        width = len(cats)
        values = matrix[:, start : start + width].copy()
        # A blank cell (NaN) makes the whole table missing for that IRIS: a partial row would
        # understate its population, so statistics on this dimension leave the IRIS out.
        present = ~np.isnan(values).any(axis=1)
        values[~present] = 0.0
        repartitions[key] = Repartition(
            key=key,
            dimension="age" if key.startswith("age") else key,
            categories=tuple(c for c, _ in cats),
            values=values,
            present=present,
            complementaire=complementaire[key],
            univers=UNIVERS[key],
        )
        start += width
    return repartitions


def _total_population(
    pop_values: list[float], repartitions: dict[str, Repartition], n: int
) -> tuple[np.ndarray, bool]:
    """Each sector's population, and whether it is derived from a table rather than read."""
    if pop_values:
        return np.asarray(pop_values, dtype=np.float64), False
    for key in ("age_large", "age_fin", "sexe"):
        if key in repartitions:
            rep = repartitions[key]
            return np.where(rep.present, rep.values.sum(axis=1), np.nan), True
    # activity/diploma bases have no total population; merge them with evol-struct-pop.
    return np.full(n, np.nan), True


# --- Combining and aggregating --------------------------------------------------------------------


class MillesimesMelanges(ValueError):
    """Bases of different census vintages: their figures describe different years (French message)."""


def check_same_vintage(populations: Sequence[Population]) -> None:
    """Refuse bases of different vintages (a 2016 age base with a 2015 activity base): the
    diagnostic would compare figures of different years as if they were one census."""
    millesimes = sorted({p.millesime for p in populations if p.millesime})
    if len(millesimes) > 1:
        fichiers = "; ".join(f"{', '.join(p.fichiers) or '?'} ({p.millesime})" for p in populations)
        raise MillesimesMelanges(
            "Les bases de population ne sont pas du même millésime ("
            + ", ".join(str(m) for m in millesimes)
            + f") : {fichiers}. Importez des bases d'un même recensement."
        )


def merge_populations(populations: Sequence[Population]) -> Population:
    """Merge several IRIS bases (e.g. evol-struct-pop + activite-residents) into one population.

    Sectors are the union of all files; a table keeps ``present=False`` for sectors its file lacks,
    so that statistics on that dimension leave them out rather than count them as zero. Bases of
    different vintages are refused (:class:`MillesimesMelanges`).
    """
    if not populations:
        raise ValueError("Aucune base de population à merge_populations.")
    check_same_vintage(populations)
    if len(populations) == 1:
        return populations[0]
    niveaux = {p.niveau for p in populations}
    if len(niveaux) != 1:
        raise ValueError("Les populations à merge_populations doivent être au même niveau géographique.")
    codes: list[str] = []
    index: dict[str, int] = {}
    noms: dict[str, str] = {}
    communes: dict[str, str] = {}
    for pop in populations:
        for code, nom, com in zip(pop.codes, pop.noms, pop.communes, strict=True):
            if code not in index:
                index[code] = len(codes)
                codes.append(code)
                noms[code], communes[code] = nom, com
            elif noms[code] == code and nom != code:
                noms[code] = nom
    n = len(codes)
    total = np.full(n, np.nan)
    total_derive = True
    repartitions: dict[str, Repartition] = {}
    # Prefer a read P_POP over a derived total; the first file wins among equals.
    for pop in sorted(populations, key=lambda p: p.total_derive):
        rows = np.fromiter((index[c] for c in pop.codes), dtype=np.intp, count=len(pop))
        missing = np.isnan(total[rows])
        has = ~np.isnan(pop.total)
        take = missing & has
        total[rows[take]] = pop.total[take]
        if not pop.total_derive and take.any():
            total_derive = False
        for key, rep in pop.repartitions.items():
            if key in repartitions:
                continue
            values = np.zeros((n, len(rep.categories)))
            present = np.zeros(n, dtype=bool)
            values[rows] = rep.values
            present[rows] = rep.present
            repartitions[key] = Repartition(
                key, rep.dimension, rep.categories, values, present, rep.complementaire, rep.univers
            )
    millesimes = {p.millesime for p in populations if p.millesime}
    return Population(
        niveau=populations[0].niveau,
        codes=tuple(codes),
        noms=tuple(noms[c] for c in codes),
        communes=tuple(communes[c] for c in codes),
        total=total,
        total_derive=total_derive,
        repartitions=repartitions,
        millesime=max(millesimes) if millesimes else None,
        fichiers=tuple(f for p in populations for f in p.fichiers),
        manquantes={k: v for p in populations for k, v in p.manquantes.items()},
    )


def aggregate_population(
    population: Population,
    groupes: Mapping[str, str] | None = None,
    *,
    niveau: str = "commune",
    noms: Mapping[str, str] | None = None,
) -> Population:
    """Sum IRIS into larger sectors.

    Without ``groupes``, sectors are communes (or arrondissements for Paris, Lyon, Marseille:
    INSEE codes them as communes, 751xx, 6938x, 132xx). With ``groupes`` (IRIS code -> quartier
    code), IRIS not listed are dropped: a quartier diagnostic covers the quartiers only.
    """
    if groupes is None:
        keys = list(population.communes)
        libelles = {}
        for code, nom, com in zip(population.codes, population.noms, population.communes, strict=True):
            libelles.setdefault(com, commune_name(nom, code) or com)
    else:
        keys = [groupes.get(code, "") for code in population.codes]
        libelles = {}
    keep = np.array([bool(k) for k in keys], dtype=bool)
    group_codes = sorted({k for k in keys if k})
    gindex = {g: i for i, g in enumerate(group_codes)}
    inverse = np.array([gindex.get(k, -1) for k in keys], dtype=np.intp)
    rows = np.flatnonzero(keep)
    target = inverse[rows]
    m = len(group_codes)

    def sum_rows(values: np.ndarray) -> np.ndarray:
        out = np.zeros((m,) + values.shape[1:])
        np.add.at(out, target, values[rows])
        return out

    total = sum_rows(np.nan_to_num(population.total))
    total_nan = np.zeros(m, dtype=bool)
    np.logical_or.at(total_nan, target, np.isnan(population.total[rows]))
    total[total_nan] = np.nan
    repartitions = {}
    for key, rep in population.repartitions.items():
        present = np.zeros(m, dtype=bool)
        # A group is present only if all its IRIS are: a partial sum would understate it.
        absent = np.zeros(m, dtype=bool)
        np.logical_or.at(absent, target, ~rep.present[rows])
        np.logical_or.at(present, target, rep.present[rows])
        present &= ~absent
        repartitions[key] = Repartition(
            key, rep.dimension, rep.categories, sum_rows(rep.values), present, rep.complementaire, rep.univers
        )
    group_communes = {}
    for k, com in zip(keys, population.communes, strict=True):
        if k:
            group_communes[k] = com if group_communes.get(k, com) == com else ""
    names = dict(libelles)
    if noms:
        names.update(noms)
    return Population(
        niveau=niveau if groupes is not None else "commune",
        codes=tuple(group_codes),
        noms=tuple(names.get(g, g) for g in group_codes),
        communes=tuple(group_communes[g] for g in group_codes),
        total=total,
        total_derive=population.total_derive,
        repartitions=repartitions,
        millesime=population.millesime,
        fichiers=population.fichiers,
    )


def commune_name(nom: str, code: str) -> str:
    """The commune's name read off the name of one of its IRIS (see ``_read_rows``):
    « Saint-Malo - Intra-Muros » and « Saint-Malo (IRIS 0101) » give « Saint-Malo »; ``""`` when
    the name is only the code."""
    return "" if nom == code else commune_of_nom(nom)


def restrict_to_communes(
    population: Population, communes: Collection[str]
) -> tuple[Population, dict[str, tuple[str, int, float]]]:
    """The sectors of ``population`` in ``communes`` (commune or arrondissement codes), and the
    communes left out: code -> (name, number of IRIS, population; NaN when unknown), by code.

    A base published for a département, imported for an EPN of one EPCI, keeps the EPCI's
    communes only: the others are listed, not silently taken as part of the territory.
    """
    wanted = set(communes)
    keep = np.array([c in wanted for c in population.communes], dtype=bool)
    ignored: dict[str, list] = {}
    for code, nom, com, total in zip(
        population.codes, population.noms, population.communes, population.total.tolist(), strict=True
    ):
        if com not in wanted:
            entry = ignored.setdefault(com, [commune_name(nom, code) or com, 0, 0.0])
            entry[1] += 1
            entry[2] += total
    if keep.all():
        return population, {}
    rows = np.flatnonzero(keep)
    kept_codes = {population.codes[i] for i in rows.tolist()}
    restricted = Population(
        niveau=population.niveau,
        codes=tuple(population.codes[i] for i in rows.tolist()),
        noms=tuple(population.noms[i] for i in rows.tolist()),
        communes=tuple(population.communes[i] for i in rows.tolist()),
        total=population.total[rows].copy(),
        total_derive=population.total_derive,
        repartitions={
            key: Repartition(
                key,
                rep.dimension,
                rep.categories,
                rep.values[rows].copy(),
                rep.present[rows].copy(),
                rep.complementaire,
                rep.univers,
            )
            for key, rep in population.repartitions.items()
        },
        millesime=population.millesime,
        fichiers=population.fichiers,
        manquantes={
            key: kept
            for key, codes in population.manquantes.items()
            if (kept := tuple(c for c in codes if c in kept_codes))
        },
    )
    return restricted, {c: (n, k, t) for c, (n, k, t) in sorted(ignored.items())}


def read_passage_iris(source: Source, filename: str | None = None) -> dict[str, str]:
    """Read a table de passage between two IRIS geographies: CSV ``code_iris;code_iris_population``
    (the code the attendance files use, then the code of the imported population). INSEE publishes
    such tables when IRIS are split, merged or renumbered; any CSV with these two columns will do.

    A code may be listed once only, with one IRIS of the population (a merge of several IRIS of the
    population into one later IRIS cannot be undone: leave such codes out, they stay « non
    localisés »). Raises :class:`ImportRejected` (French, located).
    """
    data, file = load_bytes(source, filename)
    if not data.strip():
        raise reject(file, "Le fichier est vide.")
    text = decode_text(data, file)
    wanted = {"code_iris", "code_iris_population"}
    rows, _ = split_csv(text, file, lambda cells: wanted <= {c.strip().lower() for c in cells})
    header_i = next(i for i, r in enumerate(rows) if wanted <= {c.strip().lower() for c in r})
    header = [c.strip().lower() for c in rows[header_i]]
    ci, cp = header.index("code_iris"), header.index("code_iris_population")
    issues = IssueCollector(file)
    mapping: dict[str, str] = {}
    seen: dict[str, int] = {}
    for i, row in enumerate(rows[header_i + 1 :], start=header_i + 2):
        if not any(c.strip() for c in row):
            continue
        source_code = normalise_iris(row[ci] if ci < len(row) else "")
        target = normalise_iris(row[cp] if cp < len(row) else "")
        if not IRIS_RE.match(source_code):
            issues.add(
                f"Code IRIS « {source_code} » invalide (9 caractères attendus).", line=i, column="code_iris"
            )
        elif not IRIS_RE.match(target):
            issues.add(
                f"Code IRIS « {target} » invalide (9 caractères attendus).",
                line=i,
                column="code_iris_population",
            )
        elif source_code in mapping and mapping[source_code] != target:
            issues.add(
                f"L'IRIS {source_code} est déjà associé à l'IRIS {mapping[source_code]} "
                f"(ligne {seen[source_code]}) : une table de passage donne un seul IRIS "
                "de la population pour chaque code.",
                line=i,
                column="code_iris_population",
            )
        else:
            mapping[source_code] = target
            seen.setdefault(source_code, i)
    if not mapping and not issues:
        issues.add("Le fichier ne contient aucune correspondance après l'en-tête.", line=header_i + 1)
    issues.raise_if_any()
    return mapping


QUARTIER_MAX_LENGTH = 120  # territoire.Quartier.nom


def read_quartiers(source: Source, filename: str | None = None) -> dict[str, str]:
    """Read a quartier definition CSV ``code_iris;quartier`` into a mapping IRIS -> quartier."""
    data, file = load_bytes(source, filename)
    if not data.strip():
        raise reject(file, "Le fichier est vide.")
    text = decode_text(data, file)
    rows, _ = split_csv(text, file, lambda cells: {"code_iris", "quartier"} <= {c.lower() for c in cells})
    issues = IssueCollector(file)
    header_i = next(
        i for i, r in enumerate(rows) if {"code_iris", "quartier"} <= {c.strip().lower() for c in r}
    )
    header = [c.strip().lower() for c in rows[header_i]]
    ci, cq = header.index("code_iris"), header.index("quartier")
    mapping: dict[str, str] = {}
    for i, row in enumerate(rows[header_i + 1 :], start=header_i + 2):
        if not any(c.strip() for c in row):
            continue
        code = normalise_iris(row[ci] if ci < len(row) else "")
        quartier = (row[cq] if cq < len(row) else "").strip()
        if not IRIS_RE.match(code):
            issues.add(f"Code IRIS « {code} » invalide.", line=i, column="code_iris")
        elif not quartier:
            issues.add("Nom de quartier vide.", line=i, column="quartier")
        elif len(quartier) > QUARTIER_MAX_LENGTH:
            # The database refuses longer names (PostgreSQL): refused here, with its place.
            issues.add(
                f"Nom de quartier trop long ({len(quartier)} caractères, {QUARTIER_MAX_LENGTH} au plus).",
                line=i,
                column="quartier",
            )
        elif code in mapping and mapping[code] != quartier:
            issues.add(
                f"L'IRIS {code} est déjà dans le quartier « {mapping[code]} ».", line=i, column="code_iris"
            )
        else:
            mapping[code] = quartier
    issues.raise_if_any()
    return mapping


def secteurs_qpv(population: Population, iris_qpv: Iterable[str]) -> set[str]:
    """Sectors of ``population`` containing at least one IRIS of the QPV list."""
    listed = {normalise_iris(c) for c in iris_qpv}
    if population.niveau == "iris":
        return {c for c in population.codes if c in listed}
    communes = {c[:5] for c in listed}
    if population.niveau == "commune":
        return {c for c in population.codes if c in communes}
    return set()  # quartiers: the caller knows which IRIS make each quartier
