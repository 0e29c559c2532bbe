"""Exports that a spreadsheet cannot turn into formulas (CSV / formula injection).

Pure module: no Django. A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return may be run as a formula when the file is opened in a spreadsheet (OWASP "CSV
injection"). ``escape_cell`` prefixes such text with an apostrophe, which spreadsheets show as
text; numbers, dates and other non-text values are left as they are, so a negative number stays a
number. Leading spaces do not hide a formula from every spreadsheet, so they are looked through.

Every CSV or XLSX export writes its cells through ``escape_cell`` (``escape_row``, ``SafeWriter``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
# Fullwidth forms that some spreadsheets normalise to their ASCII twins.
DANGEROUS_PREFIXES += ("＝", "＋", "－", "＠")
ESCAPE = "'"


def is_dangerous(text: str) -> bool:
    return text.lstrip(" ").startswith(DANGEROUS_PREFIXES)


def escape_cell(value: Any) -> Any:
    """The value to write in a cell: text that could run as a formula is prefixed with ``'``."""
    if isinstance(value, str) and is_dangerous(value):
        return ESCAPE + value
    return value


def escape_row(row: Iterable[Any]) -> list[Any]:
    return [escape_cell(value) for value in row]


# Control characters that XML 1.0, hence an XLSX cell, cannot hold (openpyxl raises on them).
XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_row(row: Iterable[Any]) -> list[Any]:
    """``escape_row`` for a worksheet: also drops the control characters a cell cannot hold, so that
    a text imported with one (a sector name, a theme) never makes the export fail."""
    return [XLSX_ILLEGAL.sub("", v) if isinstance(v, str) else v for v in escape_row(row)]


class SafeWriter:
    """``csv.writer`` whose rows are escaped: use it for every CSV export."""

    def __init__(self, stream, **kwargs):
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow(escape_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
