"""How fast a record list opens, pages, sorts and filters: the contacts, companies, leads and deals lists.

    python bench/lists.py [--sizes 10000 100000 1000000] [--entities contact company lead deal] [--runs 9]

Each size n uses two workspaces under bench/data/, made once on first use:
- contacts: search-<n>k.sqlite3 from bench/search.py (n contacts, n/20 companies, no leads or deals);
- companies, leads, deals: deals-<n>k.sqlite3 from bench/generate.py's demo generator (n deals,
  0.375n companies, 1.5n contacts, 0.25n leads): ~1.5 min and 400 MB at 100k, ten times that at 1M.
The row counts of both are printed under each size. Per entity, four cases: the list opened
(default sort), the last page (G), sorted by the second default column, and a `/` quick filter.
For each case: the rows matched; the median time of `record_lists.read_list` (what a list screen
calls: a COUNT, then a page of 50 ids with the joins the sort needs, then those rows' values,
joins and custom values); and the baseline on a bare sqlite3 connection: a COUNT with the same
WHERE, then the same page of ids ORDER BY the same columns plus id, joining only for the sort.
The last page is read from the end in reverse order, as the service does. The baseline keeps
SQLite's default NULL placement (the service asks NULLS LAST). Its `/` condition is the one
`list_fields.quick_condition` builds, compiled to SQL: whatever the service matches with (LIKE on
the quick fields, or the search index), the baseline matches with too.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.search import median_ms, workspace

PAGE = 50
ENTITIES = ("contact", "company", "lead", "deal")
TABLES = {"company": "companies", "contact": "contacts", "lead": "leads", "deal": "deals"}


@dataclass(frozen=True)
class Spec:
    """One entity's list as SQL (table alias t1, as Peewee names it): its sorts and a `/` text."""

    order: tuple[str, ...]
    """ORDER BY of the default sort (before the id), as `Joins.sort_expressions` gives it."""
    second: str
    """The second default column's key (its sort key in ListQuery)."""
    second_order: tuple[str, ...]
    second_join: str
    """The join the second sort needs (the service's LEFT OUTER JOIN), or ''."""
    text: str
    more_texts: tuple[str, ...] = ()
    """Further `/` texts: a one-letter prefix matches a tenth of the list, a full name a handful."""


SPECS = {
    "contact": Spec(("t1.last_name", "t1.first_name"), "email", ("t1.email",), "", "berg", ("j", "jane do")),
    "company": Spec(("t1.name",), "domain", ("t1.domain",), "", "solar"),
    "lead": Spec(("t1.last_name", "t1.first_name"), "company_name", ("t1.company_name",), "", "walker"),
    "deal": Spec(("t1.title",), "company", ("c.name",), "LEFT OUTER JOIN company c ON c.id = t1.company_id", "audit"),
}


def deals_workspace(deals: int) -> Path:
    """The demo-generated workspace of `deals` deals (bench/data/deals-<n>k.sqlite3), made on first use."""
    path = HERE / "data" / f"deals-{deals // 1000}k.sqlite3"
    if not path.exists():
        from bench.generate import make

        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({deals:,} deals), once…", file=sys.stderr)
        make(path, deals)
    return path


def row_counts(path: Path, entities: list[str]) -> str:
    """'3,750 companies, 15,000 contacts, …': the live rows of each record table in `path`."""
    with sqlite3.connect(path) as conn:
        counts = [
            (conn.execute(f"SELECT COUNT(*) FROM {table} WHERE deleted_at IS NULL").fetchone()[0], TABLES[table])
            for table in ("company", "contact", "lead", "deal")
        ]
    measured = ", ".join(TABLES[e] for e in entities)
    return ", ".join(f"{n:,} {name}" for n, name in counts) + f" (measured: {measured})"


def cases(entity: str) -> list[tuple[str, dict, bool, str, tuple[str, ...]]]:
    """(label, ListQuery options, last page?, join, ORDER BY columns) of each case."""
    spec = SPECS[entity]
    default = f"open (by {'title' if entity == 'deal' else 'name'})"
    return [
        (default, {}, False, "", spec.order),
        ("page at the end (G)", {}, True, "", spec.order),
        (f"sort by {spec.second}", {"sort": spec.second}, False, spec.second_join, spec.second_order),
        *[(f"/ quick filter '{text}'", {"text": text}, False, "", spec.order) for text in (spec.text, *spec.more_texts)],
    ]


def quick_sql(entity: str, text: str) -> tuple[str, tuple]:
    """The service's `/` condition for `text` as SQL on alias t1, with its parameters ('' if no text)."""
    from crm_tui.services.list_fields import MODELS, quick_condition

    if not text:
        return "", ()
    model = MODELS[entity]
    sql, params = model.select(model.id).where(quick_condition(entity, text)).sql()
    return sql.split(" WHERE ", 1)[1], tuple(params)


def baseline(raw: sqlite3.Connection, entity: str, case: tuple, quick: tuple[str, tuple], total: int) -> None:
    """The case's COUNT and page of ids as plain SQL on `raw` (the last page read in reverse)."""
    _, _, last, join, order = case
    condition, params = quick
    where = "t1.deleted_at IS NULL" + (f" AND {condition}" if condition else "")
    raw.execute(f"SELECT COUNT(*) FROM {entity} t1 WHERE {where}", params).fetchone()
    columns = (*order, "t1.id")
    by = ", ".join(f"{column} DESC" for column in columns) if last else ", ".join(columns)
    limit = total - (max(0, total - 1) // PAGE * PAGE) if last else PAGE
    raw.execute(f"SELECT t1.id FROM {entity} t1 {join} WHERE {where} ORDER BY {by} LIMIT {limit}", params).fetchall()


def measure(path: Path, entities: list[str], runs: int) -> None:
    """One line per entity and case: rows matched, read_list(), raw sqlite3."""
    from crm_tui import db
    from crm_tui.services.record_lists import ListQuery, count, read_list

    db.connect(db.parse_target(str(path)))
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA cache_size = -32000")  # as crm_tui.db sets it
    for entity in entities:
        for case in cases(entity):
            label, options, last = case[:3]
            query = ListQuery(entity, **options)
            rows = count(query)
            at = max(0, rows - 1) if last else 0
            quick = quick_sql(entity, options.get("text", ""))
            ours = median_ms(lambda q=query, a=at: read_list(q, None, offset=a), runs)
            base = median_ms(lambda e=entity, c=case, k=quick, n=rows: baseline(raw, e, c, k, n), runs)
            print(f"  {TABLES[entity]:9} {label:26} {rows:10,} {ours:10.1f}ms {base:10.1f}ms")
    raw.close()
    db.close()


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="n: contacts of the contacts workspace, deals of the deals workspace")  # fmt: skip
    parser.add_argument("--entities", nargs="+", choices=ENTITIES, default=list(ENTITIES))
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    os.environ.update({"CRM_DATA_DIR": str(home / "data"), "CRM_CONFIG_DIR": str(home / "config")})
    print(f"SQLite {sqlite3.sqlite_version}, {args.runs} runs each, median; a page is {PAGE} rows\n")
    for size in args.sizes:
        plan = []
        if "contact" in args.entities:
            plan.append((workspace(size), ["contact"]))
        if others := [e for e in args.entities if e != "contact"]:
            plan.append((deals_workspace(size), others))
        print(f"size {size:,}")
        for path, entities in plan:
            print(f"  {path.name}: {row_counts(path, entities)}")
        print(f"  {'list':9} {'case':26} {'rows':>10} {'read_list()':>12} {'raw sqlite3':>12}")
        for path, entities in plan:
            measure(path, entities, args.runs)
        print()


if __name__ == "__main__":
    main()
