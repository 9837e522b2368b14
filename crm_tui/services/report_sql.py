"""The shared ground of the dashboard reports: the filter every report takes, and the few SQL
expressions that differ between SQLite and PostgreSQL (epoch seconds, month keys, weighted sums).

Everything here is chosen so that both back ends return the same numbers:
- durations are whole seconds (both `strftime('%s', t)` and `FLOOR(EXTRACT(EPOCH FROM t))` drop the
  fraction of each timestamp), summed as integers in SQL and divided into days in Python;
- weighted values are `SUM(amount * probability)` (an exact integer in hundredths of a minor unit),
  cast to BIGINT and divided by 100 in SQL: integer division, so the total is truncated, which for
  the non-negative amounts the schema allows is rounding down (the board's column totals do the same);
- month keys are 'YYYY-MM' text: to_char() with a literal format on PostgreSQL (a bound format
  parameter would make the SELECT and GROUP BY expressions differ there), the ISO text's first
  seven characters on SQLite.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from peewee import JOIN, SQL, Case, Cast, ColumnBase, Expression, NodeList, Value, fn

from crm_tui import clock
from crm_tui.models import Deal, DealTag, Stage, Task
from crm_tui.models.rollup import DealDay, DealOpen, DealSource
from crm_tui.services.errors import ServiceError
from crm_tui.services.record_lists import period_range
from crm_tui.services.search_index import is_postgres

Money = dict[str, int]
"""Amounts by currency code, in integer minor units: money is never summed across currencies."""

DAY = 86_400
"""Seconds in a day: durations are counted in whole seconds and shown in days."""


@dataclass(frozen=True)
class ReportFilter:
    """Which deals a report looks at and over which period.

    `pipeline_id`, `owner_id` and `tag_id` narrow the deals (None = all); the period is
    [start, end) in naive UTC, like every stored timestamp. Figures that are a snapshot of now (the
    open pipeline, overdue tasks) ignore the period.
    """

    pipeline_id: int | None
    owner_id: int | None
    tag_id: int | None
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ServiceError(f"a report period must end after it starts ({self.start} .. {self.end})")

    @classmethod
    def for_period(
        cls,
        name: str,
        *,
        today: date | None = None,
        pipeline_id: int | None = None,
        owner_id: int | None = None,
        tag_id: int | None = None,
    ) -> ReportFilter:
        """A filter over a named period of record_lists.PERIODS ("this_month", "last_30_days", ...),
        relative to `today` (default: today in UTC); days run from UTC midnight to UTC midnight."""
        first, after = period_range(name, today or clock.now().date())
        return cls(pipeline_id, owner_id, tag_id, datetime.combine(first, time()), datetime.combine(after, time()))

    def previous(self) -> ReportFilter:
        """The period of the same length just before this one.

        A period of whole calendar months (both ends at midnight on the 1st) steps back by the same
        number of months, so "this month" compares with last month and not with the last 30 days;
        any other period steps back by its exact length.
        """
        months = _whole_months(self.start, self.end)
        if months:
            return replace(self, start=add_months(self.start, -months), end=self.start)
        return replace(self, start=self.start - (self.end - self.start), end=self.start)


def _whole_months(start: datetime, end: datetime) -> int:
    """How many calendar months [start, end) spans if both are month starts, else 0."""
    if not (_is_month_start(start) and _is_month_start(end)):
        return 0
    return (end.year - start.year) * 12 + end.month - start.month


def _is_month_start(moment: datetime) -> bool:
    return moment.day == 1 and moment.time() == time()


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by whole months, the day clamped to the target month's length."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def month_start(moment: datetime | date) -> datetime:
    """Midnight of the first day of the month `moment` is in."""
    return datetime(moment.year, moment.month, 1)


def epoch(moment: datetime) -> int:
    """Whole seconds since 1970 of a naive UTC datetime, as the SQL `seconds()` counts them."""
    return calendar.timegm(moment.timetuple())


def seconds(column: ColumnBase) -> ColumnBase:
    """SQL: whole seconds since 1970 of a timestamp column (the fraction dropped, on both back ends)."""
    if is_postgres():
        return Cast(fn.FLOOR(fn.EXTRACT(NodeList((SQL("EPOCH FROM"), column)))), "BIGINT")
    return Cast(fn.strftime(SQL("'%s'"), column), "INTEGER")


def month_key(column: ColumnBase) -> ColumnBase:
    """SQL: 'YYYY-MM' of a date or timestamp column.

    SQLite stores Peewee's dates and timestamps as ISO text ('2026-11-20', '2026-11-20 09:30:00'),
    so the first seven characters are the month: substr() is twice as fast as strftime(), which
    parses every value (60 ms against 130 ms over a year of 100k deals).
    """
    if is_postgres():
        return fn.to_char(column, SQL("'YYYY-MM'"))
    return fn.substr(column, SQL("1"), SQL("7"))


def key_of(month: datetime | date) -> str:
    """The 'YYYY-MM' key `month_key` gives for a moment in `month`."""
    return f"{month.year:04d}-{month.month:02d}"


def probability() -> ColumnBase:
    """SQL: the deal's own probability where set, else its stage's (needs Stage joined)."""
    return fn.COALESCE(Deal.probability, Stage.probability)


def weighted_sum(condition: Expression | None = None) -> ColumnBase:
    """SQL: the weighted value of the grouped deals (those matching `condition`), in minor units:
    SUM(amount * probability) cast to BIGINT, then divided by 100 (integer division, see above)."""
    product = Deal.amount * probability()
    if condition is not None:
        product = Case(None, [(condition, product)], 0)
    return Cast(fn.COALESCE(fn.SUM(product), 0), "BIGINT") / 100


def between(column: ColumnBase, start: datetime, end: datetime) -> Expression:
    """SQL: start <= column < end."""
    return (column >= start) & (column < end)


def live() -> Expression:
    """SQL: the deal is not deleted."""
    return Deal.deleted_at.is_null()


def narrow(query, f: ReportFilter | None, *, pipeline: bool = True):
    """`query` (over Deal) limited to live deals matching the filter's pipeline, owner and tag.

    `pipeline=False` leaves the pipeline out, for reports that take a pipeline of their own and
    follow deals through its stages wherever the deal is now.
    """
    query = query.where(live())
    if f is None:
        return query
    if pipeline and f.pipeline_id is not None:
        query = query.where(Deal.pipeline == f.pipeline_id)
    if f.owner_id is not None:
        query = query.where(Deal.owner == f.owner_id)
    if f.tag_id is not None:
        query = query.where(Deal.id.in_(DealTag.select(DealTag.deal).where(DealTag.tag == f.tag_id)))
    return query


def day_rows(f: ReportFilter, start: datetime, end: datetime, *columns: ColumnBase, closed: bool):
    """SELECT `columns` over the deal rollup's rows for [start, end) (whole days) matching the
    filter's pipeline, owner and tag: its "closed" rows (Stage joined for the kind) or its
    "created" ones. Group it with HAVING counts_some(DealDay)."""
    query = DealDay.select(*columns).where(
        DealDay.tag_id == (f.tag_id or 0), DealDay.day >= start.date(), DealDay.day < end.date()
    )
    if closed:
        query = query.join(Stage, on=(DealDay.stage_id == Stage.id)).where(DealDay.stage_id.is_null(False))
    else:
        query = query.where(DealDay.stage_id.is_null())
    if f.pipeline_id is not None:
        query = query.where(DealDay.pipeline_id == f.pipeline_id)
    if f.owner_id is not None:
        query = query.where(DealDay.owner_id == f.owner_id)
    return query


def counts_some(model: type[DealDay | DealOpen | DealSource]) -> Expression:
    """SQL HAVING over a rollup's group: it still counts at least one deal (rows that cancelled
    out before compaction leave a group of zero deals the deals themselves would not show)."""
    return fn.SUM(model.n) != 0


def open_rows(f: ReportFilter | None, *columns: ColumnBase, model: type[DealOpen | DealSource] = DealOpen, tags: Expression | None = None):
    """SELECT `columns` over an open-deal rollup's rows (`model` and Stage in scope) in open stages,
    matching the filter's pipeline and owner, and its tag (or `tags`, a condition on the rollup's
    tag_id): what `open_deals` reads from the deals. Group it with HAVING counts_some(model)."""
    tag = (f.tag_id if f else None) or 0
    query = (
        model.select(*columns)
        .join(Stage, on=(model.stage_id == Stage.id))
        .where(Stage.kind == "open", tags if tags is not None else model.tag_id == tag)
    )
    if f is not None and f.pipeline_id is not None:
        query = query.where(model.pipeline_id == f.pipeline_id)
    if f is not None and f.owner_id is not None:
        query = query.where(model.owner_id == f.owner_id)
    return query


def open_weight() -> ColumnBase:
    """SQL: a DealOpen row's weighted value x 100 (Stage joined): the deals' own probabilities
    times their amounts, and the others' amounts times the stage's probability."""
    return DealOpen.weighted + fn.COALESCE(DealOpen.unweighted * Stage.probability, 0)


def open_weighted_sum() -> ColumnBase:
    """SQL: the grouped DealOpen rows' weighted value in minor units, rounded down as `weighted_sum`."""
    return Cast(fn.SUM(open_weight()), "BIGINT") / 100


def on_deleted_deals(*columns: ColumnBase):
    """SELECT `columns` over the tasks on deleted deals (Task and Deal in scope), read from the
    deleted deals' partial index and then each one's tasks: what a count over the task indexes
    alone takes away to leave deleted deals out."""
    return Deal.select(*columns).join(Task, JOIN.CROSS).where(Deal.deleted_at.is_null(False), Task.deal == Deal.id)


def open_deals(f: ReportFilter | None, *columns: ColumnBase):
    """SELECT `columns` over the live deals in open stages (Stage and Deal in scope), narrowed by `f`.

    The open stages are read first (CROSS JOIN fixes that order on SQLite; PostgreSQL treats it as
    the inner join it is) and each stage's deals found by (pipeline, stage) in the board's totals
    index, which also covers currency, amount and probability: 8 ms at 100k deals where starting
    from the deals took 46 ms. A deal's pipeline is always its stage's (creation and moves set both).
    """
    query = (
        Stage.select(*columns)
        .join(Deal, JOIN.CROSS)
        .where(Stage.kind == "open", Deal.pipeline == Stage.pipeline, Deal.stage == Stage.id)
    )
    if f is not None and f.pipeline_id is not None:
        query = query.where(Stage.pipeline == f.pipeline_id)
    return narrow(query, f)


def money(rows: list[tuple[str, int]]) -> Money:
    """A Money mapping from (currency, amount) rows, zero amounts kept, in currency order."""
    return {code: int(amount or 0) for code, amount in sorted(rows)}


def as_int(value: object) -> int:
    """An aggregate as int (PostgreSQL returns SUM of integers as Decimal; empty sums are NULL)."""
    return int(value or 0)  # type: ignore[call-overload]


def param(raw: object) -> Value:
    """A bound parameter (epoch seconds and other values computed in Python)."""
    return Value(raw)


def days(total_seconds: int, count: int) -> float | None:
    """Average days from a sum of seconds over `count` items; None when there are none."""
    return total_seconds / count / DAY if count else None


def next_day(moment: datetime) -> datetime:
    """Midnight after `moment`."""
    return datetime.combine(moment.date() + timedelta(days=1), time())
