"""A test that passes must have checked something: one that ran no check fails.

A check is an ``assert`` of the tests (not of an installed package) that held, a ``pytest.raises``
or ``pytest.warns`` that saw what it expected, or a ``django_assert_num_queries`` /
``django_assert_max_num_queries`` block that held. Only the test's call counts, not its fixtures:
a test whose asserts all sit in a loop over nothing, behind an ``if`` never taken, or after an
early ``return`` fails instead of passing.

How asserts are counted: with ``enable_assertion_pass_hook`` (pyproject.toml), pytest rewrites
each assert so that, when it holds, it asks ``_check_if_assertion_pass_impl()`` whether to format
its explanation for the ``pytest_assertion_pass`` hook. That question is the count: this plugin
answers it, counting the asserts of the tests, and always answers no. The official hook would
have every passing assert formatted (a diff of two equal 16 MB strings, each internal assert of
hypothesis): measured, tests/suivi/test_health.py's two property tests took 25 s instead of 0.5 s.
The helper is pytest's private API (pytest is pinned in requirements/dev.txt); if a new pytest
drops it, the plugin says so.

pytest sees the asserts of the modules it rewrites: test modules, conftest files, the helper
modules of tests/ (registered below, before any test imports them), and the packages of pytest
plugins, such as hypothesis, whose own asserts do not count: they are installed packages.
"""

import contextlib
import marshal
import sys
import sysconfig
from pathlib import Path

import pytest
from _pytest.assertion import rewrite
from _pytest.raises import RaisesExc, RaisesGroup
from _pytest.recwarn import WarningsChecker

TESTS = Path(__file__).parents[1]
_INSTALLED = tuple({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})

_checks = 0  # checks the running test's call has made


def _count() -> None:
    global _checks
    _checks += 1


def _helper_modules() -> list[str]:
    """The modules of tests/ that are neither test modules nor conftest files, not yet imported."""
    names = []
    for path in sorted(TESTS.rglob("*.py")):
        folders = path.relative_to(TESTS.parent).parents[:-1]  # tests/a/b.py: tests/a, tests
        if path.name.startswith("test_") or path.name == "conftest.py":
            continue
        if not all((TESTS.parent / folder / "__init__.py").exists() for folder in folders):
            continue  # not importable as a module of the tests package
        parts = path.relative_to(TESTS.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name not in sys.modules:
            names.append(name)
    return names


pytest.register_assert_rewrite(*_helper_modules())


def _names(code) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names(const)
    return names


def _forget_rewrites_without_the_hook() -> None:
    """Delete the rewritten modules pytest cached before the hook was switched on.

    pytest keys its cache of rewritten modules on the source alone: a module rewritten without the
    hook would be read back as is, its asserts would count for nothing, and its tests would fail.
    """
    for pyc in TESTS.rglob(f"__pycache__/*{rewrite.PYC_TAIL}"):
        try:
            names = _names(marshal.loads(pyc.read_bytes()[16:]))
        except (OSError, ValueError, EOFError, TypeError):
            continue
        if "_format_explanation" in names and "_check_if_assertion_pass_impl" not in names:
            pyc.unlink(missing_ok=True)


def _assertion_held() -> bool:
    """Count an assert that held, unless an installed package's; never ask pytest to explain it."""
    if not sys._getframe(1).f_code.co_filename.startswith(_INSTALLED):
        _count()
    return False


def _counting_exit(exit_):
    def __exit__(self, *exc_info):
        suppressed = exit_(self, *exc_info)
        _count()  # the original fails (raises) when what was expected did not happen
        return suppressed

    return __exit__


_ENABLED = pytest.StashKey[bool]()
_SAVED = pytest.StashKey[list]()
_PATCHES = [(RaisesExc, "__exit__"), (RaisesGroup, "__exit__"), (WarningsChecker, "__exit__")]


def pytest_configure(config):
    enabled = config.getini("enable_assertion_pass_hook") and config.getoption("assertmode") == "rewrite"
    config.stash[_ENABLED] = enabled
    if not enabled:
        return
    if not callable(getattr(rewrite, "_check_if_assertion_pass_impl", None)):
        raise pytest.UsageError(
            "tests/plugins/honesty.py: this pytest rewrites asserts without _check_if_assertion_pass_impl; "
            "count passing asserts another way (the pytest_assertion_pass hook) before upgrading."
        )
    _forget_rewrites_without_the_hook()
    from pytest_django import fixtures

    config.stash[_SAVED] = [(owner, name, getattr(owner, name)) for owner, name in _PATCHES]
    config.stash[_SAVED].append((fixtures, "_assert_num_queries", fixtures._assert_num_queries))
    config.stash[_SAVED].append(
        (rewrite, "_check_if_assertion_pass_impl", rewrite._check_if_assertion_pass_impl)
    )
    for owner, name in _PATCHES:
        setattr(owner, name, _counting_exit(getattr(owner, name)))
    fixtures._assert_num_queries = _counting_num_queries(fixtures._assert_num_queries)
    rewrite._check_if_assertion_pass_impl = _assertion_held


def _counting_num_queries(assert_num_queries):
    @contextlib.contextmanager
    def counting(*args, **kwargs):
        with assert_num_queries(*args, **kwargs) as context:
            yield context
        _count()  # reached only when the count held (pytest.fail otherwise)

    return counting


def pytest_unconfigure(config):
    for owner, name, original in config.stash.get(_SAVED, []):
        setattr(owner, name, original)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item):
    global _checks
    _checks = 0
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if (
        call.when == "call"
        and report.passed
        and not hasattr(report, "wasxfail")
        and item.config.stash.get(_ENABLED, False)
        and _checks == 0
    ):
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} passed without checking anything: no assert held, no pytest.raises, "
            "pytest.warns or query count ran (an assert in a loop over nothing, behind an if never "
            "taken, or after an early return?). Make the test check what it claims, or skip it."
        )
    return report
