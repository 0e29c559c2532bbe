"""Geometry of the suivi's charts (bilan annuel, dashboard): numbers in, SVG coordinates out.

Pure module: no Django. Templates draw the SVG with presentation attributes only (the CSP forbids
inline styles and scripts), as the diagnostic's charts do.
"""

from __future__ import annotations

from collections.abc import Sequence

LABEL_WIDTH = 230
PLOT_WIDTH = 330
ROW = 26
TOP = 8
BAR = 16

COLOURS = {"bleu": "#000091", "vert": "#18753c", "orange": "#b34000", "rouge": "#c9191e", "gris": "#929292"}


def bar_chart(
    rows: Sequence[tuple[str, float]], *, maximum: float | None = None, colours=None
) -> dict | None:
    """Horizontal bars, one per (label, value); ``colours`` a colour key per row (default blue)."""
    if not rows:
        return None
    top = maximum if maximum is not None else max((value for _, value in rows), default=0)
    scale = PLOT_WIDTH / top if top > 0 else 0.0
    bars = []
    for i, (label, value) in enumerate(rows):
        y = TOP + i * ROW
        width = round(value * scale, 1)
        colour = COLOURS[(colours[i] if colours else None) or "bleu"]
        bars.append(
            {
                "label": label,
                "value": value,
                "y": y,
                "text_y": y + BAR - 3,
                "width": width,
                "value_x": LABEL_WIDTH + width + 6,
                "colour": colour,
            }
        )
    return {
        "width": LABEL_WIDTH + PLOT_WIDTH + 60,
        "height": TOP + len(rows) * ROW + 4,
        "label_x": LABEL_WIDTH - 8,
        "plot_x": LABEL_WIDTH,
        "bar_height": BAR,
        "bars": bars,
    }


def age_band(birth_year: int | None, year: int) -> str:
    """The INSEE band (0-14 … 75+) of a person born in ``birth_year``, in ``year``."""
    if birth_year is None:
        return "âge inconnu"
    age = year - birth_year
    for low, high in ((0, 14), (15, 29), (30, 44), (45, 59), (60, 74)):
        if age <= high:
            return f"{low}-{high} ans"
    return "75 ans et plus"


AGE_ORDER = ("0-14 ans", "15-29 ans", "30-44 ans", "45-59 ans", "60-74 ans", "75 ans et plus", "âge inconnu")
