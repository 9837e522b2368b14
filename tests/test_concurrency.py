"""Several processes writing one SQLite file at once wait for each other instead of failing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from crm_tui import db
from crm_tui.config import Settings
from crm_tui.db import Target, parse_target
from crm_tui.models import Deal, Event, StageChange
from crm_tui.services import deals, records
from crm_tui.services.workspace import open_workspace
from tests.helpers import stage_named

WRITERS = 4
DEALS_EACH = 30


def _writer(path: str, login: str, start: multiprocessing.synchronize.Event, errors: multiprocessing.Queue) -> None:
    try:
        workspace = open_workspace(parse_target(path), Settings(busy_timeout=30), login=login)
        start.wait()
        first, second = stage_named("Qualification"), stage_named("Negotiation")
        for i in range(DEALS_EACH):
            deal = records.create(workspace.ctx, "deal", {"title": f"{login} {i}", "stage_id": first})
            deals.move_deal(workspace.ctx, deal.id, second, from_stage_id=first)
        db.close()
    except BaseException as error:  # reported to the parent
        errors.put(f"{login}: {error!r}")


def test_concurrent_writers_all_succeed(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    open_workspace(parse_target(path), Settings(), login="setup")  # create the schema once
    db.close()
    context = multiprocessing.get_context("spawn")
    start, errors = context.Event(), context.Queue()
    workers = [context.Process(target=_writer, args=(path, f"rep{n}", start, errors)) for n in range(WRITERS)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=120)

    problems = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert problems == [] and all(worker.exitcode == 0 for worker in workers)
    db.connect(Target("sqlite", path=Path(path)))
    total = WRITERS * DEALS_EACH
    assert Deal.select().count() == total
    assert StageChange.select().count() == 2 * total
    assert Event.select().where(Event.kind == "deal.stage_changed").count() == total
    db.close()
