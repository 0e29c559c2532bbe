"""The REST API (/api/v1/): tokens, scoping per role, pagination, rate limit, errors, schema.

Small worlds built with factories (no demo): the schemathesis sweep over the demo is in
test_api_schemathesis.py.
"""

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from openapi_spec_validator import validate

from ancrage.accounts import services, tokens
from ancrage.accounts.models import ApiToken
from ancrage.actions.models import Action, ActionPartenaire, Seance
from ancrage.audit.models import AuditEntry
from ancrage.conventions.models import Convention
from ancrage.diagnostic.engine import diagnostic_json
from ancrage.diagnostic.models import Diagnostic
from ancrage.organisations.enums import Role
from ancrage.partenaires.services import lieu_epn_save
from ancrage.www.api_views.api import french_message
from tests.organisations.factories import MembershipFactory, UserFactory
from tests.partenaires.factories import epn_with_animateur, partenaire
from tests.properties import examples


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    cache.clear()
    yield
    cache.clear()


def _token(user, **kwargs):
    return services.api_token_create(acting_user=user, nom="outil", **kwargs)[1]


def _get(client, url, secret, **params):
    return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {secret}")


def _ids(response):
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


@pytest.fixture
def world(db):
    """Two EPNs of one réseau, each with its animateur, a partner each, an action with its partner
    and a session, a convention with that partner; a coordinator of the réseau."""
    epn_a, animateur_a = epn_with_animateur(nom="EPN A")
    epn_b, animateur_b = epn_with_animateur(nom="EPN B", reseau=epn_a.reseau)
    found = {"epn_a": epn_a, "epn_b": epn_b, "animateur_a": animateur_a, "animateur_b": animateur_b}
    for key, epn in (("a", epn_a), ("b", epn_b)):
        fiche = partenaire(epn, f"Centre social {key}")
        action = Action.objects.create(structure=epn, titre=f"Ateliers {key}")
        ActionPartenaire.objects.create(action=action, partenaire=fiche.structure)
        start = timezone.now() + dt.timedelta(days=3)
        seance = Seance.objects.create(
            action=action, titre="Séance 1", debut=start, fin=start + dt.timedelta(hours=2)
        )
        convention = Convention.objects.create(
            structure=epn,
            action=action,
            titre=f"Convention {key}",
            objet="Ateliers",
            date_debut=dt.date(2026, 1, 1),
        )
        convention.partenaires.add(fiche.structure)
        lieu = lieu_epn_save(
            acting_user=None, epn=epn, commune="Rennes", adresse="1 rue de Test", code_postal="35000"
        )
        found.update({f"fiche_{key}": fiche, f"action_{key}": action, f"seance_{key}": seance})
        found.update({f"convention_{key}": convention, f"lieu_{key}": lieu})
    found["partner_a"] = MembershipFactory(role=Role.PARTENAIRE, structure=found["fiche_a"].structure).user
    found["coordinateur"] = MembershipFactory(
        role=Role.COORDINATEUR, structure=None, reseau=epn_a.reseau
    ).user
    return found


@pytest.fixture
def coordinateur_secret(world):
    return _token(world["coordinateur"])


# --- Tokens ---------------------------------------------------------------------------------------


def test_a_token_is_stored_hashed_shown_once_and_audited(db):
    user = UserFactory()
    token, secret = services.api_token_create(acting_user=user, nom="SI de la collectivité")
    assert secret.startswith("ancrage_") and len(secret) > 40
    assert token.empreinte == tokens.digest(secret) and secret not in token.empreinte
    assert token.prefixe == secret[: tokens.SHOWN_LENGTH]
    assert AuditEntry.objects.filter(object_type="accounts.apitoken", object_id=str(token.pk)).exists()
    assert tokens.authenticate(secret) == token


def test_revoked_expired_and_deactivated_tokens_authenticate_nothing(client, db):
    user = UserFactory()
    MembershipFactory(user=user)
    secret = _token(user)
    assert _get(client, "/api/v1/moi/", secret).status_code == 200
    token = ApiToken.objects.get(user=user)
    assert token.last_used_at is not None

    services.api_token_revoke(acting_user=user, token=token)
    response = _get(client, "/api/v1/moi/", secret)
    assert response.status_code == 401
    assert response.json()["detail"] == "Jeton d’API manquant, invalide, expiré ou révoqué."
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEntry.objects.filter(object_type="accounts.apitoken", action="delete").count() == 1

    other = _token(user, expires_at=timezone.now() + dt.timedelta(days=1))
    ApiToken.objects.filter(empreinte=tokens.digest(other)).update(expires_at=timezone.now())
    assert _get(client, "/api/v1/moi/", other).status_code == 401

    third = _token(user)
    user.is_active = False
    user.save()
    assert _get(client, "/api/v1/moi/", third).status_code == 401


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer ", "Bearer ancrage_faux", "Basic dXNlcjpwYXNz", "Token ancrage_x"]
)
def test_a_missing_or_bad_header_is_a_401(client, db, header):
    response = client.get("/api/v1/actions/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Jeton d’API")


def test_a_session_opens_no_api_and_a_token_opens_no_page(client, db):
    """The API knows only tokens; the pages (token creation among them) only the session."""
    user = UserFactory()
    client.force_login(user)
    assert client.get("/api/v1/moi/").status_code == 401
    secret = _token(user)
    client.logout()
    response = client.post(
        reverse("accounts:account"),
        {"nom": "par jeton", "duree": "30"},
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]
    assert ApiToken.objects.filter(user=user).count() == 1


def test_one_revokes_only_ones_own_tokens(client, db):
    owner, other = UserFactory(), UserFactory()
    _token(owner)
    token = ApiToken.objects.get(user=owner)
    client.force_login(other)
    assert client.post(reverse("accounts:api-token-revoke", kwargs={"pk": token.pk})).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    with pytest.raises(Exception, match="propres jetons"):
        services.api_token_revoke(acting_user=other, token=token)


def test_the_account_page_creates_shows_once_and_revokes(client, db):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("accounts:account"), {"nom": "Tableau de bord", "duree": "90"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=user)
    assert token.expires_at.date() == (timezone.now() + dt.timedelta(days=90)).date()
    # Shown once: the page never shows it again.
    assert secret not in client.get(reverse("accounts:account")).content.decode()
    response = client.post(reverse("accounts:api-token-revoke", kwargs={"pk": token.pk}), follow=True)
    assert "est révoqué" in response.content.decode()
    assert tokens.authenticate(secret) is None


def test_a_token_needs_a_name_and_the_count_is_bounded(db):
    user = UserFactory()
    with pytest.raises(Exception, match="Donnez un nom"):
        services.api_token_create(acting_user=user, nom="  ")
    for _ in range(tokens.MAX_ACTIVE_TOKENS):
        _token(user)
    with pytest.raises(Exception, match="révoquez-en un"):
        _token(user)


# --- Scoping per role ------------------------------------------------------------------------------


def test_the_animateur_of_epn_a_does_not_see_epn_b(client, world):
    secret = _token(world["animateur_a"])
    assert _ids(_get(client, "/api/v1/actions/", secret)) == {world["action_a"].pk}
    assert _ids(_get(client, "/api/v1/conventions/", secret)) == {world["convention_a"].pk}
    assert _ids(_get(client, "/api/v1/partenaires/", secret)) == {world["fiche_a"].pk}
    assert _ids(_get(client, "/api/v1/lieux/", secret)) == {world["lieu_a"].pk}
    for url in (
        f"/api/v1/actions/{world['action_b'].pk}/",
        f"/api/v1/actions/{world['action_b'].pk}/seances/",
        f"/api/v1/conventions/{world['convention_b'].pk}/",
        f"/api/v1/partenaires/{world['fiche_b'].pk}/",
        f"/api/v1/lieux/{world['lieu_b'].pk}/",
    ):
        response = _get(client, url, secret)
        assert response.status_code == 404, url
        assert response.json()["detail"] == "Introuvable, ou hors de la portée de ce jeton."
    # A filter on another EPN finds nothing rather than widening the scope.
    assert _ids(_get(client, "/api/v1/actions/", secret, epn=world["epn_b"].pk)) == set()


def test_a_partner_sees_its_own_conventions_and_actions_never_usagers_nor_directories(client, world):
    secret = _token(world["partner_a"])
    assert _ids(_get(client, "/api/v1/conventions/", secret)) == {world["convention_a"].pk}
    assert _get(client, f"/api/v1/conventions/{world['convention_b'].pk}/", secret).status_code == 404
    assert _ids(_get(client, "/api/v1/actions/", secret)) == {world["action_a"].pk}
    seances = _get(client, f"/api/v1/actions/{world['action_a'].pk}/seances/", secret)
    assert _ids(seances) == {world["seance_a"].pk}
    for url in ("/api/v1/partenaires/", "/api/v1/lieux/", "/api/v1/diagnostics/", "/api/v1/dossiers/"):
        assert _ids(_get(client, url, secret)) == set(), url
    body = json.dumps(_get(client, "/api/v1/conventions/", secret).json())
    assert "usager" not in body


def test_the_coordinator_sees_every_epn_of_the_reseau(client, world):
    secret = _token(world["coordinateur"])
    assert _ids(_get(client, "/api/v1/actions/", secret)) == {world["action_a"].pk, world["action_b"].pk}
    assert _ids(_get(client, "/api/v1/lieux/", secret)) == {world["lieu_a"].pk, world["lieu_b"].pk}
    me = _get(client, "/api/v1/moi/", secret).json()
    assert set(me["epns"]) == {world["epn_a"].pk, world["epn_b"].pk} and me["roles"] == ["coordinateur"]


def test_places_and_partners_are_in_the_standards_json(client, world):
    secret = _token(world["animateur_a"])
    lieu = _get(client, f"/api/v1/lieux/{world['lieu_a'].pk}/", secret).json()
    assert lieu["epn"] == world["epn_a"].pk
    assert lieu["standard"]["commune"] == "Rennes" and lieu["standard"]["adresse"] == "1 rue de Test"
    assert "latitude" not in lieu["standard"]  # empty values left out, as the Cartographie does
    fiche = _get(client, f"/api/v1/partenaires/{world['fiche_a'].pk}/", secret).json()
    assert fiche["standard"]["nom"] == "Centre social a"
    assert fiche["organisation"] == world["fiche_a"].structure_id


def test_a_convention_without_a_signed_pdf_has_none(client, world):
    secret = _token(world["animateur_a"])
    data = _get(client, f"/api/v1/conventions/{world['convention_a'].pk}/", secret).json()
    assert data["etat"] == "brouillon" and data["pdf_signe_url"] is None
    response = _get(client, f"/api/v1/conventions/{world['convention_a'].pk}/pdf-signe/", secret)
    assert response.status_code == 404
    assert response.json()["detail"] == "Cette convention n’a pas de PDF signé."


# --- Pagination, errors, rate limit ----------------------------------------------------------------


def test_pagination_bounds(client, world):
    epn = world["epn_a"]
    for i in range(4):
        Action.objects.create(structure=epn, titre=f"Action {i}")
    secret = _token(world["animateur_a"])
    first = _get(client, "/api/v1/actions/", secret, limit=2).json()
    second = _get(client, "/api/v1/actions/", secret, limit=2, offset=2).json()
    assert first["count"] == second["count"] == 5
    assert len(first["items"]) == len(second["items"]) == 2
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    assert _get(client, "/api/v1/actions/", secret, offset=10).json()["items"] == []
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "beaucoup"}):
        response = _get(client, "/api/v1/actions/", secret, **params)
        assert response.status_code == 422, params
        assert response.json()["detail"] == "Paramètres invalides."
        assert response.json()["erreurs"][0]["champ"] in params
    response = _get(client, f"/api/v1/actions/{2**63}/", secret)
    assert response.status_code == 422
    assert response.json()["erreurs"] == [
        {"champ": "action_id", "message": f"La valeur doit être au plus {2**63 - 1}."}
    ]


def test_french_messages_of_validation_errors():
    assert french_message({"type": "missing"}) == "Paramètre obligatoire manquant."
    assert (
        french_message({"type": "greater_than_equal", "ctx": {"ge": 1}}) == "La valeur doit être au moins 1."
    )
    assert french_message({"type": "something_new"}) == "Valeur invalide."


@override_settings(ANCRAGE_API_RATE_LIMIT=3, ANCRAGE_API_RATE_WINDOW=60)
def test_the_rate_limit_counts_per_token(client, db):
    user = UserFactory()
    first, second = _token(user), _token(user)
    assert [_get(client, "/api/v1/moi/", first).status_code for _ in range(4)] == [200, 200, 200, 429]
    response = _get(client, "/api/v1/moi/", first)
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert "Trop de requêtes" in response.json()["detail"]
    assert _get(client, "/api/v1/moi/", second).status_code == 200


# --- Schema and docs page --------------------------------------------------------------------------


def test_the_schema_validates_as_openapi_3(client, db):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert "/api/v1/conventions/{convention_id}/pdf-signe/" in paths
    assert all(set(item) == {"get"} for item in paths.values())  # read-only
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}


def test_the_docs_page_loads_nothing_from_outside(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn" not in html.lower() and "https://" not in html
    assert '<script src="/static/ninja/swagger-ui-bundle.js" nonce="' in html
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]


def test_the_diagnostics_json_is_the_commands(client, world):
    resultat = {
        "unite": "personnes",
        "secteurs": [{"code": "352381001", "nom": "Rennes – Blosne", "usagers": 7}],
    }
    diagnostic = Diagnostic.objects.create(
        structure=world["epn_a"], titre="Diagnostic 2026", resultat=resultat
    )
    secret = _token(world["animateur_a"])
    meta = _get(client, f"/api/v1/diagnostics/{diagnostic.pk}/", secret).json()
    assert meta["titre"] == "Diagnostic 2026" and "resultat" not in meta
    response = _get(client, meta["resultat_url"], secret)
    # Written by the command's own function; PostgreSQL's jsonb keeps the keys in its own order.
    diagnostic.refresh_from_db()
    assert response.content.decode("utf-8") == diagnostic_json(diagnostic.resultat)
    assert json.loads(response.content) == resultat
    partner = _token(world["partner_a"])
    assert _get(client, meta["resultat_url"], partner).status_code == 404


def test_a_partner_is_not_told_of_an_action_it_is_not_party_to(client, world):
    hidden = Action.objects.create(structure=world["epn_a"], titre="Action de l’EPN seul")
    convention = Convention.objects.create(
        structure=world["epn_a"],
        action=hidden,
        titre="Mise à disposition",
        objet="Salle",
        date_debut=dt.date(2026, 1, 1),
    )
    convention.partenaires.add(world["fiche_a"].structure)
    partner = _get(client, f"/api/v1/conventions/{convention.pk}/", _token(world["partner_a"])).json()
    assert partner["action"] is None
    animateur = _get(client, f"/api/v1/conventions/{convention.pk}/", _token(world["animateur_a"])).json()
    assert animateur["action"] == hidden.pk


@examples(25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.text(max_size=120))
def test_no_authorization_header_opens_the_api_or_breaks_it(client, db, header):
    try:
        response = client.get("/api/v1/moi/", HTTP_AUTHORIZATION=header)
    except ValueError:  # a header no HTTP client can send (a newline): Django refuses it first
        return
    assert response.status_code == 401


@examples(25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    limit=st.one_of(st.integers(-5, 300), st.text(max_size=8)),
    offset=st.one_of(st.integers(-5, 10**12), st.text(max_size=8)),
)
def test_any_page_request_is_a_page_or_a_french_422(client, world, coordinateur_secret, limit, offset):
    cache.clear()
    response = _get(client, "/api/v1/actions/", coordinateur_secret, limit=limit, offset=offset)
    assert response.status_code in (200, 422)
    body = response.json()
    if response.status_code == 200:
        assert len(body["items"]) <= body["limit"] <= 200 and body["count"] == 2
    else:
        assert body["detail"] == "Paramètres invalides." and body["erreurs"]


def test_the_network_indicators_are_the_dashboard_s_for_its_coordinator_only(client, world):
    from ancrage.reseau.selectors import network_indicators

    url = reverse("api:reseau-indicateurs")
    response = _get(client, url, _token(world["coordinateur"]), debut="2026-01-01", fin="2026-12-31")
    assert response.status_code == 200, response.content
    body = response.json()
    expected = network_indicators(
        world["coordinateur"], debut=dt.date(2026, 1, 1), fin=dt.date(2026, 12, 31)
    ).as_dict()
    assert body == json.loads(json.dumps(expected))
    assert {e["epn_id"] for e in body["epns"]} == {world["epn_a"].pk, world["epn_b"].pk}
    # Anyone else's token: refused, in French; a period the wrong way round: a French 422.
    for who in ("animateur_a", "partner_a"):
        refused = _get(client, url, _token(world[who]))
        assert refused.status_code == 403 and "coordination" in refused.json()["detail"], who
    backwards = _get(client, url, _token(world["coordinateur"]), debut="2026-12-31", fin="2026-01-01")
    assert backwards.status_code == 422 and "début" in backwards.json()["detail"]
