"""Team mode under load (issue 8): 8 processes x 200 random edits and moves on the same 50 deals, on
SQLite and PostgreSQL, each process running the automation engine on a thread of its own as the app
does. Nothing is lost: every save the services reported is in the event log (and nothing else is),
replaying the log from the starting rows gives the final rows, no error but the expected version
conflicts reaches a user, and the stage-change rule fires exactly once per move."""

from __future__ import annotations

import json
import multiprocessing
import random
import threading
import time
import traceback
from collections import Counter, defaultdict
from typing import Any

from crm_tui import db
from crm_tui.config import Settings
from crm_tui.db import Target, parse_target
from crm_tui.events import DomainEvent
from crm_tui.models import AutomationRun, Deal, Event, Note
from crm_tui.services import automation_rules, deals, records
from crm_tui.services.automation_engine import Engine
from crm_tui.services.changes import latest_event_id
from crm_tui.services.errors import ConflictError
from crm_tui.services.workspace import open_workspace
from tests.helpers import sales, stage_named

PROCESSES = 8
OPERATIONS = 200
DEALS = 50
PAUSE = 0.004
"""Up to this many seconds between reading a deal and saving it: the window in which another
process saves first (a user looks at the form before saving; here only a few milliseconds)."""
ENGINE_DELAY = 0.3
"""Seconds between engine passes (the app's AUTOMATION_DELAY after a change)."""
REPLAYED = ("title", "amount", "probability", "stage_id", "version")
LOST_REASON = "Price too high"


def _where(target: Target) -> str:
    return str(target.path) if target.kind == "sqlite" else str(target.url)


def _engine_loop(ctx: Any, done: threading.Event, problems: list[str], login: str) -> None:
    """The app's automation runner: its own thread and connection, a pass shortly after changes.
    A pass that fails is only logged by the app; a run that fails is toasted: both are kept here."""
    engine = Engine(ctx)
    try:
        while True:
            finished = done.is_set()
            try:
                for result in engine.process_events():
                    if result.status != "done":
                        problems.append(f"{login} engine: run {result.key} {result.status}: {result.error}")
            except Exception as error:  # noqa: BLE001 - every failure is reported to the parent
                problems.append(f"{login} engine pass: {error!r}")
            if finished:
                return
            done.wait(ENGINE_DELAY)
    finally:
        db.close()


def _edit(chance: random.Random, deal_id: int) -> dict[str, Any]:
    """One to three of title, amount and probability, new values."""
    fields = chance.sample(["title", "amount", "probability"], chance.randint(1, 3))
    values = {
        "title": f"deal {deal_id} rev {chance.randrange(10**9)}",
        "amount": chance.randrange(10**9),
        "probability": chance.randint(0, 100),
    }
    return {name: values[name] for name in fields}


def _worker(where: str, login: str, seed: int, start: Any, results: Any) -> None:
    """OPERATIONS random edits and moves; a conflict is re-read and tried once more (the conflict
    dialog's "keep mine"); any other error is what a user would have been shown."""
    saves: list[dict[str, Any]] = []
    problems: list[str] = []
    conflicts = 0
    done = threading.Event()
    try:
        workspace = open_workspace(parse_target(where), Settings(), login=login)
        ctx = workspace.ctx
        me = threading.get_ident()
        published: list[DomainEvent] = []
        ctx.bus.subscribe(DomainEvent, lambda event: published.append(event) if threading.get_ident() == me else None)
        stages = {stage.id: stage.kind for stage in sales().stages}
        ids = [deal_id for (deal_id,) in Deal.select(Deal.id).order_by(Deal.id).tuples()]
        chance = random.Random(seed)
        engine = threading.Thread(target=_engine_loop, args=(ctx, done, problems, login), daemon=True)
        start.wait()
        engine.start()
        for step in range(OPERATIONS):
            deal_id = chance.choice(ids)
            moving = chance.random() < 0.5
            edit = _edit(chance, deal_id)
            for _attempt in range(2):
                snap = records.get("deal", deal_id)
                time.sleep(chance.random() * PAUSE)
                published.clear()
                try:
                    if moving:
                        to = chance.choice([sid for sid in stages if sid != snap["stage_id"]])
                        reason = LOST_REASON if stages[to] == "lost" else None
                        saved = deals.move_deal(ctx, deal_id, to, from_stage_id=snap["stage_id"], lost_reason=reason)
                        done_what = {"stage_id": to, "from": snap["stage_id"]}
                    else:
                        saved = records.update(ctx, "deal", deal_id, edit, version=snap.version)
                        done_what = edit
                except ConflictError:
                    conflicts += 1
                    continue
                except Exception as error:  # noqa: BLE001 - a user would have seen it: report it
                    problems.append(f"{login} step {step}: {error!r}")
                    break
                if saved.version != snap.version:
                    txns = {event.txn for event in published}
                    if len(txns) != 1:
                        problems.append(f"{login} step {step}: the save published {len(txns)} transactions")
                    saves.append(
                        {"deal": deal_id, "kind": "move" if moving else "edit", "set": done_what,
                         "version": saved.version, "read": snap.version, "txn": min(txns, default="")}
                    )  # fmt: skip
                break
        done.set()
        engine.join()
        db.close()
    except BaseException:  # noqa: BLE001 - reported to the parent
        problems.append(f"{login}: {traceback.format_exc()}")
    finally:
        done.set()
        results.put({"login": login, "saves": saves, "conflicts": conflicts, "problems": problems})


def _setup(target: Target) -> tuple[dict[int, dict[str, Any]], int, int]:
    """50 deals in Qualification and the rule; returns the starting rows, the rule and the last event id."""
    setup = open_workspace(target, Settings(), login="setup")
    first = stage_named("Qualification")
    for n in range(DEALS):
        records.create(
            setup.ctx, "deal", {"title": f"deal {n}", "stage_id": first, "amount": 1000 * n, "probability": n}
        )
    rule_id = automation_rules.save_rule(
        setup.ctx,
        {"name": "note each move", "enabled": True, "trigger": {"type": "stage_changed"},
         "actions": [{"type": "add_note", "body": "moved to {stage}"}]},
    )  # fmt: skip
    rows = _deal_rows()
    baseline = latest_event_id()
    db.close()
    return rows, rule_id, baseline


def _deal_rows() -> dict[int, dict[str, Any]]:
    """Every deal's replayed columns, by id."""
    query = Deal.select(Deal.id, Deal.title, Deal.amount, Deal.probability, Deal.stage.alias("stage_id"), Deal.version)
    return {row.pop("id"): row for row in query.dicts()}


def _run(target: Target) -> list[dict[str, Any]]:
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_worker, args=(_where(target), f"rep{n}", 1000 + n, start, results))
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    start.set()
    reports = [results.get(timeout=600) for _ in workers]  # before join: a full queue holds a process
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    return reports


def _replay(start: dict[int, dict[str, Any]], events: list[Event]) -> dict[int, dict[str, Any]]:
    """The deals' rows rebuilt from the starting rows and the event log, in id order."""
    rows = {deal_id: dict(values) for deal_id, values in start.items()}
    seen: set[str] = set()
    for event in events:
        row = rows[event.record_id]
        if event.txn not in seen:  # one transaction, one new version
            seen.add(event.txn)
            row["version"] += 1
        if event.kind == "deal.stage_changed":
            row["stage_id"] = json.loads(event.new)
        elif event.field in ("title", "amount", "probability"):
            row[event.field] = json.loads(event.new) if event.new is not None else None
    return rows


def test_team_of_processes_loses_nothing(target: Target) -> None:
    started = time.monotonic()
    start_rows, rule_id, baseline = _setup(target)
    reports = _run(target)
    ran = time.monotonic() - started

    problems = [problem for report in reports for problem in report["problems"]]
    saves = [save for report in reports for save in report["saves"]]
    conflicts = sum(report["conflicts"] for report in reports)
    print(f"\n{target.kind}: {len(saves)} saves, {conflicts} conflicts, {len(problems)} errors, {ran:.1f} s")
    assert problems == []  # no "database is locked", no deadlock, no failed automation run
    assert conflicts > 0  # the conflict path was exercised (8 processes on 50 deals)

    workspace = open_workspace(target, Settings(), login="check")
    Engine(workspace.ctx).process_events()  # what a process left behind (PostgreSQL's late window)
    events = list(Event.select().where(Event.id > baseline, Event.entity == "deal").order_by(Event.id))
    by_txn: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_txn[event.txn].append(event)

    # Every reported save has its rows in the log, and every row belongs to a reported save.
    reported = {save["txn"]: save for save in saves}
    assert len(reported) == len(saves)
    assert set(by_txn) == set(reported)
    for txn, save in reported.items():
        rows = by_txn[txn]
        assert {row.record_id for row in rows} == {save["deal"]}
        if save["kind"] == "move":
            moved = [row for row in rows if row.kind == "deal.stage_changed"]
            assert [(json.loads(row.old), json.loads(row.new)) for row in moved] == [
                (save["set"]["from"], save["set"]["stage_id"])
            ]
        else:
            assert {row.kind for row in rows} == {"record.updated"}
            logged = {row.field: json.loads(row.new) for row in rows}
            assert logged and all(save["set"][name] == value for name, value in logged.items())

    # No lost update: each deal's saves took the versions one after another, none twice.
    versions: dict[int, list[int]] = defaultdict(list)
    for save in saves:
        versions[save["deal"]].append(save["version"])
    final = _deal_rows()
    for deal_id, row in final.items():
        assert sorted(versions[deal_id]) == list(range(start_rows[deal_id]["version"] + 1, row["version"] + 1))

    # The log replayed from the starting rows is the final state.
    assert _replay(start_rows, events) == final

    # Each stage change fired the rule exactly once, and its note is there.
    moves = [event for event in events if event.kind == "deal.stage_changed"]
    assert len(moves) == sum(save["kind"] == "move" for save in saves)
    runs = list(AutomationRun.select().where(AutomationRun.rule == rule_id))
    assert sorted(run.event_id for run in runs) == sorted(event.id for event in moves)
    assert {run.status for run in runs} == {"done"}
    assert [run.key for run in runs if run.key != f"event:{run.event_id}"] == []
    notes = Counter(deal_id for (deal_id,) in Note.select(Note.deal).tuples())
    assert notes == Counter(event.record_id for event in moves)
    db.close()
