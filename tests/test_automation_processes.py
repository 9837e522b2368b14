"""Exactly once across processes: several `crm` processes move the same deals and run the engine
at the same time, on SQLite and PostgreSQL; every stage change fires its rule exactly once."""

from __future__ import annotations

import multiprocessing
import random

from crm_tui import db
from crm_tui.config import Settings
from crm_tui.db import Target, parse_target
from crm_tui.models import AutomationRun, Deal, Event, Note
from crm_tui.services import automation_rules, deals, records
from crm_tui.services.automation_engine import Engine
from crm_tui.services.errors import ServiceError
from crm_tui.services.workspace import open_workspace
from tests.helpers import stage_named

PROCESSES = 4
DEALS = 12
MOVES_EACH = 25


def _where(target: Target) -> str:
    return str(target.path) if target.kind == "sqlite" else str(target.url)


def _worker(where: str, login: str, seed: int, start, errors) -> None:
    try:
        workspace = open_workspace(parse_target(where), Settings(busy_timeout=60), login=login)
        ctx = workspace.ctx
        engine = Engine(ctx)
        stages = [stage_named(name) for name in ("Qualification", "Proposal Sent", "Negotiation")]
        ids = [deal_id for (deal_id,) in Deal.select(Deal.id).tuples()]
        chance = random.Random(seed)
        start.wait()
        for _ in range(MOVES_EACH):
            deal = Deal.get_by_id(chance.choice(ids))
            target = chance.choice([s for s in stages if s != deal.stage_id])
            try:
                deals.move_deal(ctx, deal.id, target, from_stage_id=deal.stage_id)
            except ServiceError:
                pass  # someone else moved it first: a conflict, shown to a user, not an error here
            engine.tick()
        engine.tick()
        db.close()
    except BaseException as error:  # reported to the parent
        errors.put(f"{login}: {error!r}")


def test_each_stage_change_fires_exactly_once_across_processes(target: Target) -> None:
    setup = open_workspace(target, Settings(), login="setup")
    for n in range(DEALS):
        records.create(setup.ctx, "deal", {"title": f"deal {n}", "stage_id": stage_named("Qualification")})
    rule_id = automation_rules.save_rule(
        setup.ctx,
        {"name": "note each move", "enabled": True, "trigger": {"type": "stage_changed"}, "actions": [{"type": "add_note", "body": "moved"}]},
    )
    db.close()
    context = multiprocessing.get_context("spawn")
    start, errors = context.Event(), context.Queue()
    workers = [
        context.Process(target=_worker, args=(_where(target), f"rep{n}", n, start, errors)) for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=300)
    problems = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert problems == [] and [worker.exitcode for worker in workers] == [0] * PROCESSES

    workspace = open_workspace(target, Settings(), login="check")
    Engine(workspace.ctx).process_events()  # anything a process left behind (PostgreSQL's late window)
    moves = Event.select().where(Event.kind == "deal.stage_changed").count()
    assert moves > PROCESSES * MOVES_EACH // 2  # most moves went through
    made = AutomationRun.select().where(AutomationRun.rule == rule_id)
    assert made.count() == moves
    assert {run.status for run in made} == {"done"}
    assert Note.select().count() == moves
    keys = [run.key for run in made]
    assert len(set(keys)) == len(keys)
