"""The usagers file, streamed and vectorised: :func:`read_usagers`.

Pure module: no Django.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ancrage.core.importing import ImportIssue, IssueCollector
from ancrage.frequentation.readers.columns import (
    Coded,
    UsagerChunk,
    UsagerColumns,
    bytes_array,
    distinct_values,
    hash_bytes,
)
from ancrage.frequentation.readers.csvtext import cell, csv_table
from ancrage.frequentation.readers.labels import fold_label
from ancrage.frequentation.readers.records import Frequentation, Progress
from ancrage.frequentation.readers.usagers import (
    USAGERS_COLUMNS,
    USAGERS_REQUIRED,
    check_sector,
    parse_annee_naissance,
    parse_csp,
    parse_premiere_visite,
    parse_sexe,
    parse_situation,
    parse_tranche_age,
    placement,
    usager_row,
)
from ancrage.territoire.insee import Source, load_bytes, reject, sniff_format

# --- The usagers file, streamed and vectorised ----------------------------------------------------
#
# A file of millions of rows is read by chunks of about CHUNK_BYTES. Each chunk is split with numpy
# (no Python object per cell) and validated column by column: every *distinct* value of a column
# goes through the same field function as the per-row reader (``parse_annee_naissance``,
# ``parse_sexe``, ``check_sector``…), and the rows get the result through numpy's inverse index.
# A chunk the vectorised path cannot take (a short row, a blank line, a NUL) or in which any value
# is invalid is read again by the per-row reader (``usager_row``), so the records and the French,
# located errors are exactly those of :func:`read_usagers_exact` (tested, with hypothesis).
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
        #: Records outside the territory or not located, by reason (``usagers.placement``), once
        #: ``chunks()`` is done: kept in the file, counted apart by the diagnostic.
        self.non_places: dict[str, int] = {}
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
        non_places: Counter = Counter()
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
                per_value = np.bincount(chunk.secteur.codes, minlength=len(chunk.secteur.values))
                for (iris, commune), n in zip(chunk.secteur.values, per_value.tolist(), strict=True):
                    reason = placement(iris, commune, self.secteurs_connus)
                    if reason is not None and n:
                        non_places[reason] += n
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
        self.non_places = dict(sorted(non_places.items()))

    def _exact_chunk(self, plan: _Plan, first_line: int, rows: list[list[str]], issues: IssueCollector):
        """The per-row reader on a block: its chunk, and the hashes and lines of its identifiers."""
        idents: list[bytes] = []
        ident_lines: list[int] = []

        def check_identifiant(ident: str, line: int) -> None:
            idents.append(ident.encode())
            ident_lines.append(line)

        records = []
        for k, row in enumerate(rows):
            record = usager_row(
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
        return chunk, hash_bytes(bytes_array(idents)), np.array(ident_lines, dtype=np.int64)

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
                    found[first_line + k] = cell(row, plan.columns, "identifiant")
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

    # The vectorised hot path (one call per 4 MiB block, its closures see the block's arrays): kept
    # whole, as measured in docs/performance.md, rather than split into methods passing them around.
    def _fast_chunk(self, plan: _Plan, first_line: int, block: bytes) -> UsagerChunk | None:  # noqa: C901, PLR0915
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
                return bytes_array([v.decode().strip().encode() for v in values.tolist()])
            return values

        def coded(values: np.ndarray, check) -> Coded | None:
            distinct, inverse = distinct_values(values)
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
            "annee_naissance": coded(
                column("annee_naissance"), lambda raw: parse_annee_naissance(raw, this_year)
            ),
            "tranche_age": coded(column("tranche_age"), parse_tranche_age),
            "sexe": coded(column("sexe"), parse_sexe),
            "csp": coded(column("csp"), parse_csp),
            "situation": coded(column("situation"), parse_situation),
            "premiere_visite": coded(column("premiere_visite"), parse_premiere_visite),
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
            value = check_sector(scratch, 0, iris_raw.strip(), commune_raw.strip(), secteurs_connus)
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
            infos={"non_places": self.non_places},
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


def read_usagers(
    source: Source,
    filename: str | None = None,
    *,
    secteurs_connus: Collection[str] | None = None,
    current_year: int | None = None,
    progress: Progress | None = None,
) -> Frequentation:
    """Read Ancrage's usagers CSV (one row per person).

    ``secteurs_connus`` (IRIS and/or commune codes of the imported population), when given, is
    what the users outside the territory are counted against (``infos["non_places"]``): they
    are kept, never refused nor silently dropped; the diagnostic reports them by reason.

    Streams the file by chunks (see :class:`UsagersStream`); the records are kept as columns
    (:class:`UsagerColumns`, a sequence of :class:`Usager`).
    """
    return scan_usagers(
        source, filename, secteurs_connus=secteurs_connus, current_year=current_year, progress=progress
    ).read()
