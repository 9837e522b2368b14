"""The dashboard's report queries at 10k and 100k deals: each report's median time through the
service beside the same SQL on a bare sqlite3 connection, and the whole dashboard.

    python bench/reports.py [--sizes 10000 100000] [--runs 7] [--period this_month] [--explain]

Workspaces: bench/data/deals-<n>k.sqlite3 from bench/generate.py's demo generator (made on first
use, see bench/lists.py), opened once with open_workspace so an older file is upgraded first.
The filter is the named period (default this month) over all pipelines, no owner or tag; the
funnel, stage durations and stuck deals use the first pipeline, my tasks the `bench` user.

Columns, per report:
- queries: how many SQL statements the report runs;
- service: median wall time of the report function (queries, Peewee, assembling dataclasses);
- raw sqlite3: the same statements with the same parameters, captured from Peewee's logger, run on
  a bare sqlite3 connection (same cache size), rows fetched: the baseline;
- slowest statement: the raw time of the report's slowest statement.
"total (dashboard)" sums the reports `reports.dashboard()` runs; `dashboard()` is the call itself.
Reports over 100 ms get their slowest statement's EXPLAIN QUERY PLAN printed (all with --explain).
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.lists import deals_workspace, row_counts
from bench.search import median_ms

SLOW_MS = 100.0
"""A report slower than this (through the service) gets its plan printed."""


class _Capture(logging.Handler):
    """Collects the (sql, params) Peewee logs at DEBUG for every statement it runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, tuple]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            sql, params = record.msg
            self.statements.append((sql, tuple(params or ())))


def capture(call: Callable[[], object]) -> list[tuple[str, tuple]]:
    """The statements `call()` runs, in order."""
    logger = logging.getLogger("peewee")
    handler = _Capture()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        call()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return handler.statements


def raw_times(conn: sqlite3.Connection, statements: list[tuple[str, tuple]], runs: int) -> tuple[float, float]:
    """Median ms of all `statements` run in turn on `conn`, and of the slowest one alone."""
    total = median_ms(lambda: [conn.execute(sql, params).fetchall() for sql, params in statements], runs)
    slowest = max((median_ms(lambda s=s: conn.execute(s[0], s[1]).fetchall(), runs) for s in statements), default=0.0)
    return total, slowest


def plan(conn: sqlite3.Connection, sql: str, params: tuple) -> str:
    """EXPLAIN QUERY PLAN of one statement, indented as SQLite nests it."""
    rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    depth: dict[int, int] = {0: 0}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, 0) + 1
        lines.append("      " + "  " * depth[node] + detail)
    return "\n".join(lines)


def measure(path: Path, runs: int, period: str, explain: bool) -> None:
    """Print one line per report for the workspace at `path`."""
    from crm_tui import clock, db
    from crm_tui.config import Settings
    from crm_tui.services import reports
    from crm_tui.services.workspace import open_workspace

    workspace = open_workspace(db.parse_target(str(path)), Settings(), login="bench")
    now = clock.now()
    f = reports.ReportFilter.for_period(period, today=now.date())
    cards = reports.stat_cards(f, now=now)
    pipeline_id = reports.dashboard(f, now=now).pipeline_id
    assert pipeline_id is not None
    user_id = workspace.ctx.user_id
    calls: list[tuple[str, Callable[[], object], bool]] = [
        ("stat_cards", lambda: reports.stat_cards(f, now=now), True),
        ("card_changes (previous period)", lambda: reports.card_changes(f, cards), True),
        ("monthly (12 months)", lambda: reports.monthly(f), True),
        ("by_stage", lambda: reports.by_stage(f), True),
        ("forecast (6 months)", lambda: reports.forecast(f, today=now.date()), True),
        ("funnel", lambda: reports.funnel(pipeline_id, f), True),
        ("stage_durations", lambda: reports.stage_durations(pipeline_id, f, now=now), True),
        ("stuck (5 per stage)", lambda: reports.stuck(pipeline_id, f=f, now=now), True),
        ("activity_feed (30)", lambda: reports.activity_feed(), True),
        ("my_tasks", lambda: reports.my_tasks(user_id, now=now), True),
        ("share by tag", lambda: reports.share(f, "tag"), False),
        ("share by source", lambda: reports.share(f, "source"), False),
    ]
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA cache_size = -32000")  # as crm_tui.db.connect sets it
    print(f"\n{path.name}: {row_counts(path, ['deal'])}; period {period} ({f.start:%Y-%m-%d} .. {f.end:%Y-%m-%d})")
    print(f"  {'report':34} {'queries':>7} {'service':>10} {'raw sqlite3':>12} {'slowest stmt':>13}")
    totals = [0, 0.0, 0.0]
    slow: list[tuple[str, str, tuple]] = []
    for name, call, in_dashboard in calls:
        statements = capture(call)
        service = median_ms(call, runs)
        baseline, slowest = raw_times(raw, statements, runs)
        mark = "" if in_dashboard else "  (not in dashboard)"
        print(f"  {name:34} {len(statements):7d} {service:8.1f} ms {baseline:9.1f} ms {slowest:10.1f} ms{mark}")
        if in_dashboard:
            totals[0] += len(statements)
            totals[1] += service
            totals[2] += baseline
        if service > SLOW_MS or explain:
            worst = max(statements, key=lambda s: median_ms(lambda: raw.execute(s[0], s[1]).fetchall(), 3))
            slow.append((name, *worst))
    print(f"  {'total (dashboard)':34} {totals[0]:7d} {totals[1]:8.1f} ms {totals[2]:9.1f} ms")
    whole = median_ms(lambda: reports.dashboard(f, user_id=user_id, now=now), max(3, runs // 2))
    print(f"  {'dashboard() itself':34} {'':7} {whole:8.1f} ms")
    for name, sql, params in slow:
        print(f"\n  plan of {name}'s slowest statement:\n    {sql[:300]}{'…' if len(sql) > 300 else ''}")
        print(plan(raw, sql, params))
    raw.close()
    db.close()


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--period", default="this_month")
    parser.add_argument("--explain", action="store_true", help="print every report's slowest plan")
    args = parser.parse_args()
    started = time.perf_counter()
    for size in args.sizes:
        measure(deals_workspace(size), args.runs, args.period, args.explain)
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
