"""Moving the test database between migrations, for the tests of data migrations."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(target: list[tuple[str, str]]) -> MigrationExecutor:
    """Migrate to ``target``; returns a fresh executor, whose loader knows the new state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return MigrationExecutor(connection)


def latest() -> list[tuple[str, str]]:
    """Every app's last migration: where a test that went back must leave the database (going back
    in one app also unapplies the migrations of other apps that depend on it)."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()
