"""System check on the collected static files, for ``check --deploy``.

With a manifest storage (production), a template that names a static file missing from the
manifest answers 500 on every page that uses it. This check reads the manifest that
``collectstatic`` wrote and every literal ``{% static '…' %}`` of Ancrage's templates.
"""

import json
import re
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import Error, Tags, register

import ancrage

STATIC_TAG = re.compile(r"""{%\s*static\s+(['"])(?P<name>[^'"]+)\1""")
HINT = "Lancez `ancrage collectstatic` (voir docs/exploitation.md)."


def template_static_names() -> set[str]:
    """The static files Ancrage's own templates name literally."""
    root = Path(ancrage.__file__).parent
    names = set()
    for path in root.glob("**/templates/**/*.html"):
        names.update(match["name"] for match in STATIC_TAG.finditer(path.read_text(encoding="utf-8")))
    return names


@register(Tags.staticfiles, deploy=True)
def check_static_manifest(app_configs=None, **kwargs):
    # Only the deploy checks: `collectstatic`, which writes the manifest, runs the staticfiles ones.
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return []
    manifest = Path(settings.STATIC_ROOT) / staticfiles_storage.manifest_name
    content = staticfiles_storage.read_manifest()
    if content is None:
        return [
            Error(
                f"Le manifeste des fichiers statiques ({manifest}) "
                "est absent : chaque page répondrait une erreur 500.",
                hint=HINT,
                id="ancrage.E010",
            )
        ]
    try:
        paths = json.loads(content)["paths"]
    except (ValueError, KeyError, TypeError):
        return [Error("Le manifeste des fichiers statiques est illisible.", hint=HINT, id="ancrage.E011")]
    missing = sorted(name for name in template_static_names() if name not in paths)
    if missing:
        return [
            Error(
                "Fichiers statiques utilisés par les gabarits mais absents du manifeste : "
                + ", ".join(missing),
                hint=HINT,
                id="ancrage.E012",
            )
        ]
    return []
