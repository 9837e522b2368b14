"""What the dashboard's rollup triggers cost every write: single saves and a bulk import, on SQLite
and on PostgreSQL, each beside the same write with the triggers dropped, in the same run.

    python bench/writes.py [--deals 10000] [--ops 200] [--block 20] [--bulk 2000] [--bulk-runs 2]
                           [--pg URL] [--backends sqlite postgresql]

A demo workspace of --deals deals (services.demo.generate; a temp SQLite file, and on --pg a fresh
schema of that database, dropped afterwards). The triggers are those `rollups._ddl()` creates:
deal_day and deal_open (append +1/-1 rows per deal change) and deal_reach and deal_stay (recompute
one deal's rows per deal or stage_change write). "Without" runs the ddl's DROP TRIGGER statements;
"with" runs `rollups.install()` again. Both states run on the same workspace, in alternating
blocks of --block operations (the order of the two states flips every round) to spread drift.

Per operation, --ops timed calls with and --ops without, each on a different open deal (picked
at random, never reused), the wall time of the service call alone (the version read before it is
not timed), as the app makes it:
- create a deal: records.create (title, stage, amount, company, expected close);
- edit title: records.update of the title (a column no rollup watches);
- edit amount: records.update of the amount (deal_day and deal_open rows);
- move to next stage: deals.move_deal to the next stage by position that is not a lost one (a
  last open stage's next is won: the deal closes);
- add a tag: bulk.tag (what the list's tag action calls) with a tag the deal does not have.
Bulk: a CSV of --bulk deals stored by `read_table` + `run_import` (what `crm import deals` runs),
and --bulk records.create calls in one transaction; --bulk-runs each way, in ABBA order.

Rollup check: after a warm-up of triggered writes and after the first triggered import, the
trigger-kept tables are compared with a fresh `rollups.rebuild()` in a transaction rolled back.
Timings on a small shared machine are noisy: read the medians, and the p95s as a rough guide.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from crm_tui import db
from crm_tui.config import Settings
from crm_tui.models import Company, Deal, DealTag, Pipeline, Stage, Tag, database
from crm_tui.services import bulk, deals, demo, import_columns, records, rollups
from crm_tui.services.context import Context
from crm_tui.services.import_engine import ImportRequest, run_import
from crm_tui.services.import_read import read_table
from crm_tui.services.unit import write
from crm_tui.services.workspace import open_workspace

OPS = ("create a deal", "edit title", "edit amount", "move to next stage", "add a tag")
WARMUP = 10
"""Untimed operations of each kind per state before the timed blocks (caches, statement plans)."""


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (nan for no values)."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def set_triggers(on: bool) -> None:
    """Install the rollup triggers, or drop them (the DROP TRIGGER statements of rollups._ddl())."""
    if on:
        rollups.install()
        return
    for statement in rollups._ddl():
        if statement.startswith("DROP TRIGGER"):
            database.execute_sql(statement)


# -- the workspace and what the operations pick from ------------------------------------------------


class Picks:
    """Open deals to write to (each used once), the stage after each stage, tags and companies."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        stages = list(Stage.select().where(Stage.deleted_at.is_null()).order_by(Stage.pipeline, Stage.position))
        self.after: dict[int, int] = {}
        for stage in stages:
            later = [s for s in stages if s.pipeline_id == stage.pipeline_id and s.position > stage.position and s.kind != "lost"]
            if later:
                self.after[stage.id] = later[0].id
        self.open_stages = [s.id for s in stages if s.kind == "open"]
        alive = (Deal.select(Deal.id).join(Stage, on=(Deal.stage == Stage.id))
                 .where(Deal.deleted_at.is_null(), Stage.kind == "open"))  # fmt: skip
        self.deals = [deal_id for (deal_id,) in alive.tuples()]
        self.rng.shuffle(self.deals)
        self.tags = [tag_id for (tag_id,) in Tag.select(Tag.id).tuples()]
        self.tag_names = [name for (name,) in Tag.select(Tag.name).tuples()]
        self.companies = [(cid, name) for cid, name in Company.select(Company.id, Company.name).where(Company.deleted_at.is_null()).tuples()]
        self.counter = 0

    def deal(self) -> int:
        """An open deal not written by this bench yet."""
        if not self.deals:
            raise SystemExit("ran out of open deals: use more --deals or fewer --ops")
        return self.deals.pop()

    def unique(self) -> str:
        """A title no other deal has."""
        self.counter += 1
        return f"Bench deal {self.counter:06d}"


def operation(ctx: Context, picks: Picks, kind: str) -> float:
    """Prepare one `kind` operation (untimed), run it through the service; its seconds."""
    rng = picks.rng
    call: Callable[[], Any]
    if kind == "create a deal":
        data = {"title": picks.unique(), "stage_id": rng.choice(picks.open_stages), "amount": rng.randrange(100_000, 10**8),
                "company_id": rng.choice(picks.companies)[0], "expected_close": date.today() + timedelta(days=rng.randrange(1, 180))}  # fmt: skip
        call = lambda: records.create(ctx, "deal", data)
    elif kind == "move to next stage":
        deal_id = picks.deal()
        snap = records.get("deal", deal_id)
        while snap["stage_id"] not in picks.after:  # a stage with nothing after it: take another deal
            deal_id = picks.deal()
            snap = records.get("deal", deal_id)
        call = lambda: deals.move_deal(ctx, deal_id, picks.after[snap["stage_id"]], from_stage_id=snap["stage_id"])
    elif kind == "add a tag":
        deal_id = picks.deal()
        has = {tag_id for (tag_id,) in DealTag.select(DealTag.tag).where(DealTag.deal == deal_id).tuples()}
        tag_id = rng.choice([t for t in picks.tags if t not in has])
        call = lambda: bulk.tag(ctx, "deal", [deal_id], tag_id, add=True)
    else:
        deal_id = picks.deal()
        snap = records.get("deal", deal_id)
        change = {"title": f"{snap['title']} (edited)"[:200]} if kind == "edit title" else {"amount": snap["amount"] + rng.randrange(1, 10**6)}
        call = lambda: records.update(ctx, "deal", deal_id, change, version=snap.version)
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def single_writes(ctx: Context, picks: Picks, ops: int, block: int) -> dict[tuple[str, bool], list[float]]:
    """Each operation `ops` times with the triggers and `ops` times without, in alternating blocks."""
    samples: dict[tuple[str, bool], list[float]] = {(kind, on): [] for kind in OPS for on in (True, False)}
    rounds = -(-ops // block)
    for index in range(rounds):
        states = (True, False) if index % 2 == 0 else (False, True)
        for on in states:
            set_triggers(on)
            kinds = OPS[index % len(OPS):] + OPS[: index % len(OPS)]  # each kind leads in turn
            for kind in kinds:
                for _ in range(min(block, ops - index * block)):
                    samples[(kind, on)].append(operation(ctx, picks, kind))
    set_triggers(True)
    return samples


# -- bulk writes ------------------------------------------------------------------------------------


def deals_csv(path: Path, picks: Picks, rows: int) -> Path:
    """A deals CSV as another CRM exports it: title, amount, pipeline and stage by name, company, tags."""
    stages = [(pipeline, stage) for pipeline, stage in
              Stage.select(Stage.pipeline, Stage.name).where(Stage.deleted_at.is_null(), Stage.kind == "open").tuples()]  # fmt: skip
    pipelines = dict(Pipeline.select(Pipeline.id, Pipeline.name).tuples())
    rng = picks.rng
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Title", "Amount", "Pipeline", "Stage", "Company", "Expected Close", "Tags"])
        for _ in range(rows):
            pipeline_id, stage = rng.choice(stages)
            writer.writerow([picks.unique(), f"{rng.randrange(1000, 10**6)}.00", pipelines[pipeline_id], stage,
                             rng.choice(picks.companies)[1], (date.today() + timedelta(days=rng.randrange(1, 180))).isoformat(),
                             rng.choice(picks.tag_names) if rng.random() < 0.5 else ""])  # fmt: skip
    return path


def bulk_import(ctx: Context, source: Path) -> float:
    """Seconds for `crm import deals` of `source` (all or nothing)."""
    started = time.perf_counter()
    table = read_table(source)
    mapping = import_columns.suggest("deal", table.header)
    if len(mapping) != len(table.header):
        raise SystemExit(f"columns not recognised: {set(table.header) - {table.header[i] for i in mapping}}")
    result = run_import(ctx, table, ImportRequest("deal", mapping, file_name=source.name))
    if not result.stored:
        raise SystemExit("import stored nothing:\n" + "\n".join(result.lines()[:8]))
    return time.perf_counter() - started


def bulk_create(ctx: Context, picks: Picks, rows: int) -> float:
    """Seconds for `rows` records.create calls in one transaction."""
    rng = picks.rng
    data = [{"title": picks.unique(), "stage_id": rng.choice(picks.open_stages), "amount": rng.randrange(100_000, 10**8),
             "company_id": rng.choice(picks.companies)[0]} for _ in range(rows)]  # fmt: skip
    started = time.perf_counter()
    with write(ctx):
        for values in data:
            records.create(ctx, "deal", values)
    return time.perf_counter() - started


# -- checking the rollups ---------------------------------------------------------------------------


def rollup_state() -> dict[str, Counter]:
    """Every rollup as a multiset of rows: deal_day and deal_open summed per group (groups summing
    to nothing left out), deal_reach and deal_stay as they are (ids left out)."""
    state: dict[str, Counter] = {}
    for r in rollups.ROLLUPS:
        keys, sums = ", ".join(r.keys), ", ".join(f"SUM({v})" for v in r.values)
        rows = database.execute_sql(f"SELECT {keys}, {sums} FROM {r.table} GROUP BY {keys}").fetchall()
        state[r.table] = Counter(tuple(row) for row in rows if any(row[len(r.keys):]))
    state["deal_reach"] = Counter(map(tuple, database.execute_sql(
        "SELECT deal_id, pipeline_id, top_stage_id, created_at, owner_id, live FROM deal_reach").fetchall()))  # fmt: skip
    state["deal_stay"] = Counter(map(tuple, database.execute_sql(
        "SELECT deal_id, stage_id, entered, secs, owner_id, live FROM deal_stay").fetchall()))  # fmt: skip
    return state


def check_rollups(label: str) -> list[str]:
    """Compare the trigger-kept rollups with a rebuild (rolled back); a line per table that differs."""
    kept = rollup_state()
    with database.atomic() as txn:
        rollups.rebuild()
        rebuilt = rollup_state()
        txn.rollback()
    problems = []
    for table, rows in kept.items():
        extra, missing = rows - rebuilt[table], rebuilt[table] - rows
        if extra or missing:
            sample = next(iter(extra or missing))
            problems.append(f"{label}: {table} differs from a rebuild: {sum(extra.values())} extra, "
                            f"{sum(missing.values())} missing rows (e.g. {sample})")  # fmt: skip
    print(f"  rollup check {label}: {'mismatch (listed at the end)' if problems else 'trigger-kept tables match a rebuild'}")
    return problems


# -- one back end -----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    """Seconds as milliseconds, right-aligned."""
    return f"{seconds * 1000:7.2f}"


def report(samples: dict[tuple[str, bool], list[float]]) -> None:
    """The table: median and p95 with and without the triggers, and the difference."""
    print(f"  {'operation':<20} {'with triggers':>17} {'without':>17} {'difference (with - without)':>34}")
    print(f"  {'':<20} {'median':>8} {'p95':>8} {'median':>8} {'p95':>8} {'median':>17} {'p95':>16}")
    for kind in OPS:
        on, off = samples[(kind, True)], samples[(kind, False)]
        m_on, m_off, p_on, p_off = statistics.median(on), statistics.median(off), percentile(on, 95), percentile(off, 95)
        print(f"  {kind:<20} {ms(m_on)} {ms(p_on)}  {ms(m_off)} {ms(p_off)}  {ms(m_on - m_off)} ({(m_on / m_off - 1) * 100:+4.0f}%)"
              f" {ms(p_on - p_off)} ({(p_on / p_off - 1) * 100:+4.0f}%)")  # fmt: skip
    print(f"  (ms; {len(samples[(OPS[0], True)])} calls each way)")


def run_backend(name: str, where: str, args: argparse.Namespace, scratch: Path) -> list[str]:
    """Generate the workspace at `where`, measure, print; returns the rollup problems seen."""
    print(f"\n{name}: demo workspace of {args.deals:,} deals", flush=True)
    started = time.perf_counter()
    ctx = open_workspace(db.parse_target(where), Settings(), login="bench").ctx
    counts = demo.generate(ctx, demo.DemoSizes().scaled_to(args.deals), seed=args.seed)
    print(f"  generated in {time.perf_counter() - started:.0f} s: " + ", ".join(f"{n:,} {k}" for k, n in counts.items()), flush=True)
    picks = Picks(args.seed)
    problems: list[str] = []
    try:
        for on in (False, True):  # warm both states
            set_triggers(on)
            if on:  # the untriggered writes left the rollups behind: catch up, then check triggered writes
                with database.atomic():
                    rollups.rebuild()
            for kind in OPS:
                for _ in range(WARMUP):
                    operation(ctx, picks, kind)
        problems += check_rollups("after triggered single writes")
        samples = single_writes(ctx, picks, args.ops, args.block)
        print("  single writes through the services:")
        report(samples)
        with database.atomic():  # the untriggered writes left the rollups behind: catch up before the next check
            rollups.rebuild()
        times: dict[tuple[str, bool], list[float]] = {(k, on): [] for k in ("import", "create") for on in (True, False)}
        order = [True, False, False, True] * ((args.bulk_runs + 1) // 2)
        for index, on in enumerate(order[: 2 * args.bulk_runs]):
            set_triggers(on)
            source = deals_csv(scratch / f"deals-{name.split()[0].lower()}-{index}.csv", picks, args.bulk)
            times[("import", on)].append(bulk_import(ctx, source))
            if on and index == 0:
                problems += check_rollups("after a triggered import")
            times[("create", on)].append(bulk_create(ctx, picks, args.bulk))
        set_triggers(True)
        print(f"  bulk writes of {args.bulk:,} deals, one transaction each (seconds, median of {args.bulk_runs}; runs in ABBA order):")
        print(f"  {'write':<44} {'with':>7} {'without':>8} {'difference':>18}")
        for kind, label in (("import", "crm import deals (read_table + run_import)"), ("create", "records.create x N in one transaction")):
            on, off = statistics.median(times[(kind, True)]), statistics.median(times[(kind, False)])
            print(f"  {label:<44} {on:7.2f} {off:8.2f} {on - off:+9.2f} ({(on / off - 1) * 100:+4.0f}%)")
            print(f"  {'':<44} runs: with {', '.join(f'{t:.2f}' for t in times[(kind, True)])};"
                  f" without {', '.join(f'{t:.2f}' for t in times[(kind, False)])}")  # fmt: skip
    finally:
        db.close()
    return problems


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--ops", type=int, default=200, help="timed calls per operation and trigger state")
    parser.add_argument("--block", type=int, default=20, help="calls per operation before the state flips")
    parser.add_argument("--bulk", type=int, default=2_000, help="deals per bulk write")
    parser.add_argument("--bulk-runs", type=int, default=2, help="bulk writes of each kind per trigger state")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--pg", default=None, help="PostgreSQL URL: a fresh schema in that database, dropped afterwards")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="crm-bench-writes-"))
    os.environ.setdefault("CRM_DATA_DIR", str(scratch / "data"))  # backups of a schema upgrade go there, not home
    os.environ.setdefault("CRM_CONFIG_DIR", str(scratch / "config"))
    os.environ.pop("CRM_DB_URL", None)
    print("Numbers from a shared machine are noisy (same workspace, alternating blocks, same run).")
    problems: list[str] = []
    if "sqlite" in args.backends:
        problems += run_backend("SQLite", str(scratch / "crm.sqlite3"), args, scratch)
    if "postgresql" in args.backends:
        if not args.pg:
            print("\nPostgreSQL: skipped (give --pg URL)")
        else:
            import psycopg

            schema = f"bench_writes_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            try:
                url = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
                problems += run_backend(f"PostgreSQL (schema {schema})", url, args, scratch)
            finally:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    if problems:
        print("\nRollup problems:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    main()
