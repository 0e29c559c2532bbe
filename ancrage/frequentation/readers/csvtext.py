"""What the CSV readers share: a decoded, split table and its columns found by name.

Pure module: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence

from ancrage.core.importing import ImportRejected
from ancrage.frequentation.readers.labels import fold_label
from ancrage.territoire.insee import Source, decode_text, load_bytes, reject, sniff_format, split_csv

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


def cell(row: list[str], columns: dict[str, int], name: str) -> str:
    j = columns.get(name)
    return row[j].strip() if j is not None and j < len(row) else ""
