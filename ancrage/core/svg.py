"""Numbers as SVG, CSS and JSON read them, whatever the page's language.

Pure module: no Django. Django localises numbers in French templates ("13,1"), which SVG reads as
two numbers, or not at all: Chromium then drops a bar, or draws a text's digits apart. Every
number a template writes into an SVG attribute, a style or JSON goes through ``svg_number``
(the ``num`` filter of ``{% load svg %}``).

``svg_number_errors(html)`` reads a page's SVG as a browser does and lists each numeric
attribute that does not parse, as ``<rect width="13,1">``: the tests check every chart page and
PDF with it, and scripts/ci_production_pages.py every page of the demo as each role.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from html.parser import HTMLParser
from numbers import Real

# Enough for coordinates in a 600-unit drawing; fewer digits keep the pages small.
DECIMALS = 2


def svg_number(value) -> str:
    """``value`` with a dot for decimals, no thousands separator, no exponent: ``13.1``, ``-6``.

    Text already written as an SVG number ("13.1", from a chart module that formats its own) is
    kept. Anything else (None, "13,1", NaN, a boolean) is a mistake in the chart's code: it raises
    ``TypeError`` or ``ValueError`` rather than write an attribute no browser reads.
    """
    if isinstance(value, str):
        if _NUMBER.match(value.strip()):
            return value.strip()
        raise ValueError(f"not an SVG number: {value!r}")
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise TypeError(f"not a number for an SVG attribute: {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"not a finite number for an SVG attribute: {value!r}")
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# -- Reading a page's SVG numbers back ---------------------------------------------------------

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER = re.compile(rf"^{NUMBER}$")
_LENGTH = re.compile(rf"^{NUMBER}(?:px|%|em|rem|pt|mm|cm|in)?$")
_SEPARATED = re.compile(rf"^\s*{NUMBER}(?:(?:\s+|\s*,\s*){NUMBER})*\s*$")
_PATH_DATA = re.compile(rf"^\s*(?:[MmLlHhVvCcSsQqTtAaZz]|{NUMBER}|[\s,])*$")
_TRANSFORM = re.compile(
    rf"^\s*(?:(?:matrix|translate|scale|rotate|skewX|skewY)\s*\(\s*{NUMBER}(?:(?:\s+|\s*,\s*){NUMBER})*\s*\)[\s,]*)*$"
)

# One number (a length where units are allowed): a list such as "236,5" is refused, even where
# SVG would take a list (a <text>'s x), since no chart of Ancrage means one.
SINGLE_NUMBER = {"x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "rx", "ry", "dx", "dy"}
SINGLE_LENGTH = {"width", "height", "stroke-width", "font-size", "opacity", "fill-opacity"}
LISTS = {"points": None, "stroke-dasharray": None, "viewbox": 4}


def _valid(name: str, value: str) -> bool:
    value = value.strip()
    if name in SINGLE_NUMBER:
        return bool(_NUMBER.match(value))
    if name in SINGLE_LENGTH:
        return bool(_LENGTH.match(value))
    if name in LISTS:
        if not _SEPARATED.match(value):
            return False
        count = LISTS[name]
        return count is None or len(re.findall(NUMBER, value)) == count
    if name == "d":
        # Path data takes commas between a point's coordinates ("M8.0,12.3 L…"), so a French
        # "12,3" cannot be told from two numbers there: each command must get whole points.
        return bool(_PATH_DATA.match(value)) and _path_counts_hold(value)
    if name == "transform":
        return bool(_TRANSFORM.match(value))
    return True


_ARITY = {"m": 2, "l": 2, "h": 1, "v": 1, "c": 6, "s": 4, "q": 4, "t": 2, "a": 7, "z": 0}


def _path_counts_hold(value: str) -> bool:
    for command, args in re.findall(r"([A-Za-z])([^A-Za-z]*)", value):
        arity = _ARITY[command.lower()]
        count = len(re.findall(NUMBER, args))
        if (arity == 0 and count) or (arity and (count == 0 or count % arity)):
            return False
    return True


class _SvgAttributes(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.errors: list[str] = []
        self.svg_count = 0

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)
        if tag == "svg":
            self.depth += 1
            self.svg_count += 1

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)
        if tag == "svg":
            self.svg_count += 1

    def handle_endtag(self, tag):
        if tag == "svg" and self.depth:
            self.depth -= 1

    def _check(self, tag, attrs):
        if tag != "svg" and not self.depth:
            return
        for name, value in attrs:
            if value is not None and not _valid(name.lower(), value):
                self.errors.append(f'<{tag} {name}="{value[:80]}">')


def svg_number_errors(html: str) -> list[str]:
    """Each SVG attribute of ``html`` that should hold numbers and does not, as ``<tag attr="…">``."""
    parser = _SvgAttributes()
    parser.feed(html)
    parser.close()
    return parser.errors


def svg_count(html: str) -> int:
    parser = _SvgAttributes()
    parser.feed(html)
    parser.close()
    return parser.svg_count
