"""A run the database refuses for a moment (SQLite busy, a PostgreSQL lock time-out) is not
recorded as failed: the pass stops before its event, says it was deferred, and the next pass runs it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from crm_tui.db import Target
from crm_tui.models import AutomationRun, Deal, database
from crm_tui.services.automation_engine import Engine, is_transient
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal
from tests.test_automations import add_rule


@contextmanager
def held_lock(target: Target, deal_id: int) -> Iterator[None]:
    """Another connection holds what the run must write, and ours gives up after a moment."""
    if target.kind == "sqlite":
        other = sqlite3.connect(str(target.path), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the write lock: every other writer is busy
        database.execute_sql("PRAGMA busy_timeout = 100")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
            database.execute_sql("PRAGMA busy_timeout = 10000")
        return
    import psycopg

    assert target.url is not None
    with psycopg.connect(target.url) as other:
        other.execute("SELECT 1 FROM deal WHERE id = %s FOR UPDATE", (deal_id,))  # the deal's row lock
        database.execute_sql("SET lock_timeout = '200ms'")
        try:
            yield
        finally:
            other.rollback()
            database.execute_sql("RESET lock_timeout")


def test_a_busy_database_leaves_the_run_for_the_next_pass(workspace: Workspace, target: Target) -> None:
    ctx = workspace.ctx
    rule_id = add_rule(
        ctx, {"type": "record_created", "entity": "deal"}, {"type": "set_field", "field": "probability", "value": 5}
    )
    deal = make_deal(ctx)
    later = make_deal(ctx, "Later deal")
    engine = Engine(ctx)
    with held_lock(target, deal.id):
        results = engine.tick()
        assert engine.deferred
    assert [r.status for r in results] == []  # nothing failed, nothing ran past the refused event
    assert not AutomationRun.select().where(AutomationRun.rule == rule_id).exists()
    assert Deal.get_by_id(deal.id).probability is None
    results = engine.tick()
    assert not engine.deferred
    assert sorted((r.record_id, r.status) for r in results) == [(deal.id, "done"), (later.id, "done")]
    assert Deal.get_by_id(deal.id).probability == 5 and Deal.get_by_id(later.id).probability == 5
    assert engine.tick() == []  # each ran once


def test_only_passing_database_failures_count_as_transient() -> None:
    from peewee import IntegrityError, OperationalError

    assert is_transient(OperationalError(sqlite3.OperationalError("database is locked")))
    assert not is_transient(OperationalError(sqlite3.OperationalError("no such table: deal")))
    assert not is_transient(IntegrityError("UNIQUE constraint failed"))
    assert not is_transient(ValueError("database is locked"))
