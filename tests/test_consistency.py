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
    "accounts.apitoken": "a person's own credential: read by its owner's account page and the API's login",
    "audit.auditentry": "read through the journal page, filtered by the scope's EPNs",
    "audit.audittrailanchor": "one row for the whole trail, read only by the chain's verifier",
    "demo.courrieldemo": "demo only: its e-mails, shown to every demo visitor (prod refuses its backend)",
    "demo.piecejointedemo": "demo only: the attachments of those e-mails",
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


# The one module that names roles for decisions, and the modules allowed to name a role anyway.
PERMISSIONS_MODULE = PACKAGE / "organisations" / "permissions.py"
NAMES_ROLES_FOR_DATA = {
    PACKAGE / "demo" / "loader.py": "creates the demo's accounts, each with its role",
}
ROLE_HOMES = {"ancrage.organisations.permissions", "ancrage.organisations.enums"}


def _role_members_named(path: Path) -> list[str]:
    """Every ``Role.<MEMBER>`` in the file, whatever name ``Role`` was imported under, and every
    ``permissions.Role.<MEMBER>`` / ``enums.Role.<MEMBER>`` reached through the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    role_names, module_names = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ROLE_HOMES:
            role_names |= {alias.asname or alias.name for alias in node.names if alias.name == "Role"}
        elif isinstance(node, ast.ImportFrom) and node.module == "ancrage.organisations":
            module_names |= {
                alias.asname or alias.name for alias in node.names if alias.name in {"permissions", "enums"}
            }
        elif isinstance(node, ast.Import):
            module_names |= {
                alias.asname for alias in node.names if alias.name in ROLE_HOMES and alias.asname
            }
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.isupper()):
            continue
        owner = node.value
        named_role = isinstance(owner, ast.Name) and owner.id in role_names
        through_module = (
            isinstance(owner, ast.Attribute)
            and owner.attr == "Role"
            and isinstance(owner.value, ast.Name)
            and owner.value.id in module_names
        )
        if named_role or through_module:
            found.append(f"line {node.lineno}: Role.{node.attr}")
    return found


def test_no_module_but_permissions_names_a_role():
    """Who may do what is decided in organisations/permissions.py: other modules ask it for a
    named group (``permissions.EPN_TEAM``, ``GRANTS[...]``, ``DOSSIER_INSTRUCTORS``…) or for a
    decision (``Scope.may``, ``check_may``), and never name a role themselves. A role compared as
    a bare string ("responsable") is not caught here: the values are easy to grep for."""
    offenders = {}
    for path in _module_files():
        if path == PERMISSIONS_MODULE or path in NAMES_ROLES_FOR_DATA:
            continue
        found = _role_members_named(path)
        if found:
            offenders[str(path.relative_to(PACKAGE))] = found
    assert not offenders, (
        "Name a group or ask for a decision in ancrage/organisations/permissions.py instead "
        f"(docs/recipes/role-permission.md): {offenders}"
    )
    for path in NAMES_ROLES_FOR_DATA:
        assert _role_members_named(path), f"{path} names no role any more: drop it from the exceptions"


def test_the_check_finds_a_role_under_any_name(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from ancrage.organisations import permissions\n"
        "from ancrage.organisations.enums import Role as OrgRole\n"
        "a = OrgRole.ELU\nb = permissions.Role.ELU\nc = OrgRole.choices\n",
        encoding="utf-8",
    )
    assert _role_members_named(sample) == ["line 3: Role.ELU", "line 4: Role.ELU"]


def test_one_role_enum():
    """The dossier workflow once had a Role of its own: there is one, in permissions.py."""
    defined = [
        str(path.relative_to(PACKAGE))
        for path in _module_files()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "Role"
    ]
    assert defined == ["organisations/permissions.py"]
