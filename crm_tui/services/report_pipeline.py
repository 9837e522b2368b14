"""Reports on money in the pipeline: month by month (created, won, lost), the open pipeline by
stage, its shares by stage, tag or source, and the weighted forecast by expected close month.

Each report is one or two GROUP BY queries; Python only fills in empty months and stages and divides
exact integer sums into percentages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from peewee import JOIN, SQL, Case, Select, fn

from crm_tui import clock
from crm_tui.models import Deal, DealTag, Pipeline, Stage, Tag, database
from crm_tui.models.rollup import DealDay, DealOpen, DealSource
from crm_tui.services import rollups
from crm_tui.services.errors import ServiceError
from crm_tui.services.report_cards import open_pipeline
from crm_tui.services.report_sql import (
    Money,
    ReportFilter,
    add_months,
    as_int,
    between,
    counts_some,
    day_rows,
    key_of,
    month_key,
    month_start,
    narrow,
    open_deals,
    open_rows,
    open_weight,
    open_weighted_sum,
    probability,
    weighted_sum,
)


@dataclass(frozen=True)
class MonthFigures:
    """One calendar month (UTC): pipeline created, and deals won and lost, per currency."""

    month: date
    """The month's first day."""
    created_count: int = 0
    created_value: Money = field(default_factory=dict)
    won_count: int = 0
    won_value: Money = field(default_factory=dict)
    lost_count: int = 0
    lost_value: Money = field(default_factory=dict)


def monthly(f: ReportFilter, months: int = 12) -> list[MonthFigures]:
    """The last `months` calendar months up to the one the period ends in, oldest first.

    Created = deals created in the month (the new deal count and the pipeline created); won and
    lost = deals now in a won or lost stage whose `closed_at` falls in the month. The filter's
    pipeline, owner and tag apply; its start does not.
    """
    if months < 1:
        raise ServiceError("a monthly report needs at least one month")
    last = month_start(f.end - timedelta(microseconds=1))
    first, after = add_months(last, 1 - months), add_months(last, 1)
    rows: dict[str, dict[str, Money]] = {
        key_of(add_months(first, i)): {"created": {}, "won": {}, "lost": {}} for i in range(months)
    }
    counts = {key: {"created": 0, "won": 0, "lost": 0} for key in rows}
    # Two range reads, on the created-months and closed-months covering indexes, each grouped by
    # month key and currency. One pass producing both keys per row was slower: SQLite's GROUP BY
    # sorts every row, and sorting on the combined keys cost more than the second read.
    created, closed = _month_queries(f, first, after)
    for key, code, n, amount in created.tuples():
        counts[key]["created"] += as_int(n)
        rows[key]["created"][code] = as_int(amount)
    for key, kind, code, n, amount in closed.tuples():
        counts[key][kind] += as_int(n)
        rows[key][kind][code] = as_int(amount)
    return [
        MonthFigures(
            date(int(key[:4]), int(key[5:]), 1),
            counts[key]["created"],
            dict(sorted(rows[key]["created"].items())),
            counts[key]["won"],
            dict(sorted(rows[key]["won"].items())),
            counts[key]["lost"],
            dict(sorted(rows[key]["lost"].items())),
        )
        for key in rows
    ]


def _month_queries(f: ReportFilter, first: datetime, after: datetime) -> tuple[Any, Any]:
    """(month, currency, count, value) of the deals created, and (month, kind, currency, count,
    value) of those won or lost, in the months [first, after): from the deal rollup by default."""
    if rollups.usable(first, after):
        month = month_key(DealDay.day)
        created = day_rows(f, first, after, month, DealDay.currency, fn.SUM(DealDay.n), fn.SUM(DealDay.amount), closed=False)
        closed = day_rows(
            f, first, after, month, Stage.kind, DealDay.currency, fn.SUM(DealDay.n), fn.SUM(DealDay.amount), closed=True
        ).where(Stage.kind.in_(["won", "lost"]))
        return (
            created.group_by(month, DealDay.currency).having(counts_some(DealDay)),
            closed.group_by(month, Stage.kind, DealDay.currency).having(counts_some(DealDay)),
        )
    created = narrow(
        Deal.select(month_key(Deal.created_at), Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount)).where(
            between(Deal.created_at, first, after)
        ),
        f,
    ).group_by(month_key(Deal.created_at), Deal.currency)
    closed = narrow(
        Deal.select(month_key(Deal.closed_at), Stage.kind, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount))
        .join(Stage, on=(Deal.stage == Stage.id))
        .where(between(Deal.closed_at, first, after), Stage.kind.in_(["won", "lost"])),
        f,
    ).group_by(month_key(Deal.closed_at), Stage.kind, Deal.currency)
    return created, closed


@dataclass(frozen=True)
class StageFigures:
    """The live deals in one open stage: count, value and weighted value per currency."""

    stage_id: int
    name: str
    pipeline_id: int
    probability: int
    count: int = 0
    value: Money = field(default_factory=dict)
    weighted: Money = field(default_factory=dict)
    """Per currency: SUM(amount x probability) / 100 rounded down, as the board's column totals."""


def by_stage(f: ReportFilter) -> list[StageFigures]:
    """Every open stage of the filter's pipeline (of all live pipelines if it names none), in board
    order, with its live deals' count, value and weighted value; the period does not apply."""
    stages = (
        Stage.select(Stage.id, Stage.name, Stage.pipeline, Stage.probability)
        .join(Pipeline, on=(Stage.pipeline == Pipeline.id))
        .where(Stage.deleted_at.is_null(), Pipeline.deleted_at.is_null(), Stage.kind == "open")
        .order_by(Pipeline.position, Pipeline.id, Stage.position, Stage.id)
    )
    if f.pipeline_id is not None:
        stages = stages.where(Stage.pipeline == f.pipeline_id)
    if rollups.enabled():
        figures = open_rows(
            f, DealOpen.stage_id, DealOpen.currency, fn.SUM(DealOpen.n), fn.SUM(DealOpen.amount), open_weighted_sum()
        ).group_by(DealOpen.stage_id, DealOpen.currency).having(counts_some(DealOpen))
    else:
        figures = open_deals(f, Deal.stage, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount), weighted_sum()).group_by(
            Deal.stage, Deal.currency
        )
    counts: dict[int, int] = {}
    values: dict[int, Money] = {}
    weighted: dict[int, Money] = {}
    for stage_id, code, n, amount, weight in figures.tuples():
        counts[stage_id] = counts.get(stage_id, 0) + as_int(n)
        values.setdefault(stage_id, {})[code] = as_int(amount)
        weighted.setdefault(stage_id, {})[code] = as_int(weight)
    return [
        StageFigures(
            sid,
            name,
            pipeline_id,
            chance,
            counts.get(sid, 0),
            dict(sorted(values.get(sid, {}).items())),
            dict(sorted(weighted.get(sid, {}).items())),
        )
        for sid, name, pipeline_id, chance in stages.tuples()
    ]


@dataclass(frozen=True)
class ShareRow:
    """One group of the open pipeline and its share of it, per currency."""

    key: int | str | None
    """The stage or tag id, or the source text; None for deals without a tag or source."""
    label: str
    count: int
    value: Money
    share: dict[str, float]
    """Percent of the open value in each currency. Tags overlap (a deal with two tags counts under
    both), so tag shares can add up to more than 100."""


SHARE_BY = ("stage", "tag", "source")
"""How `share` can group the open pipeline."""


def share(f: ReportFilter, by: str = "stage", *, totals: Money | None = None) -> list[ShareRow]:
    """The open pipeline's value grouped by stage (board order), tag or source (largest groups by
    count first), with each group's share of the open value per currency. `totals`: the open value
    per currency (StatCards.open_value) when the caller has read it already."""
    if by not in SHARE_BY:
        raise ServiceError(f"cannot group the pipeline by {by!r}; choose one of {', '.join(SHARE_BY)}")
    if totals is None:
        _, totals, _ = open_pipeline(f)
    groups: list[tuple[int | str | None, str, int, Money]]
    if by == "stage":
        groups = [(row.stage_id, row.name, row.count, row.value) for row in by_stage(f) if row.count]
    elif rollups.enabled() and not (by == "tag" and f.tag_id is not None):
        groups = _share_from_rollup(f, by)
    else:
        if by == "tag":
            key, label = Tag.id, Tag.name
            query = (
                open_deals(f, Tag.id, Tag.name, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount))
                .join_from(Deal, DealTag, JOIN.LEFT_OUTER, on=(DealTag.deal == Deal.id))
                .join_from(DealTag, Tag, JOIN.LEFT_OUTER, on=(DealTag.tag == Tag.id))
            )
        else:
            key = label = Deal.source
            query = open_deals(f, Deal.source, Deal.source, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount))
        groups = _largest_first(query.group_by(key, label, Deal.currency).tuples(), by)
    return [
        ShareRow(
            group,
            name,
            count,
            dict(sorted(value.items())),
            {code: 100 * amount / totals[code] for code, amount in sorted(value.items()) if totals.get(code)},
        )
        for group, name, count, value in groups
    ]


def _share_from_rollup(f: ReportFilter, by: str) -> list[tuple[int | str | None, str, int, Money]]:
    """The share groups (largest first) from the open or source rollup: by tag, each tag's rows
    and the UNTAGGED ones (a filter on one tag reads the deals instead: it needs tag pairs); by
    source, the source rollup's rows of the filter's tag."""
    model = DealOpen if by == "tag" else DealSource
    key = DealOpen.tag_id if by == "tag" else DealSource.source
    query = open_rows(
        f, key, model.currency, fn.SUM(model.n), fn.SUM(model.amount), model=model,
        tags=(DealOpen.tag_id != 0) if by == "tag" else None,
    ).group_by(key, model.currency).having(counts_some(model))  # fmt: skip
    names = dict(Tag.select(Tag.id, Tag.name).tuples()) if by == "tag" else {}
    rows = (
        (None if raw == rollups.UNTAGGED else raw, names.get(raw, raw), code, n, amount)
        for raw, code, n, amount in query.tuples()
    )
    return _largest_first(rows, by)


def _largest_first(rows: Any, by: str) -> list[tuple[int | str | None, str, int, Money]]:
    """(group, name, count, value per currency) from (group, name, currency, count, value) rows,
    largest count first; the group None (no tag, no source) is "(no tag)" / "(no source)"."""
    found: dict[int | str | None, tuple[str, int, Money]] = {}
    for group, name, code, n, amount in rows:
        shown, count, value = found.get(group, (name if group is not None else f"(no {by})", 0, {}))
        found[group] = (shown, count + as_int(n), {**value, code: as_int(amount)})
    return sorted(
        ((group, name, count, value) for group, (name, count, value) in found.items()),
        key=lambda row: (-row[2], row[0] is None, str(row[1]).casefold()),
    )


@dataclass(frozen=True)
class ForecastBucket:
    """Open deals expected to close in one month (or overdue, later, or without a date)."""

    key: str
    """"overdue", "YYYY-MM", "later" or "undated"."""
    month: date | None
    count: int = 0
    value: Money = field(default_factory=dict)
    weighted: Money = field(default_factory=dict)
    """Per currency: SUM(amount x probability) / 100 rounded down."""


def forecast(f: ReportFilter, months: int = 6, *, today: date | None = None) -> list[ForecastBucket]:
    """The weighted value of the open deals by expected close month: deals whose date has passed
    ("overdue"), each of the `months` months from this one, beyond them ("later"), and deals with
    no expected close date ("undated"), in that order. The period does not apply."""
    if months < 1:
        raise ServiceError("a forecast needs at least one month")
    today = today or clock.now().date()
    first = month_start(today)
    horizon = add_months(first, months).date()
    inner = _forecast_rows(f, today, horizon)
    query = (
        Select(
            [inner],
            [
                inner.c.bucket,
                inner.c.currency,
                fn.SUM(inner.c.n),
                fn.SUM(inner.c.amount),
                fn.SUM(inner.c.weight).cast("BIGINT") / 100,
            ],
        )
        .group_by(inner.c.bucket, inner.c.currency)
        .having(fn.SUM(inner.c.n) != 0)
        .bind(database)
    )
    keys = ["overdue", *(key_of(add_months(first, i)) for i in range(months)), "later", "undated"]
    found: dict[str, tuple[int, Money, Money]] = {key: (0, {}, {}) for key in keys}
    for key, code, n, amount, weight in query.tuples():
        count, value, weighted = found[key]
        found[key] = (count + as_int(n), {**value, code: as_int(amount)}, {**weighted, code: as_int(weight)})
    return [
        ForecastBucket(
            key, _month_of(key), found[key][0], dict(sorted(found[key][1].items())), dict(sorted(found[key][2].items()))
        )
        for key in keys
    ]


def _forecast_rows(f: ReportFilter, today: date, horizon: date) -> Any:
    """The open deals (or open-rollup rows) as (bucket, currency, n, amount, weight x 100)."""
    # The bucket has bound parameters, so it is grouped on from a subquery: PostgreSQL would not
    # see a GROUP BY copy of it (with its own parameters) as the same expression.
    if rollups.enabled():
        close = DealOpen.expected_close
        return open_rows(
            f, _bucket(close, today, horizon).alias("bucket"), DealOpen.currency.alias("currency"),
            DealOpen.n.alias("n"), DealOpen.amount.alias("amount"), open_weight().alias("weight"),
        ).alias("open_deal")  # fmt: skip
    return open_deals(
        f,
        _bucket(Deal.expected_close, today, horizon).alias("bucket"),
        Deal.currency.alias("currency"),
        SQL("1").alias("n"),
        Deal.amount.alias("amount"),
        (Deal.amount * probability()).alias("weight"),
    ).alias("open_deal")


def _bucket(close: Any, today: date, horizon: date) -> Any:
    """SQL: the forecast bucket of an expected close date."""
    return Case(
        None,
        [(close.is_null(), "undated"), (close < today, "overdue"), (close >= horizon, "later")],
        month_key(close),
    )


def _month_of(key: str) -> date | None:
    return date(int(key[:4]), int(key[5:]), 1) if key[:1].isdigit() else None
