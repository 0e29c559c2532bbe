"""Every URL × every role × (own object, another structure's, another collectivité's, another
réseau's) gives the status written in ``matrix.py``. A new URL without an entry fails here.

The checks run as production does: the second factor is required (and given, for the roles that
need it), and login throttling is on.
"""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ancrage.accounts.middleware import SECOND_FACTOR_EXEMPT
from tests.security.matrix import COLUMNS, MATRIX, ROLES
from tests.security.world import World, login

SKIPPED_PREFIXES = ("admin/", "static/", "media/", "__debug__/")


def project_urls() -> dict[str, str]:
    """``{"namespace:name": "route"}`` for every URL pattern of the project, admin aside."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(SKIPPED_PREFIXES):
                continue
            if isinstance(pattern, URLResolver):
                ns = ":".join(filter(None, [namespace, pattern.namespace])) or None
                walk(pattern.url_patterns, route, ns)
            elif isinstance(pattern, URLPattern):
                name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
                found[name or f"<sans nom> {route}"] = route

    walk(get_resolver().url_patterns, "", None)
    return found


def test_every_url_has_an_entry():
    urls = project_urls()
    unnamed = sorted(name for name in urls if name.startswith("<sans nom>"))
    assert not unnamed, f"Give these URL patterns a name (path(..., name=...)): {unnamed}"
    missing = sorted(set(urls) - set(MATRIX))
    assert not missing, (
        "These views have no entry in tests/security/matrix.py: "
        + ", ".join(f"{name} ({urls[name]})" for name in missing)
        + ". Add one per view: the status each role gets on its own object, another structure's, "
        "another collectivité's and another réseau's (the docstring of matrix.py shows how)."
    )
    stale = sorted(set(MATRIX) - set(urls))
    assert not stale, f"tests/security/matrix.py has entries for URLs that no longer exist: {stale}"


def test_every_entry_is_complete():
    for name, entry in MATRIX.items():
        assert set(entry.expected) == set(ROLES), f"{name}: give a status for each of {ROLES}"
        for role, status in entry.expected.items():
            if entry.kwargs is None:
                assert isinstance(status, int), f"{name}/{role}: one status (no object in this URL)"
            else:
                assert isinstance(status, tuple) and len(status) == len(COLUMNS), (
                    f"{name}/{role}: one status per column {COLUMNS}"
                )


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """One world for the module: building it (the demo's accounts and places) was most of the
    matrix's time. It lives in a transaction rolled back after the module's last test, and each
    test runs in a savepoint inside it (pytest-django's ``db``), rolled back after the test."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield World()
        transaction.set_rollback(True)


@pytest.fixture
def world(shared_world, db, settings):
    settings.ANCRAGE_REQUIRE_TOTP = True
    shared_world.forget_lazy_records()
    return shared_world


def _request(client, entry, url, data):
    # Each request in a savepoint rolled back afterwards: a writing view leaves the world as it was.
    with transaction.atomic():
        response = getattr(client, entry.method)(url, data)
        transaction.set_rollback(True)
    # A download streams its file: drain it so the test client closes it. Never call
    # response.close() here: it sends request_finished, whose close_old_connections
    # drops the PostgreSQL connection inside the test's transaction.
    if response.streaming:
        for _chunk in response.streaming_content:
            pass
    return response


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_permission_matrix(world, name):
    entry = MATRIX[name]
    mismatches = []
    for role in ROLES:
        expected = entry.expected[role]
        cases = (
            [(None, None, expected)]
            if entry.kwargs is None
            else list(zip(COLUMNS, world.columns[role], expected, strict=True))
        )
        for column, structure, status in cases:
            kwargs = entry.kwargs(world, structure) if entry.kwargs else {}
            url = reverse(name, kwargs=kwargs)
            client = Client()
            user = world.user(role)
            if user is not None:
                login(client, user)
            response = _request(client, entry, url, entry.data_for(world, structure))
            if response.status_code != status:
                mismatches.append(
                    f"{role} × {column or '-'} ({url}): {response.status_code}, attendu {status}"
                )
    assert not mismatches, f"{name}:\n" + "\n".join(mismatches)


@pytest.mark.parametrize("name", sorted(set(MATRIX) - SECOND_FACTOR_EXEMPT))
def test_without_second_factor_every_page_asks_for_it(world, name):
    """A référent who gave only their password reaches no page but the second-factor ones."""
    entry = MATRIX[name]
    kwargs = entry.kwargs(world, world.blosne) if entry.kwargs else {}
    client = Client()
    login(client, world.user("referent"), verified=False)
    response = _request(client, entry, reverse(name, kwargs=kwargs), entry.data_for(world, world.blosne))
    assert response.status_code == 302, name
    assert response["Location"].startswith(reverse("accounts:second-factor")), name
