"""Index kinds Django does not offer for every database."""

from django.db import models


class BlockRangeIndex(models.Index):
    """A BRIN index on PostgreSQL, an ordinary B-tree elsewhere.

    For a column whose rows are written together, in bulk, and never updated: one import's
    usagers, ten million of them at national scale. A BRIN keeps, per range of table
    pages, the least and greatest value found there, so writing a row costs next to nothing (a
    B-tree inserts one entry per row); it still lets a query on that column read only the pages
    that may match. SQLite has no BRIN: the demo's small tables get a B-tree.
    """

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        statement = super().create_sql(model, schema_editor, using=" USING brin", **kwargs)
        # Ranges filled by an import are summarised by autovacuum, not left for the next VACUUM.
        statement.parts["extra"] = " WITH (autosummarize = on)" + statement.parts["extra"]
        return statement
