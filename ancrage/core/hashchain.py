"""Append-only chained log: each entry carries the hash of the one before it.

Pure module: no Django. The audit tables (dossier history, convention circuit) store one row per
event; each row keeps ``previous_hash`` (the ``hash`` of the row before it) and its own ``hash``,
computed over ``previous_hash`` and a canonical serialisation of its payload. Editing, deleting,
inserting or moving a row then breaks the chain at a place ``verify_chain`` can name.

What the chain cannot do on its own:

- Someone able to rewrite the whole table can recompute every hash. Passing a secret ``key``
  (kept outside the database, e.g. in the settings) turns the hash into an HMAC and closes that
  door; publishing the head hash (in an attestation, a bilan) anchors the chain as well.
- Deleting the *last* entries leaves a shorter chain that is still valid. ``verify_chain`` detects
  it only if given what the caller knows independently: ``expected_count`` or ``expected_head``.

The payload must contain everything worth protecting (who, when, what, motivation, the
document's hash). The sequence number is not hashed: its continuity is checked instead, and any
reordering breaks the links anyway.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: ``previous_hash`` of the first entry. 64 zeros: the same length as a real hash, so that a
#: column sized for SHA-256 hex holds it.
GENESIS_HASH = "0" * 64


class CanonicalisationError(TypeError):
    """A payload holds a value that has no stable serialisation."""


def _normalise(value: Any, path: str) -> Any:
    # Turns the payload into JSON-native values, refusing anything whose text could change
    # between the moment it is written and the moment it is read back from the database.
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return _normalise(value.value, path)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CanonicalisationError(f"{path} : nombre non fini ({value}), impossible à sérialiser.")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalisationError(f"{path} : nombre décimal non fini ({value}).")
        # "f" avoids exponents ("1E+2"): the text stays the one the database returns.
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise CanonicalisationError(
                f"{path} : date et heure sans fuseau horaire ({value.isoformat()}) ; "
                "une date « naïve » relue depuis la base ne donnerait pas la même empreinte."
            )
        # The same instant must give the same hash whatever the time zone it was written in.
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _normalise({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, path)
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalisationError(f"{path} : clé non textuelle {key!r}.")
            result[key] = _normalise(item, f"{path}.{key}")
        return result
    if isinstance(value, set | frozenset):
        items = [_normalise(item, f"{path}[]") for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, ensure_ascii=False))
    if isinstance(value, list | tuple):
        return [_normalise(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise CanonicalisationError(f"{path} : type non pris en charge ({type(value).__name__}).")


def canonical_json(payload: Any) -> bytes:
    """Stable UTF-8 JSON: sorted keys, no spaces, ISO datetimes in UTC, Decimals as strings."""
    return json.dumps(
        _normalise(payload, "payload"),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    ).encode("utf-8")


def entry_hash(previous_hash: str, payload: Any, *, key: bytes | None = None) -> str:
    """SHA-256 hex of the previous hash and the canonical payload (HMAC-SHA-256 with ``key``)."""
    message = previous_hash.encode("ascii") + b"\n" + canonical_json(payload)
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def anchor_signature(key: bytes, chain: str, count: int, head: str) -> str:
    """HMAC-SHA-256 over a chain's identity, length and last hash: its signed anchor.

    Stored beside the chain (the dossier row, the audit trail's head row), it makes rewinding the
    anchor to hide deleted final entries visible to anyone holding the key: without it, a new
    ``(count, head)`` pair cannot be signed. The message is prefixed so that an anchor signature
    can never pass for an entry hash made with the same key.
    """
    message = f"ancrage.anchor.v1\n{chain}\n{int(count)}\n{head}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def anchor_is_valid(key: bytes, chain: str, count: int, head: str, signature: str) -> bool:
    return hmac.compare_digest(anchor_signature(key, chain, count, head), signature or "")


@dataclass(frozen=True)
class ChainEntry:
    sequence: int
    payload: Mapping[str, Any]
    previous_hash: str
    hash: str


def append_entry(
    entries: Sequence[Any], payload: Mapping[str, Any], *, key: bytes | None = None
) -> ChainEntry:
    """The entry that follows ``entries`` (which are assumed to be verified)."""
    if entries:
        last = entries[-1]
        sequence, previous_hash = _field(last, "sequence") + 1, _field(last, "hash")
    else:
        sequence, previous_hash = 1, GENESIS_HASH
    return ChainEntry(sequence, payload, previous_hash, entry_hash(previous_hash, payload, key=key))


def build_chain(payloads: Iterable[Mapping[str, Any]], *, key: bytes | None = None) -> list[ChainEntry]:
    entries: list[ChainEntry] = []
    for payload in payloads:
        entries.append(append_entry(entries, payload, key=key))
    return entries


class ProblemKind(enum.StrEnum):
    MODIFIEE = "modifiee"
    SUPPRIMEE = "supprimee"
    INSEREE = "inseree"
    DEPLACEE = "deplacee"
    NUMEROTATION = "numerotation"
    TRONQUEE = "tronquee"


@dataclass(frozen=True)
class ChainProblem:
    #: Position (0-based) in the list given to ``verify_chain``; None for a problem of the whole chain.
    position: int | None
    sequence: int | None
    kind: ProblemKind
    message: str

    def __str__(self) -> str:
        return self.message


def _field(entry: Any, name: str) -> Any:
    value = entry[name] if isinstance(entry, Mapping) else getattr(entry, name)
    # A model may expose its payload as a method, built from its columns.
    return value() if name == "payload" and callable(value) else value


def verify_chain(
    entries: Sequence[Any],
    *,
    key: bytes | None = None,
    first_sequence: int = 1,
    expected_count: int | None = None,
    expected_head: str | None = None,
) -> list[ChainProblem]:
    """Every break in the chain, in French, in the order the entries are given (empty list: intact).

    ``entries`` are mappings or objects with ``sequence``, ``payload``, ``previous_hash`` and
    ``hash``, in the order they are stored (by sequence). ``first_sequence`` is the number of the
    first entry when verifying a whole log; ``expected_count`` and ``expected_head`` are the length
    and last hash known from elsewhere, the only way to notice that the last entries were removed.
    """
    problems: list[ChainProblem] = []
    rows = [
        (_field(e, "sequence"), _field(e, "payload"), _field(e, "previous_hash"), _field(e, "hash"))
        for e in entries
    ]
    position_by_hash: dict[str, int] = {}
    for position, (_, _, _, stored) in enumerate(rows):
        position_by_hash.setdefault(stored, position)

    def add(position: int | None, sequence: int | None, kind: ProblemKind, message: str) -> None:
        problems.append(ChainProblem(position, sequence, kind, message))

    for position, (sequence, payload, previous_hash, stored) in enumerate(rows):
        label = f"L'entrée n° {sequence} (position {position + 1})"

        expected_sequence = first_sequence if position == 0 else rows[position - 1][0] + 1
        _check_numbering(add, position, sequence, expected_sequence, label)
        _check_content(add, position, sequence, payload, previous_hash, stored, key, label)
        expected_previous = GENESIS_HASH if position == 0 else rows[position - 1][3]
        if previous_hash != expected_previous:
            _check_link(add, rows, position_by_hash, position, sequence, previous_hash, label)

    if expected_count is not None and len(rows) != expected_count:
        add(
            None,
            None,
            ProblemKind.TRONQUEE,
            f"Le journal compte {len(rows)} entrée(s) au lieu de {expected_count} attendue(s).",
        )
    if expected_head is not None:
        head = rows[-1][3] if rows else GENESIS_HASH
        if head != expected_head:
            add(
                None,
                None,
                ProblemKind.TRONQUEE,
                "La dernière empreinte du journal ne correspond pas à celle qui avait été publiée : "
                "des entrées finales ont été supprimées ou ajoutées.",
            )
    return problems


# What the checks below call to report a problem: (position, sequence, kind, message).
_Add = Callable[[int | None, int | None, ProblemKind, str], None]


def _check_numbering(add: _Add, position: int, sequence: int, expected_sequence: int, label: str) -> None:
    """A gap before the entry, or a number it should not have."""
    if sequence > expected_sequence:
        missing = (
            f"l'entrée n° {expected_sequence} manque"
            if sequence == expected_sequence + 1
            else f"les entrées n° {expected_sequence} à {sequence - 1} manquent"
        )
        add(position, sequence, ProblemKind.SUPPRIMEE, f"{label} suit une lacune : {missing}.")
    elif sequence < expected_sequence:
        add(
            position,
            sequence,
            ProblemKind.NUMEROTATION,
            f"{label} devrait porter le n° {expected_sequence} : numérotation modifiée, "
            "entrée dupliquée ou déplacée.",
        )


def _check_content(
    add: _Add,
    position: int,
    sequence: int,
    payload: Any,
    previous_hash: str,
    stored: str,
    key: bytes | None,
    label: str,
) -> None:
    """An entry whose hash no longer matches its content (or that cannot be read again)."""
    try:
        recomputed = entry_hash(previous_hash, payload, key=key)
    except CanonicalisationError as error:
        add(position, sequence, ProblemKind.MODIFIEE, f"{label} ne peut pas être relue : {error}")
        recomputed = None
    if recomputed is not None and not hmac.compare_digest(recomputed, stored):
        add(
            position,
            sequence,
            ProblemKind.MODIFIEE,
            f"{label} a été modifiée : son empreinte ne correspond plus à son contenu.",
        )


def _check_link(
    add: _Add,
    rows: list[tuple],
    position_by_hash: dict[str, int],
    position: int,
    sequence: int,
    previous_hash: str,
    label: str,
) -> None:
    """Why an entry is not linked to the one before it: inserted, moved, or what preceded it removed."""
    target = position_by_hash.get(previous_hash)
    if previous_hash == GENESIS_HASH:
        add(
            position,
            sequence,
            ProblemKind.INSEREE,
            f"{label} se présente comme la première du journal : les entrées qui la précèdent "
            "ont été insérées, ou elle a été déplacée.",
        )
    elif target is not None and target < position:
        inserted = ", ".join(f"n° {rows[i][0]}" for i in range(target + 1, position))
        add(
            position,
            sequence,
            ProblemKind.INSEREE,
            f"{label} se rattache à l'entrée n° {rows[target][0]} et non à celle qui la précède : "
            f"entrée(s) insérée(s) ou déplacée(s) entre les deux ({inserted}).",
        )
    elif target is not None:
        add(
            position,
            sequence,
            ProblemKind.DEPLACEE,
            f"{label} se rattache à l'entrée n° {rows[target][0]}, placée après elle : "
            "l'ordre des entrées a été modifié.",
        )
    elif position == 0:
        add(
            position,
            sequence,
            ProblemKind.SUPPRIMEE,
            f"{label} ne se rattache pas au début du journal : les entrées qui la précédaient "
            "ont été supprimées.",
        )
    else:
        previous_sequence = rows[position - 1][0]
        add(
            position,
            sequence,
            ProblemKind.SUPPRIMEE,
            f"{label} ne se rattache pas à l'entrée n° {previous_sequence} qui la précède : "
            "l'entrée qui se trouvait entre les deux a été supprimée, ou l'entrée n° "
            f"{previous_sequence} a été modifiée.",
        )
