"""How many concurrent sessions one machine serves, on SQLite and on PostgreSQL, before a save takes
longer than 100 ms at the 95th percentile.

    python bench/sessions.py [--deals 10000] [--seconds 30] [--think 0.5 2.0] [--save-every 5 10]
                             [--max-sessions 128] [--sessions N ...] [--refine 2] [--no-engine]
                             [--pg URL] [--backends sqlite postgresql]

A session is a process (`crm` over SSH is one per person) signed in as one of the demo team, on a
demo workspace from services.demo.generate (a temp SQLite file; a fresh schema on --pg). For
--seconds it does what a rep does, a --think pause between actions: the board (board.open_board),
a deals list page (record_lists.read_list), a deal (record_form.read_form, timeline.related and
.timeline), a search, and every --save-every actions a save on a deal of its own: amount and
probability (records.update at the version read) or a move to another open stage (deals.move_deal).
Like the app it reads the event log for others' changes (every second on SQLite; on PostgreSQL when
its LISTEN connection wakes it, else every 10 s), and runs the automation engine on a thread and
connection of its own shortly after a change (the demo switches three stage-change rules on).

A save's latency is the service call's wall time, lock waits included. N doubles from 1 until the
p95 passes 100 ms (or --max-sessions), then --refine bisection steps narrow it. On PostgreSQL a
session holds 3 connections (UI thread, engine thread, LISTEN), so N stops at what max_connections
leaves free. Baselines, same run, one client: raw sqlite3 BEGIN IMMEDIATE + UPDATE + COMMIT on the
same file (the app's pragmas), and raw psycopg UPDATE + COMMIT on the same schema.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from peewee import fn

from crm_tui import db
from crm_tui.config import Settings
from crm_tui.db import parse_target
from crm_tui.events import DomainEvent
from crm_tui.models import Deal, Stage
from crm_tui.services import board, changes, deals, demo, live, record_form, record_lists, records, search, timeline
from crm_tui.services.automation_engine import Engine
from crm_tui.services.demo_words import TEAM
from crm_tui.services.errors import ConflictError
from crm_tui.services.workspace import open_workspace

SAVE_LIMIT_MS = 100.0
"""The p95 save latency a session must stay under."""
POLL_SECONDS, LISTENED_POLL_SECONDS, ENGINE_DELAY = 1.0, 10.0, 0.3
"""As the app: its event-log poll, the same beside LISTEN, and the pause before the rules run."""
BASELINE_RUNS = 200
PG_RESERVED = 3  # superuser_reserved_connections' default
PRAGMAS = (
    "journal_mode = wal",
    "foreign_keys = 1",
    "synchronous = normal",
    "busy_timeout = 10000",
    "cache_size = -32000",
)
"""As crm_tui.db.connect sets up a SQLite connection."""
UPDATE = "UPDATE deal SET amount = amount + 1, version = version + 1 WHERE id = ?"


@dataclass(frozen=True)
class Plan:
    """What every session of a step does."""

    seconds: float
    think: tuple[float, float]
    save_every: tuple[int, int]
    engine: bool


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (nan for no values)."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# -- one session ------------------------------------------------------------------------------------


class _Wakes:
    """The app's reaction to changes: the event log read, then the engine run shortly after."""

    def __init__(self, ctx: Any, plan: Plan, counts: Counter) -> None:
        self.ctx, self.counts = ctx, counts
        self.last_id = changes.latest_event_id()
        self.own: set[str] = set()
        self.changed, self.engine_due, self.stop = threading.Event(), threading.Event(), threading.Event()
        ctx.bus.subscribe(DomainEvent, lambda event: self.own.add(event.txn))
        self.listener = live.Listener(self.changed.set)  # sets `changed` when any session commits
        self.poll_every = LISTENED_POLL_SECONDS if self.listener.start() else POLL_SECONDS
        self.next_poll = time.monotonic() + random.random() * self.poll_every
        self.engine = threading.Thread(target=self._engine_loop, daemon=True) if plan.engine else None
        if self.engine is not None:
            self.engine.start()

    def poll(self) -> None:
        """Read the event log if it is time (or LISTEN said so); wake the engine on others' news."""
        if not (self.changed.is_set() or time.monotonic() >= self.next_poll):
            return
        self.changed.clear()
        self.next_poll = time.monotonic() + self.poll_every
        rows = changes.changes_since(self.last_id)
        if rows:
            self.last_id = rows[-1].id
            if any(row.txn not in self.own for row in rows):
                self.engine_due.set()

    def think(self, seconds: float) -> None:
        """Wait `seconds` as a user does, while the app keeps reading others' changes."""
        until = time.monotonic() + seconds
        self.poll()  # also with no think time (--think 0 0)
        while (left := until - time.monotonic()) > 0:
            self.changed.wait(min(left, max(0.0, self.next_poll - time.monotonic()), 0.1))
            self.poll()

    def _engine_loop(self) -> None:
        engine = Engine(self.ctx)
        try:
            while not self.stop.is_set():
                if not self.engine_due.wait(0.2):
                    continue
                time.sleep(ENGINE_DELAY)
                self.engine_due.clear()
                try:
                    results = engine.process_events()
                except Exception as error:  # noqa: BLE001 - the app logs a failed pass and tries again later
                    self.counts[f"engine pass: {type(error).__name__}"] += 1
                    continue
                self.counts["automation runs"] += sum(r.status == "done" for r in results)
                self.counts["automation runs failed"] += sum(r.status == "failed" for r in results)
        finally:
            db.close()

    def close(self) -> None:
        """Stop the engine and LISTEN threads."""
        self.stop.set()
        self.listener.stop()
        if self.engine is not None:
            self.engine.join(timeout=30)


def _prepare(where: str, index: int) -> dict[str, Any]:
    """Open the workspace as a demo rep and read what the session picks from."""
    ctx = open_workspace(parse_target(where), Settings(), login=TEAM[index % len(TEAM)][0]).ctx
    alive = Deal.select(Deal.id).where(Deal.deleted_at.is_null())
    mine = alive.join(Stage, on=(Deal.stage == Stage.id)).where(Deal.owner == ctx.user_id, Stage.kind == "open")
    titles = Deal.select(Deal.title).order_by(fn.RANDOM()).limit(40).tuples()
    return {
        "ctx": ctx,
        "mine": [deal_id for (deal_id,) in mine.tuples()],
        "all": [deal_id for (deal_id,) in alive.tuples()],
        "open_stages": {p.id: [s.id for s in p.stages if s.kind == "open"] for p in board.list_pipelines()},
        "words": [title.split()[0][: random.randint(3, 8)].lower() for (title,) in titles if title.split()],
    }


def _save(state: dict[str, Any], rng: random.Random) -> float:
    """One save on one of the rep's deals; returns its latency in seconds (ConflictError passes)."""
    ctx, deal_id = state["ctx"], rng.choice(state["mine"] or state["all"])
    snap = records.get("deal", deal_id)  # what the form or the board showed
    if rng.random() < 0.5:
        change = {"amount": rng.randrange(10**8), "probability": rng.randint(0, 100)}
        started = time.perf_counter()
        records.update(ctx, "deal", deal_id, change, version=snap.version)
    else:
        to = rng.choice([s for s in state["open_stages"][snap["pipeline_id"]] if s != snap["stage_id"]])
        started = time.perf_counter()
        deals.move_deal(ctx, deal_id, to, from_stage_id=snap["stage_id"])
    return time.perf_counter() - started


def _read(state: dict[str, Any], rng: random.Random) -> tuple[str, float]:
    """One read action a screen makes; returns its name and latency in seconds."""
    kind = rng.choices(["board", "list", "record", "search"], weights=[3, 2, 3, 2])[0]
    started = time.perf_counter()
    if kind == "board":
        board.open_board(state["ctx"].user_id)
    elif kind == "list":
        record_lists.read_list(record_lists.ListQuery("deal"), state["ctx"].user_id, offset=rng.randrange(0, 2000))
    elif kind == "record":
        deal_id = rng.choice(state["all"])
        record_form.read_form("deal", deal_id)
        timeline.related("deal", deal_id)
        timeline.timeline("deal", deal_id)
    else:
        search.search(rng.choice(state["words"] or ["acme"]), limit=20)
    return kind, time.perf_counter() - started


def session(where: str, index: int, plan: Plan, out: Any, start: Any) -> None:
    """One simulated user: prepare, say ready, wait for the start, then act for plan.seconds."""
    rng, saves, reads, counts = random.Random(index), [], {}, Counter()
    wakes = None
    try:
        state = _prepare(where, index)
        wakes = _Wakes(state["ctx"], plan, counts)
    except Exception:  # noqa: BLE001 - reported with the step's results
        counts[f"could not open: {traceback.format_exc().strip().splitlines()[-1]}"] += 1
    out.put(("ready", index))
    start.wait()
    try:
        if wakes is not None:
            until = time.monotonic() + plan.seconds
            wakes.think(rng.uniform(0, plan.think[1]))  # users do not all press a key at once
            next_save = rng.randint(*plan.save_every)
            while time.monotonic() < until:
                next_save -= 1
                try:
                    if next_save <= 0:
                        next_save = rng.randint(*plan.save_every)
                        saves.append(_save(state, rng))
                        wakes.engine_due.set()  # the app runs the rules after its own changes too
                    else:
                        kind, seconds = _read(state, rng)
                        reads.setdefault(kind, []).append(seconds)
                except ConflictError:
                    counts["conflicts"] += 1
                except Exception as error:  # noqa: BLE001 - what the user would have been shown
                    counts[f"error: {type(error).__name__}: {str(error).splitlines()[0][:80]}"] += 1
                counts["actions"] += 1
                wakes.think(rng.uniform(*plan.think))
            wakes.close()
        db.close()
    finally:
        out.put(("done", index, saves, reads, dict(counts)))


# -- one step: N sessions at once -------------------------------------------------------------------

HEADER = "  ".join(
    ["", f"{'sessions':>8}", f"{'actions/s':>9}", f"{'saves':>5}", f"{'conflicts':>9}", f"{'errors':>6}"]
    + [f"{name:>11}" for name in ("save p50", "save p95", "save max", "board p95")]
    + [f"{'rules':>5}"]
)
PROBLEMS = ("error", "could not", "engine", "automation runs failed")


@dataclass
class Step:
    """What N sessions measured together."""

    sessions: int
    seconds: float
    saves: list[float] = field(default_factory=list)
    reads: dict[str, list[float]] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)

    @property
    def over(self) -> bool:
        """Whether the save p95 passed the limit (a step without saves did not)."""
        return percentile(self.saves, 95) * 1000 > SAVE_LIMIT_MS

    def row(self) -> str:
        """The step's line of the table."""
        counts = self.counts
        errors = sum(n for key, n in counts.items() if key.startswith(PROBLEMS))
        times = [percentile(self.saves, 50), percentile(self.saves, 95), max(self.saves, default=float("nan"))]
        times.append(percentile(self.reads.get("board", []), 95))
        shown = [f"{self.sessions:8d}", f"{counts['actions'] / self.seconds:9.1f}", f"{len(self.saves):5d}"]
        shown += [f"{counts['conflicts']:9d}", f"{errors:6d}", *(f"{t * 1000:8.1f} ms" for t in times)]
        return "  ".join(["", *shown, f"{counts['automation runs']:5d}"])


def run_step(where: str, sessions: int, plan: Plan) -> Step:
    """Start `sessions` processes, let them all get ready, then measure plan.seconds of use."""
    context = multiprocessing.get_context("spawn")
    out, start = context.Queue(), context.Event()
    processes = [context.Process(target=session, args=(where, i, plan, out, start)) for i in range(sessions)]
    for process in processes:
        process.start()
    ready = 0
    while ready < sessions:
        ready += out.get(timeout=600)[0] == "ready"
    start.set()
    step = Step(sessions, plan.seconds)
    for _ in processes:  # read before joining: a process with a full queue does not end
        _, _, saves, reads, counts = out.get(timeout=plan.seconds + 300)
        step.saves += saves
        for kind, values in reads.items():
            step.reads.setdefault(kind, []).extend(values)
        step.counts.update(counts)
    for process in processes:
        process.join(timeout=60)
    return step


def sweep(where: str, plan: Plan, *, sizes: list[int] | None, max_sessions: int, refine: int) -> None:
    """Print one line per step and the number of sessions served under the limit."""
    print(HEADER)
    steps: dict[int, Step] = {}

    def over(n: int) -> bool:
        steps[n] = run_step(where, n, plan)
        print(steps[n].row(), flush=True)
        return steps[n].over

    if sizes:
        for n in sizes:
            over(n)
    else:
        n = 1
        while not over(n) and n < max_sessions:
            n = min(n * 2, max_sessions)
        good = max((k for k, s in steps.items() if not s.over), default=0)
        bad = min((k for k, s in steps.items() if s.over), default=None)
        for _ in range(refine):
            if bad is None or bad - good <= 1:
                break
            middle = (good + bad) // 2
            good, bad = (good, middle) if over(middle) else (middle, bad)
    good = max((k for k, s in steps.items() if not s.over), default=0)
    bad = min((k for k, s in steps.items() if s.over and k > good), default=None)
    beyond = (
        f"; at {bad} the p95 is {percentile(steps[bad].saves, 95) * 1000:.0f} ms" if bad else " (limit not reached)"
    )
    print(f"  -> {good} sessions keep the save p95 under {SAVE_LIMIT_MS:.0f} ms{beyond}")
    for key, n in sum((step.counts for step in steps.values()), Counter()).most_common():
        if key.startswith(PROBLEMS):
            print(f"     {n:5d} x {key}")


# -- workspaces and baselines -----------------------------------------------------------------------


def make_workspace(where: str, deals: int) -> None:
    """Fill an empty workspace at `where` with the demo data of `deals` deals."""
    started = time.perf_counter()
    workspace = open_workspace(parse_target(where), Settings(), login="bench")
    made = demo.generate(workspace.ctx, demo.DemoSizes().scaled_to(deals), seed=2026)
    db.close()
    print(f"  made in {time.perf_counter() - started:.0f} s: " + ", ".join(f"{n:,} {name}" for name, n in made.items()))


def baseline(where: str) -> str:
    """p50 and p95 of a raw UPDATE + COMMIT of a random live deal, one client: sqlite3 (BEGIN IMMEDIATE,
    the app's pragmas) on the file, or psycopg on the schema."""
    postgres = where.startswith("postgresql")
    if postgres:
        import psycopg

        conn: Any = psycopg.connect(where)
    else:
        conn = sqlite3.connect(where, isolation_level=None, timeout=10)
        for pragma in PRAGMAS:
            conn.execute(f"PRAGMA {pragma}")
    ids = [row[0] for row in conn.execute("SELECT id FROM deal WHERE deleted_at IS NULL")]
    rng, times = random.Random(1), []
    for deal_id in [rng.choice(ids) for _ in range(BASELINE_RUNS)]:
        started = time.perf_counter()
        if postgres:
            conn.execute(UPDATE.replace("?", "%s"), (deal_id,))
            conn.commit()
        else:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(UPDATE, (deal_id,))
            conn.execute("COMMIT")
        times.append(time.perf_counter() - started)
    conn.close()
    return f"p50 {percentile(times, 50) * 1000:.2f} ms, p95 {percentile(times, 95) * 1000:.2f} ms"


def run_sqlite(args: argparse.Namespace, plan: Plan) -> None:
    """The SQLite sweep on a temp file."""
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as directory:
        path = Path(directory) / "sessions.sqlite3"
        print(f"\nSQLite {path}")
        make_workspace(str(path), args.deals)
        print(f"  baseline, raw sqlite3 BEGIN IMMEDIATE + UPDATE + COMMIT: {baseline(str(path))}")
        sweep(str(path), plan, sizes=args.sessions, max_sessions=args.max_sessions, refine=args.refine)


def run_postgresql(args: argparse.Namespace, plan: Plan) -> None:
    """The PostgreSQL sweep in a schema of its own, dropped afterwards."""
    import psycopg

    schema = f"bench_sessions_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        shown = ("server_version", "fsync", "synchronous_commit", "shared_buffers", "max_connections")
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in shown}
        used = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'").fetchone()[0]
    url = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
    try:
        print(f"\nPostgreSQL schema {schema} ({', '.join(f'{k} {v}' for k, v in settings.items())})")
        make_workspace(url, args.deals)
        print(f"  baseline, raw psycopg UPDATE + COMMIT: {baseline(url)}")
        each = 2 + plan.engine  # the UI thread, LISTEN, and the engine's thread
        cap = (int(settings["max_connections"]) - PG_RESERVED - used) // each
        print(f"  {used} connections in use, {each} per session: at most {cap} sessions")
        sizes = [n for n in args.sessions if n <= cap] if args.sessions else None
        if args.sessions and sizes != args.sessions:
            print(f"  not measured, over the connection limit: {[n for n in args.sessions if n > cap]} sessions")
        sweep(url, plan, sizes=sizes, max_sessions=min(args.max_sessions, cap), refine=args.refine)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time per step")
    two: dict[str, Any] = {"nargs": 2, "metavar": ("MIN", "MAX")}
    parser.add_argument("--think", type=float, default=[0.5, 2.0], help="seconds between actions (0 0: none)", **two)
    parser.add_argument("--save-every", type=int, default=[5, 10], help="one save in every MIN..MAX actions", **two)
    parser.add_argument("--max-sessions", type=int, default=128)
    parser.add_argument("--sessions", type=int, nargs="+", help="measure exactly these N (no doubling)")
    parser.add_argument("--refine", type=int, default=2, help="bisection steps between the last good and first bad N")
    parser.add_argument("--no-engine", action="store_true", help="sessions run no automation engine")
    parser.add_argument("--pg", default=os.environ.get("CRM_TEST_PG_URL"), help="PostgreSQL URL ($CRM_TEST_PG_URL)")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    plan = Plan(args.seconds, tuple(args.think), tuple(args.save_every), not args.no_engine)
    print(
        f"{args.deals:,} deals; {plan.seconds:g} s per step; think {plan.think[0]:g}-{plan.think[1]:g} s; a save every "
        f"{plan.save_every[0]}-{plan.save_every[1]} actions; automation engine {'on' if plan.engine else 'off'}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run"
    )
    with tempfile.TemporaryDirectory(prefix="crm-bench-data-") as data:
        os.environ.setdefault("CRM_DATA_DIR", data)  # backups of a schema upgrade go there, not home
        if "sqlite" in args.backends:
            run_sqlite(args, plan)
        if "postgresql" in args.backends:
            if args.pg:
                run_postgresql(args, plan)
            else:
                print("\nPostgreSQL: skipped (give --pg URL or set CRM_TEST_PG_URL)")


if __name__ == "__main__":
    main()
