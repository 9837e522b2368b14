"""The dashboard's report queries, in one place for the UI to import.

Every figure is computed in SQL (aggregates, GROUP BY, window functions) and is the same on SQLite
and PostgreSQL; money is a mapping currency -> integer minor units, never summed across currencies.
The reports live in report_cards (stat cards and their change), report_pipeline (monthly, by
stage, shares, forecast), report_flow (funnel, stage durations, stuck deals) and report_activity
(activity feed, my tasks); report_sql holds the filter and the back-end specific SQL.

Conventions, decided once for all of them:
- Only live deals count (soft-deleted ones never do), and only live stages are listed.
- Weighted value = SUM(amount x probability) / 100 per currency (and per group), the probability
  being the deal's own where set, else its stage's; the division is integer, rounding down once
  per group, exactly as the board's column totals (so `by_stage` matches the board's columns).
- Won and lost in a period go by the deal's current stage kind and its `closed_at`; a deal reopened
  after being lost has no `closed_at` and counts as open until it closes again.
- Durations are whole seconds, shown as days (float); averages and medians divide exact integer sums.
- Periods are [start, end) in naive UTC, like every stored timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_tui import clock
from crm_tui.models import Pipeline
from crm_tui.services.report_activity import FeedItem, MyTasks, TaskItem, activity_feed, my_tasks
from crm_tui.services.report_cards import (
    CardChanges,
    Change,
    PeriodFigures,
    StatCards,
    card_changes,
    change,
    compare,
    open_pipeline,
    period_figures,
    point_change,
    stat_cards,
)
from crm_tui.services.report_drill import DRILLS, DrillPage, DrillRow, deals_behind
from crm_tui.services.report_flow import FunnelStep, StageDuration, StuckDeal, funnel, stage_durations, stuck
from crm_tui.services.report_pipeline import (
    SHARE_BY,
    ForecastBucket,
    MonthFigures,
    ShareRow,
    StageFigures,
    by_stage,
    forecast,
    monthly,
    share,
)
from crm_tui.services.report_sql import Money, ReportFilter

__all__ = [
    "DRILLS", "SHARE_BY", "CardChanges", "DrillPage", "DrillRow", "deals_behind", "Change", "Dashboard", "FeedItem", "ForecastBucket", "FunnelStep", "Money",
    "MonthFigures", "MyTasks", "PeriodFigures", "ReportFilter", "ShareRow", "StageDuration", "StageFigures",
    "StatCards", "StuckDeal", "TaskItem", "activity_feed", "board_durations", "board_pipeline", "by_stage", "card_changes", "change", "compare",
    "dashboard", "forecast", "funnel", "monthly", "my_tasks", "open_pipeline", "period_figures", "point_change",
    "share", "stage_durations", "stat_cards", "stuck",
]  # fmt: skip


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows for one filter and user, read in one call."""

    filter: ReportFilter
    pipeline_id: int | None
    """The pipeline the funnel, durations and stuck deals are about (the filter's, else the first)."""
    cards: StatCards
    changes: CardChanges
    months: list[MonthFigures]
    stages: list[StageFigures]
    forecast: list[ForecastBucket]
    funnel: list[FunnelStep]
    durations: list[StageDuration]
    stuck: dict[int, list[StuckDeal]]
    feed: list[FeedItem]
    tasks: MyTasks | None


def board_pipeline(f: ReportFilter) -> int | None:
    """The pipeline the funnel, durations and stuck deals are about: the filter's, else the first
    live pipeline (None when there is none)."""
    if f.pipeline_id is not None:
        return f.pipeline_id
    first = Pipeline.select(Pipeline.id).where(Pipeline.deleted_at.is_null()).order_by(Pipeline.position, Pipeline.id)
    return first.scalar()


def board_durations(f: ReportFilter, *, now: datetime | None = None) -> list[StageDuration]:
    """The dashboard's stage durations (of `board_pipeline(f)`), for a caller that reads them on a
    connection of their own while `dashboard(..., durations=False)` reads the rest."""
    pipeline_id = board_pipeline(f)
    return stage_durations(pipeline_id, f, now=now) if pipeline_id is not None else []


def dashboard(
    f: ReportFilter,
    *,
    user_id: int | None = None,
    now: datetime | None = None,
    cards: StatCards | None = None,
    changes: CardChanges | None = None,
    durations: bool = True,
) -> Dashboard:
    """Every report of the dashboard for `f` (call it from a worker thread: it runs ~15 queries).

    The funnel, stage durations and stuck deals need one pipeline (`board_pipeline`). `user_id`
    adds that user's tasks. `cards` and `changes`, when the caller has read them already (to show
    them first), are not read again. `durations=False` leaves the stage durations empty, for a
    caller that reads them alongside (`board_durations`, the slowest figure).
    """
    now = now or clock.now()
    pipeline_id = board_pipeline(f)
    cards = cards or stat_cards(f, now=now)
    return Dashboard(
        filter=f,
        pipeline_id=pipeline_id,
        cards=cards,
        changes=changes or card_changes(f, cards),
        months=monthly(f),
        stages=by_stage(f),
        forecast=forecast(f, today=now.date()),
        funnel=funnel(pipeline_id, f) if pipeline_id is not None else [],
        durations=stage_durations(pipeline_id, f, now=now) if pipeline_id is not None and durations else [],
        stuck=stuck(pipeline_id, f=f, now=now) if pipeline_id is not None else {},
        feed=activity_feed(),
        tasks=my_tasks(user_id, now=now) if user_id is not None else None,
    )
