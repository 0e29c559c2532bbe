from django import template

from ancrage.actions.budget import format_euros

register = template.Library()


@register.filter
def euros(amount) -> str:
    """French money format (narrow no-break spaces, comma, €), as the budget module writes it."""
    if amount is None or amount == "":
        return ""
    return format_euros(amount)


@register.filter
def pourcent(value) -> str:
    return f"{value} %".replace(".", ",")
