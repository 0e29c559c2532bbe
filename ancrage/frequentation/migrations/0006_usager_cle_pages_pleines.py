# The usagers' primary key fills its pages (PostgreSQL). Its keys only ever grow: an
# import's id × 2**32 plus its line, and a new import has a greater id. Every key goes to the
# rightmost page, so the 10 % that a B-tree leaves free in each page by default is never used.
# Pages already written keep their fill until the index is rebuilt (REINDEX).

from django.db import migrations


def _alter_primary_key(apps, schema_editor, storage: str) -> None:
    """``ALTER INDEX`` of the usagers' primary key with ``storage``, on PostgreSQL (an index
    storage parameter: other databases have none)."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    table = apps.get_model("frequentation", "Usager")._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    index = next(name for name, c in constraints.items() if c["primary_key"])
    schema_editor.execute(f"ALTER INDEX {schema_editor.quote_name(index)} {storage}")


def full_pages(apps, schema_editor):
    _alter_primary_key(apps, schema_editor, "SET (fillfactor = 100)")


def default_fill(apps, schema_editor):
    _alter_primary_key(apps, schema_editor, "RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("frequentation", "0005_usager_cle_import_ligne")]

    operations = [migrations.RunPython(full_pages, default_fill)]
