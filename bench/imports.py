"""How fast `crm import contacts` stores a file: rows per second beside raw sqlite3 in the same run.

    python bench/imports.py [--rows 100000] [--runs 3]

A CSV of n contacts (first and last name, e-mail, phone, title, company among n/100 companies, one
or two tags) is written to a temporary directory. Per run, on a fresh workspace:
- crm: `read_table` + `run_import` (all or nothing, duplicates checked on e-mail): reading and
  sniffing the file, mapping suggested from the header, every row validated (pydantic), company and
  tag names resolved and the missing ones created, the contacts inserted, their tags, one event-log
  row each, their search documents (FTS5), and the batch's items for revert — in one transaction;
- baseline: the same file read with csv.reader and its rows inserted with sqlite3 `executemany`
  into a table of the same columns (no validation, no index, no log), in one transaction.
The figure is crm's rows/s and its ratio to the baseline; the issue's bar is 100,000 contacts in
under 10 seconds on this machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def write_file(path: Path, rows: int) -> Path:
    """A contacts CSV like an export from another CRM."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["First Name", "Last Name", "Email", "Phone Number", "Job Title", "Company Name", "Tags"])
        for i in range(rows):
            writer.writerow([f"Ann{i}", f"Lee{i % 997}", f"ann{i}@firm{i % 1000}.example", f"+1 555 01{i % 100:02d} {i % 10000:04d}",
                             "Buyer", f"Firm {i % max(rows // 100, 1)}", "import; east" if i % 2 else "import"])  # fmt: skip
    return path


def run_crm(source: Path, directory: Path) -> tuple[float, int]:
    """Seconds to import `source` into a new workspace, and the contacts stored."""
    from crm_tui import db
    from crm_tui.config import Settings
    from crm_tui.models import Contact
    from crm_tui.services import import_columns
    from crm_tui.services.import_engine import ImportRequest, run_import
    from crm_tui.services.import_read import read_table
    from crm_tui.services.workspace import open_workspace

    workspace = open_workspace(db.parse_target(str(directory / "crm.sqlite3")), Settings(), login="bench")
    started = time.perf_counter()
    table = read_table(source)
    request = ImportRequest("contact", import_columns.suggest("contact", table.header), file_name=source.name)
    result = run_import(workspace.ctx, table, request)
    elapsed = time.perf_counter() - started
    assert result.stored, result.lines()[:5]
    stored = Contact.select().count()
    db.close()
    return elapsed, stored


def run_baseline(source: Path, directory: Path) -> float:
    """Seconds to csv.reader the file and executemany its rows into a bare table."""
    conn = sqlite3.connect(directory / "raw.sqlite3")
    conn.execute(
        "CREATE TABLE contact (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, phone TEXT, "
        "title TEXT, company TEXT, tags TEXT)"
    )
    started = time.perf_counter()
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        with conn:
            conn.executemany(
                "INSERT INTO contact (first_name, last_name, email, phone, title, company, tags) VALUES (?, ?, ?, ?, ?, ?, ?)",
                reader,
            )
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> None:
    """Print crm's import time and rows/s beside the raw sqlite3 baseline."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("CRM_DATA_DIR", tmp)
        os.environ.setdefault("CRM_CONFIG_DIR", tmp)
        source = write_file(Path(tmp) / "contacts.csv", args.rows)
        crm_times, raw_times = [], []
        for run in range(args.runs):
            directory = Path(tmp) / f"run{run}"
            directory.mkdir()
            elapsed, stored = run_crm(source, directory)
            assert stored == args.rows, stored
            crm_times.append(elapsed)
            raw_times.append(run_baseline(source, directory))
        crm_s, raw_s = statistics.median(crm_times), statistics.median(raw_times)
        print(f"{args.rows:,} contacts, median of {args.runs} runs")
        print(f"  crm import      {crm_s:6.2f} s  {args.rows / crm_s:>10,.0f} rows/s   (runs: {', '.join(f'{t:.2f}' for t in crm_times)})")
        print(f"  raw executemany {raw_s:6.2f} s  {args.rows / raw_s:>10,.0f} rows/s")
        print(f"  ratio           {crm_s / raw_s:6.1f}x the raw insert; the bar is 10 s for 100,000")


if __name__ == "__main__":
    main()
