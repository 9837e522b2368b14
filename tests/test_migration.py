"""Schema versioning: a database made by schema v1 is backed up and upgraded with no row lost."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from peewee import Table

from crm_tui import db
from crm_tui.config import Settings
from crm_tui.db import DatabaseError, Target
from crm_tui.models import ALL_MODELS, WorkspaceSetting, database
from crm_tui.services import rollups, schema
from crm_tui.services.migrations import CURRENT_VERSION
from crm_tui.services.workspace import open_workspace

DATA = Path(__file__).parent / "data"
T0 = datetime(2025, 3, 1, 10, 0, 0)


def _rows(table: str, columns: list[str], rows: list[tuple]) -> None:
    Table(table, columns).bind(database).insert(rows, columns=columns).execute()


def make_v1_database(target: Target) -> dict[str, int]:
    """Create the frozen v1 schema, fill it with related rows, and return the row counts."""
    db.connect(target)
    lines = (DATA / f"schema_v1.{target.kind}.sql").read_text().splitlines()
    for statement in "\n".join(line for line in lines if not line.startswith("--")).split(";\n"):
        if statement.strip():
            database.execute_sql(statement)
    _rows("workspace_setting", ["key", "value"], [("schema_version", "1"), ("currency", '"USD"')])
    user = ["created_at", "updated_at", "version", "login", "name", "role", "active"]
    _rows("crm_user", user, [(T0, T0, 1, "alice", "Alice", "admin", True), (T0, T0, 1, "bob", "Bob", "member", True)])
    _rows("pipeline", ["created_at", "updated_at", "version", "name", "position"], [(T0, T0, 1, "Sales", 0)])
    stage = ["created_at", "updated_at", "version", "pipeline_id", "name", "position", "probability", "kind"]
    kinds = [("New", 10, "open"), ("Proposal", 50, "open"), ("Won", 100, "won"), ("Lost", 0, "lost")]
    _rows("stage", stage, [(T0, T0, 1, 1, name, i, p, k) for i, (name, p, k) in enumerate(kinds)])
    company = ["created_at", "updated_at", "version", "name", "owner_id"]
    _rows("company", company, [(T0, T0, 1, f"Company {i}", 1 + i % 2) for i in range(5)])
    contact = ["created_at", "updated_at", "version", "first_name", "last_name", "company_id"]
    _rows("contact", contact, [(T0, T0, 1, f"Ann{i}", "Lee", 1 + i % 5) for i in range(8)])
    deal = ["created_at", "updated_at", "version", "title", "company_id", "contact_id", "pipeline_id", "stage_id",
            "amount", "currency", "lost_reason", "owner_id", "stage_entered_at"]  # fmt: skip
    deals = []
    for i in range(20):
        stage_id = 1 + i % 4
        deals.append((T0, T0, 1, f"Deal {i}", 1 + i % 5, 1 + i % 8, 1, stage_id, 1000 * (i + 1), "USD",
                      "Price too high" if stage_id == 4 else "", 1 + i % 2, T0 + timedelta(days=i)))  # fmt: skip
    _rows("deal", deal, deals)
    changes = ["deal_id", "from_stage_id", "to_stage_id", "at", "user_id"]
    _rows("stage_change", changes, [(d, None, 1, T0, 1) for d in range(1, 21)] + [(d, 1, 2, T0 + timedelta(days=2), 1) for d in range(1, 21)])
    event = ["at", "user_id", "kind", "entity", "record_id", "field", "old", "new"]
    _rows("event", event, [(T0, 1, "record.created", "deal", d, None, None, '{"title": "x"}') for d in range(1, 21)])
    note = ["created_at", "updated_at", "version", "deal_id", "body", "author_id"]
    _rows("note", note, [(T0, T0, 1, d, f"Note on deal {d}", 1) for d in range(1, 21, 2)])
    task = ["created_at", "updated_at", "version", "deal_id", "title", "reminders", "done", "assignee_id"]
    _rows("task", task, [(T0, T0, 1, d, f"Call about {d}", "[]", False, 2) for d in range(1, 21, 3)])
    _rows("tag", ["created_at", "updated_at", "version", "name"], [(T0, T0, 1, "Consulting"), (T0, T0, 1, "Training")])
    _rows("deal_tag", ["tag_id", "deal_id"], [(1 + d % 2, d) for d in range(1, 21)])
    v1_tables = set(database.get_tables())
    counts = {model._meta.table_name: model.select().count() for model in ALL_MODELS if model._meta.table_name in v1_tables}
    db.close()
    return counts


def _shape(target: Target) -> dict[str, tuple[set, set]]:
    """Each table's (columns with nullability, index names)."""
    return {
        model._meta.table_name: (
            {(c.name, c.null) for c in database.get_columns(model._meta.table_name)},
            {i.name for i in database.get_indexes(model._meta.table_name)},
        )
        for model in ALL_MODELS
    }


def test_upgrade_from_v1_keeps_every_row_and_reaches_the_current_schema(target: Target, tmp_path: Path) -> None:
    if target.kind == "postgresql":
        import shutil

        if shutil.which("pg_dump") is None:
            pytest.skip("pg_dump is needed to back PostgreSQL up before an upgrade")
    before = make_v1_database(target)
    assert before["stage_change"] == 40 and before["deal"] == 20

    workspace = open_workspace(target, Settings(), login="alice")

    report = workspace.report
    assert (report.action, report.from_version, report.to_version) == ("upgraded", 1, CURRENT_VERSION)
    assert report.backup is not None and report.backup.stat().st_size > 0
    after = {model._meta.table_name: model.select().count() for model in ALL_MODELS}
    # Opening a workspace gives it the built-in automation rules (disabled) once, and remembers it.
    from crm_tui.services.automation_rules import BUILT_INS

    assert after["automation_rule"] == len(BUILT_INS)
    after["automation_rule"] -= len(BUILT_INS)
    # ... and v12's rollup bookkeeping (compaction marks, the reach table's stage signature).
    kept = WorkspaceSetting.select().where(WorkspaceSetting.key.startswith("rollups.")).count()
    assert kept == len(rollups.ROLLUPS) + 1
    after["workspace_setting"] -= 1 + kept
    assert {table: after[table] for table in before} == before  # not one row lost, not one added
    # v12 computed the dashboard's deal rollup from the deals that were there.
    [(created,)] = database.execute_sql("SELECT SUM(n) FROM deal_day WHERE tag_id = 0 AND stage_id IS NULL").fetchall()
    assert created == before["deal"]
    assert all(after[table] == 0 for table in after.keys() - before.keys())  # tables later versions added
    # The lost_reason column became optional: empty strings turned into NULL, real reasons stayed.
    reasons = database.execute_sql("SELECT lost_reason, COUNT(*) FROM deal GROUP BY lost_reason").fetchall()
    assert dict(reasons) == {None: 15, "Price too high": 5}
    assert WorkspaceSetting.get(WorkspaceSetting.key == "schema_version").value == CURRENT_VERSION
    if target.kind == "sqlite":
        assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        with sqlite3.connect(report.backup) as saved:  # the backup is the v1 database as it was
            assert saved.execute("SELECT value FROM workspace_setting WHERE key='schema_version'").fetchone() == ("1",)
            assert saved.execute("SELECT COUNT(*) FROM stage_change").fetchone() == (40,)
    upgraded = _shape(target)
    db.close()

    fresh_target = db.parse_target(str(tmp_path / "fresh.sqlite3")) if target.kind == "sqlite" else None
    if fresh_target is not None:
        db.connect(fresh_target)
        schema.create()
        assert _shape(fresh_target) == upgraded
        db.close()

    again = open_workspace(target, Settings(), login="alice")
    assert again.report.action == "current"
    db.close()


def test_a_database_from_a_newer_crm_tui_is_refused(sqlite_target: Target) -> None:
    db.connect(sqlite_target)
    schema.create()
    WorkspaceSetting.update(value=CURRENT_VERSION + 1).where(WorkspaceSetting.key == "schema_version").execute()
    db.close()
    with pytest.raises(DatabaseError, match="newer crm-tui"):
        open_workspace(sqlite_target, Settings(), login="alice")
    db.close()


def test_a_database_of_another_program_is_refused(sqlite_target: Target) -> None:
    assert sqlite_target.path is not None
    with sqlite3.connect(sqlite_target.path) as other:
        other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(DatabaseError, match="not a crm-tui workspace"):
        open_workspace(sqlite_target, Settings(), login="alice")
    db.close()
