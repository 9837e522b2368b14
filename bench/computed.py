"""How long adding a computed custom field takes: every deal's value is computed and stored at once.

On a copy of the demo-generated deals workspace (bench/data/deals-<n>k.sqlite3, see bench/lists.py)
it times `custom_field_admin.add_field` for a lookup (`company.industry`) and a formula
(`amount * 2`), beside the baseline: the same values written by one INSERT ... SELECT on a bare
sqlite3 connection (what a hand-written, set-based SQL job would cost).

    python bench/computed.py [--deals 10000 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lists import deals_workspace

_BASELINES = {
    "lookup company.industry": (
        "INSERT INTO custom_value (field_id, record_id, text) SELECT -1, d.id, c.industry FROM deal d "
        "JOIN company c ON c.id = d.company_id AND c.deleted_at IS NULL WHERE d.deleted_at IS NULL "
        "AND c.industry IS NOT NULL"
    ),
    "formula amount * 2": (
        "INSERT INTO custom_value (field_id, record_id, real) SELECT -2, d.id, d.amount * 2 / 100.0 FROM deal d "
        "WHERE d.deleted_at IS NULL"
    ),
}


def measure(source: Path) -> None:
    """Time both field kinds on a fresh copy of `source`, then the baselines on another copy."""
    from crm_tui import db
    from crm_tui.config import Settings
    from crm_tui.services import custom_field_admin
    from crm_tui.services.workspace import open_workspace

    work = Path(tempfile.mkdtemp(prefix="crm-computed-"))
    ours_path, raw_path = work / "ours.sqlite3", work / "raw.sqlite3"
    shutil.copy(source, ours_path)
    shutil.copy(source, raw_path)
    workspace = open_workspace(db.parse_target(str(ours_path)), Settings(), login="bench")
    ours = {}
    for label, kind, options in (
        ("lookup company.industry", "lookup", {"lookup_path": ["company", "industry"]}),
        ("formula amount * 2", "formula", {"formula": "amount * 2"}),
    ):
        started = time.perf_counter()
        custom_field_admin.add_field(workspace.ctx, "deal", label.split()[0].title() + " bench", kind, **options)
        ours[label] = time.perf_counter() - started
    db.close()
    raw = sqlite3.connect(raw_path)
    raw.execute("PRAGMA foreign_keys = OFF")  # the baseline's field ids are placeholders
    for label, sql in _BASELINES.items():
        started = time.perf_counter()
        with raw:
            raw.execute(sql)
        print(f"  {label:26} {ours[label] * 1000:9.0f} ms {(time.perf_counter() - started) * 1000:11.0f} ms")
    raw.close()
    shutil.rmtree(work)


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    os.environ.update({"CRM_DATA_DIR": str(home / "data"), "CRM_CONFIG_DIR": str(home / "config")})
    print(f"SQLite {sqlite3.sqlite_version}; adding one field computes it for every deal\n")
    for deals in args.deals:
        print(f"{deals:,} deals          {'add_field()':>14} {'INSERT..SELECT':>14}")
        measure(deals_workspace(deals))
        print()


if __name__ == "__main__":
    main()
