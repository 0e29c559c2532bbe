"""schemathesis against /api/openapi.json, with the tokens of the demo's animateur, partner and
coordinator: no 500, no response outside the schema (status, content type, body), an
authentication the API really enforces, and no object outside the token's scope.

The scope check is ours: every id a response returns (the items of a list, a detail's own id)
must be one that ``visible_to(user)`` (the pages' scoping) gives for that kind of object. The
generated ids mostly miss, so every detail operation is also called with every id of the demo,
visible or not: the visible ones must answer 200, the others 404.

``max_examples`` stays small for ``make test``; ``ANCRAGE_SCHEMATHESIS_EXAMPLES`` raises it.
"""

import datetime as dt
import os
import re

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from ancrage.accounts.models import User
from ancrage.accounts.services import api_token_create
from ancrage.actions.models import Action, ActionPartenaire, Seance
from ancrage.conventions.models import Convention
from ancrage.diagnostic.models import Diagnostic
from ancrage.dossiers.models import Dossier
from ancrage.dossiers.selectors import dossiers_visible_to
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.partenaires.models import Partenaire
from tests.demo_accounts import blosne
from tests.partenaires.factories import partenaire

pytestmark = pytest.mark.slow  # about 1.5 min: run by CI as its own step (see docs/api.md)

EXAMPLES = int(os.environ.get("ANCRAGE_SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]

# The kind of object each path returns, by its first segment after /api/v1/.
KIND_OF_PATH = {
    "lieux": "lieu",
    "partenaires": "partenaire",
    "diagnostics": "diagnostic",
    "actions": "action",
    "conventions": "convention",
    "dossiers": "dossier",
}


def visible_ids(user) -> dict[str, set[int]]:
    """For each kind of object, the ids the pages' scoping gives the user: the check's truth."""
    epns = Structure.objects.visible_to(user).filter(kind=StructureKind.EPN)
    return {
        "lieu": set(Partenaire.objects.filter(structure__in=epns).values_list("id", flat=True)),
        "partenaire": set(Partenaire.objects.visible_to(user).values_list("id", flat=True)),
        "diagnostic": set(Diagnostic.objects.visible_to(user).values_list("id", flat=True)),
        "action": set(Action.objects.visible_to(user).values_list("id", flat=True)),
        "seance": set(Seance.objects.visible_to(user).values_list("id", flat=True)),
        "convention": set(Convention.objects.visible_to(user).values_list("id", flat=True)),
        "dossier": set(dossiers_visible_to(user).values_list("id", flat=True)),
        "epn": set(epns.values_list("id", flat=True)),
    }


def all_ids() -> dict[str, set[int]]:
    return {
        "lieu": set(
            Partenaire.objects.filter(structure__kind=StructureKind.EPN).values_list("id", flat=True)
        ),
        "partenaire": set(
            Partenaire.objects.filter(structure__kind=StructureKind.PARTENAIRE).values_list("id", flat=True)
        ),
        "diagnostic": set(Diagnostic.objects.values_list("id", flat=True)),
        "action": set(Action.objects.values_list("id", flat=True)),
        "convention": set(Convention.objects.values_list("id", flat=True)),
        "dossier": set(Dossier.objects.values_list("id", flat=True)),
    }


def returned_ids(path: str, body) -> tuple[str, set[int]]:
    """The kind and ids of the objects a 200 of ``path`` returned."""
    segments = [s for s in path.split("/") if s][2:]  # after "api", "v1"
    if segments[:2] == ["reseau", "indicateurs"] and isinstance(body, dict):
        return "epn", {epn["epn_id"] for epn in body["epns"]}
    kind = KIND_OF_PATH.get(segments[0]) if segments else None
    if segments[-1] == "seances":
        kind = "seance"
    if kind is None or segments[-1] in ("resultat", "pdf-signe") or not isinstance(body, dict):
        return "", set()
    if "items" in body:
        return kind, {item["id"] for item in body["items"]}
    return kind, {body["id"]}


class ScopeChecker:
    def __init__(self, user):
        self.visible = visible_ids(user)
        self.seen: dict[str, set[int]] = {}

    def __call__(self, case, response) -> None:
        headers = {name.lower(): value for name, value in response.headers.items()}
        content_type = headers.get("content-type", "")
        if isinstance(content_type, list):
            content_type = content_type[0] if content_type else ""
        if response.status_code != 200 or "json" not in content_type:
            return
        kind, ids = returned_ids(case.formatted_path, response.json())
        outside = ids - self.visible.get(kind, set())
        assert not outside, (
            f"{case.formatted_path} returned {kind} {sorted(outside)} outside the token's scope"
        )
        self.seen.setdefault(kind, set()).update(ids)


def another_partners_records():
    """The demo's partner is party to every convention: a convention and an action of another
    partner of the Blosne give the partner's sweep something it must not see."""
    epn = blosne()
    other = partenaire(epn, "Association d’un autre quartier").structure
    action = Action.objects.create(structure=epn, titre="Action d’un autre partenaire")
    ActionPartenaire.objects.create(action=action, partenaire=other)
    convention = Convention.objects.create(
        structure=epn,
        titre="Convention d’un autre partenaire",
        objet="Ateliers",
        date_debut=dt.date(2026, 1, 1),
    )
    convention.partenaires.add(other)


@pytest.fixture
def wsgi_app(settings):
    """Django's WSGI application, answering inside the test's transaction: the request signals
    would otherwise close the connection that holds it (Django's test client does the same)."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    settings.ANCRAGE_API_RATE_LIMIT = 100_000
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    cache.clear()
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    cache.clear()


@pytest.mark.parametrize("role", ["animateur", "partenaire", "coordinateur"])
def test_the_api_keeps_its_schema_and_its_scope(demo, wsgi_app, role):
    another_partners_records()
    user = User.objects.get(email=f"{role}@demo.ancrage.fr")
    _, secret = api_token_create(acting_user=user, nom="schemathesis")
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_app)
    check_scope = ScopeChecker(user)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def sweep(case):
            # The token, in place of the values schemathesis draws for the security scheme.
            case.headers = {**(case.headers or {}), **headers}
            response = case.call_and_validate(checks=CHECKS)
            check_scope(case, response)

        sweep()

    # Every detail operation, with every id of the demo: 200 exactly for the visible ones.
    everything = all_ids()
    visible = check_scope.visible
    signed_pdfs = 0
    for operation in operations:
        names = re.findall(r"{(\w+)}", operation.path)
        if len(names) != 1:
            continue
        kind = KIND_OF_PATH[operation.path.split("/")[3]]
        for pk in sorted(everything[kind]):
            case = operation.Case(path_parameters={names[0]: pk}, headers=headers)
            response = case.call_and_validate(checks=CHECKS)
            check_scope(case, response)
            if operation.path.endswith("/pdf-signe/"):
                assert response.status_code in (200, 404)
                if response.status_code == 200:
                    assert pk in visible[kind] and response.content.startswith(b"%PDF-")
                    signed_pdfs += 1
            else:
                assert response.status_code == (200 if pk in visible[kind] else 404), (operation.path, pk)

    # The demo's signed conventions are the Blosne's, with the partner: all three roles read one.
    assert signed_pdfs >= 1
    if role == "partenaire":
        # The partner reads its conventions and actions, never a directory, a diagnostic, a
        # dossier (usagers' figures are in none of what it reads).
        assert check_scope.seen.get("convention") and check_scope.seen.get("action")
        assert not visible["partenaire"] and not visible["diagnostic"] and not visible["dossier"]
        assert visible["convention"] < everything["convention"]
    else:
        assert check_scope.seen.get("action")
