"""Compile the templates before the first request.

Django's cached template loader compiles a template the first time a page asks for it, in each
process: on a fresh gunicorn worker the first page with a DSFR form took about 0.6 s of a loaded
core (the form and widget templates of the forms' own engine). ``warm_templates`` compiles, once,
every template the site's engine and the forms' engine can find. With ``gunicorn --preload`` it
runs in the master, before the workers are forked, and every worker starts with the compiled
templates (shared copy-on-write). Compiling reads files only: no request, no database.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines

from ancrage.www.forms_renderer import dsfr_renderer

logger = logging.getLogger(__name__)

# Template folders no page of Ancrage renders: the admin is not routed, and the e-mails are
# compiled when sent.
SKIPPED = ("admin/", "registration/")
SUFFIXES = (".html", ".txt")


def _template_names(engine) -> set[str]:
    names = set()
    for loader in engine.template_loaders:
        for directory in loader.get_dirs():
            root = Path(directory)
            if not root.is_dir():
                continue
            for path in root.rglob("*"):
                name = path.relative_to(root).as_posix()
                if path.suffix in SUFFIXES and not name.startswith(SKIPPED):
                    names.add(name)
    return names


def warm_templates() -> int:
    """Compile every template of the site's engine and of the forms' engine; returns how many."""
    compiled = 0
    backends = [engines["django"], dsfr_renderer().engine]
    for backend in backends:
        engine = backend.engine
        for name in sorted(_template_names(engine)):
            try:
                engine.get_template(name)
            except (TemplateDoesNotExist, TemplateSyntaxError, UnicodeDecodeError) as exc:
                # A third-party template that needs a library Ancrage does not load: pages never
                # ask for it, it would fail at request time just the same.
                logger.debug("template %s not compiled: %s", name, exc)
                continue
            compiled += 1
    return compiled
