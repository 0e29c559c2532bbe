"""No test writes into the tree: the session fails if it changed a tracked file or left a new one.

At the start, ``git status`` lists what the developer had already changed (modified, added,
deleted, untracked files), with each one's size and modification time; at the end, the same
again. A path that appears, disappears, or whose state, size or time changed was written during
the run, and the session fails naming it. Files git ignores (.venv, __pycache__, var/,
.hypothesis/…) are not looked at, nor is the folder ANCRAGE_SCREENSHOTS_DIR names when a developer
refreshes the docs' captures (tests/e2e/conftest.py). Without git or outside a git work tree (a
tarball), there is nothing to compare and no check.
"""

import os
import subprocess
from pathlib import Path

import pytest

_BEFORE = pytest.StashKey[dict]()
_ROOT = pytest.StashKey[Path]()


def _git(root: Path, *args: str) -> bytes | None:
    try:
        return subprocess.run(
            ["git", "--no-optional-locks", *args], cwd=root, capture_output=True, check=True, timeout=120
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.lstat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _state(root: Path) -> dict[str, tuple] | None:
    """Each path git reports as changed or untracked: its status, size and modification time."""
    out = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    if out is None:
        return None
    state = {}
    fields = iter(out.split(b"\0"))
    for field in fields:
        if not field:
            continue
        code, path = field[:2].decode(), os.fsdecode(field[3:])
        if "R" in code or "C" in code:
            next(fields, None)  # a rename or copy: its former path follows
        state[path] = (code, _stamp(root / path))
    return state


def _exempt(root: Path) -> list[Path]:
    folder = os.environ.get("ANCRAGE_SCREENSHOTS_DIR")
    return [(root / folder).resolve()] if folder else []


def pytest_sessionstart(session):
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: the controller checks the whole run
    top = _git(session.config.rootpath, "rev-parse", "--show-toplevel")
    if top is None:
        return
    root = Path(os.fsdecode(top.strip()))
    state = _state(root)
    if state is not None:
        session.config.stash[_ROOT] = root
        session.config.stash[_BEFORE] = state


def pytest_sessionfinish(session):
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    root = session.config.stash[_ROOT]
    after = _state(root)
    if after is None:
        return
    exempt = _exempt(root)
    changed = sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path)
        and not any((root / path).resolve().is_relative_to(folder) for folder in exempt)
    )
    if not changed:
        return
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [
        f"The suite wrote into the tree ({root}); a test must write into tmp_path instead.",
        "Changed, created or deleted during the run (a file you edited meanwhile shows here too):",
        *(f"    {after[path][0] if path in after else 'as committed or gone'}  {path}" for path in changed),
    ]
    if reporter is None:
        print("\n".join(lines))
        return
    reporter.write("\n")
    reporter.write_sep("=", "files written into the tree", red=True, bold=True)
    for line in lines:
        reporter.write_line(line)
