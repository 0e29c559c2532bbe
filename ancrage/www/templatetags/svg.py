"""``{% load svg %}``: the ``num`` filter, for every number written into SVG, CSS or JSON."""

from django import template

from ancrage.core.svg import svg_number

register = template.Library()


@register.filter(is_safe=True)
def num(value) -> str:
    """``{{ bar.width|num }}``: ``13.1``, never the French ``13,1`` (ancrage.core.svg)."""
    return svg_number(value)
