"""Anchoring every chain's head to a file, and checking the chains against such a file.

The signed anchors kept in the database (``Dossier.journal_signature``, ``AuditTrailAnchor``)
stop a rewind made without the key, but not the replay of an older, genuinely signed anchor
(taken from a backup, say). A file written every day and kept outside the database (another
machine, write-once storage) closes that door: a chain only grows, so the entry the file names
at position ``count`` must still be there, with the same hash.

One JSON line per chain: ``chaine`` (``audit`` or ``dossier:<id>``), ``entrees``, ``empreinte``,
``horodatage`` (UTC) and ``hmac`` (HMAC-SHA-256 with the journal key over the rest), so that the
file cannot be edited to match a rewritten database without the key either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

from ancrage.audit import chain as audit_chain
from ancrage.audit.models import AuditEntry, AuditTrailAnchor
from ancrage.core.hashchain import GENESIS_HASH, canonical_json
from ancrage.core.keys import journal_key
from ancrage.core.wording import nombre
from ancrage.dossiers import journal
from ancrage.dossiers.models import Dossier, Traitement

_LABEL = b"ancrage.anchor-file.v1\n"


class AnchorError(Exception):
    """The anchor file cannot be written or read. The message is in French."""


def _mac(record: dict) -> str:
    fields = {k: v for k, v in record.items() if k != "hmac"}
    return hmac.new(journal_key(), _LABEL + canonical_json(fields), hashlib.sha256).hexdigest()


def current_heads() -> list[tuple[str, int, str]]:
    """(chain, count, head) of the audit trail and of every dossier, as the database says."""
    anchor = AuditTrailAnchor.objects.filter(pk=audit_chain.ANCHOR_PK).first()
    count, head = (anchor.count, anchor.head) if anchor else (0, GENESIS_HASH)
    heads = [(audit_chain.CHAIN_ID, count, head)]
    for pk, count, head in Dossier.objects.order_by("pk").values_list("pk", "journal_count", "journal_head"):
        heads.append((journal.chain_id(pk), count, head or GENESIS_HASH))
    return heads


def write(directory: Path) -> tuple[Path, int]:
    """Write ``ancre-<UTC time>.jsonl`` into ``directory``; return its path and its line count."""
    directory = Path(directory)
    if not directory.is_dir():
        raise AnchorError(f"Le dossier « {directory} » n’existe pas.")
    now = datetime.now(UTC)
    path = directory / f"ancre-{now:%Y%m%dT%H%M%SZ}.jsonl"
    if path.exists():
        raise AnchorError(f"Le fichier « {path} » existe déjà.")
    lines = []
    for chain_name, count, head in current_heads():
        record = {"chaine": chain_name, "entrees": count, "empreinte": head, "horodatage": now.isoformat()}
        record["hmac"] = _mac(record)
        lines.append(json.dumps(record, ensure_ascii=False))
    with open(path, "x", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")
    return path, len(lines)


def _hash_at(chain_name: str, count: int) -> tuple[bool, str | None, int]:
    """Whether the chain exists, the hash of its entry n° ``count``, and its current length."""
    if chain_name == audit_chain.CHAIN_ID:
        entries = AuditEntry.objects.all()
    elif chain_name.startswith("dossier:") and chain_name[8:].isdigit():
        dossier_id = int(chain_name[8:])
        if not Dossier.objects.filter(pk=dossier_id).exists():
            return False, None, 0
        entries = Traitement.objects.filter(dossier_id=dossier_id)
    else:
        return False, None, 0
    length = entries.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    if count == 0:
        return True, GENESIS_HASH, length
    return True, entries.filter(sequence=count).values_list("hash", flat=True).first(), length


def _label(chain_name: str) -> str:
    if chain_name == audit_chain.CHAIN_ID:
        return "Journal d’audit"
    return f"Dossier n° {chain_name.removeprefix('dossier:')}"


def verify_file(path: Path) -> dict[str, list[str]]:
    """The chains that no longer extend what the anchor file recorded, with why, in French."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AnchorError(f"Le fichier d’ancrage « {path} » est illisible.") from error
    problems: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            chain_name, count, head = record["chaine"], int(record["entrees"]), record["empreinte"]
            when = record["horodatage"]
        except (ValueError, KeyError, TypeError):
            problems.setdefault(f"Fichier d’ancrage « {path.name} »", []).append(
                f"La ligne {number} est illisible."
            )
            continue
        if not hmac.compare_digest(_mac(record), str(record.get("hmac", ""))):
            problems.setdefault(f"Fichier d’ancrage « {path.name} »", []).append(
                f"La ligne {number} ({_label(chain_name)}) n’est pas signée avec la clé du journal : "
                "le fichier a été modifié, ou il a été écrit avec une autre clé."
            )
            continue
        exists, stored, length = _hash_at(chain_name, count)
        if not exists:
            message = (
                f"La chaîne ancrée le {when} avec {nombre(count, 'entrée')} n’existe plus : "
                "suppression non tracée."
            )
        elif stored is None:
            message = (
                f"La chaîne compte {nombre(length, 'entrée')}, moins que les {count} ancrées le {when} : "
                "des entrées finales ont été supprimées et l’ancre ramenée en arrière."
            )
        elif not hmac.compare_digest(stored, head):
            message = (
                f"L’entrée n° {count} ne porte plus l’empreinte ancrée le {when} : "
                "le journal a été réécrit depuis."
            )
        else:
            continue
        problems.setdefault(_label(chain_name), []).append(message)
    return problems
