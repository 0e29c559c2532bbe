"""Writing places in the standard: its CSV (validated before it is returned) and the Cartographie's JSON.

Pure module: no Django.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import fields, replace
from typing import Any

from ancrage.core import csv_safe
from ancrage.partenaires.standard.schema import (
    FIELDS,
    MULTI_VALUED,
    PLACEHOLDER_DATE,
    SEPARATOR,
    UNKNOWN_PIVOT,
    Lieu,
    StandardExportError,
)
from ancrage.partenaires.standard.validation import validate_csv

# schema.json's pattern for formations_labels lacks the space that enums.json has in this one
# label; writing the schema's spelling is the only way for a place holding it to validate.
_SCHEMA_SPELLING = {"Étapes numériques (La Poste)": "Étapes numériques(La Poste)"}


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _format_number(value: float | None) -> str:
    # repr is the shortest text that reads back to the same float: the round trip is exact.
    return "" if value is None else repr(float(value))


def lieu_to_row(lieu: Lieu) -> dict[str, str]:
    """The standard's 32 columns for one place, as text."""
    row: dict[str, str] = {}
    for name in FIELDS:
        value = getattr(lieu, name)
        if name in MULTI_VALUED:
            if name == "formations_labels":
                value = [_SCHEMA_SPELLING.get(item, item) for item in value]
            row[name] = SEPARATOR.join(item.replace(SEPARATOR, "/") for item in value)
        elif name in ("latitude", "longitude"):
            row[name] = _format_number(value)
        elif name == "date_maj":
            row[name] = (value or PLACEHOLDER_DATE).isoformat()
        elif name == "pivot":
            row[name] = value or UNKNOWN_PIVOT
        else:
            row[name] = value
    return row


def write_csv(lieux: Iterable[Lieu]) -> str:
    """The places as a CSV of the standard; raises ``StandardExportError`` if it would not validate."""
    rows = [lieu_to_row(lieu) for lieu in lieux]
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    content = out.getvalue()
    issues = validate_csv(content, file="export")
    if issues:
        raise StandardExportError(issues)
    return content


def write_csv_bytes(lieux: Iterable[Lieu], *, bom: bool = False, escape_formulas: bool = False) -> bytes:
    """UTF-8 bytes; ``bom=True`` for spreadsheets that need it to recognise UTF-8.

    ``escape_formulas``: for a file meant to be opened in a spreadsheet (the download of the web
    page), cells that a spreadsheet would run as a formula are escaped (``csv_safe``); the file is
    validated before, and Ancrage's reader removes the escape when it reads the file back.
    """
    content = write_csv(lieux)
    if escape_formulas:
        rows = list(csv.reader(io.StringIO(content, newline="")))
        out = io.StringIO(newline="")
        csv_safe.SafeWriter(out, lineterminator="\r\n").writerows(rows)
        content = out.getvalue()
    return ("\ufeff" if bom else "").encode("utf-8") + content.encode("utf-8")


def cartographie_item(lieu: Lieu) -> dict[str, Any]:
    """One place in the Cartographie's shape: standard keys, empty values left out (what the JSON
    export and the REST API write)."""
    row = lieu_to_row(lieu)
    item: dict[str, Any] = {}
    for name in FIELDS:
        if name in ("latitude", "longitude"):
            if getattr(lieu, name) is not None:
                item[name] = getattr(lieu, name)
        elif row[name]:
            item[name] = row[name]
    return item


def write_cartographie_json(lieux: Iterable[Lieu]) -> str:
    """A JSON array in the Cartographie's shape: standard keys, empty values left out."""
    return json.dumps([cartographie_item(lieu) for lieu in lieux], ensure_ascii=False, indent=2)


def lieu_from_values(**values: Any) -> Lieu:
    """Build a ``Lieu`` from loose values (lists, None) as a form or a model gives them."""
    clean: dict[str, Any] = {}
    names = {f.name for f in fields(Lieu)}
    for name, value in values.items():
        if name not in names:
            raise TypeError(f"Lieu has no field {name!r}")
        if name in MULTI_VALUED or name == "legacy":
            clean[name] = tuple(value or ())
        elif name in ("latitude", "longitude", "date_maj"):
            clean[name] = value
        else:
            clean[name] = "" if value is None else str(value).strip()
    return replace(Lieu(id="", nom="", commune="", code_postal="", adresse=""), **clean)
