import os
import shutil

import pytest
from django.db import connection


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL seulement (DATABASE_URL)")


DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup"}


def pytest_addoption(parser):
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="Only the tests that touch the database, without the browser and LibreOffice ones "
        "(CI's PostgreSQL job: the others already ran, and do not depend on the database).",
    )


def touches_database(item) -> bool:
    # pytest-django refuses database access to a test that asks for none of these.
    return (
        bool(DATABASE_FIXTURES & set(item.fixturenames)) or item.get_closest_marker("django_db") is not None
    )


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle, whose order it keeps
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith("tests/e2e/"):
            item.add_marker(pytest.mark.browser)
    if config.getoption("--database-tests-only"):
        kept, dropped = [], []
        for item in items:
            other_job = any(item.get_closest_marker(m) for m in ("browser", "libreoffice", "poppler"))
            (dropped if other_job or not touches_database(item) else kept).append(item)
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    demo_last_in_each_module(items)


def pytest_runtest_setup(item):
    if item.get_closest_marker("libreoffice"):
        from ancrage.conventions.custom_models import find_soffice

        if find_soffice() is None:
            if os.environ.get("ANCRAGE_REQUIRE_LIBREOFFICE") == "1":
                pytest.fail("LibreOffice (soffice) est absent, et ANCRAGE_REQUIRE_LIBREOFFICE=1")
            pytest.skip("LibreOffice (soffice) n'est pas installé")
    if item.get_closest_marker("poppler"):
        missing = [tool for tool in ("pdfinfo", "pdffonts", "pdftotext") if shutil.which(tool) is None]
        if missing:
            if os.environ.get("ANCRAGE_REQUIRE_POPPLER") == "1":
                pytest.fail(f"poppler-utils est absent ({', '.join(missing)}), et ANCRAGE_REQUIRE_POPPLER=1")
            pytest.skip(f"poppler-utils n'est pas installé ({', '.join(missing)})")


def demo_last_in_each_module(items):
    """In each module, the tests without the shared demo run before those with it: the demo's
    transaction stays open from its first test to the module's end, and would show the demo to
    a test that expects an empty database."""
    module_start: dict[str, int] = {}
    keys = {}
    for index, item in enumerate(items):
        start = module_start.setdefault(item.nodeid.split("::")[0], index)
        keys[item.nodeid] = (start, "_module_demo" in item.fixturenames, index)
    items.sort(key=lambda item: keys[item.nodeid])


@pytest.fixture(scope="module")
def _module_demo(request, django_db_setup, django_db_blocker):
    """The demo, loaded once for the module in a transaction rolled back after its last test.

    Loading it took 6 s, 4 of them rendering and sealing the conventions' documents; a module that
    reads no convention says so with ``pytestmark = pytest.mark.demo(conventions=False)``.
    """
    from django.db import transaction

    from ancrage.demo import loader

    marker = request.node.get_closest_marker("demo")
    conventions = marker.kwargs.get("conventions", True) if marker else True
    with django_db_blocker.unblock(), transaction.atomic():
        loader.load_demo(conventions=conventions)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(_module_demo, db):
    """The demo world (see ``_module_demo``); each test runs in a savepoint rolled back after it."""


@pytest.fixture(autouse=True, scope="session")
def _media_root(tmp_path_factory):
    """Files the tests write (generated conventions…) go to a temporary folder, never to var/."""
    from django.test import override_settings

    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


@pytest.fixture
def committed_db(transactional_db):
    """Committed rows (another thread, process or connection reads them), flushed after the test.

    The flush deletes every row, which the append-only triggers (audit, dossier history…)
    refuse: ``triggers_off_until_the_flush`` lets that one flush through.
    """
    yield
    triggers_off_until_the_flush()


def triggers_off_until_the_flush():
    """Switch the append-only triggers off until the next flush, which restores them.

    PostgreSQL stops firing triggers on this connection; SQLite cannot, so its triggers are
    dropped and created again from their own SQL. Both are restored when the flush sends
    ``post_migrate``.
    """
    from django.db import connection
    from django.db.models.signals import post_migrate

    uid = "ancrage-restore-triggers"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
            restore_sql = ["RESET session_replication_role"]
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            restore_sql = [sql for _name, sql in triggers]

    def restore(**kwargs):
        post_migrate.disconnect(dispatch_uid=uid)
        with connection.cursor() as cursor:
            for sql in restore_sql:
                cursor.execute(sql)

    post_migrate.connect(restore, weak=False, dispatch_uid=uid)


# --- Plugins of the suite (tests/plugins/) ---------------------------------------------------------

pytest_plugins = ["pytester", "tests.plugins.honesty", "tests.plugins.clean_tree"]


# --- Hypothesis profiles: HYPOTHESIS_PROFILE=ci (the default) or full ------------------------------


def _load_hypothesis_profile():
    """``ci``: hypothesis's own (derandomized, so every run tries the same examples; no deadline on
    a loaded machine; no example database), with 50 examples a test. ``full``: ten times more, at
    random, each failure printed with the blob that reproduces it. A test's own count scales the
    same way (tests/properties.py). pytest's ``--hypothesis-profile`` still overrides the variable."""
    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", settings.get_profile("ci"), max_examples=50)
    settings.register_profile(
        "full", max_examples=500, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_load_hypothesis_profile()
