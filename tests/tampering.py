"""What someone with direct access to the database does to an append-only table."""

from django.db import connection


def raw_sql_without_triggers(table: str, sql: str, params=()) -> None:
    """Run ``sql`` with ``table``'s append-only triggers off, as its owner could.

    DDL is transactional on both databases: the test's rollback restores the triggers.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"DROP TRIGGER {table}_no_update")
            cursor.execute(f"DROP TRIGGER {table}_no_delete")
        else:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        cursor.execute(sql, params)
