"""svg_number: every number a chart writes reads back as itself, in any language of the page."""

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.core.svg import NUMBER, svg_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (13.1, "13.1"),
        (540.8, "540.8"),
        (600, "600"),
        (-6, "-6"),
        (0.0, "0"),
        (-0.001, "0"),
        (1e-7, "0"),
        (12345678.9, "12345678.9"),
        (Decimal("2.50"), "2.5"),
        (1e20, "100000000000000000000"),
    ],
)
def test_numbers_are_written_with_a_dot_and_nothing_else(value, expected):
    assert svg_number(value) == expected


@pytest.mark.parametrize("value", [None, True, [1]])
def test_what_is_not_a_number_is_refused(value):
    with pytest.raises(TypeError):
        svg_number(value)


def test_text_already_an_svg_number_is_kept_and_french_text_refused():
    assert svg_number("13.1") == "13.1"
    assert svg_number(" -6 ") == "-6"
    for text in ("13,1", "", "1 200", "nan"):
        with pytest.raises(ValueError):
            svg_number(text)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_what_is_not_finite_is_refused(value):
    with pytest.raises(ValueError):
        svg_number(value)


@given(st.one_of(st.integers(-(10**12), 10**12), st.floats(-1e9, 1e9, allow_nan=False)))
def test_any_number_reads_back_within_its_rounding(value):
    text = svg_number(value)
    assert re.fullmatch(NUMBER, text), text
    assert "e" not in text.lower() and "," not in text
    assert abs(float(text) - value) <= 0.005 + 1e-9 * abs(value)
