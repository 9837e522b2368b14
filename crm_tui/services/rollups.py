"""The deal rollup behind the dashboard's period figures: `deal_day`, kept by database triggers.

Why triggers: deals are written by forms, the board, imports, merges, automations, scripts and raw
SQL alike; a trigger sees every one of them, inside the writing transaction, on both back ends.
Each trigger only appends rows (+1 for what a deal now counts as, -1 with the old values for what
it no longer counts as), so concurrent writers never wait on a shared total row; `compact()` folds
the appended rows into one per group now and then. A report sums a group's rows, so it is exact
whether or not compaction has run.

A deal counts while it is live (not soft-deleted):
- "created" rows: its creation day, pipeline, owner, currency, amount;
- "closed" rows, while `closed_at` is set: its close day and current stage (reports join the
  stage's kind), and closed - created in whole seconds for the sales cycle;
- each under tag 0 (every deal) and again under each of its tags.

Reports use the rollup for periods that start and end at midnight (every named period and custom
dates); any other period reads the deals directly. `disabled()` forces the direct reading (the
equivalence tests compare both).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time

from crm_tui.models import database
from crm_tui.models.rollup import DealDay
from crm_tui.services.search_index import is_postgres
from crm_tui.services.workspace_settings import get_setting, put_setting

TABLE = "deal_day"
COMPACT_AFTER = 20_000
"""Rows appended since the last compaction that make `compact_if_due` fold them."""
_COMPACTED = "rollups.compacted_to"
"""Workspace setting: the highest row id folded by the last compaction."""
_COLUMNS = "day, stage_id, pipeline_id, owner_id, currency, tag_id"
_state = threading.local()


def install() -> None:
    """Create the rollup table and its triggers (idempotent: triggers are replaced)."""
    DealDay.create_table(safe=True)
    for statement in _postgres_ddl() if is_postgres() else _sqlite_ddl():
        database.execute_sql(statement)


def owns_table(name: str) -> bool:
    """True for the rollup's own table."""
    return name == TABLE


@contextmanager
def disabled() -> Iterator[None]:
    """Within the block (this thread), reports read the deals directly instead of the rollup."""
    previous = getattr(_state, "off", False)
    _state.off = True
    try:
        yield
    finally:
        _state.off = previous


def usable(start: datetime, end: datetime) -> bool:
    """Whether a period [start, end) can be answered from whole days of the rollup."""
    return not getattr(_state, "off", False) and start.time() == time() and end.time() == time()


# -- the SQL each back end needs --------------------------------------------------------------------


def _day(column: str) -> str:
    return f"CAST({column} AS date)" if is_postgres() else f"substr({column}, 1, 10)"


def _secs(column: str) -> str:
    if is_postgres():
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


_MEASURES = "(SELECT 0 AS closed UNION ALL SELECT 1) m"
"""Each deal is looked at twice: m.closed = 0 for its "created" row, 1 for its "closed" row."""


def _per_row(deal: str, tag: str, sign: str) -> str:
    """The select list of one rollup row of deal `deal` (an alias, NEW or OLD) under tag `tag`."""
    cycle = f"{_secs(deal + '.closed_at')} - {_secs(deal + '.created_at')}"
    return (
        f"CASE WHEN m.closed = 1 THEN {_day(deal + '.closed_at')} ELSE {_day(deal + '.created_at')} END AS day, "
        f"CASE WHEN m.closed = 1 THEN {deal}.stage_id END AS stage_id, {deal}.pipeline_id AS pipeline_id, "
        f"{deal}.owner_id AS owner_id, {deal}.currency AS currency, {tag} AS tag_id, {sign} AS n, "
        f"{sign} * COALESCE({deal}.amount, 0) AS amount, CASE WHEN m.closed = 1 THEN {sign} * ({cycle}) ELSE 0 END AS secs"
    )


def _counts(deal: str) -> str:
    """SQL: the deal `deal` counts in measure m (it is live; a closed row needs a close time)."""
    return f"{deal}.deleted_at IS NULL AND (m.closed = 0 OR {deal}.closed_at IS NOT NULL)"


_INSERT = f"INSERT INTO {TABLE} ({_COLUMNS}, n, amount, secs)"


def _deal_rows(alias: str, sign: str) -> str:
    """The rows of the deal NEW or OLD, under tag 0 and each of its tags."""
    tags = f"SELECT 0 AS tag_id UNION ALL SELECT tag_id FROM deal_tag WHERE deal_id = {alias}.id"
    return f"{_INSERT} SELECT {_per_row(alias, 't.tag_id', sign)} FROM ({tags}) t, {_MEASURES} WHERE {_counts(alias)}"


def _tag_rows(alias: str, sign: str) -> str:
    """The rows of one deal_tag row (NEW or OLD): its deal under its tag, if the deal is live."""
    return (
        f"{_INSERT} SELECT {_per_row('d', alias + '.tag_id', sign)} FROM deal d, {_MEASURES} "
        f"WHERE d.id = {alias}.deal_id AND {_counts('d')}"
    )


_WATCHED = ("created_at", "closed_at", "stage_id", "pipeline_id", "owner_id", "currency", "amount", "deleted_at")
"""The deal columns the rollup depends on: an update touching none of them adds nothing."""


def _sqlite_ddl() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _WATCHED)
    names = ("deal_day_ai", "deal_day_bd", "deal_day_au", "deal_day_tag_ai", "deal_day_tag_ad", "deal_day_tag_au")
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names] + [
        f"CREATE TRIGGER deal_day_ai AFTER INSERT ON deal BEGIN {_deal_rows('NEW', '1')}; END",
        # Before the row goes, while its deal_tag rows (deleted by the cascade) are still there.
        f"CREATE TRIGGER deal_day_bd BEFORE DELETE ON deal BEGIN {_deal_rows('OLD', '-1')}; END",
        (
            f"CREATE TRIGGER deal_day_au AFTER UPDATE OF {', '.join(_WATCHED)} ON deal WHEN {changed} "
            f"BEGIN {_deal_rows('OLD', '-1')}; {_deal_rows('NEW', '1')}; END"
        ),
        f"CREATE TRIGGER deal_day_tag_ai AFTER INSERT ON deal_tag BEGIN {_tag_rows('NEW', '1')}; END",
        f"CREATE TRIGGER deal_day_tag_ad AFTER DELETE ON deal_tag BEGIN {_tag_rows('OLD', '-1')}; END",
        (
            "CREATE TRIGGER deal_day_tag_au AFTER UPDATE ON deal_tag "
            f"BEGIN {_tag_rows('OLD', '-1')}; {_tag_rows('NEW', '1')}; END"
        ),
    ]


def _postgres_ddl() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _WATCHED)
    return [
        (
            "CREATE OR REPLACE FUNCTION crm_deal_day() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_deal_rows('OLD', '-1')}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_deal_rows('NEW', '1')}; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NULL; END $$"
        ),
        (
            "CREATE OR REPLACE FUNCTION crm_deal_day_tag() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_tag_rows('OLD', '-1')}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_tag_rows('NEW', '1')}; END IF; "
            "RETURN NULL; END $$"
        ),
        "DROP TRIGGER IF EXISTS deal_day_ai ON deal",
        "CREATE TRIGGER deal_day_ai AFTER INSERT ON deal FOR EACH ROW EXECUTE FUNCTION crm_deal_day()",
        "DROP TRIGGER IF EXISTS deal_day_bd ON deal",
        "CREATE TRIGGER deal_day_bd BEFORE DELETE ON deal FOR EACH ROW EXECUTE FUNCTION crm_deal_day()",
        "DROP TRIGGER IF EXISTS deal_day_au ON deal",
        (
            f"CREATE TRIGGER deal_day_au AFTER UPDATE OF {', '.join(_WATCHED)} ON deal FOR EACH ROW "
            f"WHEN ({changed}) EXECUTE FUNCTION crm_deal_day()"
        ),
        "DROP TRIGGER IF EXISTS deal_day_tag ON deal_tag",
        (
            "CREATE TRIGGER deal_day_tag AFTER INSERT OR UPDATE OR DELETE ON deal_tag FOR EACH ROW "
            "EXECUTE FUNCTION crm_deal_day_tag()"
        ),
    ]


# -- rebuilding and compacting ----------------------------------------------------------------------


def rebuild() -> int:
    """Compute the rollup afresh from the deals (one folded row per group); returns its rows.
    Call inside a write transaction."""
    database.execute_sql(f"DELETE FROM {TABLE}")
    sources = (("0", "deal d"), ("dt.tag_id", "deal d JOIN deal_tag dt ON dt.deal_id = d.id"))
    for tag, source in sources:
        rows = f"SELECT {_per_row('d', tag, '1')} FROM {source}, {_MEASURES} WHERE {_counts('d')}"
        database.execute_sql(
            f"{_INSERT} SELECT {_COLUMNS}, SUM(n), SUM(amount), SUM(secs) FROM ({rows}) x GROUP BY {_COLUMNS}"
        )
    _mark_compacted()
    return DealDay.select().count()


def compact_if_due() -> bool:
    """Fold the rows appended since the last compaction once there are COMPACT_AFTER of them."""
    newest = _newest()
    mark = int(get_setting(_COMPACTED) or 0)
    if mark > newest:  # the setting came with a copied workspace (crm db copy): its ids were the source's
        mark = 0
    if newest - mark < COMPACT_AFTER:
        return False
    with database.atomic():
        _fold(newest)
    return True


def compact() -> None:
    """Fold every row into one per group now (a write transaction of its own)."""
    with database.atomic():
        _fold(None)


def _fold(upto: int | None) -> None:
    """Replace the rows up to id `upto` (all when None) with one row per group that still counts."""
    if upto is None:
        upto = _newest()
    sums = "SUM(n), SUM(amount), SUM(secs)"
    if is_postgres():
        # Only the rows this statement deletes are summed: a row another transaction has not yet
        # committed (its id may be lower) is neither deleted nor counted, and stays as it is.
        database.execute_sql(
            f"WITH gone AS (DELETE FROM {TABLE} WHERE id <= %s RETURNING {_COLUMNS}, n, amount, secs) "
            f"INSERT INTO {TABLE} ({_COLUMNS}, n, amount, secs) SELECT {_COLUMNS}, {sums} FROM gone "
            f"GROUP BY {_COLUMNS} HAVING SUM(n) <> 0",
            (upto,),
        )
    else:  # one writer at a time: nothing can slip in between
        database.execute_sql(
            f"INSERT INTO {TABLE} ({_COLUMNS}, n, amount, secs) SELECT {_COLUMNS}, {sums} FROM {TABLE} "
            f"WHERE id <= ? GROUP BY {_COLUMNS} HAVING SUM(n) <> 0",
            (upto,),
        )
        database.execute_sql(f"DELETE FROM {TABLE} WHERE id <= ?", (upto,))
    _mark_compacted()


def _newest() -> int:
    return DealDay.select(DealDay.id).order_by(DealDay.id.desc()).limit(1).scalar() or 0


def _mark_compacted() -> None:
    put_setting(_COMPACTED, _newest())
