"""Checks on the codebase itself: the architecture rules that a reader relies on."""

import ast
import subprocess
import sys
from pathlib import Path

from django.apps import apps

from ancrage.organisations.scoping import Scoping

PACKAGE = Path(__file__).resolve().parents[1] / "ancrage"

# Models that are not scoped by structure, and why.
UNSCOPED_MODELS = {
    "accounts.user": "a person; what they see comes from their memberships",
    "organisations.membership": "read only through scope_for(user)",
    "audit.auditentry": "read through the journal page, filtered by the scope's EPNs",
}


def _module_files():
    return [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]


def _is_pure(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree) or ""
    return "Pure module" in doc


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_pure_modules_import_no_django():
    pure = [p for p in _module_files() if _is_pure(p)]
    assert {"cog.py", "importing.py"} <= {p.name for p in pure}
    for path in pure:
        django_imports = {name for name in _imports(path) if name.split(".")[0] == "django"}
        assert not django_imports, f"{path} is a pure module but imports {django_imports}"


def test_pure_modules_load_without_django_even_indirectly():
    pure = [p for p in _module_files() if _is_pure(p)]
    modules = [".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts) for p in pure]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_model_is_scoped_or_explained():
    for model in apps.get_models():
        if not model.__module__.startswith("ancrage."):
            continue
        label = model._meta.label_lower
        if label in UNSCOPED_MODELS:
            continue
        assert isinstance(getattr(model, "scoping", None), Scoping), (
            f"{label} declares no `scoping`: pages could not read it through visible_to()."
        )
        assert hasattr(model.objects, "visible_to"), f"{label}.objects has no visible_to()"


def test_domain_apps_hold_no_views():
    for path in _module_files():
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in {"www", "config"}:
            continue
        assert path.name not in {"views.py", "urls.py"}, f"{relative}: pages belong in ancrage/www/"


def test_no_template_or_code_loads_anything_from_outside():
    for path in list(PACKAGE.rglob("*.html")) + _module_files():
        text = path.read_text(encoding="utf-8")
        for marker in ('src="http', 'href="http', "cdn.", "fonts.googleapis"):
            assert marker not in text, f"{path} loads {marker!r} from outside"
