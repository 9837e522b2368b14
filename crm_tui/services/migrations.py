"""Schema migrations, one function per version step, run by `schema.upgrade()`.

Each function receives a playhouse.migrate migrator and runs inside its `migration_context()`: one
transaction, with SQLite's foreign keys switched off so that a table rebuild cannot cascade-delete
the rows that point at it. Migrations are frozen history: never edit one that has shipped; add the
next version instead.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import (
    SQL,
    BigAutoField,
    BigIntegerField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    PostgresqlDatabase,
    SmallIntegerField,
    TextField,
)
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


# -- v5: the record search index ----------------------------------------------------------------
# A frozen copy of what services/search_index.py made at v5 (tests/test_search.py checks that a
# v5 upgrade and a new workspace end up with the same index).
_V5_FOLD_FROM = (
    "àáâãäåāăąÀÁÂÃÄÅĀĂĄçćčÇĆČďđĎĐèéêëēėęěÈÉÊËĒĖĘĚğĞìíîïīįıÌÍÎÏĪĮİłľĺŁĽĹñńňÑŃŇòóôõöøōőÒÓÔÕÖØŌŐřŕŘŔ"
    "śšşŚŠŞťţŤŢùúûüūůűųÙÚÛÜŪŮŰŲýÿÝŸźżžŹŻŽ@._-+/:''·"
)
_V5_FOLD_TO = (
    "aaaaaaaaaaaaaaaaaaccccccddddeeeeeeeeeeeeeeeeggiiiiiiiiiiiiiillllllnnnnnnoooooooooooooooorrrr"
    "ssssssttttuuuuuuuuuuuuuuuuyyyyzzzzzz         "
)
_V5_SQLITE = (
    (
        "CREATE VIRTUAL TABLE search_fts USING fts5(title, detail, body, content='search_doc', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2', prefix='1 2')"
    ),
    (
        "CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc BEGIN INSERT INTO search_fts(rowid, title, detail, body) "
        "VALUES (new.id, new.title, new.detail, new.body); END"
    ),
    (
        "CREATE TRIGGER search_doc_ad AFTER DELETE ON search_doc BEGIN INSERT INTO search_fts(search_fts, rowid, title, "
        "detail, body) VALUES ('delete', old.id, old.title, old.detail, old.body); END"
    ),
    (
        "CREATE TRIGGER search_doc_au AFTER UPDATE ON search_doc BEGIN INSERT INTO search_fts(search_fts, rowid, title, "
        "detail, body) VALUES ('delete', old.id, old.title, old.detail, old.body); INSERT INTO "
        "search_fts(rowid, title, detail, body) VALUES (new.id, new.title, new.detail, new.body); END"
    ),
)


def _v5_postgres() -> tuple[str, ...]:
    def fold(column: str) -> str:
        return f"translate({column}, '{_V5_FOLD_FROM}', '{_V5_FOLD_TO}')"

    return (
        (
            "ALTER TABLE search_doc ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
            f"setweight(to_tsvector('simple', {fold('title')}), 'A') || "
            f"setweight(to_tsvector('simple', {fold('detail')}), 'B') || "
            f"setweight(to_tsvector('simple', {fold('body')}), 'D')) STORED"
        ),
        "CREATE INDEX search_doc_tsv ON search_doc USING gin (tsv)",
    )


def _v5_documents() -> list[str]:
    """The INSERT ... SELECT per record type that fills search_doc from the records."""

    def join(*parts: str) -> str:
        return "RTRIM(" + " || ".join(f"COALESCE(NULLIF({p}, '') || ' · ', '')" for p in parts) + ", ' ·')"

    def digits(column: str) -> str:
        for char in " -+().":
            column = f"REPLACE({column}, '{char}', '')"
        return column

    def name(a: str) -> str:
        return f"NULLIF(TRIM(COALESCE({a}.first_name, '') || ' ' || COALESCE({a}.last_name, '')), '')"

    parents = (("deal", "d"), ("contact", "c"), ("company", "co"), ("lead", "l"))
    target = "CASE " + " ".join(f"WHEN n.{e}_id IS NOT NULL THEN '{e}'" for e, _ in parents) + " END"
    live_parent = (
        "CASE "
        + " ".join(f"WHEN n.{e}_id IS NOT NULL THEN {a}.deleted_at IS NULL" for e, a in parents)
        + " ELSE FALSE END"
    )
    selects = [
        (
            f"'company', co.id, 'company', co.id, co.name, {join('co.domain', 'co.phone')}, {join('co.website', digits('co.phone'))} "
            "FROM company co WHERE co.deleted_at IS NULL"
        ),
        (
            f"'contact', c.id, 'contact', c.id, COALESCE({name('c')}, c.email, 'Contact #' || c.id), {join('c.email', 'co.name')}, "
            f"{join('c.phone', digits('c.phone'), 'c.title')} "
            "FROM contact c LEFT JOIN company co ON co.id = c.company_id AND co.deleted_at IS NULL WHERE c.deleted_at IS NULL"
        ),
        (
            f"'lead', l.id, 'lead', l.id, COALESCE({name('l')}, l.company_name, l.email, 'Lead #' || l.id), "
            f"{join('l.email', 'l.company_name')}, {join('l.phone', digits('l.phone'), 'l.title')} FROM lead l WHERE l.deleted_at IS NULL"
        ),
        (
            f"'deal', d.id, 'deal', d.id, d.title, {join('co.name', name('c'))}, '' FROM deal d "
            "LEFT JOIN company co ON co.id = d.company_id AND co.deleted_at IS NULL "
            "LEFT JOIN contact c ON c.id = d.contact_id AND c.deleted_at IS NULL WHERE d.deleted_at IS NULL"
        ),
        f"'note', n.id, {target}, COALESCE(n.deal_id, n.contact_id, n.company_id, n.lead_id), '', '', n.body FROM note n "
        + " ".join(f"LEFT JOIN {e} {a} ON {a}.id = n.{e}_id" for e, a in parents)
        + f" WHERE {live_parent}",
    ]
    columns = "entity, record_id, target_entity, target_id, title, detail, body"
    return [f"INSERT INTO search_doc ({columns}) SELECT {select}" for select in selects]


def _to_v5(migrator: SchemaMigrator) -> None:
    """v5: the record search index (search_doc, plus FTS5 on SQLite or a tsvector on
    PostgreSQL), filled from the records already there."""

    class SearchDoc(Model):  # frozen: the table as v5 creates it
        id = BigAutoField()
        entity = CharField()
        record_id = BigIntegerField()
        target_entity = CharField()
        target_id = BigIntegerField()
        title = TextField(default="")
        detail = TextField(default="")
        body = TextField(default="")

        class Meta:
            table_name = "search_doc"
            legacy_table_names = False
            indexes = ((("entity", "record_id"), True),)

    database = migrator.database
    SearchDoc._meta.set_database(database)
    SearchDoc.create_table(safe=False)
    postgres = isinstance(database, PostgresqlDatabase)
    for statement in (*(_v5_postgres() if postgres else _V5_SQLITE), *_v5_documents()):
        database.execute_sql(statement)
    if not postgres:
        database.execute_sql("INSERT INTO search_fts(search_fts) VALUES ('optimize')")


def _to_v6(migrator: SchemaMigrator) -> None:
    """v6: indexes for the orders the deals and leads lists open in (by title, by name), which
    otherwise sort every row on each open."""
    migrate(migrator.add_index("deal", ("title",)), migrator.add_index("lead", ("last_name", "first_name")))


def _to_v7(migrator: SchemaMigrator) -> None:
    """v7: indexes for the dashboard's months (deals created and closed) and stage durations."""
    migrate(
        migrator.add_index("deal", ("created_at", "currency", "amount", "deleted_at"), name="deal_created_months"),
        migrator.add_index(
            "deal", ("closed_at", "stage_id", "currency", "amount", "deleted_at"), name="deal_closed_months"
        ),
        migrator.drop_index("stage_change", "stage_change_to_stage_id_at"),
        migrator.add_index("stage_change", ("to_stage_id", "at", "deal_id")),
    )


def _to_v8(migrator: SchemaMigrator) -> None:
    """v8: each stage stay's end (stage_change.left_at, the deal's next change), filled from the
    history, so stage durations read stays from one index instead of looking up each next change;
    the board totals index also covers the expected close date and source (the forecast, the share
    by source) and the closed-months index the creation time (the sales cycle)."""
    migrate(
        migrator.add_column("stage_change", "left_at", DateTimeField(null=True)),
        migrator.drop_index("stage_change", "stage_change_to_stage_id_at_deal_id"),
        migrator.drop_index("deal", "deal_board_totals"),
        migrator.add_index(
            "deal",
            ("pipeline_id", "stage_id", "currency", "amount", "probability", "expected_close", "source"),
            where=SQL("deleted_at IS NULL"),
            name="deal_board_totals",
        ),
        migrator.drop_index("deal", "deal_closed_months"),
        migrator.add_index(
            "deal", ("closed_at", "stage_id", "currency", "amount", "deleted_at", "created_at"), name="deal_closed_months"
        ),
    )
    migrator.database.execute_sql(
        "UPDATE stage_change SET left_at = (SELECT later.at FROM stage_change AS later"
        " WHERE later.deal_id = stage_change.deal_id"
        " AND (later.at > stage_change.at OR (later.at = stage_change.at AND later.id > stage_change.id))"
        " ORDER BY later.at, later.id LIMIT 1)"
    )
    migrate(migrator.add_index("stage_change", ("to_stage_id", "at", "deal_id", "left_at")))


def _to_v9(migrator: SchemaMigrator) -> None:
    """v9: automations: a rule reacts only to events after it was enabled (fires_after), a run
    records its record, trigger, depth in a chain, its own writes' token and each action's
    outcome; a notification can carry a key that makes it exist once per user (reminders); done
    tasks are found latest first by index (the Tasks screen's Done section)."""
    migrate(
        migrator.add_column("automation_rule", "fires_after", BigIntegerField(default=0)),
        migrator.add_column("automation_run", "trigger", CharField(default="")),
        migrator.add_column("automation_run", "entity", CharField(null=True)),
        migrator.add_column("automation_run", "record_id", BigIntegerField(null=True)),
        migrator.add_column("automation_run", "txn", CharField(default="")),
        migrator.add_column("automation_run", "depth", IntegerField(default=1)),
        migrator.add_column("automation_run", "outcomes", TextField(null=True)),
        migrator.add_column("notification", "key", CharField(null=True)),
        migrator.add_index("automation_run", ("txn",)),
        migrator.add_index("notification", ("user_id", "key"), unique=True),
        migrator.add_index("task", ("done", "done_at")),
        migrator.add_index("task", ("assignee_id", "done", "done_at")),
    )


def _to_v10(migrator: SchemaMigrator) -> None:
    """v10: import batches and their items, so an import can be reverted."""

    # Frozen copies of the tables as v10 made them: later changes to the models come in later steps.
    class _User(Model):
        id = BigAutoField()

        class Meta:
            table_name = "crm_user"

    class ImportBatch(Model):
        id = BigAutoField()
        entity = CharField()
        file_name = CharField()
        user = ForeignKeyField(_User, null=True, on_delete="SET NULL")
        created_at = DateTimeField()
        mode = CharField(default="all")
        on_duplicate = CharField(default="skip")
        counts = TextField(default="{}")
        txn = CharField(default="")
        reverted_at = DateTimeField(null=True)

        class Meta:
            table_name = "import_batch"
            legacy_table_names = False

    class ImportItem(Model):
        id = BigAutoField()
        batch = ForeignKeyField(ImportBatch, on_delete="CASCADE")
        entity = CharField()
        record_id = BigIntegerField()
        action = CharField()
        before = TextField(null=True)
        after = TextField(null=True)

        class Meta:
            table_name = "import_item"
            legacy_table_names = False
            indexes = ((("batch", "entity", "record_id"), False),)

    for model in (_User, ImportBatch, ImportItem):
        model._meta.set_database(migrator.database)
    ImportBatch.create_table(safe=False)
    ImportItem.create_table(safe=False)


def _to_v11(migrator: SchemaMigrator) -> None:
    """v11: team mode: users' teams, their SSH keys, and fields hidden from or read-only for a role."""

    class _User(Model):
        id = BigAutoField()

        class Meta:
            table_name = "crm_user"

    class UserKey(Model):
        id = BigAutoField()
        user = ForeignKeyField(_User, on_delete="CASCADE")
        name = CharField(default="")
        key = TextField()
        fingerprint = CharField(unique=True)
        created_at = DateTimeField()

        class Meta:
            table_name = "user_key"
            legacy_table_names = False

    class FieldAccess(Model):
        id = BigAutoField()
        entity = CharField()
        field = CharField()
        role = CharField()
        access = CharField()

        class Meta:
            table_name = "field_access"
            legacy_table_names = False
            indexes = ((("entity", "field", "role"), True),)

    migrate(migrator.add_column("crm_user", "team", CharField(null=True)))
    for model in (_User, UserKey, FieldAccess):
        model._meta.set_database(migrator.database)
    UserKey.create_table(safe=False)
    FieldAccess.create_table(safe=False)


def _to_v12(migrator: SchemaMigrator) -> None:
    """v12: the tables behind the dashboard (services.rollups: deal_day, deal_open, deal_source,
    deal_reach, deal_stay, and their triggers), computed from the deals as they are, and an index of
    the deleted deals (task counts take their tasks away instead of joining every task). The tables
    are derived data with their own installer, which later versions call again if the deal table is
    rebuilt (a SQLite rebuild drops its triggers)."""
    from crm_tui.services import rollups

    migrator.database.execute_sql('CREATE INDEX "deal_deleted" ON "deal" ("id") WHERE deleted_at IS NOT NULL')
    rollups.install()
    rollups.rebuild()


MIGRATIONS: dict[int, Callable[[SchemaMigrator], None]] = {
    2: _to_v2, 3: _to_v3, 4: _to_v4, 5: _to_v5, 6: _to_v6, 7: _to_v7, 8: _to_v8, 9: _to_v9, 10: _to_v10,
    11: _to_v11, 12: _to_v12,
}  # fmt: skip
"""Version number -> the step that brings the previous version to it."""

CURRENT_VERSION = max(MIGRATIONS)
"""The schema version this code creates and expects."""
