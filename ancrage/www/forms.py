"""What every page's forms share: the DSFR form base, and a refused write shown on its form."""

from django import forms
from django.core.exceptions import ValidationError
from dsfr.forms import DsfrBaseForm

from ancrage.www.forms_renderer import dsfr_renderer


class AncrageForm(DsfrBaseForm):
    """DSFR form that marks optional fields, as the DSFR now recommends.

    django-dsfr warns on every render until a project chooses; choosing here, per form, keeps the
    test suite (warnings are errors) quiet without a transitional setting that warns too.
    """

    @property
    def default_renderer(self):
        return dsfr_renderer()  # one engine per process, not one per form

    def get_context(self):
        context = forms.Form.get_context(self)
        context.setdefault("DSFR_MARK_OPTIONAL_FIELDS", True)
        return context


def add_validation_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` on the form: each message under the field it names,
    at the top of the form when it names no field of this form (or none at all)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
