"""What reading a member's access costs once formulas and lookups that read a hidden field are
hidden with it (`permissions.load`, which reads do every few seconds per user; writes skip the
derived part).

    python bench/access_load.py [--runs 300] [--computed 12]

A new SQLite workspace in a temporary folder, with `--computed` deal formulas and lookups. Printed,
each as the median of `--runs` loads: the baseline (a member whose role has no limit, the cost
before the change), one read-only limit (no derived work either), and one hidden limit (the
derived computed fields worked out), beside a bare sqlite3 `SELECT` of the role's limits.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crm_tui.config import Settings
from crm_tui.db import parse_target
from crm_tui.services import custom_field_admin, permissions, user_admin
from crm_tui.services.workspace import open_workspace


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    """Build the workspace, time the loads, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--computed", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "access.sqlite3"
        ctx = open_workspace(parse_target(str(path)), Settings(), login="bench").ctx
        mia = user_admin.add(ctx, "mia")
        for number in range(args.computed - 2):
            custom_field_admin.add_field(ctx, "deal", f"Formula {number}", "formula", formula=f"amount * {number + 1}")
        custom_field_admin.add_field(ctx, "deal", "Profit", "formula", formula="amount - cost")
        custom_field_admin.add_field(ctx, "deal", "Tier", "lookup", lookup_path=["company", "industry"])
        raw = sqlite3.connect(path)

        def bare() -> object:
            return raw.execute("SELECT entity, field, access FROM field_access WHERE role = ?", ("member",)).fetchall()

        rows = [("bare sqlite3: the role's limits", _median_ms(bare, args.runs))]
        rows.append(("no limit (baseline)", _median_ms(lambda: permissions.load(mia.id), args.runs)))
        user_admin.set_limit(ctx, "deal", "probability", "member", "read")
        rows.append(("one read-only limit", _median_ms(lambda: permissions.load(mia.id), args.runs)))
        user_admin.set_limit(ctx, "deal", "cost", "member", "hidden")
        rows.append((f"one hidden limit, {args.computed} computed fields", _median_ms(lambda: permissions.load(mia.id), args.runs)))
        rows.append(("  the same, as a write reads it", _median_ms(lambda: permissions.load(mia.id, derived=False), args.runs)))
        hidden = sorted(f for (e, f), how in permissions.load(mia.id).limits.items() if how == "hidden")
        raw.close()
    print(f"permissions.load, median of {args.runs} runs (ms)")
    for label, ms in rows:
        print(f"  {label:<42} {ms:8.3f}")
    print(f"  hidden from members: {', '.join(hidden)}")


if __name__ == "__main__":
    main()
