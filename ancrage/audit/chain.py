"""The audit trail's chain: appending an entry under the anchor's lock, and verifying the chain.

Every ``AuditEntry`` carries the HMAC of the one before it (``ancrage.core.hashchain``, key from
``ancrage.core.keys``). ``AuditTrailAnchor`` (one row) holds the chain's length, last hash and
their signature: deleting the final entries shows as a shorter chain than the anchor says, and
rewinding the anchor shows as a signature that does not match.

The lock: appending starts with an ``UPDATE`` of the anchor row, which takes PostgreSQL's row
lock and SQLite's database write lock alike (``select_for_update`` is a no-op on SQLite), and only
then reads the head. Two writers therefore chain one after the other, never onto the same head;
the unique ``sequence`` is the last line of defence. The lock is held until the caller's
transaction ends, so audited writes are serialised: ``audit_record`` is called last in a service.
"""

from __future__ import annotations

import json

from django.db import IntegrityError, transaction
from django.db.models import F

from ancrage.audit.models import AuditEntry, AuditTrailAnchor
from ancrage.core.hashchain import (
    GENESIS_HASH,
    ChainProblem,
    ProblemKind,
    anchor_is_valid,
    anchor_signature,
    entry_hash,
    verify_chain,
)
from ancrage.core.keys import journal_key

CHAIN_ID = "audit"
ANCHOR_PK = 1


class AuditChainError(Exception):
    """The audit trail cannot be appended to safely. The message is in French."""


def sign(count: int, head: str) -> str:
    return anchor_signature(journal_key(), CHAIN_ID, count, head)


def _locked_anchor() -> AuditTrailAnchor:
    for _attempt in range(3):
        if AuditTrailAnchor.objects.filter(pk=ANCHOR_PK).update(count=F("count")):
            return AuditTrailAnchor.objects.get(pk=ANCHOR_PK)
        # No anchor yet (a new database): only an empty trail may start one. Another writer may
        # have just committed it, with its first entry, since the update above. The anchor and
        # the entries commit together, so entries are read first: once they are visible, a
        # missing anchor is really missing (read the other way round, a commit between the two
        # reads looks like a deleted anchor).
        if AuditEntry.objects.exists():
            if AuditTrailAnchor.objects.filter(pk=ANCHOR_PK).exists():
                continue
            break
        try:
            with transaction.atomic():
                return AuditTrailAnchor.objects.create(
                    pk=ANCHOR_PK, count=0, head=GENESIS_HASH, signature=sign(0, GENESIS_HASH)
                )
        except IntegrityError:
            continue  # another writer created it first: lock theirs
    raise AuditChainError(
        "L’ancre du journal d’audit a disparu alors que le journal contient des entrées : "
        "lancez « ancrage verifier-journal »."
    )


def append(**fields) -> AuditEntry:
    """Append one entry (the ``AuditEntry`` fields but the chain's) to the trail."""
    # What is hashed must be what is read back: JSON turns tuples into lists, numbers keys into text.
    fields["changes"] = json.loads(json.dumps(fields.get("changes") or {}))
    with transaction.atomic():
        anchor = _locked_anchor()
        entry = AuditEntry(sequence=anchor.count + 1, previous_hash=anchor.head, **fields)
        entry.hash = entry_hash(entry.previous_hash, entry.payload(), key=journal_key())
        entry.save(force_insert=True)
        anchor.count, anchor.head = entry.sequence, entry.hash
        anchor.signature = sign(anchor.count, anchor.head)
        anchor.save(update_fields=["count", "head", "signature"])
    return entry


ANCHOR_MISSING = "L’ancre du journal d’audit (nombre d’entrées et dernière empreinte) a été supprimée."
ANCHOR_INVALID = (
    "L’ancre du journal d’audit (nombre d’entrées et dernière empreinte) n’a pas été signée avec la "
    "clé : elle a été modifiée, par exemple ramenée en arrière pour cacher des entrées supprimées."
)


def verify() -> tuple[int, list[ChainProblem]]:
    """The number of entries read, and every break in the audit chain (empty list: intact)."""
    anchor = AuditTrailAnchor.objects.filter(pk=ANCHOR_PK).first()
    entries = list(AuditEntry.objects.order_by("sequence", "id").iterator(chunk_size=2000))
    problems: list[ChainProblem] = []
    if anchor is None:
        if entries:
            problems.append(ChainProblem(None, None, ProblemKind.TRONQUEE, ANCHOR_MISSING))
        count, head = None, None
    else:
        count, head = anchor.count, anchor.head
        if not anchor_is_valid(journal_key(), CHAIN_ID, count, head, anchor.signature):
            problems.append(ChainProblem(None, None, ProblemKind.TRONQUEE, ANCHOR_INVALID))
    problems += verify_chain(entries, key=journal_key(), expected_count=count, expected_head=head)
    return len(entries), problems


def head_at(count: int) -> str | None:
    """The hash of the entry n° ``count`` (the genesis hash for 0), None if there is none."""
    if count == 0:
        return GENESIS_HASH
    return AuditEntry.objects.filter(sequence=count).values_list("hash", flat=True).first()
