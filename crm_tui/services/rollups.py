"""The deal rollups behind the dashboard, kept by database triggers (rollup_triggers.py writes them):
`deal_day` (deals created and closed per day) for the period figures, `deal_open` (live deals by
stage and expected close date) for the open pipeline, its stages, the forecast and the tag share,
and `deal_source` for the source share.

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
from crm_tui.services import reach, rollup_triggers, stays
from crm_tui.services.rollup_triggers import UNTAGGED
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
    def insert(self) -> str:
        """SQL: the INSERT INTO head naming the table's group and value columns."""
        return f"INSERT INTO {self.table} ({', '.join(self.keys + self.values)})"

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


def _live(deal: str) -> str:
    return f"{deal}.deleted_at IS NULL"


def _day_counts(deal: str) -> str:
    return f"{_live(deal)} AND (m.closed = 0 OR {deal}.closed_at IS NOT NULL)"


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
    _live,
)
SOURCES = Rollup(
    DealSource,
    ("stage_id", "pipeline_id", "owner_id", "currency", "source", "tag_id"),
    ("n", "amount"),
    ("stage_id", "pipeline_id", "owner_id", "currency", "amount", "source", "deleted_at"),
    _source_rows,
    _live,
)
ROLLUPS = (DAYS, OPEN, SOURCES)


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
        statements += rollup_triggers.ddl(r)
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
            database.execute_sql(f"{r.insert} SELECT {keys}, {sums} FROM ({_named(rows, r)}) x GROUP BY {keys}")
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
            f"{r.insert} SELECT {keys}, {sums} FROM gone GROUP BY {keys} HAVING SUM(n) <> 0",
            (upto,),
        )
    else:  # one writer at a time: nothing can slip in between
        database.execute_sql(
            f"{r.insert} SELECT {keys}, {sums} FROM {r.table} WHERE id <= ? GROUP BY {keys} HAVING SUM(n) <> 0",
            (upto,),
        )
        database.execute_sql(f"DELETE FROM {r.table} WHERE id <= ?", (upto,))
    _mark_compacted(r)


def _newest(r: Rollup) -> int:
    return r.model.select(r.model.id).order_by(r.model.id.desc()).limit(1).scalar() or 0


def _mark_compacted(r: Rollup) -> None:
    put_setting(r.mark, _newest(r))
