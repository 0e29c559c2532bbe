"""One renderer for the DSFR forms of every page (issue 8).

django-dsfr's ``DsfrBaseForm.default_renderer`` returns the renderer *class*: Django then makes a
new renderer for each form, hence a new template engine, and compiles every widget and field
template again on every request (a third of the référent's inbox). The forms of Ancrage share
one instance instead, as Django's own default renderer does.
"""

import functools

from django.conf import global_settings, settings
from django.forms.renderers import get_default_renderer
from dsfr.forms import DsfrDjangoTemplates


@functools.cache
def _dsfr_renderer() -> DsfrDjangoTemplates:
    return DsfrDjangoTemplates()


def dsfr_renderer():
    """What ``DsfrBaseForm.default_renderer`` chooses, built once per process."""
    if settings.FORM_RENDERER == global_settings.FORM_RENDERER:
        return _dsfr_renderer()
    return get_default_renderer()
