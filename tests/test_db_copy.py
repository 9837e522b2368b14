"""`crm db copy`: a rich SQLite workspace moved into an empty PostgreSQL database, row for row.

The copy tests need the PostgreSQL test server (CRM_TEST_PG_URL) and skip without it; the checks
that refuse before anything is opened run everywhere.
"""

from __future__ import annotations

import shutil
import json
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from peewee import BooleanField, DateField, DateTimeField

from crm_tui import db
from crm_tui.config import Settings
from crm_tui.db import DatabaseError, Target, parse_target
from crm_tui.models import ALL_MODELS, Deal, FieldAccess, ImportItem, Lead, Stage, Tag, UserKey, database
from crm_tui.services import (
    bulk,
    custom_field_admin,
    db_copy,
    deals,
    demo,
    import_columns,
    leads,
    list_views,
    notifications,
    preferences,
    reach,
    records,
    search,
    tasks,
)
from crm_tui.services.automation_engine import Engine
from crm_tui.services.import_engine import ImportRequest, run_import
from crm_tui.services.import_read import read_table
from crm_tui.services.record_lists import Condition, ListQuery
from crm_tui.services.workspace import open_workspace
from tests.conftest import FROZEN_NOW

SMALL = demo.DemoSizes(companies=20, contacts=60, leads=15, deals=120)
IMPORT = Path(__file__).parent / "data" / "import" / "hubspot-contacts.csv"
QUERIES = ("café", "zeppelin", "sarah connor", "cyberdyne", "müller")
"""Searches whose hits must be the same records on both sides (each matches a few records)."""


def _enrich(workspace: Any) -> None:
    """Everything the demo leaves out, made through the services (or the models, for the team
    tables whose services are not settled yet)."""
    ctx = workspace.ctx
    me = ctx.user_id
    regions = custom_field_admin.add_field(ctx, "company", "Regions", "multi_select", options=["EU", "US"])
    custom_field_admin.add_field(ctx, "company", "Score", "number")
    custom_field_admin.add_field(ctx, "company", "Partner", "checkbox")
    cafe = records.create(
        ctx, "company", {"name": "Café Müller", "custom": {"regions": "EU, US", "score": "2.5", "partner": True}}
    )
    deal = records.create(ctx, "deal", {"title": "Café Müller roastery", "company_id": cafe.id, **_first_stage()})
    records.create(ctx, "note", {"body": "Met at the Zeppelin museum; wants a quote", "deal_id": deal.id})
    task = tasks.create_task(
        ctx, "Send the quote", FROZEN_NOW + timedelta(days=2), me, reminders=[60, 1440], deal_id=deal.id
    )
    tasks.complete(ctx, task.id, version=task.version)
    gone = records.create(ctx, "deal", {"title": "Withdrawn tender", **_first_stage()})
    records.delete(ctx, "deal", gone.id, version=gone.version)
    lead = records.create(ctx, "lead", {"first_name": "Ada", "last_name": "Zeppelin", "company_name": "Airships Ltd"})
    tag = Tag.select().order_by(Tag.id).first().id
    bulk.tag(ctx, "lead", [lead.id], tag)
    pipeline_id = Stage.get_by_id(_first_stage()["stage_id"]).pipeline_id
    leads.convert_lead(
        ctx, lead.id, version=lead.version, company="new", deal=leads.DealSpec(pipeline_id, amount=99_00)
    )
    # A move into "Proposal Sent" fires a demo rule: an automation run and the task it makes.
    moved = Deal.select().join(Stage).where(Stage.name == "Qualification", Deal.deleted_at.is_null()).first()
    proposal = Stage.get(Stage.pipeline == moved.pipeline_id, Stage.name == "Proposal Sent")
    deals.move_deal(ctx, moved.id, proposal.id, from_stage_id=moved.stage_id)
    Engine(ctx).tick(now=FROZEN_NOW)
    notifications.send(ctx, [me], "Quote due", entity="deal", record_id=deal.id, key="quote")
    table = read_table(IMPORT)
    imported = run_import(
        ctx, table, ImportRequest("contact", import_columns.suggest("contact", table.header), file_name="hubspot.csv")
    )
    bulk.tag(
        ctx,
        "contact",
        [item.record_id for item in ImportItem.select().where(ImportItem.batch == imported.batch_id)],
        tag,
    )
    query = ListQuery("company", "caf", (Condition("name", "contains", "Café"),), "name", True)
    list_views.save_view(ctx, "Cafés", query, shared=True)
    preferences.set_preference(me, "board.pipeline", {"id": pipeline_id, "collapsed": [1, 2]})
    UserKey.insert(user=me, name="laptop", key="ssh-ed25519 AAAAC3Nza alice@laptop", fingerprint="SHA256:abc").execute()
    FieldAccess.insert(entity="deal", field="amount", role="member", access="read").execute()
    assert regions.id


def _first_stage() -> dict[str, int]:
    return {"stage_id": Stage.select().where(Stage.name == "Qualification").order_by(Stage.id).first().id}


@pytest.fixture(scope="module")
def rich_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite workspace with a row in every table, built once; each test copies the file."""
    home = tmp_path_factory.mktemp("rich")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CRM_DATA_DIR", str(home / "data"))
        patch.setenv("CRM_CONFIG_DIR", str(home / "config"))
        path = home / "rich.sqlite3"
        workspace = open_workspace(parse_target(str(path)), Settings(), login="alice")
        demo.generate(workspace.ctx, SMALL, seed=11, now=FROZEN_NOW)
        _enrich(workspace)
        db.close()  # checkpoints the WAL: the file alone is the workspace
    return path


@pytest.fixture
def source(rich_file: Path, tmp_path: Path) -> Target:
    """This test's own copy of the rich workspace."""
    path = tmp_path / "source.sqlite3"
    shutil.copyfile(rich_file, path)
    return parse_target(str(path))


# -- comparing the two sides -----------------------------------------------------------------------


def _pg(target: Target) -> Any:
    import psycopg

    return psycopg.connect(target.url, autocommit=True)


def _as_sqlite(field: Any, value: Any) -> Any:
    """A PostgreSQL value as peewee writes it into SQLite: booleans 0/1, times and dates as text."""
    if value is None:
        return None
    if isinstance(field, BooleanField):
        return int(value)
    if isinstance(field, DateTimeField | DateField):
        assert isinstance(value, datetime | date)
        return str(value)
    return value


def _rows(source: Target, dest: Target) -> Iterator[tuple[str, list[tuple], list[tuple]]]:
    """(table, source rows, destination rows written as SQLite holds them) for every copied table."""
    reader = sqlite3.connect(str(source.path))
    with _pg(dest) as pg:
        for model in db_copy.COPIED:
            fields = model._meta.sorted_fields
            columns = ", ".join(f'"{field.column_name}"' for field in fields)
            sql = f'SELECT {columns} FROM "{model._meta.table_name}" ORDER BY id'
            mine = reader.execute(sql).fetchall()
            theirs = [tuple(_as_sqlite(f, v) for f, v in zip(fields, row, strict=True)) for row in pg.execute(sql)]
            yield model._meta.table_name, mine, theirs
    reader.close()


def _counts(dest: Target) -> dict[str, int]:
    with _pg(dest) as pg:
        tables = [row[0] for row in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        return {table: pg.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in tables}


def _hits(target: Target) -> dict[str, set[tuple[str, int]]]:
    db.connect(target)
    try:
        return {query: {(hit.entity, hit.record_id) for hit in search.search(query, limit=100)} for query in QUERIES}
    finally:
        db.close()


# -- the copy --------------------------------------------------------------------------------------


ROLLUP_GROUPS = (
    "SELECT day, stage_id, pipeline_id, owner_id, currency, tag_id, SUM(n), SUM(amount), SUM(secs) FROM deal_day "
    "GROUP BY day, stage_id, pipeline_id, owner_id, currency, tag_id HAVING SUM(n) <> 0"
)


REACH_AND_STAYS = (
    "SELECT deal_id, pipeline_id, top_stage_id, owner_id, live FROM deal_reach",
    "SELECT deal_id, stage_id, entered, secs, owner_id, live FROM deal_stay",
)


def test_every_row_of_every_table_arrives_unchanged(source: Target, pg_target: Target) -> None:
    seen: list[tuple[int, int]] = []
    report = db_copy.copy_workspace(source, pg_target, progress=lambda done, total: seen.append((done, total)))
    db.close()

    compared = {table: (mine, theirs) for table, mine, theirs in _rows(source, pg_target)}
    assert set(compared) == {model._meta.table_name for model in ALL_MODELS} | {"search_doc"}
    for table, (mine, theirs) in compared.items():
        assert mine, f"the rich workspace has no {table} rows: the test would prove nothing"
        assert theirs == mine, table
    assert {count.table: (count.source, count.copied) for count in report.tables} == {
        table: (len(mine), len(mine)) for table, (mine, _) in compared.items()
    }
    assert report.rows == sum(len(mine) for mine, _ in compared.values())
    assert report.deal_amounts == sum(
        row[0] for row in sqlite3.connect(str(source.path)).execute("SELECT amount FROM deal")
    )
    assert report.schema_version == db_copy.CURRENT_VERSION
    # The destination's triggers built its dashboard rollup as the deals and tags arrived.
    with sqlite3.connect(str(source.path)) as reader:
        expected = sorted(tuple(str(v) for v in row) for row in reader.execute(ROLLUP_GROUPS))
    with _pg(pg_target) as conn:
        arrived = sorted(tuple(str(v) for v in row) for row in conn.execute(ROLLUP_GROUPS))
    assert arrived == expected and len(expected) > 10
    for query in REACH_AND_STAYS:  # ... and its funnel and duration tables, the same as the source's
        with sqlite3.connect(str(source.path)) as reader, _pg(pg_target) as conn:
            assert sorted(conn.execute(query).fetchall()) == sorted(reader.execute(query).fetchall()), query
    with sqlite3.connect(str(source.path)) as reader, _pg(pg_target) as conn:
        key = "SELECT value FROM workspace_setting WHERE key = 'rollups.deal_reach.stages'"
        [(copied,)] = conn.execute(key).fetchall()
        db.connect(pg_target)
        try:
            assert json.loads(reader.execute(key).fetchone()[0]) == json.loads(copied) == reach.signature()  # fresh at once
        finally:
            db.close()
    # Progress climbs to the total, in steps a bar can show.
    assert seen[0] == (0, report.rows) and seen[-1] == (report.rows, report.rows)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    # Values that differ in kind between the back ends came across as what they mean.
    with _pg(pg_target) as pg:
        done = pg.execute("SELECT done, done_at FROM task WHERE title = 'Send the quote'").fetchone()
        assert done[0] is True and isinstance(done[1], datetime)
        assert pg.execute("SELECT json FROM custom_value WHERE json IS NOT NULL").fetchone()[0] == '["EU","US"]'
        assert pg.execute("SELECT converted_deal_id FROM lead WHERE last_name = 'Zeppelin'").fetchone()[0] is not None


def test_search_finds_the_same_records_on_both(source: Target, pg_target: Target) -> None:
    before = _hits(source)
    db_copy.copy_workspace(source, pg_target)
    db.close()
    after = _hits(pg_target)
    assert after == before
    assert all(0 < len(hits) < 100 for hits in before.values()), before


def test_the_copy_is_a_workspace_that_takes_new_records(source: Target, pg_target: Target) -> None:
    report = db_copy.copy_workspace(source, pg_target)
    db.close()
    counts = {count.table: count.copied for count in report.tables}
    reader = sqlite3.connect(str(source.path))
    last = {
        table: reader.execute(f'SELECT MAX(id) FROM "{table}"').fetchone()[0] for table in ("deal", "event", "note")
    }

    workspace = open_workspace(pg_target, Settings(), login="alice")
    assert workspace.report.action == "current"
    assert workspace.ctx.user_id == reader.execute("SELECT id FROM crm_user WHERE login = 'alice'").fetchone()[0]
    deal = records.create(workspace.ctx, "deal", {"title": "First deal on the server", **_first_stage()})
    note = records.create(workspace.ctx, "note", {"body": "Copied fine", "deal_id": deal.id})
    assert deal.id == last["deal"] + 1 and note.id == last["note"] + 1
    assert (
        database.execute_sql(
            "SELECT MIN(id) FROM event WHERE entity = 'deal' AND record_id = %s", (deal.id,)
        ).fetchone()[0]
        > last["event"]
    )
    assert [hit.record_id for hit in search.search("first deal server")] == [deal.id]
    # Opening it installed nothing twice (the built-in rules, the user, the settings).
    for table in ("automation_rule", "crm_user", "workspace_setting", "pipeline", "stage"):
        assert database.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == counts[table], table
    converted = reader.execute("SELECT COUNT(*) FROM lead WHERE converted_deal_id IS NOT NULL").fetchone()[0]
    assert Lead.select().where(Lead.converted_deal_id.is_null(False)).count() == converted >= 1
    db.close()


def test_a_destination_that_holds_anything_is_refused_untouched(source: Target, pg_target: Target) -> None:
    db_copy.copy_workspace(source, pg_target)
    db.close()
    before = _counts(pg_target)
    with pytest.raises(
        DatabaseError,
        match=r"not empty: it holds a crm-tui workspace \(schema version \d+, 12\d deals.*nothing was changed",
    ):
        db_copy.copy_workspace(source, pg_target)
    db.close()
    assert _counts(pg_target) == before


def test_a_destination_with_other_tables_is_refused_untouched(source: Target, pg_target: Target) -> None:
    with _pg(pg_target) as pg:
        pg.execute("CREATE TABLE invoices (number int)")
        pg.execute("INSERT INTO invoices VALUES (7)")
    with pytest.raises(DatabaseError, match=r"holds 1 table \(invoices\)"):
        db_copy.copy_workspace(source, pg_target)
    db.close()
    assert _counts(pg_target) == {"invoices": 1}


def test_a_failure_half_way_leaves_the_destination_empty(source: Target, pg_target: Target) -> None:
    with sqlite3.connect(str(source.path)) as writer:  # SQLite takes any text; PostgreSQL will not
        writer.execute("UPDATE deal SET expected_close = 'next spring' WHERE id = (SELECT MAX(id) FROM deal)")
    with pytest.raises(DatabaseError, match="the copy failed, so nothing was kept"):
        db_copy.copy_workspace(source, pg_target)
    db.close()
    assert _counts(pg_target) == {}


def test_an_older_workspace_is_sent_to_upgrade_first(source: Target, pg_target: Target) -> None:
    with sqlite3.connect(str(source.path)) as writer:
        writer.execute("UPDATE workspace_setting SET value = '10' WHERE key = 'schema_version'")
    with pytest.raises(DatabaseError, match=r"schema version 10.*db upgrade. first"):
        db_copy.copy_workspace(source, pg_target)
    assert _counts(pg_target) == {}


def test_broken_references_are_named_before_anything_is_written(source: Target, pg_target: Target) -> None:
    with sqlite3.connect(str(source.path)) as writer:  # foreign keys are off on this connection
        writer.execute(
            "UPDATE note SET deal_id = 999999 WHERE id = (SELECT MIN(id) FROM note WHERE deal_id IS NOT NULL)"
        )
    with pytest.raises(DatabaseError, match=r"1 row pointing at rows that do not exist \(first: note #\d+ -> deal\)"):
        db_copy.copy_workspace(source, pg_target)
    assert _counts(pg_target) == {}


# -- refused before anything is opened (no server needed) ------------------------------------------


def test_only_sqlite_to_postgresql(tmp_path: Path) -> None:
    sqlite_file = parse_target(str(tmp_path / "a.sqlite3"))
    server = parse_target("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(DatabaseError, match="reads a SQLite workspace"):
        db_copy.copy_workspace(server, server)
    with pytest.raises(DatabaseError, match="writes into PostgreSQL"):
        db_copy.copy_workspace(sqlite_file, parse_target(str(tmp_path / "b.sqlite3")))
    with pytest.raises(DatabaseError, match="there is no database at"):
        db_copy.copy_workspace(sqlite_file, server)
    sqlite3.connect(str(sqlite_file.path)).execute("CREATE TABLE notes (body text)")
    with pytest.raises(DatabaseError, match="is not a crm-tui workspace"):
        db_copy.copy_workspace(sqlite_file, server)


def test_every_reference_points_at_a_table_copied_before_it() -> None:
    db_copy._check_order()  # raises on a forward or self reference
    assert db_copy.COPIED[: len(ALL_MODELS)] == ALL_MODELS
