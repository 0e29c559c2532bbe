"""The secret keys that authenticate what the database cannot vouch for on its own.

The journal key signs the chained histories (entry hashes and their anchors). It is
``settings.ANCRAGE_JOURNAL_KEY`` when the deployment sets it, else it is derived from
``SECRET_KEY`` (HMAC of a fixed label, so the secret itself is never used directly). Rotating
``SECRET_KEY`` without setting ``ANCRAGE_JOURNAL_KEY`` makes every chain look modified: set
``ANCRAGE_JOURNAL_KEY`` before rotating (``ancrage verifier-journal`` says which key it used).

The backup key authenticates a backup's manifest: ``settings.ANCRAGE_BACKUP_KEY`` when set (so
that the machine that keeps the backups need not hold the journal key), else derived from the
journal key under a label of its own.

The calendar feeds' key (``agenda_key``) is derived from ``SECRET_KEY`` alone: a feed's address
is an HMAC of the feed and its salt, so the database does not hold the addresses.
"""

import hashlib
import hmac

from django.conf import settings

_DERIVATION_LABEL = b"ancrage.dossiers.journal.v1"
_BACKUP_LABEL = b"ancrage.exploitation.backup.v1"
_AGENDA_LABEL = b"ancrage.actions.agenda.v1"


def journal_key() -> bytes:
    explicit = getattr(settings, "ANCRAGE_JOURNAL_KEY", "")
    if explicit:
        return explicit.encode("utf-8")
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), _DERIVATION_LABEL, hashlib.sha256).digest()


def key_source() -> str:
    if getattr(settings, "ANCRAGE_JOURNAL_KEY", ""):
        return "clé ANCRAGE_JOURNAL_KEY"
    return "clé dérivée de SECRET_KEY"


def backup_key() -> bytes:
    explicit = getattr(settings, "ANCRAGE_BACKUP_KEY", "")
    if explicit:
        return explicit.encode("utf-8")
    return hmac.new(journal_key(), _BACKUP_LABEL, hashlib.sha256).digest()


def backup_key_source() -> str:
    if getattr(settings, "ANCRAGE_BACKUP_KEY", ""):
        return "clé ANCRAGE_BACKUP_KEY"
    return f"clé dérivée de la clé du journal ({key_source()})"


def agenda_key() -> bytes:
    """The key of the calendar feeds' secret addresses (``actions.agenda``), derived from
    ``SECRET_KEY``: rotating ``SECRET_KEY`` changes every feed's address (the old ones answer 404,
    as a regenerated one does)."""
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), _AGENDA_LABEL, hashlib.sha256).digest()
