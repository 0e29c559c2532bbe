"""The chained history: append-only in the ORM and in the database, and any modified or deleted
row is found by ``verify_dossier`` and reported by ``ancrage verifier-journal``."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from ancrage.dossiers import journal, services
from ancrage.dossiers.models import AppendOnlyError, Traitement

TABLE = "dossiers_traitement"


def _history(world):
    d = services.dossier_transition(acting_user=world.animateur, dossier=world.dossier, action="deposer")
    d = services.dossier_transition(acting_user=world.referent, dossier=d, action="passer_en_instruction")
    return services.dossier_transition(
        acting_user=world.referent, dossier=d, action="accepter", motivation="Oui"
    )


def _raw(sql, params=()):
    """Run SQL with the append-only triggers off, as someone with direct database access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"DROP TRIGGER {TABLE}_no_update")
            cursor.execute(f"DROP TRIGGER {TABLE}_no_delete")
        else:
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TABLE}_append_only")
        cursor.execute(sql, params)
        # DDL is transactional on both databases: the test's rollback restores the triggers.


def _run_command():
    from io import StringIO

    out = StringIO()
    try:
        call_command("verifier-journal", stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_an_intact_history_verifies(world):
    dossier = _history(world)
    assert dossier.journal_count == 4
    assert journal.verify_dossier(dossier) == []
    out, error = _run_command()
    assert error is None and "Historique intact" in out and "4 entrée(s)" in out


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
