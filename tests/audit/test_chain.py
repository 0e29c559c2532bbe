"""The audit trail is chained and its anchor signed: an edited, deleted or truncated trail, or a
rewound anchor, is found by ``chain.verify`` and by ``ancrage verifier-journal`` (exit status 1)."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ancrage.audit import chain
from ancrage.audit.enums import AuditAction
from ancrage.audit.models import AuditEntry, AuditTrailAnchor
from ancrage.audit.services import audit_record
from ancrage.core.hashchain import GENESIS_HASH
from tests.organisations.factories import UserFactory
from tests.tampering import raw_sql_without_triggers

TABLE = "audit_auditentry"


@pytest.fixture
def trail(db):
    user = UserFactory()
    for n in range(4):
        audit_record(acting_user=user, action=AuditAction.UPDATE, changes={"n": n, "t": (1, 2), 3: "x"})
    return list(AuditEntry.objects.order_by("sequence"))


def _raw(sql, params=()):
    raw_sql_without_triggers(TABLE, sql, params)


def _command(*args):
    out = StringIO()
    try:
        call_command("verifier-journal", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error.returncode
    return out.getvalue(), 0


def _messages():
    return [p.message for p in chain.verify()[1]]


def test_entries_are_chained_and_the_anchor_signed(trail):
    assert [e.sequence for e in trail[-4:]] == list(range(trail[-4].sequence, trail[-1].sequence + 1))
    assert trail[0].previous_hash == GENESIS_HASH
    assert all(b.previous_hash == a.hash for a, b in zip(trail, trail[1:], strict=False))
    anchor = AuditTrailAnchor.objects.get()
    assert (anchor.count, anchor.head) == (trail[-1].sequence, trail[-1].hash)
    assert chain.verify() == (len(trail), [])
    out, status = _command()
    assert status == 0 and "Historique intact" in out and f"{len(trail)} entrées du journal d’audit" in out


def test_an_edited_row_is_detected(trail):
    _raw(f"UPDATE {TABLE} SET object_repr = 'autre chose' WHERE id = %s", [trail[1].pk])
    assert any(f"L'entrée n° {trail[1].sequence}" in m and "a été modifiée" in m for m in _messages())
    out, status = _command()
    assert status == 1 and "Journal d’audit :" in out and "a été modifiée" in out


def test_a_deleted_row_is_detected(trail):
    _raw(f"DELETE FROM {TABLE} WHERE id = %s", [trail[1].pk])
    assert any(f"l'entrée n° {trail[1].sequence} manque" in m for m in _messages())
    assert _command()[1] == 1


def test_a_deleted_tail_is_detected(trail):
    _raw(f"DELETE FROM {TABLE} WHERE id = %s", [trail[-1].pk])
    assert any(f"au lieu de {trail[-1].sequence}" in m for m in _messages())


def test_a_rewound_anchor_is_detected(trail):
    _raw(f"DELETE FROM {TABLE} WHERE id = %s", [trail[-1].pk])
    AuditTrailAnchor.objects.update(count=trail[-2].sequence, head=trail[-2].hash)
    messages = _messages()
    assert messages == [chain.ANCHOR_INVALID]
    out, status = _command()
    assert status == 1 and "n’a pas été signée avec la clé" in out


def test_a_deleted_anchor_is_detected(trail):
    with connection.cursor() as cursor:
        trigger = "audit_audittrailanchor_no_delete"
        if connection.vendor == "sqlite":
            cursor.execute(f"DROP TRIGGER {trigger}")
        else:
            cursor.execute(f"ALTER TABLE audit_audittrailanchor DISABLE TRIGGER {trigger}")
        cursor.execute("DELETE FROM audit_audittrailanchor")
    assert _messages() == [chain.ANCHOR_MISSING]
    with pytest.raises(chain.AuditChainError, match="a disparu"):
        audit_record(acting_user=None, action=AuditAction.CREATE)


def test_concurrent_writers_never_fork_the_chain(postgres_only, committed_db):
    errors = []
    start = threading.Barrier(4)  # all at once onto the empty trail: the anchor is created in a race

    def write():
        try:
            start.wait()
            for n in range(10):
                audit_record(acting_user=None, action=AuditAction.CREATE, changes={"n": n})
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    count, problems = chain.verify()
    assert (count, problems) == (40, [])


def test_an_anchor_file_catches_an_older_signed_anchor_put_back(trail, tmp_path):
    old = AuditTrailAnchor.objects.values("count", "head", "signature").get()
    audit_record(acting_user=None, action=AuditAction.DELETE)
    call_command("ancrer-journaux", "--out", str(tmp_path), stdout=StringIO())
    (anchor_file,) = tmp_path.glob("ancre-*.jsonl")
    assert _command("--ancre", str(anchor_file))[1] == 0

    _raw(f"DELETE FROM {TABLE} WHERE sequence = %s", [old["count"] + 1])
    AuditTrailAnchor.objects.update(**old)
    assert chain.verify()[1] == []  # a genuine older anchor: only the file can tell
    out, status = _command("--ancre", str(anchor_file))
    assert status == 1 and "Journal d’audit :" in out
    assert f"moins que les {old['count'] + 1} ancrées" in out
