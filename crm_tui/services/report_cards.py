"""The dashboard's stat cards: open and weighted pipeline, won and lost this period, win rates,
average deal size and sales cycle, new pipeline, open deals and overdue tasks, and how each moved
against the previous period.

Three aggregate queries: the open pipeline (a snapshot of now, grouped by currency, from the
board's totals index), the period's deals (one pass over the deals with conditional sums, grouped by
currency) and the overdue task count. The comparison with the previous period re-runs only the
period query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from peewee import JOIN, SQL, fn

from crm_tui import clock
from crm_tui.models import Deal, Stage, Task
from crm_tui.models.rollup import DealDay, DealOpen
from crm_tui.services import rollups
from crm_tui.services.report_sql import (
    Money,
    ReportFilter,
    as_int,
    between,
    counts_some,
    day_rows,
    days,
    narrow,
    on_deleted_deals,
    open_deals,
    open_rows,
    open_weighted_sum,
    seconds,
    weighted_sum,
)


@dataclass(frozen=True)
class PeriodFigures:
    """What happened in one period: deals won, lost and created. A currency appears in a money
    figure only if a deal in it counts there (won_value: a deal won in that currency, ...)."""

    won_count: int = 0
    won_value: Money = field(default_factory=dict)
    lost_count: int = 0
    lost_value: Money = field(default_factory=dict)
    new_count: int = 0
    new_value: Money = field(default_factory=dict)
    avg_won: Money = field(default_factory=dict)
    """Average won deal per currency (exact sum // count: rounded down)."""
    cycle_days: float | None = None
    """Average days from creation to close of the deals won in the period; None if none were won."""
    win_rate_count: float | None = None
    """Won / (won + lost) by count, in percent; None when no deal was won or lost."""
    win_rate_value: dict[str, float | None] = field(default_factory=dict)
    """Won / (won + lost) by value per currency, in percent (None where both are zero)."""


@dataclass(frozen=True)
class StatCards(PeriodFigures):
    """Every stat card: the period's figures, and the open pipeline as it is now."""

    open_count: int = 0
    open_value: Money = field(default_factory=dict)
    weighted_value: Money = field(default_factory=dict)
    """Open value x probability (the deal's, else its stage's) / 100, per currency, rounded down."""
    overdue_tasks: int = 0


@dataclass(frozen=True)
class Change:
    """How a figure moved against the previous period: `amount` in `unit` ("%" relative to the
    previous figure, "pts" for a difference of two percentages); None when there is nothing to
    compare with (the previous figure is 0 or missing)."""

    amount: float | None
    unit: str = "%"

    @property
    def arrow(self) -> str:
        """ "▲" up, "▼" down, "" unchanged or unknown."""
        if not self.amount:
            return ""
        return "▲" if self.amount > 0 else "▼"

    def text(self) -> str:
        """ "▲ 12.5%", "▼ 3.0 pts", "0.0%", or "—" when there is nothing to compare with."""
        if self.amount is None:
            return "—"
        return f"{self.arrow} {abs(self.amount):.1f}{'%' if self.unit == '%' else ' ' + self.unit}".strip()


@dataclass(frozen=True)
class CardChanges:
    """The change of every period card against the previous period (money per currency)."""

    won_count: Change
    won_value: dict[str, Change]
    lost_count: Change
    lost_value: dict[str, Change]
    new_count: Change
    new_value: dict[str, Change]
    avg_won: dict[str, Change]
    cycle_days: Change
    win_rate_count: Change
    win_rate_value: dict[str, Change]


def stat_cards(f: ReportFilter, *, now: datetime | None = None) -> StatCards:
    """Every stat card for the filter's deals: the period's figures and the open pipeline now.

    Overdue tasks are tasks not done whose due time has passed (not on a deleted deal), assigned to
    the filter's owner if one is set; with a pipeline or tag in the filter, only tasks on deals that
    match count.
    """
    now = now or clock.now()
    period = period_figures(f)
    open_count, open_value, weighted = open_pipeline(f)
    return StatCards(
        **{name: getattr(period, name) for name in PeriodFigures.__dataclass_fields__},
        open_count=open_count,
        open_value=open_value,
        weighted_value=weighted,
        overdue_tasks=_overdue_tasks(f, now),
    )


def open_pipeline(f: ReportFilter) -> tuple[int, Money, Money]:
    """Count, value and weighted value of the live deals in open stages, by currency."""
    if rollups.enabled():
        query = open_rows(f, DealOpen.currency, fn.SUM(DealOpen.n), fn.SUM(DealOpen.amount), open_weighted_sum())
        query = query.group_by(DealOpen.currency).having(counts_some(DealOpen))
    else:
        query = open_deals(f, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount), weighted_sum()).group_by(Deal.currency)
    count, total, weighted = 0, {}, {}
    for code, n, amount, weight in query.tuples():
        count += as_int(n)
        total[code], weighted[code] = as_int(amount), as_int(weight)
    return count, total, weighted


def period_figures(f: ReportFilter) -> PeriodFigures:
    """Deals won, lost and created in the filter's period, by currency.

    Won and lost are decided by the stage a deal is in now and its `closed_at`: a deal lost and
    later reopened has no `closed_at`, so it counts nowhere until it closes again. Two range reads,
    each on its own covering index (deal_created_months, deal_closed_months), so the work grows with
    the period's deals, not with the table.
    """
    created, closed = _period_queries(f)
    new_count, new_value = 0, {}
    for code, n, amount in created.tuples():
        new_count += as_int(n)
        new_value[code] = as_int(amount)
    counts = {"won": 0, "lost": 0}
    values: dict[str, Money] = {"won": {}, "lost": {}}
    won_counts: dict[str, int] = {}
    cycle = 0
    for kind, code, n, amount, secs in closed.tuples():
        counts[kind] += as_int(n)
        values[kind][code] = as_int(amount)
        if kind == "won":
            cycle += as_int(secs)
            won_counts[code] = as_int(n)
    won, lost = values["won"], values["lost"]
    rates: dict[str, float | None] = {}
    for code in {*won, *lost}:
        decided = won.get(code, 0) + lost.get(code, 0)
        rates[code] = 100 * won.get(code, 0) / decided if decided else None
    decided = counts["won"] + counts["lost"]
    return PeriodFigures(
        won_count=counts["won"],
        won_value=dict(sorted(won.items())),
        lost_count=counts["lost"],
        lost_value=dict(sorted(lost.items())),
        new_count=new_count,
        new_value=dict(sorted(new_value.items())),
        avg_won={code: won[code] // won_counts[code] for code in sorted(won) if won_counts.get(code)},
        cycle_days=days(cycle, counts["won"]),
        win_rate_count=100 * counts["won"] / decided if decided else None,
        win_rate_value=dict(sorted(rates.items())),
    )


def _period_queries(f: ReportFilter) -> tuple[Any, Any]:
    """(currency, count, value) of the deals created in the period, and (kind, currency, count,
    value, cycle seconds) of those won or lost in it: from the deal rollup for whole days."""
    if rollups.usable(f.start, f.end):
        created = day_rows(f, f.start, f.end, DealDay.currency, fn.SUM(DealDay.n), fn.SUM(DealDay.amount), closed=False)
        closed = day_rows(
            f, f.start, f.end, Stage.kind, DealDay.currency, fn.SUM(DealDay.n), fn.SUM(DealDay.amount),
            fn.SUM(DealDay.secs), closed=True,
        ).where(Stage.kind.in_(["won", "lost"]))  # fmt: skip
        return (
            created.group_by(DealDay.currency).having(counts_some(DealDay)),
            closed.group_by(Stage.kind, DealDay.currency).having(counts_some(DealDay)),
        )
    created = narrow(
        Deal.select(Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount)).where(between(Deal.created_at, f.start, f.end)),
        f,
    ).group_by(Deal.currency)
    closed = narrow(
        Deal.select(
            Stage.kind, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount), fn.SUM(seconds(Deal.closed_at) - seconds(Deal.created_at))
        )
        .join(Stage, on=(Deal.stage == Stage.id))
        .where(between(Deal.closed_at, f.start, f.end), Stage.kind.in_(["won", "lost"])),
        f,
    ).group_by(Stage.kind, Deal.currency)
    return created, closed


def _overdue_tasks(f: ReportFilter, now: datetime) -> int:
    # Tasks on deleted deals are hidden with their deal (my_tasks leaves them out too).
    if f.pipeline_id is None and f.tag_id is None:
        # Counted on the task indexes alone, less those on deleted deals (found from the few deleted
        # deals): joining every overdue task to its deal cost 170 ms at 1M deals.
        due = [Task.done == False, Task.due_at < now]
        if f.owner_id is not None:
            due.append(Task.assignee == f.owner_id)
        return as_int(Task.select(fn.COUNT(SQL("*"))).where(*due).scalar()) - as_int(
            on_deleted_deals(fn.COUNT(SQL("*"))).where(*due).scalar()
        )
    # The pipeline and tag filters apply to the task's deal: from the (done, due_at) index to it by id.
    query = (
        Task.select(fn.COUNT(Task.id))
        .join(Deal, JOIN.LEFT_OUTER, on=(Task.deal == Deal.id))
        .where(Task.done == False, Task.due_at < now, Deal.deleted_at.is_null())
    )
    if f.owner_id is not None:
        query = query.where(Task.assignee == f.owner_id)
    return as_int(narrow(query, ReportFilter(f.pipeline_id, None, f.tag_id, f.start, f.end)).scalar())


def change(current: float | None, previous: float | None) -> Change:
    """The relative change from `previous` to `current` in percent; None if previous is 0 or None."""
    if current is None or not previous:
        return Change(None)
    return Change(100 * (current - previous) / previous)


def point_change(current: float | None, previous: float | None) -> Change:
    """The difference of two percentages, in points; None if either is None."""
    if current is None or previous is None:
        return Change(None, "pts")
    return Change(current - previous, "pts")


def _money_change(current: Money, previous: Money) -> dict[str, Change]:
    return {code: change(current.get(code, 0), previous.get(code, 0)) for code in sorted({*current, *previous})}


def compare(current: PeriodFigures, previous: PeriodFigures) -> CardChanges:
    """▲/▼ of every period card against the previous period's figures (a StatCards is one too)."""
    rates = sorted({*current.win_rate_value, *previous.win_rate_value})
    return CardChanges(
        won_count=change(current.won_count, previous.won_count),
        won_value=_money_change(current.won_value, previous.won_value),
        lost_count=change(current.lost_count, previous.lost_count),
        lost_value=_money_change(current.lost_value, previous.lost_value),
        new_count=change(current.new_count, previous.new_count),
        new_value=_money_change(current.new_value, previous.new_value),
        avg_won=_money_change(current.avg_won, previous.avg_won),
        cycle_days=change(current.cycle_days, previous.cycle_days),
        win_rate_count=point_change(current.win_rate_count, previous.win_rate_count),
        win_rate_value={
            code: point_change(current.win_rate_value.get(code), previous.win_rate_value.get(code)) for code in rates
        },
    )


def card_changes(f: ReportFilter, current: PeriodFigures | None = None) -> CardChanges:
    """The period cards' changes against `f.previous()`; pass `current` if it is already read."""
    return compare(current if current is not None else period_figures(f), period_figures(f.previous()))
