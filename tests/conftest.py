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
