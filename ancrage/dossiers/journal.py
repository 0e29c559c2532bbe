"""The chained history of the dossiers: appending a ``Traitement`` and verifying the chains.

The key: each entry's hash is an HMAC-SHA-256 (``ancrage.core.hashchain``), so that someone able to
rewrite the table cannot recompute valid hashes; the key comes from ``ancrage.core.keys``. The
dossier keeps the chain's anchor (``journal_count``, ``journal_head``) and its signature
(``journal_signature``, HMAC over both and the dossier's id): rewinding the anchor to hide deleted
final entries needs the key too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from ancrage.core.hashchain import (
    GENESIS_HASH,
    ChainProblem,
    ProblemKind,
    anchor_is_valid,
    anchor_signature,
    entry_hash,
    verify_chain,
)
from ancrage.core.keys import journal_key, key_source
from ancrage.dossiers.models import Dossier, Traitement

ANCHOR_INVALID = (
    "L'ancre du journal (nombre d'entrées et dernière empreinte) n'a pas été signée avec la clé : "
    "elle a été modifiée, par exemple ramenée en arrière pour cacher des entrées supprimées."
)


def chain_id(dossier_id: int) -> str:
    return f"dossier:{dossier_id}"


def sign(dossier: Dossier) -> str:
    return anchor_signature(
        journal_key(), chain_id(dossier.pk), dossier.journal_count, dossier.journal_head or GENESIS_HASH
    )


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
    dossier.journal_signature = sign(dossier)
    dossier.save(update_fields=["journal_count", "journal_head", "journal_signature", "updated_at"])
    return entry


def verify_dossier(dossier: Dossier) -> list[ChainProblem]:
    entries = list(Traitement.objects.filter(dossier_id=dossier.pk).order_by("sequence", "id"))
    problems = []
    head = dossier.journal_head or GENESIS_HASH
    if not anchor_is_valid(
        journal_key(), chain_id(dossier.pk), dossier.journal_count, head, dossier.journal_signature
    ):
        problems.append(ChainProblem(None, None, ProblemKind.TRONQUEE, ANCHOR_INVALID))
    return problems + verify_chain(
        entries, key=journal_key(), expected_count=dossier.journal_count, expected_head=head
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


__all__ = [
    "ChainProblem",
    "ProblemKind",
    "append",
    "chain_id",
    "journal_key",
    "key_source",
    "sign",
    "verify_all",
    "verify_dossier",
]
