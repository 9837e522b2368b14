"""Record search (the ctrl+p palette) at 10k, 100k and 1M contacts on SQLite: build time, and the
median time of `search()` for prefix queries beside the same FTS5 query on bare sqlite3.

    python bench/search.py [--sizes 10000 100000 1000000] [--runs 15]

Workspaces are made once under bench/data/ (search-<n>k.sqlite3): companies and contacts are
bulk-inserted by one INSERT ... SELECT each over a recursive CTE (names from the demo word lists),
then `search_index.rebuild()` indexes them; both steps are timed. Columns, per query:
- matches: how many documents match (the work a full ranking would do);
- search(): the service, through Peewee, hits assembled (what the palette waits for);
- raw FTS5: the service's own SQL on a bare sqlite3 connection (the baseline);
- rank all: BM25 over every match, without the service's window of the newest 2,000;
- LIKE: a naive scan of names and e-mails with LIKE '%q%' (no index), first 20 rows.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUERIES = ["j", "jo", "jan", "jane do", "quintessa", "jonas.berg"]
"""Very common prefixes, a common name, a rare name (one contact) and an e-mail prefix."""
STAMP = "2026-01-01 00:00:00"
RANK_ALL = "SELECT rowid FROM search_fts WHERE search_fts MATCH ? ORDER BY bm25(search_fts, 10.0, 4.0, 1.0) LIMIT 20"
LIKE = "SELECT id FROM contact WHERE deleted_at IS NULL AND (first_name || ' ' || last_name || ' ' || email) LIKE ? LIMIT 20"


def _names(conn: sqlite3.Connection) -> None:
    """Temporary tables of first names, last names and company words to pick from by number."""
    from crm_tui.services import demo_words as words

    lists = {
        "first_names": [*words.FIRST_NAMES, "Jane"],
        "last_names": [*words.LAST_NAMES, "Doe"],
        "prefixes": list(words.COMPANY_PREFIXES),
        "cores": list(words.COMPANY_CORES),
    }
    for table, values in lists.items():
        conn.execute(f"CREATE TEMP TABLE {table} (i INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany(f"INSERT INTO {table} VALUES (?, ?)", list(enumerate(values)))


def _pick(table: str, key: str, conn: sqlite3.Connection) -> str:
    """SQL: a value of `table` chosen by a multiplicative hash of `key` (spread, repeatable)."""
    (count,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return f"(SELECT v FROM {table} WHERE i = ({key} * 2654435761 + 12345) % 1000003 % {count})"


def build(path: Path, contacts: int) -> None:
    """Create the workspace: companies (one per 20 contacts), contacts, one rare name, the index."""
    from crm_tui import db
    from crm_tui.config import Settings
    from crm_tui.models import database
    from crm_tui.services import search_index
    from crm_tui.services.workspace import open_workspace

    open_workspace(db.parse_target(str(path)), Settings(), login="bench")
    db.close()
    companies = max(50, contacts // 20)
    started = time.perf_counter()
    with sqlite3.connect(path) as conn:
        _names(conn)
        prefix, core = _pick("prefixes", "k", conn), _pick("cores", "k * 7", conn)
        conn.execute(
            "INSERT INTO company (id, created_at, updated_at, version, name, domain, phone) "
            f"WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < {companies}) "
            f"SELECT k, ?, ?, 1, {prefix} || ' ' || {core} || ' ' || k, lower({prefix} || {core}) || k || '.com', "
            "'+1 555 ' || (k * 7919 % 10000000) FROM s",
            (STAMP, STAMP),
        )
        first, last = _pick("first_names", "k", conn), _pick("last_names", "k * 31 + 7", conn)
        conn.execute(
            "INSERT INTO contact (id, created_at, updated_at, version, first_name, last_name, email, phone, company_id) "
            f"WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < {contacts - 1}) "
            f"SELECT k, ?, ?, 1, {first}, {last}, lower({first} || '.' || {last}) || '@' || "
            f"(SELECT domain FROM company WHERE id = 1 + k % {companies}), '+44 20 ' || (k * 104729 % 100000000), "
            f"1 + k % {companies} FROM s",
            (STAMP, STAMP),
        )
        conn.execute(
            "INSERT INTO contact (created_at, updated_at, version, first_name, last_name, email) "
            "VALUES (?, ?, 1, 'Quintessa', 'Vandermolen', 'qv@example.org')",
            (STAMP, STAMP),
        )
    inserted = time.perf_counter() - started
    db.connect(db.parse_target(str(path)))
    started = time.perf_counter()
    documents = search_index.rebuild()
    indexed = time.perf_counter() - started
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # so the file size below is the real one
    db.close()
    print(f"  built in {inserted:.1f} s (rows) + {indexed:.1f} s (index: {documents:,} documents)", file=sys.stderr)


def workspace(contacts: int) -> Path:
    """The benchmark workspace of `contacts` contacts, made on first use."""
    path = HERE / "data" / f"search-{contacts // 1000}k.sqlite3"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({contacts:,} contacts), once…", file=sys.stderr)
        build(path, contacts)
    return path


def describe_size(path: Path) -> str:
    """The file's size, and how much of it the search index takes (if SQLite has dbstat)."""
    total = path.stat().st_size / 1e6
    try:
        with sqlite3.connect(path) as conn:
            (index,) = conn.execute("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'search%'").fetchone()
    except sqlite3.Error:
        return f"{total:.0f} MB"
    return f"{total:.0f} MB, of which the search index {index / 1e6:.0f} MB"


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of `fn()` in ms, after one warm-up call."""
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def measure(path: Path, runs: int) -> None:
    """Print one line per query: matches, search(), raw FTS5, rank all, LIKE."""
    from crm_tui import db
    from crm_tui.services import search as service

    db.connect(db.parse_target(str(path)))
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA cache_size = -32000")  # as crm_tui.db sets it: same SQL, same cache
    print(f"  {'query':12} {'matches':>9} {'search()':>10} {'raw FTS5':>10} {'rank all':>10} {'LIKE':>10}")
    for query in QUERIES:
        expression = " ".join(f'"{word}"*' for word in service.words(query))
        (matches,) = raw.execute("SELECT COUNT(*) FROM search_fts WHERE search_fts MATCH ?", (expression,)).fetchone()
        ours = median_ms(lambda q=query: service.search(q), runs)
        base = median_ms(
            lambda e=expression: raw.execute(service._SQLITE, (e, service.RANK_WINDOW, 20)).fetchall(), runs
        )
        full = median_ms(lambda e=expression: raw.execute(RANK_ALL, (e,)).fetchall(), max(3, runs // 3))
        like = median_ms(lambda q=query: raw.execute(LIKE, (f"%{q}%",)).fetchall(), max(3, runs // 3))
        print(f"  {query:12} {matches:9,} {ours:8.1f}ms {base:8.1f}ms {full:8.1f}ms {like:8.1f}ms")
    raw.close()
    db.close()


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    os.environ.update({"CRM_DATA_DIR": str(home / "data"), "CRM_CONFIG_DIR": str(home / "config")})
    print(f"SQLite {sqlite3.sqlite_version}, {args.runs} runs each, median; LIMIT 20\n")
    for contacts in args.sizes:
        path = workspace(contacts)
        print(f"{contacts:,} contacts ({describe_size(path)})")
        measure(path, args.runs)
        print()


if __name__ == "__main__":
    main()
