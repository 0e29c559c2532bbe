"""Numbers as SVG, CSS and JSON read them, whatever the page's language.

Pure module: no Django. Django localises numbers in French templates ("13,1"), which SVG reads as
two numbers, or not at all: Chromium then drops a bar, or draws a text's digits apart. Every
number a template writes into an SVG attribute, a style or JSON goes through ``svg_number``
(the ``num`` filter of ``{% load svg %}``); tests/svg_numbers.py checks the pages' SVG.
"""

from __future__ import annotations

import math
from decimal import Decimal
from numbers import Real

# Enough for coordinates in a 600-unit drawing; fewer digits keep the pages small.
DECIMALS = 2


def svg_number(value) -> str:
    """``value`` with a dot for decimals, no thousands separator, no exponent: ``13.1``, ``-6``.

    Anything but a finite number (None, text, NaN, a boolean) is a mistake in the chart's code:
    it raises ``TypeError`` or ``ValueError`` rather than write an attribute no browser reads.
    """
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise TypeError(f"not a number for an SVG attribute: {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"not a finite number for an SVG attribute: {value!r}")
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
