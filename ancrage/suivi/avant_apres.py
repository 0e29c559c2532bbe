"""Before and after an action: how the representation of its target publics moved.

Pure module: no Django. Two saved diagnostics (their ``resultat`` JSON) are compared on the
categories an action targets. The index of representation is the share of a category among the
users divided by its share in the population (1 = as many as in the population). Its 95 %
interval is the interval of the users' share, divided by the population's share.

The verdict only calls a movement real when the two intervals do not overlap: with small counts a
rise of the index can be chance, and the page says so rather than claim a success.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ancrage.diagnostic.cibles import category_label
from ancrage.partenaires.publics import reaches, split_public

HAUSSE = "hausse"
BAISSE = "baisse"
INCERTAIN = "incertain"
INCONNU = "inconnu"


@dataclass(frozen=True)
class Side:
    usagers: int
    index: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Movement:
    key: str
    label: str
    before: Side | None
    after: Side | None
    verdict: str
    explanation: str


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}".replace(".", ",")


def side_of(category: Mapping) -> Side:
    """Index and its interval from one category of a diagnostic's result."""
    share = category.get("part_population")
    index = category.get("indice_representation")
    interval = category.get("ic95") or (None, None)
    low = high = None
    if share and interval[0] is not None and interval[1] is not None:
        low, high = interval[0] / share, interval[1] / share
    return Side(int(category.get("usagers") or 0), index, low, high)


def _find(result: Mapping, key: str) -> Mapping | None:
    """The category of a diagnostic matching a target public (age bands may differ: overlap)."""
    dimension, categorie = split_public(key)
    exact = None
    overlapping = None
    for c in result.get("categories", []):
        if c.get("dimension") != dimension:
            continue
        other = f"{c['dimension']}:{c['categorie']}"
        if other == key:
            exact = c
            break
        if overlapping is None and reaches([other], key):
            overlapping = c
    return exact or overlapping


def compare(before: Mapping | None, after: Mapping, targets: Sequence[str]) -> list[Movement]:
    """One movement per target public (``"dimension:categorie"``) of the action."""
    movements = []
    for key in targets:
        dimension, categorie = split_public(key)
        label = category_label(dimension or None, categorie or None)
        a = _find(after, key)
        b = _find(before, key) if before else None
        side_a = side_of(a) if a else None
        side_b = side_of(b) if b else None
        if side_a is None or side_b is None or side_a.index is None or side_b.index is None:
            movements.append(
                Movement(key, label, side_b, side_a, INCONNU, f"{label} : pas de comparaison possible.")
            )
            continue
        figures = f"indice {_fmt(side_b.index)} avant, {_fmt(side_a.index)} après"
        if None not in (side_a.low, side_a.high, side_b.low, side_b.high):
            if side_a.low > side_b.high:
                verdict = HAUSSE
                text = "la représentation a nettement progressé (les intervalles ne se chevauchent pas)"
            elif side_a.high < side_b.low:
                verdict, text = (
                    BAISSE,
                    "la représentation a nettement reculé (les intervalles ne se chevauchent pas)",
                )
            else:
                verdict = INCERTAIN
                text = "l'écart reste dans la marge d'incertitude : on ne peut pas conclure à un changement"
            figures += (
                f" (intervalle à 95 % : {_fmt(side_b.low)}–{_fmt(side_b.high)} avant, "
                f"{_fmt(side_a.low)}–{_fmt(side_a.high)} après)"
            )
        else:
            verdict, text = INCERTAIN, "l'incertitude n'est pas connue : prudence"
        movements.append(Movement(key, label, side_b, side_a, verdict, f"{label} : {figures} ; {text}."))
    return movements
