# An usager's key becomes its import's id × 2**32 plus its line (no sequence drawn and no
# second B-tree filled per row at import). Written by hand around what makemigrations generated.

from django.db import migrations, models

import ancrage.core.indexes

LIGNES = 1 << 32  # models.USAGER_PK_LIGNES, as it was when this migration was written


def keys_from_lines(apps, schema_editor):
    """Give every usager its new key, and every beneficiaire linked to one the new key of its usager.

    The new keys are all at least 2**32 (import ids start at 1) and the old ones, drawn from a
    sequence, far below: no new key can meet an old one while the rows are updated. The foreign
    key from the beneficiaires is checked once both are done (PostgreSQL: deferred; SQLite: off
    while migrating).
    """
    usager = apps.get_model("frequentation", "Usager")._meta.db_table
    beneficiaire = apps.get_model("suivi", "Beneficiaire")._meta.db_table
    quote = schema_editor.quote_name
    u, b = quote(usager), quote(beneficiaire)
    schema_editor.execute(
        f"UPDATE {b} SET usager_id = (SELECT u.dataset_id * {LIGNES} + u.ligne FROM {u} u "
        f"WHERE u.id = {b}.usager_id) WHERE usager_id IS NOT NULL"
    )
    schema_editor.execute(f"UPDATE {u} SET id = dataset_id * {LIGNES} + ligne")
    if schema_editor.connection.vendor == "postgresql":
        # Check the foreign keys now: PostgreSQL creates no index on a table with checks pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ('frequentation', '0004_usager_sans_contrainte_par_ligne'),
        ('suivi', '0002_beneficiaire_usager_detache'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='usager',
            name='usager_dataset_ligne',
        ),
        migrations.AlterField(
            model_name='usager',
            name='id',
            field=models.BigIntegerField(editable=False, primary_key=True, serialize=False, verbose_name='clé (import × 2³² + ligne)'),
        ),
        # Backwards, the keys stay as they are: they are valid keys of the sequence's column too.
        migrations.RunPython(keys_from_lines, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='usager',
            index=ancrage.core.indexes.BlockRangeIndex(fields=['dataset'], name='usager_dataset_blocs'),
        ),
    ]
