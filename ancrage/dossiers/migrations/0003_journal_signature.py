"""Sign every dossier's chain anchor (count, head) with the journal key.

Run ``migrate`` with the application's key (``ANCRAGE_JOURNAL_KEY``, or the ``SECRET_KEY`` it is
derived from): the anchors are signed with the key of the environment that migrates.
"""

from django.db import migrations, models

from ancrage.core.hashchain import GENESIS_HASH, anchor_signature
from ancrage.core.keys import journal_key


def sign_anchors(apps, schema_editor):
    Dossier = apps.get_model("dossiers", "Dossier")
    key = journal_key()
    for dossier in Dossier.objects.only("pk", "journal_count", "journal_head").iterator():
        signature = anchor_signature(
            key, f"dossier:{dossier.pk}", dossier.journal_count, dossier.journal_head or GENESIS_HASH
        )
        Dossier.objects.filter(pk=dossier.pk).update(journal_signature=signature)


class Migration(migrations.Migration):
    dependencies = [("dossiers", "0002_append_only_history")]

    operations = [
        migrations.AddField(
            model_name="dossier",
            name="journal_signature",
            field=models.CharField(blank=True, max_length=64, verbose_name="signature de l’ancre du journal"),
        ),
        migrations.RunPython(sign_anchors, migrations.RunPython.noop),
    ]
