"""Personal data of usagers: retention and purge, one usager's export and erasure, audited."""

import datetime as dt
import io
from collections import Counter
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ancrage.audit.enums import AuditAction
from ancrage.audit.models import AuditEntry
from ancrage.diagnostic import jobs
from ancrage.diagnostic.models import ImportJob
from ancrage.frequentation import readers, services
from ancrage.frequentation.comptages import profils_of
from ancrage.frequentation.models import FrequentationImport, Profils, Usager
from ancrage.organisations.enums import Role
from tests.organisations.factories import MembershipFactory, StructureFactory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "frequentation" / "correct-files"
HEADER = ";".join(readers.USAGERS_COLUMNS)


def _csv(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def _store(structure, data: bytes, name="usagers.csv", at=None) -> FrequentationImport:
    freq = readers.read_usagers(data, name)
    dataset = services.frequentation_import(
        acting_user=None, structure=structure, frequentation=freq, sha256="x" * 64
    )
    if at is not None:
        FrequentationImport.objects.filter(pk=dataset.pk).update(created_at=at)
        dataset.refresh_from_db()
    return dataset


def _profiles(dataset) -> Counter:
    return Counter({tuple(r[:-1]): r[-1] for r in profils_of(dataset).rows()})


def test_profiles_rebuilt_from_records_equal_those_of_the_import(db):
    for path, fmt in ((FIXTURES / "usagers.csv", "ancrage"), (FIXTURES / "export-coop.xlsx", "coop")):
        freq = readers.read_frequentation(path, format=fmt)
        dataset = services.frequentation_import(
            acting_user=None, structure=StructureFactory(), frequentation=freq, sha256="x" * 64
        )
        assert services.profiles_from_records(dataset) == _profiles(dataset), fmt


def test_months_before_clamps_the_day():
    moment = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
    assert services.months_before(moment, 1) == dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)
    assert services.months_before(moment, 36) == dt.datetime(2023, 3, 31, 12, tzinfo=dt.UTC)


def test_purge_deletes_expired_records_and_keeps_aggregates_consistent(db, settings):
    settings.ANCRAGE_RETENTION_USAGERS_MOIS = 36
    epn = StructureFactory()
    now = timezone.now()
    old_at = now - dt.timedelta(days=4 * 365)
    old = _store(epn, _csv("a1;1950;;F;;;;35238;2020-01-02;", "a2;1960;;H;;;;35238;2020-02-03;"), at=old_at)
    # An old import with one recent visit: only the old record goes, the aggregates follow.
    mixed = _store(
        epn,
        _csv("b1;1970;;F;;;;35238;2020-01-02;", f"b2;1980;;H;;;;35238;{now.date().isoformat()};"),
        at=old_at,
    )
    recent = _store(epn, _csv("c1;1990;;F;;;;35238;2025-01-02;"))
    before = (Usager.objects.count(), Profils.objects.count(), AuditEntry.objects.count())

    dry = services.usagers_purge(acting_user=None, dry_run=True)
    assert (dry.usagers, dry.imports_supprimes, dry.imports_reduits) == (3, [old.pk], [mixed.pk])
    assert (Usager.objects.count(), Profils.objects.count(), AuditEntry.objects.count()) == before

    report = services.usagers_purge(acting_user=None)
    assert (report.usagers, report.imports_supprimes, report.imports_reduits) == (3, [old.pk], [mixed.pk])
    assert not FrequentationImport.objects.filter(pk=old.pk).exists()
    assert list(Usager.objects.filter(dataset=mixed).values_list("identifiant", flat=True)) == ["b2"]
    mixed.refresh_from_db()
    assert mixed.nb_enregistrements == 1 and mixed.periode_debut == now.date()
    assert _profiles(mixed) == services.profiles_from_records(mixed)
    assert sum(_profiles(mixed).values()) == 1
    assert Usager.objects.filter(dataset=recent).count() == 1
    entries = AuditEntry.objects.filter(
        action=AuditAction.DELETE, object_type="frequentation.frequentationimport"
    )
    assert sorted(int(e.object_id) for e in entries) == sorted([old.pk, mixed.pk])
    for entry in entries:
        assert "a1" not in str(entry.changes) and "b1" not in str(entry.changes)


def test_purge_is_all_or_nothing(db, monkeypatch):
    epn = StructureFactory()
    old_at = timezone.now() - dt.timedelta(days=4 * 365)
    for k in range(3):
        _store(epn, _csv(f"z{k};1950;;F;;;;35238;2020-01-02;"), at=old_at)
    counts = (Usager.objects.count(), FrequentationImport.objects.count(), AuditEntry.objects.count())
    calls = []
    real = services._remove_records

    def failing(dataset, records):
        calls.append(dataset.pk)
        if len(calls) == 2:
            raise RuntimeError("panne simulée")
        return real(dataset, records)

    monkeypatch.setattr(services, "_remove_records", failing)
    with pytest.raises(RuntimeError):
        services.usagers_purge(acting_user=None)
    assert (Usager.objects.count(), FrequentationImport.objects.count(), AuditEntry.objects.count()) == counts


def test_purge_command_and_abandoned_deposits(db, settings):
    epn = StructureFactory()
    _store(epn, _csv("a1;1950;;F;;;;35238;2020-01-02;"), at=timezone.now() - dt.timedelta(days=4 * 365))
    job = ImportJob.objects.create(
        structure=epn,
        kind="frequentation",
        fichier="u.csv",
        sha256="x" * 64,
        state=ImportJob.State.PRET,
        apercu={"lignes": [["2", "1950"]]},
    )
    jobs._keep_file(job, b"a1;1950")
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    out = io.StringIO()
    call_command("purger-usagers", "--dry-run", stdout=out)
    assert "Simulation" in out.getvalue() and "1 enregistrement d’usagers" in out.getvalue()
    assert "1 dépôt de fichier" in out.getvalue()
    assert Usager.objects.count() == 1
    job.refresh_from_db()
    assert job.state == ImportJob.State.PRET and job.apercu  # the dry run rolled the deposits back too
    call_command("purger-usagers", stdout=out)
    assert Usager.objects.count() == 0
    job.refresh_from_db()
    assert job.state == ImportJob.State.ANNULE and not job.parts.exists() and job.apercu == {}


@pytest.fixture
def responsable(db):
    membership = MembershipFactory(role=Role.RESPONSABLE)
    return membership.user, membership.structure


def test_one_usager_export_and_erasure_services(responsable):
    user, epn = responsable
    first = _store(epn, _csv("u1;1950;;F;;;;35238;2024-01-02;", "u2;1960;;H;;;;35238;2024-02-03;"))
    second = _store(epn, _csv("u1;1950;;F;;;;35238;2025-01-02;"))
    other_epn = _store(StructureFactory(), _csv("u1;1999;;F;;;;35238;2025-01-02;"))

    rows = services.usager_export(acting_user=user, structure=epn, identifiant=" u1 ")
    assert len(rows) == 3 and rows[0][:3] == ["fichier_importe", "importe_le", "ligne"]
    assert {r[3] for r in rows[1:]} == {"u1"} and "1999" not in str(rows)
    export = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert export.structure_id == epn.pk and export.changes["enregistrements"] == 2
    assert "u1" not in str(export.changes)

    assert services.usager_erase(acting_user=user, structure=epn, identifiant="u1") == 2
    assert not Usager.objects.filter(dataset__structure=epn, identifiant="u1").exists()
    assert not FrequentationImport.objects.filter(pk=second.pk).exists()
    assert _profiles(first) == services.profiles_from_records(first) and sum(_profiles(first).values()) == 1
    assert Usager.objects.filter(dataset=other_epn).count() == 1  # another EPN's usager is another person
    erase = AuditEntry.objects.filter(action=AuditAction.DELETE).latest("id")
    assert erase.changes["enregistrements"] == 2 and "u1" not in str(erase.changes)
    with pytest.raises(ValidationError):
        services.usager_erase(acting_user=user, structure=epn, identifiant="u1")


def test_usager_page_search_export_erase(client, responsable):
    user, epn = responsable
    _store(epn, _csv("secret-77;1950;;F;;;;35238;2024-01-02;"))
    client.force_login(user)
    url = reverse("frequentation:usager", args=[epn.pk])
    assert client.get(url).status_code == 200
    page = client.post(url, {"identifiant": "secret-77", "action": "rechercher"}).content.decode()
    assert "1 enregistrement pour" in page and "Effacer définitivement" in page
    response = client.post(url, {"identifiant": "secret-77", "action": "exporter"})
    assert response["Content-Type"].startswith("text/csv") and b"secret-77" in response.content
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT, structure=epn).count() == 1
    # No confirmation, nothing erased.
    assert client.post(url, {"identifiant": "secret-77", "action": "effacer"}).status_code == 400
    assert Usager.objects.count() == 1
    response = client.post(url, {"identifiant": "secret-77", "action": "effacer", "confirmation": "on"})
    assert response.status_code == 302 and Usager.objects.count() == 0
    assert client.post(url, {"identifiant": "secret-77", "action": "exporter"}).status_code == 400


def test_usager_page_is_for_the_responsable_only(client, db):
    animateur = MembershipFactory(role=Role.ANIMATEUR)
    client.force_login(animateur.user)
    assert client.get(reverse("frequentation:usager", args=[animateur.structure.pk])).status_code == 403
    assert client.get(reverse("frequentation:usager", args=[StructureFactory().pk])).status_code == 404


def test_deleting_an_import_detaches_its_beneficiaires_and_loads_no_usager(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ancrage.suivi.models import Beneficiaire

    epn = StructureFactory()
    dataset = _store(epn, _csv(*(f"u{k};1990;;F;;;;35238;2024-01-02;" for k in range(300))))
    linked = Beneficiaire.objects.create(
        structure=epn, identifiant="u1", usager=Usager.objects.get(dataset=dataset, identifiant="u1")
    )
    with CaptureQueriesContext(connection) as queries:
        services.frequentation_delete(acting_user=None, dataset=dataset)
    # Django's SET_NULL collector read every usager first (10 million for a national file).
    reads = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and 'FROM "frequentation_usager"' in q["sql"]
    ]
    # A few statements, not one per usager (300 here): the audit entry and its chain take 4 of them.
    assert reads == [] and len(queries) < 20
    linked.refresh_from_db()
    assert linked.usager is None and not Usager.objects.exists()
    assert not FrequentationImport.objects.filter(pk=dataset.pk).exists()
