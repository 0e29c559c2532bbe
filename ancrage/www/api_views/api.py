"""The API object: token authentication, French errors, the schema and its documentation page."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import DocsBase
from ninja.renderers import JSONRenderer

from ancrage.www.api_views.auth import UNAUTHENTICATED, RateLimited, TokenAuth
from ancrage.www.api_views.routes import router

DESCRIPTION = """API en lecture seule d’Ancrage : lieux et partenaires au standard national,
diagnostics, actions et séances, conventions, dossiers de projet.

Authentification : `Authorization: Bearer <jeton>`, avec un jeton créé sur la page « Mon compte ».
Un jeton lit ce que lit son utilisateur, ni plus ni moins ; un objet hors de sa portée répond 404.
Les listes sont paginées (`limit`, 200 au plus, et `offset`) ; chaque jeton est limité en nombre de
requêtes par minute (429 au-delà)."""


class LocalSwagger(DocsBase):
    """Swagger UI from the copy django-ninja ships (static files), with the page's CSP nonce: no
    CDN, no inline script."""

    def render_page(self, request, api, **kwargs):
        settings = {
            "url": self.get_openapi_url(api, kwargs),
            "layout": "BaseLayout",
            "deepLinking": True,
            "persistAuthorization": False,
        }
        return render(request, "api/docs.html", {"swagger_settings": settings, "api": api})


class Renderer(JSONRenderer):
    """JSON in UTF-8 as is (« é », not « \\u00e9 »)."""

    json_dumps_params = {"ensure_ascii": False}


class AncrageAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        """``actions``, ``convention_pdf_signe``: the view's name, which a generated client uses."""
        return operation.view_func.__name__


api = AncrageAPI(
    renderer=Renderer(),
    title="API Ancrage",
    version="1",
    description=DESCRIPTION,
    auth=TokenAuth(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs=LocalSwagger(),
    docs_url="/docs/",
)
api.add_router("/v1/", router)


# --- Errors, in French ------------------------------------------------------------------------------


def _error(request, status: int, detail: str, erreurs=(), headers=None):
    response = api.create_response(request, {"detail": detail, "erreurs": list(erreurs)}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _error(request, 401, UNAUTHENTICATED, headers={"WWW-Authenticate": 'Bearer realm="ancrage"'})


@api.exception_handler(RateLimited)
def _rate_limited(request, exc):
    return _error(request, 429, exc.message, headers={"Retry-After": str(exc.wait)})


@api.exception_handler(Http404)
def _not_found(request, exc):
    message = str(exc)
    # Django's own messages (« No Convention matches the given query. ») are English and name a
    # model: only a message written in French by Ancrage is kept.
    if not message or "matches the given query" in message or not message.endswith("."):
        message = "Introuvable, ou hors de la portée de ce jeton."
    return _error(request, 404, message)


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return _error(request, exc.status_code, str(exc.message))


def _field(loc) -> str:
    parts = [str(part) for part in loc if part not in ("query", "path", "params", "body")]
    return ".".join(parts) or "requête"


def french_message(error: dict) -> str:
    """A pydantic error, in French."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "Paramètre obligatoire manquant."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Un nombre entier est attendu."
    if kind == "greater_than_equal":
        return f"La valeur doit être au moins {ctx.get('ge')}."
    if kind == "greater_than":
        return f"La valeur doit être plus grande que {ctx.get('gt')}."
    if kind == "less_than_equal":
        return f"La valeur doit être au plus {ctx.get('le')}."
    if kind == "less_than":
        return f"La valeur doit être plus petite que {ctx.get('lt')}."
    if kind == "extra_forbidden":
        return "Paramètre inconnu."
    return "Valeur invalide."


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    erreurs = [{"champ": _field(e.get("loc", ())), "message": french_message(e)} for e in exc.errors]
    return _error(request, 422, "Paramètres invalides.", erreurs)
