"""The chained history of the dossiers: appending a ``Traitement`` and verifying the chains.

The key: each entry's hash is an HMAC-SHA-256 (``ancrage.core.hashchain``), so that someone able to
rewrite the table cannot recompute valid hashes. The key is ``settings.ANCRAGE_JOURNAL_KEY`` when
the deployment sets it, else it is derived from ``SECRET_KEY`` (HMAC of a fixed label, so the
secret itself is never used directly). Rotating ``SECRET_KEY`` without setting
``ANCRAGE_JOURNAL_KEY`` makes every chain look modified: set ``ANCRAGE_JOURNAL_KEY`` before
rotating (``ancrage verifier-journal`` says which key it used).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from ancrage.core.hashchain import GENESIS_HASH, ChainProblem, ProblemKind, entry_hash, verify_chain
from ancrage.dossiers.models import Dossier, Traitement

_DERIVATION_LABEL = b"ancrage.dossiers.journal.v1"


def journal_key() -> bytes:
    explicit = getattr(settings, "ANCRAGE_JOURNAL_KEY", "")
    if explicit:
        return explicit.encode("utf-8")
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), _DERIVATION_LABEL, hashlib.sha256).digest()


def key_source() -> str:
    if getattr(settings, "ANCRAGE_JOURNAL_KEY", ""):
        return "clé ANCRAGE_JOURNAL_KEY"
    return "clé dérivée de SECRET_KEY"


def append(
    dossier: Dossier, *, operation: str, etat_avant: str, etat_apres: str, acteur, role: str, **fields
):
    """Append one entry to the dossier's chain. The caller holds the dossier's row lock."""
    previous = dossier.journal_head or GENESIS_HASH
    actor = acteur if acteur is not None and acteur.is_authenticated else None
    entry = Traitement(
        dossier=dossier,
        sequence=dossier.journal_count + 1,
        operation=operation,
        etat_avant=etat_avant,
        etat_apres=etat_apres,
        acteur=actor,
        acteur_label=actor.email if actor else "",
        role=role,
        # Set here, not by auto_now_add: the hash covers this exact value.
        at=timezone.now(),
        previous_hash=previous,
        **fields,
    )
    entry.hash = entry_hash(previous, entry.payload(), key=journal_key())
    entry.save()
    dossier.journal_count = entry.sequence
    dossier.journal_head = entry.hash
    dossier.save(update_fields=["journal_count", "journal_head", "updated_at"])
    return entry


def verify_dossier(dossier: Dossier) -> list[ChainProblem]:
    entries = list(Traitement.objects.filter(dossier_id=dossier.pk).order_by("sequence", "id"))
    return verify_chain(
        entries,
        key=journal_key(),
        expected_count=dossier.journal_count,
        expected_head=dossier.journal_head or GENESIS_HASH,
    )


@dataclass(frozen=True)
class Report:
    checked: int
    entries: int
    problems: dict[str, list[str]]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_all(dossier_ids=None) -> Report:
    """Every dossier's chain, plus history rows whose dossier no longer exists."""
    dossiers = Dossier.objects.order_by("pk")
    if dossier_ids:
        dossiers = dossiers.filter(pk__in=dossier_ids)
    problems: dict[str, list[str]] = {}
    checked = entries = 0
    for dossier in dossiers.iterator():
        checked += 1
        entries += dossier.journal_count
        found = verify_dossier(dossier)
        if found:
            problems[f"Dossier {dossier.numero} « {dossier.titre} »"] = [p.message for p in found]
    if not dossier_ids:
        orphans = (
            Traitement.objects.exclude(dossier_id__in=Dossier.objects.values("pk"))
            .values_list("dossier_id", flat=True)
            .distinct()
        )
        for dossier_id in orphans:
            problems[f"Dossier n° {dossier_id} (supprimé)"] = [
                "Le dossier a été supprimé alors que son historique demeure : suppression non tracée."
            ]
    return Report(checked, entries, problems)


__all__ = ["ChainProblem", "ProblemKind", "append", "journal_key", "verify_all", "verify_dossier"]
