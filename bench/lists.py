"""How fast a record list opens and pages: the contacts list at 10k / 100k / 1M contacts.

Uses the workspaces bench/search.py builds (bench/data/search-<n>k.sqlite3, made on first use).
For each case it prints the median time of the service call a list screen makes
(`record_lists.read_list`: a COUNT plus a page of 50 rows with their joins and custom values)
beside the baseline: the same COUNT and id page as hand-written SQL on a bare sqlite3 connection.

    python bench/lists.py [--sizes 10000 100000 1000000] [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.search import median_ms, workspace  # noqa: E402

CASES = [
    ("open (by name)", {}, 0, "SELECT id FROM contact WHERE deleted_at IS NULL ORDER BY last_name, first_name, id LIMIT 50"),
    ("page at the end (G)", {}, -1, "SELECT id FROM contact WHERE deleted_at IS NULL ORDER BY last_name, first_name, id LIMIT 50 OFFSET ?"),
    ("sort by email", {"sort": "email"}, 0, "SELECT id FROM contact WHERE deleted_at IS NULL ORDER BY email, id LIMIT 50"),
    ("/ quick filter 'berg'", {"text": "berg"}, 0, "SELECT id FROM contact WHERE deleted_at IS NULL AND (last_name LIKE '%berg%' OR email LIKE '%berg%') ORDER BY last_name, first_name, id LIMIT 50"),
]  # fmt: skip


def measure(path: Path, runs: int) -> None:
    """One line per case: rows matched, read_list(), raw sqlite3."""
    from crm_tui import db
    from crm_tui.services.record_lists import ListQuery, count, read_list

    db.connect(db.parse_target(str(path)))
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA cache_size = -32000")
    print(f"  {'case':24} {'rows':>10} {'read_list()':>12} {'raw sqlite3':>12}")
    for label, options, offset, sql in CASES:
        query = ListQuery("contact", **options)
        rows = count(query)
        at = rows - 1 if offset < 0 else offset
        ours = median_ms(lambda q=query, a=at: read_list(q, None, offset=a), runs)
        params = (at // 50 * 50,) if "OFFSET" in sql else ()

        def base(s: str = sql, p: tuple = params) -> None:
            raw.execute("SELECT COUNT(*) FROM contact WHERE deleted_at IS NULL").fetchone()
            raw.execute(s, p).fetchall()

        print(f"  {label:24} {rows:10,} {ours:10.1f}ms {median_ms(base, runs):10.1f}ms")
    raw.close()
    db.close()


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    os.environ.update({"CRM_DATA_DIR": str(home / "data"), "CRM_CONFIG_DIR": str(home / "config")})
    print(f"SQLite {sqlite3.sqlite_version}, {args.runs} runs each, median; a page is 50 rows\n")
    for contacts in args.sizes:
        print(f"{contacts:,} contacts")
        measure(workspace(contacts), args.runs)
        print()


if __name__ == "__main__":
    main()
