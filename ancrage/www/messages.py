"""Errors shown as messages at the top of the next page (Django's messages framework)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError


def flash_errors(request, error) -> None:
    """Flash what went wrong, in French, as error messages.

    ``error`` is a ``ValidationError`` (its messages, in one message), an invalid bound form (one
    message per field, after the field's label), or an exception whose ``message`` (or text) is
    meant for the user, such as a refused workflow transition.
    """
    if isinstance(error, ValidationError):
        messages.error(request, " ".join(error.messages))
    elif isinstance(error, forms.BaseForm):
        for field, errors in error.errors.items():
            label = error.fields[field].label if field in error.fields else ""
            messages.error(request, f"{label} : {' '.join(errors)}" if label else " ".join(errors))
    else:
        messages.error(request, getattr(error, "message", None) or str(error))
