import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from ancrage.audit import context
from ancrage.audit.enums import AuditAction, AuditOrigin
from ancrage.audit.models import AppendOnlyError, AuditEntry
from ancrage.audit.services import audit_record
from tests.organisations.factories import UserFactory


@pytest.fixture
def entry(db):
    return audit_record(acting_user=UserFactory(), action=AuditAction.CREATE, changes={"x": 1})


def test_orm_refuses_to_change_or_delete_an_entry(entry):
    entry.action = AuditAction.DELETE
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().update(action="delete")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_auditentry SET action = 'delete'", "DELETE FROM audit_auditentry"],
)
def test_database_refuses_raw_sql_changes(entry, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEntry.objects.filter(pk=entry.pk, action="create").exists()


def test_deleting_a_user_keeps_their_entries(entry):
    actor = entry.actor
    actor.delete()
    kept = AuditEntry.objects.get(pk=entry.pk)
    assert kept.actor_label == actor.email


def test_entry_outside_a_request_comes_from_the_command_line(entry):
    assert entry.origin == AuditOrigin.CLI
    assert entry.ip_address is None


def test_web_login_records_who_and_from_where(client, db):
    user = UserFactory(email="camille@exemple.fr")
    response = client.post(
        reverse("accounts:login"),
        {"username": "Camille@exemple.fr", "password": "mot-de-passe-de-test"},
        REMOTE_ADDR="192.0.2.10",
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN)
    assert (entry.actor, entry.origin, entry.ip_address) == (user, AuditOrigin.WEB, "192.0.2.10")


def test_failed_login_records_the_identifier_but_never_the_password(client, db):
    client.post(reverse("accounts:login"), {"username": "intrus@exemple.fr", "password": "secret-123456"})
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED)
    assert entry.changes == {"identifiant": "intrus@exemple.fr"}
    assert "secret-123456" not in str(entry.changes)


def test_forwarded_address_is_trusted_only_behind_configured_proxies(client, db, settings):
    UserFactory(email="a@exemple.fr")
    credentials = {"username": "a@exemple.fr", "password": "mot-de-passe-de-test"}
    client.post(
        reverse("accounts:login"), credentials, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert AuditEntry.objects.get(action="login").ip_address == "10.0.0.1"
    client.logout()
    settings.ANCRAGE_TRUSTED_PROXY_COUNT = 1
    client.post(
        reverse("accounts:login"), credentials, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert AuditEntry.objects.filter(action="login").first().ip_address == "203.0.113.9"


def test_write_context_is_restored_after_a_request(client, db):
    client.get(reverse("accounts:login"))
    assert context.current().origin == AuditOrigin.CLI
