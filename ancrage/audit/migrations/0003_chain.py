"""Chain the audit trail: every entry gets a sequence number, the previous entry's hash and its
own (HMAC with the journal key), and one anchor row holds the signed length and head.

Existing entries are chained here, in id order, with the key of the environment that migrates:
run ``migrate`` with the application's ``ANCRAGE_JOURNAL_KEY`` (or ``SECRET_KEY``). The
append-only triggers are dropped while the rows are updated, and put back at the end; the anchor
row gets a trigger of its own against deletion.
"""

import django.utils.timezone
from django.db import migrations, models

from ancrage.audit.models import payload_of
from ancrage.core.hashchain import GENESIS_HASH, anchor_signature, entry_hash
from ancrage.core.keys import journal_key

TABLE = "audit_auditentry"
ANCHOR = "audit_audittrailanchor"

SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {TABLE}_no_update", f"DROP TRIGGER IF EXISTS {TABLE}_no_delete"]
SQLITE_CREATE = [
    f"""CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit_auditentry is append-only'); END""",
    f"""CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit_auditentry is append-only'); END""",
    f"""CREATE TRIGGER {ANCHOR}_no_delete BEFORE DELETE ON {ANCHOR}
        BEGIN SELECT RAISE(ABORT, '{ANCHOR} cannot be deleted'); END""",
]
POSTGRES_DROP = [f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}"]
POSTGRES_CREATE = [
    f"""CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION ancrage_refuse_change()""",
    f"""CREATE TRIGGER {ANCHOR}_no_delete BEFORE DELETE OR TRUNCATE ON {ANCHOR}
        FOR EACH STATEMENT EXECUTE FUNCTION ancrage_refuse_change()""",
]


def run(statements_by_vendor):
    def apply(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return apply


def chain_existing(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    AuditTrailAnchor = apps.get_model("audit", "AuditTrailAnchor")
    key = journal_key()
    count, head = 0, GENESIS_HASH
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        count += 1
        digest = entry_hash(head, payload_of(entry), key=key)
        AuditEntry.objects.filter(pk=entry.pk).update(sequence=count, previous_hash=head, hash=digest)
        head = digest
    if count == 0:
        # An empty trail (a new database) gets its anchor with its first entry: a restore needs
        # every table empty after ``migrate``.
        return
    AuditTrailAnchor.objects.create(
        pk=1, count=count, head=head, signature=anchor_signature(key, "audit", count, head)
    )


def unchain(apps, schema_editor):
    apps.get_model("audit", "AuditTrailAnchor").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [
        migrations.RunPython(
            run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
            run({"sqlite": SQLITE_CREATE[:2], "postgresql": POSTGRES_CREATE[:1]}),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="date"),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="sequence",
            field=models.PositiveBigIntegerField(null=True, verbose_name="n° dans la chaîne"),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="previous_hash",
            field=models.CharField(default="", max_length=64, verbose_name="empreinte précédente"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditentry",
            name="hash",
            field=models.CharField(default="", max_length=64, verbose_name="empreinte"),
            preserve_default=False,
        ),
        migrations.CreateModel(
            name="AuditTrailAnchor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("count", models.PositiveBigIntegerField(default=0, verbose_name="entrées")),
                ("head", models.CharField(max_length=64, verbose_name="dernière empreinte")),
                ("signature", models.CharField(max_length=64, verbose_name="signature")),
            ],
            options={
                "verbose_name": "ancre du journal d’audit",
                "verbose_name_plural": "ancres du journal d’audit",
            },
        ),
        migrations.RunPython(chain_existing, unchain),
        migrations.AlterField(
            model_name="auditentry",
            name="sequence",
            field=models.PositiveBigIntegerField(unique=True, verbose_name="n° dans la chaîne"),
        ),
        migrations.RunPython(
            run({"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE}),
            run({"sqlite": SQLITE_DROP + [f"DROP TRIGGER IF EXISTS {ANCHOR}_no_delete"],
                 "postgresql": POSTGRES_DROP + [f"DROP TRIGGER IF EXISTS {ANCHOR}_no_delete ON {ANCHOR}"]}),
        ),
    ]
