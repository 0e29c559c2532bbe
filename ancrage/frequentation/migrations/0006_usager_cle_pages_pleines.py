# The usagers' primary key fills its pages (PostgreSQL; issue 8). Its keys only ever grow: an
# import's id × 2**32 plus its line, and a new import has a greater id. Every key goes to the
# rightmost page, so the 10 % that a B-tree leaves free in each page by default is never used.
# Pages already written keep their fill until the index is rebuilt (REINDEX).

from django.db import migrations


def _primary_key_index(schema_editor) -> str:
    connection = schema_editor.connection
    table = "frequentation_usager"
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return next(name for name, c in constraints.items() if c["primary_key"])


def full_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        index = schema_editor.quote_name(_primary_key_index(schema_editor))
        schema_editor.execute(f"ALTER INDEX {index} SET (fillfactor = 100)")


def default_fill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        index = schema_editor.quote_name(_primary_key_index(schema_editor))
        schema_editor.execute(f"ALTER INDEX {index} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("frequentation", "0005_usager_cle_import_ligne")]

    operations = [migrations.RunPython(full_pages, default_fill)]
