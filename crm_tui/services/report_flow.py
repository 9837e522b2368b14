"""Reports on how deals flow through a pipeline: the funnel (how many deals reached each stage and
the conversion between stages), how long deals stay in each stage, and the deals stuck longest.

History comes from StageChange. Deals without any history rows (imported or older data) count with
their current stage, entered at `stage_entered_at`. CROSS JOIN + WHERE is used where SQLite must be
kept to a join order (it joins left to right after a CROSS JOIN); on PostgreSQL it is an inner join.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import JOIN, SQL, Case, Select, fn

from crm_tui import clock
from crm_tui.models import Deal, DealTag, Stage, StageChange, database
from crm_tui.models.rollup import DealReach, DealStay
from crm_tui.services import reach as reach_table
from crm_tui.services import rollups
from crm_tui.services.report_sql import (
    DAY,
    ReportFilter,
    as_int,
    between,
    epoch,
    narrow,
    param,
    seconds,
)

_WON_RANK = 1_000_000
"""Won stages rank after every open stage whatever their position (positions are small)."""
_FUNNEL_KINDS = ("open", "won")
"""Lost and closed-other stages are exits, not steps: reaching one says nothing about the steps."""


@dataclass(frozen=True)
class FunnelStep:
    """One step of the funnel: how many of the deals reached this stage or a later one, and what
    percentage of them went on to the next step (None for the last step or when none reached it)."""

    stage_id: int
    name: str
    kind: str
    reached: int
    conversion: float | None


def _rank(stage: type[Stage]):
    """SQL: a stage's place in the funnel; `funnel` sorts the steps the same way in Python."""
    return Case(None, [(stage.kind == "won", stage.position + _WON_RANK)], stage.position)


def funnel(pipeline_id: int, f: ReportFilter) -> list[FunnelStep]:
    """The funnel of `pipeline_id` for the deals created in the filter's period (and matching its
    owner and tag; its pipeline is this one): the open stages in order, then the won stage(s).

    A deal reached a stage if it is or ever was in that stage or a later one, from its StageChange
    rows (both ends) plus its current stage, so a deal created straight into a later stage, or
    without history rows, counts for the earlier steps too. Each deal counts once per step: its
    furthest stage decides, so a deal lost and reopened (or moved back) is not counted twice, and
    it keeps credit for the furthest stage it reached before being lost. Only live stages of this
    pipeline count, so a deal moved in from another pipeline counts from where it entered this one.
    """
    if rollups.enabled() and reach_table.fresh():
        return _funnel_from_reach(pipeline_id, f)
    visited = Stage.alias("visited")
    # Deal first, then its history by the (deal, at) index, then each stage it names by id: the
    # CROSS JOIN keeps SQLite to that order (left to itself it built a throwaway index on the whole
    # history on every run); PostgreSQL reads it as the inner join it is.
    reach = (
        narrow(
            Deal.select(Deal.id.alias("deal_id"), fn.MAX(_rank(visited)).alias("top"))
            .join(StageChange, JOIN.LEFT_OUTER, on=(StageChange.deal == Deal.id))
            .join_from(StageChange, visited, JOIN.CROSS)
            .where(
                between(Deal.created_at, f.start, f.end),
                visited.id.in_([Deal.stage, StageChange.to_stage, StageChange.from_stage]),
                visited.pipeline == pipeline_id,
                visited.deleted_at.is_null(),
                visited.kind.in_(_FUNNEL_KINDS),
            ),
            f,
            pipeline=False,
        )
        .group_by(Deal.id)
        .alias("reach")
    )
    step = Stage.alias("step")
    query = (
        step.select(step.id, step.name, step.kind, step.position, fn.COUNT(reach.c.deal_id))
        .join(reach, JOIN.LEFT_OUTER, on=(reach.c.top >= _rank(step)))
        .where(step.pipeline == pipeline_id, step.deleted_at.is_null(), step.kind.in_(_FUNNEL_KINDS))
        .group_by(step.id, step.name, step.kind, step.position)
    )
    return _steps(sorted(query.tuples(), key=lambda row: (row[2] == "won", row[3], row[0])))


def _funnel_from_reach(pipeline_id: int, f: ReportFilter) -> list[FunnelStep]:
    """The funnel from the reach table: the period's live deals counted by their furthest stage
    in this pipeline (one index range), each step then summing the counts of the steps after it."""
    tops = DealReach.select(DealReach.top_stage_id, fn.COUNT(SQL("*"))).where(
        DealReach.pipeline_id == pipeline_id, DealReach.live == 1, between(DealReach.created_at, f.start, f.end)
    )
    if f.owner_id is not None:
        tops = tops.where(DealReach.owner_id == f.owner_id)
    if f.tag_id is not None:
        tops = tops.where(DealReach.deal_id.in_(DealTag.select(DealTag.deal).where(DealTag.tag == f.tag_id)))
    furthest = dict(tops.group_by(DealReach.top_stage_id).tuples())
    stages = sorted(
        Stage.select(Stage.id, Stage.name, Stage.kind, Stage.position)
        .where(Stage.pipeline == pipeline_id, Stage.deleted_at.is_null(), Stage.kind.in_(_FUNNEL_KINDS))
        .tuples(),
        key=lambda row: (row[2] == "won", row[3], row[0]),
    )
    rows, beyond = [], 0
    for stage_id, name, kind, position in reversed(stages):
        beyond += as_int(furthest.get(stage_id, 0))
        rows.append((stage_id, name, kind, position, beyond))
    return _steps(rows[::-1])


def _steps(rows: list[tuple]) -> list[FunnelStep]:
    """FunnelSteps from (stage id, name, kind, position, deals that reached it) in funnel order."""
    steps = []
    for index, (stage_id, name, kind, _, reached) in enumerate(rows):
        following = rows[index + 1][4] if index + 1 < len(rows) else None
        conversion = 100 * following / reached if following is not None and reached else None
        steps.append(FunnelStep(stage_id, name, kind, reached, conversion))
    return steps


@dataclass(frozen=True)
class StageDuration:
    """How long deals stayed in one open stage, in days (None when no deal entered it)."""

    stage_id: int
    name: str
    spells: int
    """Stays counted: one per time a deal entered the stage (a deal back in it counts again)."""
    ongoing: int
    """Of those, deals still in the stage: their stay counts up to now."""
    average_days: float | None
    median_days: float | None


def stage_durations(pipeline_id: int, f: ReportFilter, *, now: datetime | None = None) -> list[StageDuration]:
    """Average and median days in each open stage of `pipeline_id`, over the stays that began in
    the filter's period (deals matching its owner and tag, wherever they are now).

    A stay runs from a StageChange into the stage to the deal's next StageChange (in time, then id
    order), whose time the row keeps as `left_at`. A deal still in the stage counts up to `now` (default: the clock), so a stage where deals
    get stuck shows it at once rather than only when they leave; `ongoing` says how many such stays
    are in the figures. Won, lost and closed stages have no duration. Durations are whole seconds;
    the median of an even count is the mean of the middle two.
    """
    now_epoch = epoch(now or clock.now())
    if rollups.enabled() and f.start.microsecond == 0 and f.end.microsecond == 0:
        found = _durations_from_stays(pipeline_id, f, now_epoch)
    else:
        found = _durations_from_history(pipeline_id, f, now_epoch)
    stages = (
        Stage.select(Stage.id, Stage.name)
        .where(Stage.pipeline == pipeline_id, Stage.kind == "open", Stage.deleted_at.is_null())
        .order_by(Stage.position, Stage.id)
    )
    result = []
    for stage_id, name in stages.tuples():
        count, total, middle_total, middle_count, ongoing = (as_int(x) for x in found.get(stage_id, (0, 0, 0, 0, 0)))
        result.append(
            StageDuration(
                stage_id,
                name,
                count,
                ongoing,
                total / count / DAY if count else None,
                middle_total / middle_count / DAY if middle_count else None,
            )
        )
    return result


def _durations_from_stays(pipeline_id: int, f: ReportFilter, now_epoch: int) -> dict[int, tuple]:
    """Per open stage: (stays, total seconds, the middle one or two durations' sum and count,
    ongoing stays), from the stays table's (stage, live, entered, secs) index. The median is read
    per stage by ORDER BY ... LIMIT 2 OFFSET: a sort of that stage's durations, not a ranking of all."""
    duration = fn.COALESCE(DealStay.secs, param(now_epoch) - DealStay.entered)
    spells = (
        Stage.select(Stage.id.alias("stage_id"), duration.alias("dur"), DealStay.secs.is_null().alias("ongoing"))
        .join(DealStay, JOIN.CROSS)
        .where(
            Stage.pipeline == pipeline_id,
            Stage.kind == "open",
            DealStay.stage_id == Stage.id,
            DealStay.live == 1,
            DealStay.entered >= epoch(f.start),
            DealStay.entered < epoch(f.end),
        )
    )
    if f.owner_id is not None:
        spells = spells.where(DealStay.owner_id == f.owner_id)
    if f.tag_id is not None:
        spells = spells.where(DealStay.deal_id.in_(DealTag.select(DealTag.deal).where(DealTag.tag == f.tag_id)))
    spell = spells.alias("spell")
    totals = (
        Select([spell], [spell.c.stage_id, fn.COUNT(SQL("*")), fn.SUM(spell.c.dur), fn.SUM(Case(None, [(spell.c.ongoing, 1)], 0))])
        .group_by(spell.c.stage_id)
        .bind(database)
    )
    found = {}
    for stage_id, count, total, ongoing in totals.tuples():
        count = as_int(count)
        middle = [
            as_int(value)
            for (value,) in spells.where(Stage.id == stage_id)
            .select(duration)
            .order_by(duration)
            .limit(2 if count % 2 == 0 else 1)
            .offset((count - 1) // 2)
            .tuples()
        ]
        found[stage_id] = (count, total, sum(middle), len(middle), ongoing)
    return found


def _durations_from_history(pipeline_id: int, f: ReportFilter, now_epoch: int) -> dict[int, tuple]:
    """The same figures from StageChange and the deals directly (periods not on whole seconds)."""
    # The stays begun in the period, read from the open stages by the (to_stage, at, deal, left_at)
    # index; each stay's end (`left_at`, the deal's next change) is kept on its row.
    history = narrow(
        Stage.select(
            Stage.id.alias("stage_id"), seconds(StageChange.at).alias("entered"), seconds(StageChange.left_at).alias("left_at")
        )
        .join(StageChange, JOIN.CROSS)
        .join_from(StageChange, Deal, on=(StageChange.deal == Deal.id))
        .where(StageChange.to_stage == Stage.id, between(StageChange.at, f.start, f.end)),
        f,
        pipeline=False,
    )
    # A deal without history rows is a stay in its current stage since stage_entered_at.
    unrecorded = narrow(
        Stage.select(Stage.id, seconds(Deal.stage_entered_at), SQL("NULL"))
        .join(Deal, JOIN.CROSS)
        .where(
            Deal.stage == Stage.id,
            between(Deal.stage_entered_at, f.start, f.end),
            ~fn.EXISTS(StageChange.select(SQL("1")).where(StageChange.deal == Deal.id)),
        ),
        f,
        pipeline=False,
    )
    stays = [query.where(Stage.pipeline == pipeline_id, Stage.kind == "open") for query in (history, unrecorded)]
    spell = stays[0].union_all(stays[1]).alias("spell")
    duration = fn.COALESCE(spell.c.left_at, param(now_epoch)) - spell.c.entered
    ranked = Select(
        [spell],
        [
            spell.c.stage_id,
            duration.alias("secs"),
            Case(None, [(spell.c.left_at.is_null(), 1)], 0).alias("ongoing"),
            fn.ROW_NUMBER().over(partition_by=[spell.c.stage_id], order_by=[duration]).alias("rn"),
            fn.COUNT(SQL("*")).over(partition_by=[spell.c.stage_id]).alias("n"),
        ],
    ).alias("ranked")
    middle = (ranked.c.rn * 2).in_([ranked.c.n, ranked.c.n + 1, ranked.c.n + 2])
    query = (
        Select(
            [ranked],
            [
                ranked.c.stage_id,
                fn.COUNT(SQL("*")),
                fn.SUM(ranked.c.secs),
                fn.SUM(Case(None, [(middle, ranked.c.secs)], 0)),
                fn.SUM(Case(None, [(middle, 1)], 0)),
                fn.SUM(ranked.c.ongoing),
            ],
        )
        .group_by(ranked.c.stage_id)
        .bind(database)
    )
    return {row[0]: row[1:] for row in query.tuples()}


@dataclass(frozen=True)
class StuckDeal:
    """An open deal that has been in its stage a long time (for drill-down from a stage)."""

    id: int
    title: str
    stage_id: int
    entered_at: datetime
    days: int
    """Whole days in the stage (rounded down), as of the report's `now`."""


def stuck(
    pipeline_id: int, per_stage: int = 5, f: ReportFilter | None = None, *, now: datetime | None = None
) -> dict[int, list[StuckDeal]]:
    """The `per_stage` live deals longest in each open stage of `pipeline_id` (by the board's
    `stage_entered_at`, oldest first), every open stage present; `f` may narrow by owner and tag."""
    now_epoch = epoch(now or clock.now())
    found: dict[int, list[StuckDeal]] = {
        stage_id: []
        for (stage_id,) in Stage.select(Stage.id)
        .where(Stage.pipeline == pipeline_id, Stage.kind == "open", Stage.deleted_at.is_null())
        .order_by(Stage.position, Stage.id)
        .tuples()
    }
    # One short query per open stage, each reading the first rows of the board's (stage,
    # stage_entered_at, id) index and stopping there: a ranking over every open deal read them all.
    for stage_id, deals in found.items():
        query = narrow(
            Deal.select(Deal.id, Deal.title, Deal.stage_entered_at, (param(now_epoch) - seconds(Deal.stage_entered_at)) / DAY)
            .where(Deal.stage == stage_id)
            .order_by(Deal.stage_entered_at, Deal.id)
            .limit(per_stage),
            f,
            pipeline=False,
        )
        for deal_id, title, entered_at, days in query.tuples():
            deals.append(StuckDeal(deal_id, title, stage_id, Deal.stage_entered_at.python_value(entered_at), as_int(days)))
    return found
