"""One renderer for the DSFR forms of every page.

django-dsfr's ``DsfrBaseForm.default_renderer`` returns the renderer *class*: Django then makes a
new renderer for each form, hence a new template engine, and compiles every widget and field
template again on every request (a third of the référent's inbox). The forms of Ancrage share
one instance instead, as Django's own default renderer does.

``RenderedOnceForm`` keeps the HTML of the pages' filter forms (the référent's inbox), which cost a
quarter of that page even with compiled templates.
"""

import datetime as dt
import decimal
import functools
import hashlib

from django.conf import global_settings, settings
from django.core.cache import cache
from django.forms.renderers import get_default_renderer
from django.utils.functional import Promise
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from dsfr.forms import DsfrDjangoTemplates


@functools.cache
def _dsfr_renderer() -> DsfrDjangoTemplates:
    return DsfrDjangoTemplates()


def dsfr_renderer():
    """What ``DsfrBaseForm.default_renderer`` chooses, built once per process."""
    if settings.FORM_RENDERER == global_settings.FORM_RENDERER:
        return _dsfr_renderer()
    return get_default_renderer()


# --- Filter forms rendered once per state ----------------------------------------------------------

FORM_CACHE_SECONDS = 3600


class _Unkeyable(TypeError):
    """A form attribute whose content a key cannot name (a queryset's choices, a callable)."""


def _frozen(value):
    """A hashable, printable image of a form attribute (choices, attrs, data), lazy strings forced.

    Only values whose content is known are accepted: anything else (a ``ModelChoiceIterator``, a
    callable initial value) raises ``_Unkeyable`` and the form is rendered without the cache,
    rather than under a key that would not name what it shows.
    """
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if value is None or isinstance(value, (str, int, float, bool, dt.date, dt.time, decimal.Decimal)):
        return value
    raise _Unkeyable(type(value).__name__)


class RenderedOnceForm:
    """For GET filter forms: the HTML is rendered once per state and kept in Django's cache.

    A filter form's HTML is a pure function of its class, its fields (label, help text, required,
    widget and its attributes, choices: the EPNs a user may filter on are choices, so they are in
    the key with their names), its data when bound (the errors follow from it), its initial
    values, its prefix and the active language. The cache key is a digest of all of that and of
    nothing else: two users who see the same choices and sent the same filters get the same HTML,
    and any change of a choice, a label or a filter is another key. Only forms without a CSRF
    token (GET forms) may use it: their HTML holds nothing of the request beyond their data.
    """

    def render_key(self) -> str | None:
        """The cache key of this form's HTML, or None when an attribute cannot be named."""
        try:
            state = self._render_state()
        except _Unkeyable:
            return None
        digest = hashlib.sha256(repr(state).encode()).hexdigest()
        return f"form-html:{digest}"

    def _render_state(self) -> tuple:
        fields = []
        for name, field in self.fields.items():
            html_name = self.add_prefix(name)
            if not self.is_bound:
                data = None
            elif hasattr(self.data, "getlist"):
                data = self.data.getlist(html_name)
            else:
                data = self.data.get(html_name)
            widget = field.widget
            fields.append(
                (
                    name,
                    type(field).__qualname__,
                    type(widget).__qualname__,
                    _frozen(widget.attrs),
                    _frozen(getattr(widget, "format", None)),
                    _frozen(field.label),
                    _frozen(field.help_text),
                    field.required,
                    field.disabled,
                    _frozen(getattr(field, "choices", None)),
                    _frozen(data),
                    _frozen(self.initial.get(name, field.initial)),
                )
            )
        return (
            type(self).__module__,
            type(self).__qualname__,
            self.is_bound,
            self.prefix,
            self.auto_id,
            get_language(),
            tuple(fields),
        )

    def render(self, template_name=None, context=None, renderer=None):
        if template_name is not None or context is not None or renderer is not None:
            return super().render(template_name, context, renderer)
        key = self.render_key()
        if key is None:
            return super().render()
        html = cache.get(key)
        if html is None:
            html = str(super().render())
            cache.set(key, html, FORM_CACHE_SECONDS)
        return mark_safe(html)  # rendered by the form's own templates, escaped there

    __str__ = render
    __html__ = render
