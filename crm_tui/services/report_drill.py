"""Drill-down: the deals behind one bar of a dashboard chart (a month's won deals, a stage's open
deals, a tag's share, a forecast month), with the same filter the chart was drawn with, so the
list adds up to the bar: its count and value are read by the same conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from peewee import JOIN, fn

from crm_tui import clock
from crm_tui.models import Deal, DealTag, Stage, User
from crm_tui.services.errors import ServiceError
from crm_tui.services.report_sql import Money, ReportFilter, add_months, as_int, between, month_start, narrow

DRILLS = ("created", "won", "lost", "stage", "stuck", "tag", "source", "forecast")
"""What a bar can stand for:
- created / won / lost: a month ("YYYY-MM") of the month charts;
- stage: an open stage's deals, largest first; stuck: the same, longest in the stage first;
- tag / source: the open deals with that tag id or source text (None: without one);
- forecast: a forecast bucket ("overdue", "YYYY-MM", "later", "undated")."""


@dataclass(frozen=True)
class DrillRow:
    """One deal behind a bar."""

    id: int
    title: str
    stage: str
    amount: int
    currency: str
    owner: str | None
    at: datetime | date | None
    """The date that put the deal there: created, closed, stage entered or expected close."""


@dataclass(frozen=True)
class DrillPage:
    """The first `limit` deals behind a bar, how many there are in all, and their value."""

    rows: list[DrillRow]
    total: int
    value: Money


def _month(key: object) -> tuple[datetime, datetime]:
    try:
        first = datetime.strptime(str(key), "%Y-%m")
    except ValueError:
        raise ServiceError(f"{key!r} is not a month (YYYY-MM)") from None
    return first, add_months(first, 1)


def deals_behind(f: ReportFilter, what: str, key: object, *, limit: int = 200, today: date | None = None) -> DrillPage:
    """The deals behind the bar `key` of a `what` chart (see DRILLS), for the filter `f`."""
    if what not in DRILLS:
        raise ServiceError(f"cannot show the deals behind {what!r}; choose one of {', '.join(DRILLS)}")
    today = today or clock.now().date()
    query = Deal.select().join(Stage, on=(Deal.stage == Stage.id))
    order = [Deal.amount.desc(), Deal.id]
    shown_at = Deal.stage_entered_at
    if what in ("created", "won", "lost"):
        start, end = _month(key)
        if what == "created":
            query, shown_at = query.where(between(Deal.created_at, start, end)), Deal.created_at
        else:
            query, shown_at = query.where(between(Deal.closed_at, start, end), Stage.kind == what), Deal.closed_at
    else:
        query = query.where(Stage.kind == "open")
        if what in ("stage", "stuck"):
            query = query.where(Deal.stage == key)
            if what == "stuck":
                order = [Deal.stage_entered_at, Deal.id]
        elif what == "tag":
            tagged = DealTag.select(DealTag.deal)
            query = query.where(
                ~Deal.id.in_(tagged) if key is None else Deal.id.in_(tagged.where(DealTag.tag == key))
            )
        elif what == "source":
            query = query.where((Deal.source.is_null()) | (Deal.source == "") if key is None else Deal.source == key)
        else:
            query, shown_at = query.where(_forecast_bucket(str(key), today)), Deal.expected_close
    query = narrow(query, f)
    totals = sorted(query.select(Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount)).group_by(Deal.currency).tuples())
    value = {code: as_int(amount) for code, _, amount in totals}
    total = sum(as_int(n) for _, n, _ in totals)
    rows = (
        query.select(Deal.id, Deal.title, Stage.name, Deal.amount, Deal.currency, User.name, shown_at)
        .join_from(Deal, User, JOIN.LEFT_OUTER, on=(Deal.owner == User.id))
        .order_by(*order)
        .limit(limit)
    )
    return DrillPage(
        [
            DrillRow(i, title, stage, as_int(amount), code, owner, shown_at.python_value(at) if at else None)
            for i, title, stage, amount, code, owner, at in rows.tuples()
        ],
        total,
        value,
    )


def _forecast_bucket(key: str, today: date):
    first = month_start(today)
    if key == "undated":
        return Deal.expected_close.is_null()
    if key == "overdue":
        return Deal.expected_close < today
    if key == "later":
        return Deal.expected_close >= add_months(first, 6).date()
    start, end = _month(key)
    return between(Deal.expected_close, max(start.date(), today), end.date())
