"""The REST API's personal tokens: how a secret is drawn, stored and recognised.

A secret is ``ancrage_`` followed by 43 URL-safe characters (32 random bytes). The database keeps
only its SHA-256 (a random secret of 256 bits needs no slow hash: nobody can guess it, and the
digest is looked up by index, which reveals nothing of the secret). Writes (creation,
revocation) are services of ``ancrage.accounts.services``, audited.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from ancrage.accounts.models import ApiToken

SECRET_PREFIX = "ancrage_"
#: How many characters of the secret the token list shows (the prefix and a few more).
SHOWN_LENGTH = len(SECRET_PREFIX) + 6
#: Tokens a user may hold at once (neither revoked nor expired).
MAX_ACTIVE_TOKENS = 20
#: A use refreshes ``last_used_at`` at most this often: a write per request would cost too much.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def authenticate(secret: str) -> ApiToken | None:
    """The active token of an active user that ``secret`` names, or None.

    Refreshes the token's ``last_used_at`` (at most once a minute)."""
    if not secret or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.active()
        .select_related("user")
        .filter(empreinte=digest(secret), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
