"""Every URL × every role × (own object, another structure's, another collectivité's, another
réseau's) gives the status written in ``matrix.py``. A new URL without an entry fails here.

The checks run as production does: the second factor is required (and given, for the roles that
need it), and login throttling is on.
"""

import datetime as dt

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ancrage.accounts.middleware import SECOND_FACTOR_EXEMPT
from ancrage.organisations import permissions
from ancrage.organisations.permissions import Permission
from ancrage.partenaires.models import ImportAnnuaire
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


# The pages each permission of ``organisations/permissions.py`` opens. On its own EPN's record,
# exactly the roles the module grants the permission get through; the statuses themselves are
# written in matrix.py, independently of the module.
PAGES_OF = {
    Permission.ACTION_WRITE: (
        "actions:create",
        "actions:update",
        "actions:transition",
        "actions:objectif_add",
        "actions:objectif_delete",
        "actions:seance_add",
        "actions:seance_delete",
        "actions:partenaire_add",
        "actions:partenaire_remove",
        "actions:reunion_create",
        "actions:reunion_update",
        "actions:decision_add",
    ),
    Permission.SUIVI_WRITE: (
        "suivi:relance_defaut",
        "suivi:echange_add",
        "suivi:promotion_add",
        "suivi:relance",
        "suivi:echange_delete",
        "suivi:promotion_delete",
        "suivi:evaluation",
        "suivi:avant_apres",
        "suivi:feuille",
        "suivi:import",
    ),
    Permission.CONVENTION_WRITE: (
        "conventions:create",
        "conventions:modeles",
        "conventions:update",
        "conventions:generate",
        "conventions:submit",
        "conventions:withdraw",
        "conventions:terminate",
        "conventions:avenant",
    ),
    Permission.DOSSIER_WRITE: (
        "dossiers:create",
        "dossiers:edit",
        "dossiers:refresh",
        "dossiers:piece_add",
        "dossiers:piece_delete",
    ),
    Permission.DIAGNOSTIC_WRITE: (
        "diagnostic:import",
        "diagnostic:compute",
        "diagnostic:usagers_export",
        "diagnostic:frequentation_delete",
        "diagnostic:population",
        "diagnostic:delete",
    ),
    Permission.ANNUAIRE_WRITE: (
        "partenaires:create",
        "partenaires:update",
        "partenaires:contact_add",
        "partenaires:contact_delete",
        "partenaires:import",
        "partenaires:import_preview",
        "partenaires:lieu_epn",
        "partenaires:lieu_epn_csv",
        "partenaires:lieu_epn_json",
    ),
    Permission.USAGER_DATA: ("frequentation:usager",),
}
# Pages opened by a role rather than by a permission on an EPN's record.
PAGES_OF_ROLES = {
    "journal:list": permissions.JOURNAL_READERS,
    "reseau:tableau": permissions.NETWORK_READERS,
    "reseau:export": permissions.NETWORK_READERS,
    "reseau:bilan": permissions.NETWORK_READERS,
    "accounts:invitations": frozenset(permissions.INVITERS),
    "accounts:invitation-revoke": frozenset(permissions.INVITERS),
    "accounts:invitation-approve": frozenset().union(*permissions.APPROVERS.values()),
    "accounts:invitation-refuse": frozenset().union(*permissions.APPROVERS.values()),
    # The world's dossiers are drafts: the transition tried is ``deposer``.
    "dossiers:transition": permissions.DOSSIER_DEPOSITORS,
    "agenda:gerer": permissions.AGENDA_MANAGERS,
    "agenda:regenerer": permissions.AGENDA_MANAGERS,
    "agenda:desactiver": permissions.AGENDA_MANAGERS,
    # The collectivité's pages (the world's POST on the priorities puts them back to the defaults).
    "territoire:detail": permissions.TERRITOIRE_READERS,
    "territoire:priorites": permissions.PRIORITES_COLLECTIVITE_WRITERS,
}


def _opened_by() -> dict[str, set[str]]:
    opened = {name: {r.value for r in roles} for name, roles in PAGES_OF_ROLES.items()}
    for permission, names in PAGES_OF.items():
        for name in names:
            assert name not in opened, f"{name} is listed twice"
            opened[name] = {r.value for r in permissions.GRANTS[permission]}
    return opened


def _own(status):
    return status if isinstance(status, int) else status[0]


def _through_on_own(entry) -> set[str]:
    """The signed-in roles that get through on their own organisation's object: a page (200) or a
    POST that worked (302). A refused POST answers 403 or 404."""
    return {role for role in ROLES if role != "anonyme" and _own(entry.expected[role]) in (200, 302)}


def test_the_matrix_agrees_with_the_permissions_module():
    mismatches = []
    for name, roles in sorted(_opened_by().items()):
        got = _through_on_own(MATRIX[name])
        if got != roles:
            mismatches.append(f"{name}: the matrix lets {sorted(got)} through, the module {sorted(roles)}")
    assert not mismatches, "\n".join(mismatches)


def test_every_permission_names_its_pages():
    assert set(PAGES_OF) == set(Permission), "name the pages a new Permission opens in PAGES_OF"


def test_every_page_refused_to_some_role_is_tied_to_the_module():
    """A page that some signed-in role is refused (403) on its own object, while another role gets
    through, is gated by a permission: it must be listed above, so that the module answers for it."""
    opened = _opened_by()
    gated = sorted(
        name
        for name, entry in MATRIX.items()
        if _through_on_own(entry)
        and any(_own(entry.expected[role]) == 403 for role in ROLES if role != "anonyme")
    )
    assert [name for name in gated if name not in opened] == []


def test_the_menu_links_no_role_to_a_page_it_is_refused():
    for name, roles in permissions.MENU.items():
        entry = MATRIX[name]
        for role in ROLES:
            if role == "anonyme" or (roles and role not in roles):
                continue
            assert _own(entry.expected[role]) in (200, 302), f"the menu shows {name} to {role}"


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


# The POST actions of a directory import job's page (one URL, ``partenaires:import_preview``, whose
# GET is in the matrix): each one, by each role, on each column's job. The state each action needs
# is set first; only the EPN's own team changes it, every other answer leaves the job as it was.
_JOB_ACTIONS = {
    "confirmer": {"state": ImportAnnuaire.State.PRET},
    "annuler": {"state": ImportAnnuaire.State.PRET},
    # A job whose worker died: "Relancer" puts it back in the queue.
    "relancer": {"state": ImportAnnuaire.State.ANALYSE, "updated_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)},
}
_JOB_ACTION_STATUSES = {
    "animateur": (302, 404, 404, 404),
    "responsable": (302, 404, 404, 404),
    "referent": (403, 403, 404, 404),
    "elu": (403, 403, 404, 404),
    "partenaire": (404, 404, 404, 404),
    "coordinateur": (403, 403, 403, 404),
    "anonyme": (302, 302, 302, 302),
}


@pytest.mark.parametrize("action", sorted(_JOB_ACTIONS))
def test_directory_import_job_actions(world, action):
    mismatches = []
    for role in ROLES:
        for column, structure, status in zip(
            COLUMNS, world.columns[role], _JOB_ACTION_STATUSES[role], strict=True
        ):
            job = world.annuaire_import_of(structure)
            client = Client()
            user = world.user(role)
            if user is not None:
                login(client, user)
            with transaction.atomic():
                ImportAnnuaire.objects.filter(pk=job.pk).update(**_JOB_ACTIONS[action])
                before = ImportAnnuaire.objects.get(pk=job.pk).state
                response = client.post(job.get_absolute_url(), {"action": action})
                after = ImportAnnuaire.objects.get(pk=job.pk).state
                transaction.set_rollback(True)
            changed = after != before
            allowed = role in ("animateur", "responsable") and column == "propre"
            if response.status_code != status or changed != allowed:
                mismatches.append(
                    f"{role} × {column}: {response.status_code} (attendu {status}), état {before} → {after}"
                )
    assert not mismatches, f"{action}:\n" + "\n".join(mismatches)
