import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ancrage.core.hashchain import (
    GENESIS_HASH,
    CanonicalisationError,
    ChainEntry,
    ProblemKind,
    append_entry,
    build_chain,
    canonical_json,
    entry_hash,
    verify_chain,
)

PARIS = dt.timezone(dt.timedelta(hours=2))


def payloads(n):
    return [{"action": "deposer", "par": f"user-{i}", "motivation": f"étape {i}"} for i in range(n)]


def kinds(problems):
    return {p.kind for p in problems}


class Colour(enum.StrEnum):
    RED = "rouge"


@dataclasses.dataclass
class Point:
    x: int
    y: Decimal


def test_canonical_json_is_stable_and_sorted():
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})


def test_canonical_json_converts_domain_types():
    moment = dt.datetime(2025, 3, 1, 10, 0, tzinfo=PARIS)
    data = {
        "moment": moment,
        "jour": dt.date(2025, 3, 1),
        "montant": Decimal("1E+2"),
        "prix": Decimal("12.50"),
        "id": uuid.UUID(int=1),
        "etat": Colour.RED,
        "point": Point(1, Decimal("2.0")),
        "tags": {"b", "a"},
        "liste": (1, 2),
    }
    text = canonical_json(data).decode()
    assert '"moment":"2025-03-01T08:00:00+00:00"' in text
    assert '"jour":"2025-03-01"' in text
    assert '"montant":"100"' in text
    assert '"prix":"12.50"' in text
    assert '"etat":"rouge"' in text
    assert '"point":{"x":1,"y":"2.0"}' in text
    assert '"tags":["a","b"]' in text
    assert '"liste":[1,2]' in text


def test_same_instant_in_two_time_zones_gives_the_same_hash():
    paris = dt.datetime(2025, 3, 1, 10, 0, tzinfo=PARIS)
    assert entry_hash(GENESIS_HASH, {"t": paris}) == entry_hash(GENESIS_HASH, {"t": paris.astimezone(dt.UTC)})


@pytest.mark.parametrize("value", [dt.datetime(2025, 1, 1), float("nan"), Decimal("NaN"), object(), {1: "x"}])
def test_canonical_json_refuses_unstable_values(value):
    with pytest.raises(CanonicalisationError):
        canonical_json({"v": value})


def test_entry_hash_is_sha256_hex_and_depends_on_previous_and_key():
    h = entry_hash(GENESIS_HASH, {"a": 1})
    assert len(h) == 64 and int(h, 16) >= 0
    assert h != entry_hash("1" * 64, {"a": 1})
    assert h != entry_hash(GENESIS_HASH, {"a": 1}, key=b"secret")


def test_intact_chain_has_no_problem():
    chain = build_chain(payloads(5))
    assert [e.sequence for e in chain] == [1, 2, 3, 4, 5]
    assert chain[0].previous_hash == GENESIS_HASH
    assert verify_chain(chain) == []
    assert verify_chain(chain, expected_count=5, expected_head=chain[-1].hash) == []
    assert verify_chain([]) == []


def test_accepts_mappings_and_objects_with_payload_method():
    chain = build_chain(payloads(3))

    class Row:
        def __init__(self, entry):
            self.sequence, self.previous_hash, self.hash = entry.sequence, entry.previous_hash, entry.hash
            self._payload = entry.payload

        def payload(self):
            return self._payload

    assert verify_chain([dataclasses.asdict(e) for e in chain]) == []
    assert verify_chain([Row(e) for e in chain]) == []


def test_modified_entry_is_named():
    chain = build_chain(payloads(4))
    chain[2] = dataclasses.replace(chain[2], payload={**chain[2].payload, "motivation": "autre"})
    problems = verify_chain(chain)
    assert len(problems) == 1
    assert problems[0].kind == ProblemKind.MODIFIEE and problems[0].sequence == 3
    assert "L'entrée n° 3" in problems[0].message and "modifiée" in problems[0].message


def test_deleted_entry_is_named():
    chain = build_chain(payloads(5))
    del chain[2]
    problems = verify_chain(chain)
    assert kinds(problems) == {ProblemKind.SUPPRIMEE}
    assert any("l'entrée n° 3 manque" in p.message for p in problems)


def test_deleted_first_entry_is_detected():
    chain = build_chain(payloads(3))[1:]
    assert ProblemKind.SUPPRIMEE in kinds(verify_chain(chain))


def test_deleted_last_entry_needs_an_anchor():
    chain = build_chain(payloads(4))
    head = chain[-1].hash
    truncated = chain[:-1]
    assert verify_chain(truncated) == []
    assert kinds(verify_chain(truncated, expected_count=4)) == {ProblemKind.TRONQUEE}
    assert kinds(verify_chain(truncated, expected_head=head)) == {ProblemKind.TRONQUEE}


def test_inserted_entry_is_named():
    chain = build_chain(payloads(4))
    forged = append_entry(chain[:2], {"action": "accepter", "par": "intrus"})
    # The forger renumbers the following rows so that the numbering looks continuous.
    tampered = chain[:2] + [forged] + [dataclasses.replace(e, sequence=e.sequence + 1) for e in chain[2:]]
    problems = verify_chain(tampered)
    assert [p.kind for p in problems] == [ProblemKind.INSEREE]
    assert "se rattache à l'entrée n° 2" in problems[0].message
    assert "n° 3" in problems[0].message


def test_reordered_entries_are_detected():
    chain = build_chain(payloads(4))
    swapped = [chain[0], chain[2], chain[1], chain[3]]
    problems = verify_chain(swapped)
    assert ProblemKind.DEPLACEE in kinds(problems)
    assert ProblemKind.NUMEROTATION in kinds(problems)
    # Same swap but with the sequence numbers rewritten to look continuous.
    renumbered = [dataclasses.replace(e, sequence=i + 1) for i, e in enumerate(swapped)]
    assert ProblemKind.DEPLACEE in kinds(verify_chain(renumbered))


def test_recomputed_chain_is_caught_by_the_key():
    key = b"cle-secrete"
    chain = build_chain(payloads(3), key=key)
    assert verify_chain(chain, key=key) == []
    forged = build_chain([*payloads(2), {"action": "refuser"}])  # an attacker without the key
    assert kinds(verify_chain(forged, key=key)) == {ProblemKind.MODIFIEE}


def test_unreadable_payload_is_reported_not_raised():
    chain = build_chain(payloads(2))
    chain[1] = ChainEntry(2, {"t": dt.datetime(2025, 1, 1)}, chain[1].previous_hash, chain[1].hash)
    problems = verify_chain(chain)
    assert problems[0].kind == ProblemKind.MODIFIEE and "fuseau" in problems[0].message


# Property-based: any single tampering is detected.

small_payloads = st.lists(
    st.fixed_dictionaries(
        {
            "action": st.sampled_from(["deposer", "accepter", "refuser"]),
            "montant": st.decimals(min_value=0, max_value=10**6, places=2),
            "texte": st.text(max_size=20),
        }
    ),
    min_size=2,
    max_size=12,
)


@given(small_payloads, st.data())
def test_any_single_modification_is_detected(items, data):
    chain = build_chain(items)
    index = data.draw(st.integers(0, len(chain) - 1))
    new_text = data.draw(st.text(max_size=20).filter(lambda t: t != chain[index].payload["texte"]))
    chain[index] = dataclasses.replace(chain[index], payload={**chain[index].payload, "texte": new_text})
    problems = verify_chain(chain)
    assert problems and problems[0].sequence == index + 1


@given(small_payloads, st.data())
def test_any_single_deletion_is_detected(items, data):
    chain = build_chain(items)
    index = data.draw(st.integers(0, len(chain) - 1))
    tampered = chain[:index] + chain[index + 1 :]
    assert verify_chain(tampered, expected_count=len(chain))
    if index < len(chain) - 1:
        # Even without an anchor, and even after renumbering.
        assert verify_chain(tampered)
        renumbered = [dataclasses.replace(e, sequence=i + 1) for i, e in enumerate(tampered)]
        assert verify_chain(renumbered)


@given(small_payloads, st.data())
def test_any_swap_is_detected(items, data):
    chain = build_chain(items)
    i = data.draw(st.integers(0, len(chain) - 2))
    j = data.draw(st.integers(i + 1, len(chain) - 1))
    chain[i], chain[j] = chain[j], chain[i]
    assert verify_chain(chain)
    renumbered = [dataclasses.replace(e, sequence=k + 1) for k, e in enumerate(chain)]
    assert verify_chain(renumbered)


@given(small_payloads, st.data())
def test_any_insertion_is_detected(items, data):
    chain = build_chain(items)
    index = data.draw(st.integers(0, len(chain)))
    forged = append_entry(chain[:index], {"action": "intrus"})
    tampered = chain[:index] + [forged] + chain[index:]
    renumbered = [dataclasses.replace(e, sequence=k + 1) for k, e in enumerate(tampered)]
    if index < len(chain):
        assert verify_chain(renumbered)
    else:
        # Appending at the end is what a legitimate write does; only an anchor can tell.
        assert verify_chain(renumbered, expected_head=chain[-1].hash)
