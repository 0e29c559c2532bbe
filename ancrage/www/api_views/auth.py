"""``Authorization: Bearer <token>``: a personal token acts as its user, rate-limited per token.

Only the API reads tokens: the pages (the account page where tokens are created too) know only
the session, so a token cannot create or revoke tokens.
"""

from __future__ import annotations

from django.conf import settings
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer

from ancrage.accounts import tokens
from ancrage.core import ratelimit

RATE_LIMIT_SCOPE = "api"
UNAUTHENTICATED = "Jeton d’API manquant, invalide, expiré ou révoqué."
RATE_LIMITED = "Trop de requêtes pour ce jeton : réessayez dans une minute."


class RateLimited(HttpError):
    def __init__(self, wait: int) -> None:
        self.wait = wait
        super().__init__(429, RATE_LIMITED)


class TokenAuth(HttpBearer):
    """A valid token gives ``request.auth`` (the token) and ``request.user`` (its user)."""

    def __call__(self, request):
        # ninja returns None (then 401) for a header of another scheme; the same for us.
        return super().__call__(request)

    def authenticate(self, request, token: str):
        api_token = tokens.authenticate(token.strip())
        if api_token is None:
            raise AuthenticationError(401, UNAUTHENTICATED)
        window = settings.ANCRAGE_API_RATE_WINDOW
        if not ratelimit.allow(
            RATE_LIMIT_SCOPE,
            [f"token:{api_token.pk}"],
            limit=settings.ANCRAGE_API_RATE_LIMIT,
            window=window,
        ):
            raise RateLimited(window)
        # The rest of the request (scoping, audit) sees the token's user, as a page sees the
        # session's.
        request.user = api_token.user
        return api_token
