"""The apps of Ancrage import one another in layers, never in a circle.

The graph is read from the source with ``ast``: every ``import`` and ``from … import`` of every
module of ``ancrage/`` (migrations aside), at module level or inside a function, since an import
put off until a call is still a dependency. An edge ``a → b`` means a module of app ``a`` imports
one of app ``b``. Models that name each other by string (``"organisations.Structure"``) are not
imports, and are not edges.
"""

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ancrage"

#: Apps that assemble the others (pages, demo, benchmarks, settings): no domain app imports them.
TOP_LAYERS = {"www", "demo", "bench", "config"}


def _apps(package: Path) -> set[str]:
    return {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def _module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[str, int]]:
    """Every module ``source`` imports, wherever the import stands, as absolute dotted names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            found.append((name, node.lineno))
            # ``from ancrage import diagnostic`` imports the app itself.
            found += [(f"{name}.{alias.name}", node.lineno) for alias in node.names]
    return found


def app_graph(package: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    """``{(app, imported app): ["ancrage/app/module.py:line", …]}`` over every module but migrations."""
    apps = _apps(package)
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if "migrations" in relative.parts or relative.parts[0] not in apps:
            continue
        app = relative.parts[0]
        module = _module_name(path, package)
        for name, line in imported_modules(
            path.read_text(encoding="utf-8"), module, path.name == "__init__.py"
        ):
            parts = name.split(".")
            if parts[0] == package.name and len(parts) > 1 and parts[1] in apps and parts[1] != app:
                where = f"{path.relative_to(package.parent)}:{line}"
                if where not in edges[(app, parts[1])]:
                    edges[(app, parts[1])].append(where)
    return dict(edges)


def find_cycle(edges) -> list[str] | None:
    """One cycle of the graph as ``[a, b, …, a]``, or None when it has none."""
    successors = defaultdict(set)
    for a, b in edges:
        successors[a].add(b)
    state: dict[str, str] = {}  # "open" while on the current path, then "done"
    path: list[str] = []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(successors[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(successors):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def _describe(cycle, edges) -> str:
    steps = [f"  {a} → {b}: {', '.join(edges[(a, b)][:3])}" for a, b in zip(cycle, cycle[1:], strict=False)]
    return "Import cycle between apps: " + " → ".join(cycle) + "\n" + "\n".join(steps)


# --- The rules ------------------------------------------------------------------------------------


def test_no_import_cycle_between_apps():
    edges = app_graph()
    cycle = find_cycle(edges)
    assert cycle is None, _describe(cycle, edges)


def test_no_domain_app_imports_a_top_layer():
    wrong = {
        (a, b): where for (a, b), where in app_graph().items() if a not in TOP_LAYERS and b in TOP_LAYERS
    }
    assert not wrong, "\n".join(
        f"{a} imports {b} (a top layer): {', '.join(w)}" for (a, b), w in wrong.items()
    )


def test_core_imports_no_other_app():
    wrong = {(a, b): where for (a, b), where in app_graph().items() if a == "core"}
    assert not wrong, "\n".join(f"core imports {b}: {', '.join(w)}" for (_a, b), w in wrong.items())


# --- The reader itself: it must see what the rules rely on ------------------------------------------


def test_the_reader_sees_lazy_relative_and_plain_imports(tmp_path):
    package = tmp_path / "ancrage"
    for app in ("alpha", "beta", "gamma", "delta"):
        (package / app).mkdir(parents=True)
        (package / app / "__init__.py").write_text("")
    (package / "alpha" / "a.py").write_text(
        "def later():\n    from ancrage.beta.b import thing  # put off until a call\n    return thing\n"
    )
    (package / "beta" / "b.py").write_text("import ancrage.gamma.c\nfrom ..delta import d\n")
    (package / "gamma" / "c.py").write_text("from ancrage import alpha\n")
    (package / "alpha" / "migrations").mkdir()
    (package / "alpha" / "migrations" / "0001.py").write_text("from ancrage.delta import d\n")
    edges = app_graph(package)
    assert set(edges) == {("alpha", "beta"), ("beta", "gamma"), ("beta", "delta"), ("gamma", "alpha")}
    assert edges[("alpha", "beta")] == ["ancrage/alpha/a.py:2"]
    assert find_cycle(edges) == ["alpha", "beta", "gamma", "alpha"]
    assert "alpha → beta → gamma → alpha" in _describe(find_cycle(edges), edges)
    del edges[("gamma", "alpha")]
    assert find_cycle(edges) is None
