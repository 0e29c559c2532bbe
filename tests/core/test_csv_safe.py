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
    xlsx_row,
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


# --- Stripping comes before escaping ------------------------------------------------------------

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
HIDING = st.sampled_from(["\x01", "\x00", "\x1f", "\x0b", "\u00a0", "\u200b", "\ufeff", "\u2028", "\x85"])


def first_visible(text: str) -> str:
    """The first character a spreadsheet may read, invisible ones (controls, zero-width, spaces)
    skipped, in its compatibility form (the fullwidth ``＝`` reads as ``=``)."""
    import unicodedata

    for char in text:
        if char in TRIGGERS:
            return char
        if unicodedata.category(char) not in ("Cc", "Cf", "Zs", "Zl", "Zp"):
            return unicodedata.normalize("NFKC", char)[:1]
    return ""


def xlsx_cell_back(value):
    """The value written in a worksheet cell through ``xlsx_row``, saved and read back."""
    workbook = openpyxl.Workbook()
    workbook.active.append(xlsx_row([value]))
    out = io.BytesIO()
    workbook.save(out)
    cell = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active["A1"]
    return cell


@pytest.mark.parametrize(
    "value",
    [
        '\x01=HYPERLINK("http://x","clic")',
        "\x00\x08=1+1",
        "\x1f+33 6",
        "\u200b=1",
        "\ufeff@SUM(A1)",
        "\u00a0-2+3",
        "\x0b\x0c\t=1",
        "﹦1",
        " \x01 =1",
    ],
)
def test_hidden_formulas_are_neutralised_in_csv_and_xlsx(value):
    assert escape_cell(value) == ESCAPE + value
    cell = xlsx_cell_back(value)
    assert cell.data_type != "f"
    assert cell.value.startswith(ESCAPE), repr(cell.value)


def test_the_dropped_control_character_does_not_uncover_a_formula():
    # The bug this order fixes: escaping "\x01=…" first saw no formula, then stripping "\x01" made one.
    assert xlsx_row(['\x01=HYPERLINK("http://x","clic")']) == ['\'=HYPERLINK("http://x","clic")']


def test_numbers_stay_typed_in_xlsx():
    assert xlsx_row([date(2026, 1, 2), -4, -0.239218, "-4", "Rennes\x01"]) == [
        date(2026, 1, 2),
        -4,
        -0.239218,
        "'-4",
        "Rennes",
    ]


any_text = st.text(
    alphabet=st.one_of(st.characters(), HIDING, st.sampled_from(TRIGGERS + ("＝", "＋", "－", "＠", "'")))
)


@given(st.lists(any_text, min_size=1, max_size=5))
def test_no_csv_cell_starts_a_formula_unless_escaped(texts):
    buffer = io.StringIO(newline="")
    SafeWriter(buffer, delimiter=";", lineterminator="\r\n").writerow(texts)
    cells = next(csv.reader(io.StringIO(buffer.getvalue(), newline=""), delimiter=";"))
    assert len(cells) == len(texts)
    for text, cell in zip(texts, cells, strict=True):
        assert cell.startswith(ESCAPE) or first_visible(cell) not in TRIGGERS, repr(cell)
        assert cell in (text, ESCAPE + text)


@given(any_text)
def test_no_xlsx_cell_starts_a_formula_unless_escaped(text):
    cell = xlsx_cell_back(text)
    assert cell.data_type != "f"
    value = cell.value or ""
    assert value.startswith(ESCAPE) or first_visible(value) not in TRIGGERS, repr(value)
