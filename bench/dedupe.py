"""The duplicate scan over contacts: time of `dedupe.scan("contact")` beside a raw sqlite3 read of
the same rows, and how many planted duplicates it found.

    python bench/dedupe.py [--contacts 100000] [--share 0.02] [--runs 1]

A temporary SQLite workspace is filled (insert_many) with one company per 20 contacts and
`contacts` contacts whose names come from the demo word lists (so every full name is shared by
about ten different people at different companies: the false positives a scan must avoid). A
`share` of them is a planted duplicate of another contact at the same company with a typo in the
name (a letter dropped, doubled or swapped, accents or case changed, or first and last name
swapped) and one of: the same email, another address at the company's domain, no email but the
same phone written differently, or nothing else. Printed: rows, the scan's time, the baseline
(`SELECT id, first_name, last_name, email, phone FROM contact` on bare sqlite3, all rows
fetched), then planted pairs found exactly, planted pairs found inside a larger group, planted
pairs missed, and groups holding no planted pair (false positives, or real look-alikes).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

STAMP = "2026-01-01 00:00:00"


def typo(rng: random.Random, name: str) -> str:
    """`name` with one believable slip."""
    kind = rng.randrange(5)
    if len(name) < 4 or kind == 0:
        return name.upper() if rng.random() < 0.5 else name + name[-1]
    at = rng.randrange(1, len(name) - 1)
    if kind == 1:
        return name[:at] + name[at + 1 :]
    if kind == 2:
        return name[:at] + name[at] + name[at:]
    if kind == 3:
        return name[:at] + name[at + 1] + name[at] + name[at + 2 :]
    folded = {"ü": "ue", "ö": "o", "ø": "o", "é": "e", "ó": "o"}
    return "".join(folded.get(ch, ch) for ch in name) if any(ch in folded for ch in name) else name.lower()


def fill(path: Path, contacts: int, share: float, seed: int = 7) -> set[tuple[int, int]]:
    """Create the workspace at `path`; returns the planted (original id, duplicate id) pairs."""
    from crm_tui import db
    from crm_tui.config import Settings
    from crm_tui.models import Company, Contact, database
    from crm_tui.services import demo_words as words
    from crm_tui.services.workspace import open_workspace

    rng = random.Random(seed)
    open_workspace(db.parse_target(str(path)), Settings(), login="bench")
    companies = max(10, contacts // 20)
    rows = []
    for k in range(1, companies + 1):
        name = f"{rng.choice(words.COMPANY_PREFIXES)} {rng.choice(words.COMPANY_CORES)} {k}"
        rows.append((k, name, f"{name.split()[0].lower()}{k}.com", STAMP, STAMP))
    planted_count = int(contacts * share)
    originals = contacts - planted_count
    people = []
    for k in range(1, originals + 1):
        first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
        company = rng.randrange(1, companies + 1)
        email = f"{first}.{last}.{k}@{rows[company - 1][2]}".lower()
        people.append((k, first, last, email, f"+44 20 {k:08d}", company, STAMP, STAMP))
    planted = set()
    for k in range(originals + 1, contacts + 1):
        original, first, last, email, phone, company, *_ = people[rng.randrange(originals)]
        if rng.random() < 0.5:
            first = typo(rng, first)
        else:
            last = typo(rng, last)
        if rng.random() < 0.1:
            first, last = last, first
        evidence = rng.randrange(4)
        new_email = email if evidence == 0 else (f"x{k}.{email}" if evidence == 1 else None)
        new_phone = f"020 {phone[7:]}" if evidence == 2 else None
        people.append((k, first, last, new_email, new_phone, company, STAMP, STAMP))
        planted.add((original, k))
    with database.atomic():
        fields = [Company.id, Company.name, Company.domain, Company.created_at, Company.updated_at]
        for start in range(0, len(rows), 2000):
            Company.insert_many(rows[start : start + 2000], fields=fields).execute()
        fields = [Contact.id, Contact.first_name, Contact.last_name, Contact.email, Contact.phone, Contact.company,
                  Contact.created_at, Contact.updated_at]  # fmt: skip
        for start in range(0, len(people), 2000):
            Contact.insert_many(people[start : start + 2000], fields=fields).execute()
    db.close()
    return planted


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--share", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    os.environ.update({"CRM_DATA_DIR": str(home / "data"), "CRM_CONFIG_DIR": str(home / "config")})
    path = home / "dedupe.sqlite3"
    started = time.perf_counter()
    planted = fill(path, args.contacts, args.share)
    print(f"SQLite {sqlite3.sqlite_version}; filled {args.contacts:,} contacts in {time.perf_counter() - started:.1f} s")

    from crm_tui import db
    from crm_tui.services import dedupe

    raw = sqlite3.connect(path)
    started = time.perf_counter()
    count = len(raw.execute("SELECT id, first_name, last_name, email, phone FROM contact").fetchall())
    baseline = time.perf_counter() - started
    raw.close()
    db.connect(db.parse_target(str(path)))
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        groups = dedupe.scan("contact")
        times.append(time.perf_counter() - started)
    db.close()
    exact = inside = 0
    grouped: dict[int, frozenset[int]] = {}
    for group in groups:
        ids = frozenset(candidate.id for candidate in group.records)
        for record_id in ids:
            grouped[record_id] = ids
    for original, duplicate in planted:
        ids = grouped.get(original)
        if ids is not None and duplicate in ids:
            exact += len(ids) == 2
            inside += len(ids) > 2
    planted_ids = {record_id for pair in planted for record_id in pair}
    unplanted = sum(1 for group in groups if not planted_ids & {c.id for c in group.records})
    print(f"  rows read              {count:>10,}")
    print(f"  dedupe.scan('contact') {min(times):>10.2f} s   (best of {args.runs})")
    print(f"  raw sqlite3 SELECT     {baseline:>10.2f} s")
    print(f"  groups found           {len(groups):>10,}")
    print(f"  planted pairs          {len(planted):>10,}")
    print(f"    found as a pair      {exact:>10,}")
    print(f"    found in a larger group {inside:>7,}")
    print(f"    missed               {len(planted) - exact - inside:>10,}")
    print(f"  groups with no planted pair {unplanted:>5,}")


if __name__ == "__main__":
    main()
