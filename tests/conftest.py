import pytest
from django.db import connection


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL seulement (DATABASE_URL)")


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
    refuse. For that one flush they are switched off: PostgreSQL stops firing triggers on this
    connection; SQLite cannot, so its triggers are dropped and created again from their own SQL.
    Both are restored when the flush sends ``post_migrate``.
    """
    from django.db import connection
    from django.db.models.signals import post_migrate

    yield
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
    import os

    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", settings.get_profile("ci"), max_examples=50)
    settings.register_profile(
        "full", max_examples=500, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_load_hypothesis_profile()
