"""Exports that a spreadsheet cannot turn into formulas (CSV / formula injection).

Pure module: no Django. A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return may be run as a formula when the file is opened in a spreadsheet (OWASP "CSV
injection"). ``escape_cell`` prefixes such text with an apostrophe, which spreadsheets show as
text; numbers, dates and other non-text values are left as they are, so a negative number stays a
number. Leading spaces do not hide a formula from every spreadsheet, so they are looked through,
and so are the invisible characters a spreadsheet may drop on opening (other control characters,
zero-width and format characters, Unicode spaces); a character whose compatibility form is a trigger
(the fullwidth ``＝``, the small ``﹦``…) counts as that trigger.

Order matters: a cell is first made into what the file will hold (``xlsx_row`` drops the control
characters a worksheet cannot store), and only then escaped, so that removing a character can never
uncover a formula (``"\x01=HYPERLINK(…)"`` must not become ``"=HYPERLINK(…)"``).

Every CSV or XLSX export writes its cells through ``escape_cell`` (``escape_row``, ``SafeWriter``,
``xlsx_row``).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
# Fullwidth forms that some spreadsheets normalise to their ASCII twins.
DANGEROUS_PREFIXES += ("＝", "＋", "－", "＠")
ESCAPE = "'"

# Control characters that XML 1.0, hence an XLSX cell, cannot hold (openpyxl raises on them).
XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

_TRIGGERS = frozenset(DANGEROUS_PREFIXES)


def _ignorable(char: str) -> bool:
    """A leading character that may vanish or be skipped before a spreadsheet reads a formula."""
    if char in _TRIGGERS:
        return False
    category = unicodedata.category(char)
    # Cc: control characters; Cf: format (zero-width space, BOM…); Zs/Zl/Zp: spaces and separators.
    return category in ("Cc", "Cf", "Zs", "Zl", "Zp")


def _is_trigger(char: str) -> bool:
    return char in _TRIGGERS or unicodedata.normalize("NFKC", char)[:1] in _TRIGGERS


def is_dangerous(text: str) -> bool:
    for char in text:
        if not _ignorable(char):
            return _is_trigger(char)
    return False


def escape_cell(value: Any) -> Any:
    """The value to write in a cell: text that could run as a formula is prefixed with ``'``."""
    if isinstance(value, str) and is_dangerous(value):
        return ESCAPE + value
    return value


def escape_row(row: Iterable[Any]) -> list[Any]:
    return [escape_cell(value) for value in row]


def xlsx_cell(value: Any) -> Any:
    """What a worksheet cell holds: the control characters it cannot store dropped first, then the
    formula escape applied to what is left (the other order would uncover ``"\x01=…"``)."""
    if isinstance(value, str):
        value = XLSX_ILLEGAL.sub("", value)
    return escape_cell(value)


def xlsx_row(row: Iterable[Any]) -> list[Any]:
    """``escape_row`` for a worksheet, so that a text imported with a control character (a sector
    name, a theme) never makes the export fail nor turns into a formula."""
    return [xlsx_cell(value) for value in row]


class SafeWriter:
    """``csv.writer`` whose rows are escaped: use it for every CSV export."""

    def __init__(self, stream, **kwargs):
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow(escape_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
