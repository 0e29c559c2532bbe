"""Exports escape cells that a spreadsheet would run as formulas (CSV injection)."""

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from ancrage.core.csv_safe import (
    DANGEROUS_PREFIXES,
    ESCAPE,
    SafeWriter,
    escape_cell,
    escape_row,
    is_dangerous,
)


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+33 6", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","clic")', "  =1+1", "＝1"],
)
def test_formulas_are_neutralised(value):
    assert escape_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["Rennes", "", "'=déjà échappé", "1-2", "a=b", 12, -3, 2.5, Decimal("-1.5"), None]
)
def test_other_values_are_unchanged(value):
    assert escape_cell(value) == value


def test_dates_and_negative_numbers_stay_typed():
    row = escape_row([date(2026, 1, 2), -4, "-4"])
    assert row == [date(2026, 1, 2), -4, "'-4"]


@given(st.text())
def test_an_escaped_cell_never_starts_a_formula(text):
    escaped = escape_cell(text)
    assert not is_dangerous(escaped)
    # Nothing is lost: removing the escape gives back the original text.
    assert escaped == text or (escaped.startswith(ESCAPE) and escaped[1:] == text)
    assert escape_cell(escaped) == escaped


@given(st.lists(st.lists(st.one_of(st.text(), st.integers(), st.none()), max_size=6), max_size=10))
def test_csv_round_trip_has_no_formula_cell(rows):
    buffer = io.StringIO()
    SafeWriter(buffer, delimiter=";").writerows(rows)
    buffer.seek(0)
    read = list(csv.reader(buffer, delimiter=";"))
    written = [value for row in rows for value in row]
    cells = [cell for row in read for cell in row]
    assert len(cells) == len(written)  # every cell comes back, embedded newlines included
    for value, cell in zip(written, cells, strict=True):
        if isinstance(value, str):  # numbers are numbers: "-1" is not a formula
            assert not cell.lstrip(" ").startswith(DANGEROUS_PREFIXES)


@given(st.text(min_size=1).filter(lambda t: t.strip() and "\x00" not in t))
def test_xlsx_cells_written_through_escape_are_never_formulas(text):
    workbook = openpyxl.Workbook()
    cell = workbook.active.cell(row=1, column=1)
    try:
        cell.value = escape_cell(text)
    except openpyxl.utils.exceptions.IllegalCharacterError:
        reject()  # openpyxl refuses control characters outright: nothing is written
    assert cell.data_type != "f"
