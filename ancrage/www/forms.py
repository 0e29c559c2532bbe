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


class SecteursField(forms.MultipleChoiceField):
    """Sectors picked by name (checkboxes grouped by quartiers, communes, IRIS), stored as codes.

    The values are codes, as the typed list was: a code outside the choices (an older action's, a
    partner's sector beyond the territory) stays valid, and a list of codes separated by commas
    (``parse_codes``) is still read, so that the stored values and their validation do not change.
    The view gives the choices with :meth:`offer`.
    """

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("choices", ())
        super().__init__(**kwargs)

    def offer(self, epns, chosen=(), noms=None) -> None:
        """Offer the sectors of ``epns`` (``territoire.services.secteur_choices``), and ``chosen``."""
        from ancrage.territoire.services import secteur_choices

        epns = list(epns)
        chosen = list(chosen or ())
        if len(epns) == 1:
            self.choices = secteur_choices(epns[0], extra=chosen, noms=noms)
            return
        choices = []
        for epn in epns:
            choices += [
                (f"{epn.nom} — {title}", options) for title, options in secteur_choices(epn, noms=noms)
            ]
        offered = {value for _title, options in choices for value, _label in options}
        others = [(c, (noms or {}).get(c, c)) for c in chosen if c not in offered]
        if others:
            choices.append(("Autres secteurs déjà choisis", others))
        self.choices = choices

    def to_python(self, value):
        from ancrage.partenaires.publics import parse_codes

        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        return list(dict.fromkeys(code for item in value for code in parse_codes(str(item))))

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")

    def has_changed(self, initial, data):
        return self.to_python(initial) != self.to_python(data)
