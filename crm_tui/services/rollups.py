"""The deal rollups behind the dashboard, kept by database triggers: `deal_day` (deals created and
closed per day) for the period figures, `deal_open` (live deals by stage and expected close date)
for the open pipeline, its stages and the forecast.

Why triggers: deals are written by forms, the board, imports, merges, automations, scripts and raw
SQL alike; a trigger sees every one of them, inside the writing transaction, on both back ends.
Each trigger only appends rows (+1 for what a deal now counts as, -1 with the old values for what
it no longer counts as), so concurrent writers never wait on a shared total row; `compact()` folds
the appended rows into one per group now and then. A report sums a group's rows, so it is exact
whether or not compaction has run.

A deal counts while it is live (not soft-deleted), in `deal_day`:
- "created" rows: its creation day, pipeline, owner, currency, amount;
- "closed" rows, while `closed_at` is set: its close day and current stage (reports join the
  stage's kind), and closed - created in whole seconds for the sales cycle;
- each under tag 0 (every deal) and again under each of its tags.
and in `deal_open`, by stage (reports keep the open ones), owner, currency, expected close date and
tag: count, amount, and the weighted value split in two so that a stage's probability can change
without touching the rollup: SUM(amount x probability) over deals with a probability of their own,
and SUM(amount) over the others (the report multiplies that by the stage's probability).

Reports use the rollup for periods that start and end at midnight (every named period and custom
dates); any other period reads the deals directly. `disabled()` forces the direct reading (the
equivalence tests compare both).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time

from crm_tui.models import database
from crm_tui.models.rollup import DealDay, DealOpen, DealReach, DealSource, DealStay
from crm_tui.services import reach, stays
from crm_tui.services.search_index import is_postgres
from crm_tui.services.sql_util import epoch_sql
from crm_tui.services.workspace_settings import get_setting, put_setting

COMPACT_AFTER = 20_000
"""Rows appended to a rollup since its last compaction that make `compact_if_due` fold them."""
_state = threading.local()


@dataclass(frozen=True)
class Rollup:
    """One rollup table: its group columns, summed values, the deal columns it depends on, and the
    select list of one deal's row(s) (`rows(deal, tag, sign)`, over `measures` when a deal gives
    more than one row, where `counts(deal)` holds)."""

    model: type
    keys: tuple[str, ...]
    values: tuple[str, ...]
    watched: tuple[str, ...]
    rows: Callable[[str, str, str], str]
    counts: Callable[[str], str]
    measures: str = ""

    @property
    def table(self) -> str:
        return self.model._meta.table_name

    @property
    def mark(self) -> str:
        """Workspace setting: the highest row id folded by the last compaction."""
        return f"rollups.{self.table}.compacted_to"


# -- the SQL each back end needs --------------------------------------------------------------------


def _day(column: str) -> str:
    return f"CAST({column} AS date)" if is_postgres() else f"substr({column}, 1, 10)"


def _day_rows(deal: str, tag: str, sign: str) -> str:
    """deal_day: the "created" (m.closed = 0) or "closed" (m.closed = 1) row of deal `deal`."""
    cycle = f"{epoch_sql(deal + '.closed_at')} - {epoch_sql(deal + '.created_at')}"
    return (
        f"CASE WHEN m.closed = 1 THEN {_day(deal + '.closed_at')} ELSE {_day(deal + '.created_at')} END, "
        f"CASE WHEN m.closed = 1 THEN {deal}.stage_id END, {deal}.pipeline_id, {deal}.owner_id, {deal}.currency, {tag}, "
        f"{sign}, {sign} * COALESCE({deal}.amount, 0), CASE WHEN m.closed = 1 THEN {sign} * ({cycle}) ELSE 0 END"
    )


def _day_counts(deal: str) -> str:
    return f"{deal}.deleted_at IS NULL AND (m.closed = 0 OR {deal}.closed_at IS NOT NULL)"


def _open_rows(deal: str, tag: str, sign: str) -> str:
    """deal_open: the one row of deal `deal`."""
    amount = f"{sign} * COALESCE({deal}.amount, 0)"
    return (
        f"{deal}.stage_id, {deal}.pipeline_id, {deal}.owner_id, {deal}.currency, {deal}.expected_close, {tag}, {sign}, "
        f"{amount}, CASE WHEN {deal}.probability IS NULL THEN 0 ELSE {amount} * {deal}.probability END, "
        f"CASE WHEN {deal}.probability IS NULL THEN {amount} ELSE 0 END"
    )


def _source_rows(deal: str, tag: str, sign: str) -> str:
    """deal_source: the one row of deal `deal`."""
    return (
        f"{deal}.stage_id, {deal}.pipeline_id, {deal}.owner_id, {deal}.currency, {deal}.source, {tag}, {sign}, "
        f"{sign} * COALESCE({deal}.amount, 0)"
    )


DAYS = Rollup(
    DealDay,
    ("day", "stage_id", "pipeline_id", "owner_id", "currency", "tag_id"),
    ("n", "amount", "secs"),
    ("created_at", "closed_at", "stage_id", "pipeline_id", "owner_id", "currency", "amount", "deleted_at"),
    _day_rows,
    _day_counts,
    # Each deal is looked at twice: m.closed = 0 for its "created" row, 1 for its "closed" row.
    ", (SELECT 0 AS closed UNION ALL SELECT 1) m",
)
OPEN = Rollup(
    DealOpen,
    ("stage_id", "pipeline_id", "owner_id", "currency", "expected_close", "tag_id"),
    ("n", "amount", "weighted", "unweighted"),
    ("stage_id", "pipeline_id", "owner_id", "currency", "amount", "probability", "expected_close", "deleted_at"),
    _open_rows,
    lambda deal: f"{deal}.deleted_at IS NULL",
)
SOURCES = Rollup(
    DealSource,
    ("stage_id", "pipeline_id", "owner_id", "currency", "source", "tag_id"),
    ("n", "amount"),
    ("stage_id", "pipeline_id", "owner_id", "currency", "amount", "source", "deleted_at"),
    _source_rows,
    lambda deal: f"{deal}.deleted_at IS NULL",
)
ROLLUPS = (DAYS, OPEN, SOURCES)


def _insert(r: Rollup) -> str:
    return f"INSERT INTO {r.table} ({', '.join(r.keys + r.values)})"


UNTAGGED = -1
"""The tag id under which a deal without tags is counted (tag 0 counts every deal)."""


def _deal_rows(r: Rollup, alias: str, sign: str) -> str:
    """The rows of the deal NEW or OLD, under tag 0 and each of its tags (or UNTAGGED)."""
    tags = (
        f"SELECT 0 AS tag_id UNION ALL SELECT tag_id FROM deal_tag WHERE deal_id = {alias}.id "
        f"UNION ALL SELECT {UNTAGGED} WHERE NOT EXISTS (SELECT 1 FROM deal_tag WHERE deal_id = {alias}.id)"
    )
    return f"{_insert(r)} SELECT {r.rows(alias, 't.tag_id', sign)} FROM ({tags}) t{r.measures} WHERE {r.counts(alias)}"


def _tag_only(r: Rollup, alias: str, sign: str) -> str:
    """The rows of one deal_tag row (NEW or OLD): its deal under its tag, if the deal is live."""
    return f"{_insert(r)} SELECT {r.rows('d', alias + '.tag_id', sign)} FROM deal d{r.measures} WHERE d.id = {alias}.deal_id AND {r.counts('d')}"


def _pg_untagged(r: Rollup) -> list[str]:
    """PostgreSQL: after each statement on deal_tag, a deal whose tags went from none to some
    loses its UNTAGGED rows, and one whose tags went to none gets them back. A statement-level
    trigger over the statement's rows: PostgreSQL runs row triggers after the whole statement, so
    a row trigger would see a deal's final tag count, not the one before its own row."""
    changes = {
        "insert": "SELECT deal_id, 1 AS added, 0 AS removed FROM new_rows",
        "delete": "SELECT deal_id, 0 AS added, 1 AS removed FROM old_rows",
        "update": "SELECT deal_id, 1 AS added, 0 AS removed FROM new_rows UNION ALL SELECT deal_id, 0, 1 FROM old_rows",
    }
    tables = {
        "insert": "NEW TABLE AS new_rows",
        "delete": "OLD TABLE AS old_rows",
        "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    }
    statements = []
    for event, rows in changes.items():
        counted = (
            "SELECT x.deal_id, SUM(x.added) - SUM(x.removed) AS delta, "
            f"(SELECT COUNT(*) FROM deal_tag y WHERE y.deal_id = x.deal_id) AS after_n FROM ({rows}) x GROUP BY x.deal_id"
        )
        signs = (
            "SELECT g.deal_id, CASE WHEN g.after_n > 0 AND g.after_n - g.delta = 0 THEN -1 "
            f"WHEN g.after_n = 0 AND g.after_n - g.delta > 0 THEN 1 ELSE 0 END AS sign FROM ({counted}) g"
        )
        fill = (
            f"{_insert(r)} SELECT {r.rows('d', str(UNTAGGED), 's.sign')} FROM deal d{r.measures}, ({signs}) s "
            f"WHERE d.id = s.deal_id AND s.sign <> 0 AND {r.counts('d')}"
        )
        name = f"{r.table}_untag_{event[0]}"
        statements += [
            f"CREATE OR REPLACE FUNCTION crm_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {fill}; RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON deal_tag",
            (f"CREATE TRIGGER {name} AFTER {event.upper()} ON deal_tag REFERENCING {tables[event]} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION crm_{name}()"),
        ]
    return statements


def _tag_rows(r: Rollup, alias: str, sign: str, moved: str = "") -> str:
    """SQLite (row triggers run as each row changes): the rows of one deal_tag row (NEW or OLD,
    `sign` +1 or -1): its deal under its tag, if the deal is live; and the deal's UNTAGGED rows
    taken away when this was its first tag (NEW) or put back when it was its last (OLD). `moved`,
    in an update, limits that to a row that changed deal."""
    deal = f"FROM deal d{r.measures} WHERE d.id = {alias}.deal_id AND {r.counts('d')}"
    left = "1" if sign == "1" else "0"  # the deal's tags after this row came (1: it was the first) or went (0)
    untagged = "-1" if sign == "1" else "1"
    return (
        f"{_insert(r)} SELECT {r.rows('d', alias + '.tag_id', sign)} {deal}; "
        f"{_insert(r)} SELECT {r.rows('d', str(UNTAGGED), untagged)} {deal} "
        f"AND (SELECT COUNT(*) FROM deal_tag x WHERE x.deal_id = d.id) = {left}{moved}"
    )


_MOVED = " AND OLD.deal_id <> NEW.deal_id"


def _sqlite_ddl(r: Rollup) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in r.watched)
    t = r.table
    drops = [f"DROP TRIGGER IF EXISTS {t}_{suffix}" for suffix in ("ai", "bd", "au", "tag_ai", "tag_ad", "tag_au")]
    return drops + [
        f"CREATE TRIGGER {t}_ai AFTER INSERT ON deal BEGIN {_deal_rows(r, 'NEW', '1')}; END",
        # Before the row goes, while its deal_tag rows (deleted by the cascade) are still there.
        f"CREATE TRIGGER {t}_bd BEFORE DELETE ON deal BEGIN {_deal_rows(r, 'OLD', '-1')}; END",
        (
            f"CREATE TRIGGER {t}_au AFTER UPDATE OF {', '.join(r.watched)} ON deal WHEN {changed} "
            f"BEGIN {_deal_rows(r, 'OLD', '-1')}; {_deal_rows(r, 'NEW', '1')}; END"
        ),
        f"CREATE TRIGGER {t}_tag_ai AFTER INSERT ON deal_tag BEGIN {_tag_rows(r, 'NEW', '1')}; END",
        f"CREATE TRIGGER {t}_tag_ad AFTER DELETE ON deal_tag BEGIN {_tag_rows(r, 'OLD', '-1')}; END",
        (
            f"CREATE TRIGGER {t}_tag_au AFTER UPDATE ON deal_tag "
            f"BEGIN {_tag_rows(r, 'OLD', '-1', _MOVED)}; {_tag_rows(r, 'NEW', '1', _MOVED)}; END"
        ),
    ]


def _postgres_ddl(r: Rollup) -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in r.watched)
    t = r.table
    return [
        (
            f"CREATE OR REPLACE FUNCTION crm_{t}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_deal_rows(r, 'OLD', '-1')}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_deal_rows(r, 'NEW', '1')}; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NULL; END $$"
        ),
        (
            f"CREATE OR REPLACE FUNCTION crm_{t}_tag() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            # One tag change per deal at a time: two transactions adding a deal's first tags at once
            # must not both take its UNTAGGED rows away (each would count its own tag alone).
            "IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM 1 FROM deal WHERE id = OLD.deal_id FOR UPDATE; END IF; "
            "IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM 1 FROM deal WHERE id = NEW.deal_id FOR UPDATE; END IF; "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_tag_only(r, 'OLD', '-1')}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_tag_only(r, 'NEW', '1')}; END IF; "
            "RETURN NULL; END $$"
        ),
        *_pg_untagged(r),
        f"DROP TRIGGER IF EXISTS {t}_ai ON deal",
        f"CREATE TRIGGER {t}_ai AFTER INSERT ON deal FOR EACH ROW EXECUTE FUNCTION crm_{t}()",
        f"DROP TRIGGER IF EXISTS {t}_bd ON deal",
        f"CREATE TRIGGER {t}_bd BEFORE DELETE ON deal FOR EACH ROW EXECUTE FUNCTION crm_{t}()",
        f"DROP TRIGGER IF EXISTS {t}_au ON deal",
        (
            f"CREATE TRIGGER {t}_au AFTER UPDATE OF {', '.join(r.watched)} ON deal FOR EACH ROW "
            f"WHEN ({changed}) EXECUTE FUNCTION crm_{t}()"
        ),
        f"DROP TRIGGER IF EXISTS {t}_tag ON deal_tag",
        f"CREATE TRIGGER {t}_tag AFTER INSERT OR UPDATE OR DELETE ON deal_tag FOR EACH ROW EXECUTE FUNCTION crm_{t}_tag()",
    ]


# -- installing, and which reports may use the rollups ----------------------------------------------


def install() -> None:
    """Create the rollup tables (and the funnel's reach table) and their triggers (idempotent:
    triggers are replaced)."""
    DealReach.create_table(safe=True)
    DealStay.create_table(safe=True)
    for r in ROLLUPS:
        r.model.create_table(safe=True)
    for statement in _ddl():
        database.execute_sql(statement)


def _ddl() -> list[str]:
    statements = reach.ddl() + stays.ddl()
    for r in ROLLUPS:
        statements += _postgres_ddl(r) if is_postgres() else _sqlite_ddl(r)
    return statements


@contextmanager
def suspended() -> Iterator[None]:
    """Within the block (inside one write transaction), the rollup triggers are off: for bulk
    writers such as the demo generator, which would otherwise recompute a deal per row written.
    Afterwards the triggers are back and every rollup is rebuilt from the deals."""
    for statement in _ddl():
        if statement.startswith("DROP TRIGGER"):
            database.execute_sql(statement)
    yield
    install()
    rebuild()


def owns_table(name: str) -> bool:
    """True for the rollups' own tables."""
    return name in ("deal_reach", "deal_stay") or any(name == r.table for r in ROLLUPS)


@contextmanager
def disabled() -> Iterator[None]:
    """Within the block (this thread), reports read the deals directly instead of the rollups."""
    previous = getattr(_state, "off", False)
    _state.off = True
    try:
        yield
    finally:
        _state.off = previous


def enabled() -> bool:
    """Whether reports read the rollups (not inside `disabled()`)."""
    return not getattr(_state, "off", False)


def usable(start: datetime, end: datetime) -> bool:
    """Whether a period [start, end) can be answered from whole days of `deal_day`."""
    return enabled() and start.time() == time() and end.time() == time()


# -- rebuilding and compacting ----------------------------------------------------------------------


def rebuild() -> None:
    """Compute every rollup (and the reach table) afresh from the deals (one folded row per
    group). Call inside a write transaction."""
    reach.rebuild()
    stays.rebuild()
    for r in ROLLUPS:
        database.execute_sql(f"DELETE FROM {r.table}")
        keys, sums = ", ".join(r.keys), ", ".join(f"SUM({v})" for v in r.values)
        sources = (
            ("0", "deal d", ""),
            ("dt.tag_id", "deal d JOIN deal_tag dt ON dt.deal_id = d.id", ""),
            (str(UNTAGGED), "deal d", " AND NOT EXISTS (SELECT 1 FROM deal_tag x WHERE x.deal_id = d.id)"),
        )
        for tag, source, untagged in sources:
            rows = f"SELECT {r.rows('d', tag, '1')} FROM {source}{r.measures} WHERE {r.counts('d')}{untagged}"
            database.execute_sql(f"{_insert(r)} SELECT {keys}, {sums} FROM ({_named(rows, r)}) x GROUP BY {keys}")
        _mark_compacted(r)


def _named(rows: str, r: Rollup) -> str:
    """`rows` (a SELECT of a rollup's row values in column order) with its columns named."""
    return f"SELECT * FROM ({rows}) AS x_ ({', '.join(r.keys + r.values)})" if is_postgres() else _aliased(rows, r)


def _aliased(rows: str, r: Rollup) -> str:
    # SQLite has no column list on a derived table: a UNION with a named, empty first row names them.
    names = ", ".join(f"NULL AS {name}" for name in r.keys + r.values)
    return f"SELECT {names} WHERE 0 UNION ALL {rows}"


def compact_if_due() -> bool:
    """Fold each rollup's rows appended since its last compaction once there are COMPACT_AFTER."""
    folded = False
    for r in ROLLUPS:
        newest = _newest(r)
        mark = int(get_setting(r.mark) or 0)
        if mark > newest:  # the setting came with a copied workspace (crm db copy): its ids were the source's
            mark = 0
        if newest - mark >= COMPACT_AFTER:
            with database.atomic():
                _fold(r, newest)
            folded = True
    return folded


def compact() -> None:
    """Fold every rollup into one row per group now (a write transaction of its own)."""
    with database.atomic():
        for r in ROLLUPS:
            _fold(r, _newest(r))


def _fold(r: Rollup, upto: int) -> None:
    """Replace the rows up to id `upto` with one row per group that still counts."""
    keys, sums, names = ", ".join(r.keys), ", ".join(f"SUM({v})" for v in r.values), ", ".join(r.keys + r.values)
    if is_postgres():
        # Only the rows this statement deletes are summed: a row another transaction has not yet
        # committed (its id may be lower) is neither deleted nor counted, and stays as it is.
        database.execute_sql(
            f"WITH gone AS (DELETE FROM {r.table} WHERE id <= %s RETURNING {names}) "
            f"{_insert(r)} SELECT {keys}, {sums} FROM gone GROUP BY {keys} HAVING SUM(n) <> 0",
            (upto,),
        )
    else:  # one writer at a time: nothing can slip in between
        database.execute_sql(
            f"{_insert(r)} SELECT {keys}, {sums} FROM {r.table} WHERE id <= ? GROUP BY {keys} HAVING SUM(n) <> 0",
            (upto,),
        )
        database.execute_sql(f"DELETE FROM {r.table} WHERE id <= ?", (upto,))
    _mark_compacted(r)


def _newest(r: Rollup) -> int:
    return r.model.select(r.model.id).order_by(r.model.id.desc()).limit(1).scalar() or 0


def _mark_compacted(r: Rollup) -> None:
    put_setting(r.mark, _newest(r))
