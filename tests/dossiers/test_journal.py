"""The chained history: append-only in the ORM and in the database, and any modified or deleted
row is found by ``verify_dossier`` and reported by ``ancrage verifier-journal``."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from ancrage.dossiers import journal, services
from ancrage.dossiers.models import AppendOnlyError, Dossier, Traitement
from tests.tampering import raw_sql_without_triggers

TABLE = "dossiers_traitement"


def _history(world):
    d = services.dossier_transition(acting_user=world.animateur, dossier=world.dossier, action="deposer")
    d = services.dossier_transition(acting_user=world.referent, dossier=d, action="passer_en_instruction")
    return services.dossier_transition(
        acting_user=world.referent, dossier=d, action="accepter", motivation="Oui"
    )


def _raw(sql, params=()):
    raw_sql_without_triggers(TABLE, sql, params)


def _run_command(*args):
    out = StringIO()
    try:
        call_command("verifier-journal", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_an_intact_history_verifies(world):
    dossier = _history(world)
    assert dossier.journal_count == 4
    assert journal.verify_dossier(dossier) == []
    out, error = _run_command()
    assert error is None and "Historique intact" in out and "4 entrées" in out


def test_the_orm_refuses_to_change_or_delete_history(world):
    entry = Traitement.objects.first()
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        Traitement.objects.all().update(motivation="x")
    with pytest.raises(AppendOnlyError):
        Traitement.objects.all().delete()


def test_the_database_refuses_raw_changes(world):
    for sql in (f"UPDATE {TABLE} SET motivation = 'x'", f"DELETE FROM {TABLE}"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


def test_a_modified_row_is_detected_and_reported(world):
    dossier = _history(world)
    _raw(f"UPDATE {TABLE} SET motivation = %s WHERE dossier_id = %s AND sequence = 4", ["Non", dossier.pk])
    problems = journal.verify_dossier(dossier)
    assert [p.kind for p in problems] == ["modifiee"]
    assert "L'entrée n° 4" in problems[0].message and "a été modifiée" in problems[0].message
    out, error = _run_command()
    assert error is not None and error.returncode == 1
    assert f"Dossier {dossier.numero}" in out and "a été modifiée" in out


def test_a_deleted_row_is_detected_and_reported(world):
    dossier = _history(world)
    _raw(f"DELETE FROM {TABLE} WHERE dossier_id = %s AND sequence = 2", [dossier.pk])
    messages = [p.message for p in journal.verify_dossier(dossier)]
    assert any("l'entrée n° 2 manque" in m for m in messages)
    out, error = _run_command()
    assert error is not None and "manque" in out


def test_deleting_the_last_row_is_detected_too(world):
    dossier = _history(world)
    _raw(f"DELETE FROM {TABLE} WHERE dossier_id = %s AND sequence = 4", [dossier.pk])
    kinds = {p.kind for p in journal.verify_dossier(dossier)}
    assert kinds == {"tronquee"}


def test_the_key_comes_from_the_settings(world, settings):
    dossier = _history(world)
    settings.ANCRAGE_JOURNAL_KEY = "une-autre-cle"
    # Another key: every entry looks modified and the anchor unsigned (why the key must be kept
    # when SECRET_KEY rotates).
    assert {p.kind for p in journal.verify_dossier(dossier)} == {"modifiee", "tronquee"}


def test_rewinding_the_anchor_after_deleting_the_decision_is_detected(world):
    """The attack seen in the audit: delete the last ``accepter`` row, rewind count and head."""
    dossier = _history(world)
    third = Traitement.objects.get(dossier=dossier, sequence=3)
    _raw(f"DELETE FROM {TABLE} WHERE dossier_id = %s AND sequence = 4", [dossier.pk])
    Dossier.objects.filter(pk=dossier.pk).update(journal_count=3, journal_head=third.hash)
    dossier.refresh_from_db()
    assert [p.message for p in journal.verify_dossier(dossier)] == [journal.ANCHOR_INVALID]
    out, error = _run_command()
    assert error is not None and error.returncode == 1 and "n'a pas été signée avec la clé" in out


def test_an_anchor_file_catches_the_replay_of_an_older_signed_anchor(world, tmp_path):
    """Restoring an older, genuinely signed anchor passes the signature: the daily file does not."""
    d = services.dossier_transition(acting_user=world.animateur, dossier=world.dossier, action="deposer")
    d = services.dossier_transition(acting_user=world.referent, dossier=d, action="passer_en_instruction")
    before = (d.journal_count, d.journal_head, d.journal_signature)
    d = services.dossier_transition(
        acting_user=world.referent, dossier=d, action="accepter", motivation="Oui"
    )
    call_command("ancrer-journaux", "--out", str(tmp_path), stdout=StringIO())
    (anchor_file,) = tmp_path.glob("ancre-*.jsonl")
    assert _run_command("--ancre", str(anchor_file))[1] is None

    _raw(f"DELETE FROM {TABLE} WHERE dossier_id = %s AND sequence = 4", [d.pk])
    Dossier.objects.filter(pk=d.pk).update(
        journal_count=before[0], journal_head=before[1], journal_signature=before[2]
    )
    d.refresh_from_db()
    assert journal.verify_dossier(d) == []  # the limit of an anchor kept in the same database
    out, error = _run_command("--ancre", str(anchor_file))
    assert error is not None and error.returncode == 1
    assert f"Dossier n° {d.pk} :" in out and "moins que les 4 ancrées" in out


def test_an_edited_anchor_file_is_refused(world, tmp_path):
    _history(world)
    call_command("ancrer-journaux", "--out", str(tmp_path), stdout=StringIO())
    (anchor_file,) = tmp_path.glob("ancre-*.jsonl")
    lines = anchor_file.read_text().splitlines()
    record = json.loads(lines[-1])
    record["entrees"] -= 1
    anchor_file.write_text("\n".join([*lines[:-1], json.dumps(record)]) + "\n")
    out, error = _run_command("--ancre", str(anchor_file))
    assert error is not None and "n’est pas signée avec la clé du journal" in out
