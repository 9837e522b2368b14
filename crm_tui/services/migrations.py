"""Schema migrations, one function per version step, run by `schema.upgrade()`.

Each function receives a playhouse.migrate migrator and runs inside its `migration_context()`: one
transaction, with SQLite's foreign keys switched off so that a table rebuild cannot cascade-delete
the rows that point at it. Migrations are frozen history: never edit one that has shipped; add the
next version instead.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import SQL, BigAutoField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model, SmallIntegerField, TextField
from playhouse.migrate import SchemaMigrator, migrate


def _to_v2(migrator: SchemaMigrator) -> None:
    """v2: deal confidence stars, stage rot_days, event transaction tokens, optional lost reasons
    and person names (no more empty strings), and the board's partial indexes over live deals."""
    migrate(
        migrator.add_column("deal", "confidence", SmallIntegerField(null=True)),
        migrator.add_column("stage", "rot_days", IntegerField(null=True)),
        migrator.add_column("event", "txn", CharField(default="")),
        migrator.drop_not_null("deal", "lost_reason"),
        migrator.sql("UPDATE deal SET lost_reason = NULL WHERE lost_reason = ''"),
        migrator.drop_not_null("contact", "first_name"),
        migrator.drop_not_null("contact", "last_name"),
        migrator.drop_not_null("lead", "first_name"),
        migrator.drop_not_null("lead", "last_name"),
        migrator.add_index(
            "deal", ("stage_id", "stage_entered_at", "id"), where=SQL("deleted_at IS NULL"), name="deal_board_page"
        ),
        migrator.add_index(
            "deal",
            ("pipeline_id", "stage_id", "currency", "amount", "probability"),
            where=SQL("deleted_at IS NULL"),
            name="deal_board_totals",
        ),
    )


def _to_v3(migrator: SchemaMigrator) -> None:
    """v3: pipelines and stages are archived instead of erased (their names stay unique among the
    live ones only), and each user keeps preferences."""

    class _User(Model):  # frozen: only what the new table refers to
        id = BigAutoField()

        class Meta:
            table_name = "crm_user"

    class UserPreference(Model):  # frozen: the table as v3 creates it
        id = BigAutoField()
        user = ForeignKeyField(_User, on_delete="CASCADE")
        key = CharField()
        value = TextField(null=True)

        class Meta:
            table_name = "user_preference"
            legacy_table_names = False  # index names as the models make them
            indexes = ((("user", "key"), True),)

    UserPreference._meta.set_database(migrator.database)
    _User._meta.set_database(migrator.database)
    UserPreference.create_table(safe=False)
    migrate(
        migrator.add_column("pipeline", "deleted_at", DateTimeField(null=True)),
        migrator.add_column("stage", "deleted_at", DateTimeField(null=True)),
        migrator.drop_index("pipeline", "pipeline_name"),
        migrator.add_index("pipeline", ("name",), unique=True, where=SQL("deleted_at IS NULL"), name="pipeline_live_name"),
        migrator.drop_index("stage", "stage_pipeline_id_name"),
        migrator.add_index(
            "stage", ("pipeline_id", "name"), unique=True, where=SQL("deleted_at IS NULL"), name="stage_live_name"
        ),
    )


def _to_v4(migrator: SchemaMigrator) -> None:
    """v4: an index for "which of these deals have overdue tasks" (the board's card signals)."""
    migrate(migrator.add_index("task", ("deal_id", "done", "due_at")))


MIGRATIONS: dict[int, Callable[[SchemaMigrator], None]] = {2: _to_v2, 3: _to_v3, 4: _to_v4}
"""Version number -> the step that brings the previous version to it."""

CURRENT_VERSION = max(MIGRATIONS)
"""The schema version this code creates and expects."""
