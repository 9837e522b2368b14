"""What the pipeline board shows, read a window at a time: pipelines and stages, column totals from
one aggregate query, and the cards of a column by position (never a whole table)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import date, datetime

from peewee import JOIN, Case, Expression, fn

from crm_tui import clock
from crm_tui.models import Company, Deal, DealTag, Pipeline, Stage, Tag, Task, User
from crm_tui.services import deals, permissions
from crm_tui.services.board_filter import BoardFilter, FilterContext, StaleRule, condition
from crm_tui.services.context import Context
from crm_tui.services.preferences import get_preference
from crm_tui.services.workspace_settings import currency as workspace_currency

WINDOW = 30
"""Cards read per request: a screenful and a margin."""


@dataclass(frozen=True)
class StageInfo:
    """A stage as the board needs it."""

    id: int
    name: str
    position: int
    probability: int
    kind: str
    rot_days: int | None

    @property
    def is_closed(self) -> bool:
        """Won, lost or closed-other."""
        return self.kind != "open"


@dataclass(frozen=True)
class PipelineInfo:
    """A pipeline and its live stages in board order."""

    id: int
    name: str
    stages: tuple[StageInfo, ...]

    def neighbour(self, stage_id: int, step: int) -> StageInfo | None:
        """The stage `step` places after (or before, if negative) `stage_id`, or None at an end."""
        ids = [stage.id for stage in self.stages]
        index = ids.index(stage_id) + step
        return self.stages[index] if 0 <= index < len(ids) else None

    def stage(self, stage_id: int) -> StageInfo:
        """The stage with `stage_id`."""
        return next(stage for stage in self.stages if stage.id == stage_id)


@dataclass(frozen=True)
class ColumnTotals:
    """Count, total and weighted total of one column, per currency (minor units)."""

    count: int = 0
    total: dict[str, int] = field(default_factory=dict)
    weighted: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DealCard:
    """What one card on the board shows."""

    id: int
    version: int
    stage_id: int
    title: str
    company: str | None
    owner: str | None
    amount: int
    currency: str
    expected_close: date | None
    stage_entered_at: datetime
    probability: int | None = None
    confidence: int | None = None
    closed_at: datetime | None = None
    tags: tuple[str, ...] = ()
    overdue_tasks: int = 0


@dataclass(frozen=True)
class BoardQuery:
    """Which pipeline, narrowed how, for whom and when: everything a board read depends on."""

    pipeline: PipelineInfo
    filter: BoardFilter = BoardFilter()
    user_id: int | None = None
    now: datetime = field(default_factory=clock.now)

    def condition(self) -> Expression | None:
        """The filter as SQL, worked out once per query object (with_time makes a fresh one per
        refresh, so the text lookups it holds are as old as the refresh)."""
        return self._condition

    @cached_property
    def _condition(self) -> Expression | None:
        rules = tuple(StaleRule(s.id, s.rot_days) for s in self.pipeline.stages if s.rot_days and not s.is_closed)
        return condition(self.filter, FilterContext(self.user_id, self.now, rules))


@dataclass(frozen=True)
class ColumnRequest:
    """Which part of a column to read: around `anchor_deal` if it is still there, else `fallback_index`."""

    stage_id: int
    anchor_deal: int | None = None
    fallback_index: int = 0
    size: int = WINDOW


@dataclass(frozen=True)
class ColumnWindow:
    """A run of a column's cards starting at position `offset`; `anchor_index` is where the
    requested deal is now (None if it left the column or the filter)."""

    stage_id: int
    offset: int
    cards: tuple[DealCard, ...]
    anchor_index: int | None


@dataclass(frozen=True)
class Board:
    """What the board draws: the pipeline, every column's totals, and a window of each column."""

    query: BoardQuery
    currency: str
    totals: dict[int, ColumnTotals]
    windows: dict[int, ColumnWindow]
    read_only: frozenset[str] = frozenset()
    """The deal fields the reader may not change (their role's field limits): the quick form greys them."""

    @property
    def pipeline(self) -> PipelineInfo:
        """The pipeline shown."""
        return self.query.pipeline


def list_pipelines() -> list[PipelineInfo]:
    """All live pipelines with their live stages, in display order."""
    stages: dict[int, list[StageInfo]] = {}
    for stage in Stage.select().where(Stage.deleted_at.is_null()).order_by(Stage.pipeline, Stage.position, Stage.id):
        stages.setdefault(stage.pipeline_id, []).append(
            StageInfo(stage.id, stage.name, stage.position, stage.probability, stage.kind, stage.rot_days)
        )
    return [
        PipelineInfo(pipeline.id, pipeline.name, tuple(stages.get(pipeline.id, ())))
        for pipeline in Pipeline.select().where(Pipeline.deleted_at.is_null()).order_by(Pipeline.position, Pipeline.id)
    ]


def _live(query, board_query: BoardQuery):  # noqa: ANN001, ANN202
    query = query.where(Deal.deleted_at.is_null())
    extra = board_query.condition()
    return query if extra is None else query.where(extra)


def column_totals(query: BoardQuery, stage_ids: list[int] | None = None) -> dict[int, ColumnTotals]:
    """Count, total and weighted total of the columns (all, or `stage_ids`) in one aggregate query.

    Weighted = amount x probability / 100, using the deal's own probability where set, else the
    stage's.
    """
    plain = fn.SUM(Case(None, [(Deal.probability.is_null(), Deal.amount)], 0))
    overridden = fn.SUM(Deal.amount * fn.COALESCE(Deal.probability, 0))
    select = Deal.select(Deal.stage, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount), plain, overridden)
    select = _live(select.where(Deal.pipeline == query.pipeline.id), query)
    if stage_ids is not None:
        select = select.where(Deal.stage.in_(stage_ids))
    counts: dict[int, int] = {}
    totals: dict[int, dict[str, int]] = {}
    weighted: dict[int, dict[str, int]] = {}
    probability = {stage.id: stage.probability for stage in query.pipeline.stages}
    for stage_id, code, count, total, plain_sum, overridden_sum in select.group_by(Deal.stage, Deal.currency).tuples():
        counts[stage_id] = counts.get(stage_id, 0) + count
        totals.setdefault(stage_id, {})[code] = int(total or 0)
        weighted_sum = int(overridden_sum or 0) + int(plain_sum or 0) * probability.get(stage_id, 0)
        weighted.setdefault(stage_id, {})[code] = weighted_sum // 100
    wanted = stage_ids if stage_ids is not None else [stage.id for stage in query.pipeline.stages]
    return {sid: ColumnTotals(counts.get(sid, 0), totals.get(sid, {}), weighted.get(sid, {})) for sid in wanted}


_ORDER = (Deal.stage_entered_at.desc(), Deal.id.desc())
"""Newest arrival first: a deal just moved is at the top of its new column."""


def card_window(query: BoardQuery, stage_id: int, offset: int, limit: int = WINDOW) -> list[DealCard]:
    """Cards `offset` .. `offset + limit` of a column, in board order.

    The position is found on the index alone (an OFFSET over full rows would build and join every
    skipped row), then only the cards shown are read with their company and owner.
    """
    ids = _live(Deal.select(Deal.id).where(Deal.stage == stage_id), query).order_by(*_ORDER).limit(limit).offset(max(offset, 0))
    select = (
        Deal.select(
            Deal.id, Deal.version, Deal.stage, Deal.title, Company.name, User.name, Deal.amount, Deal.currency,
            Deal.expected_close, Deal.stage_entered_at, Deal.probability, Deal.confidence, Deal.closed_at,
        )  # fmt: skip
        .join(Company, JOIN.LEFT_OUTER, on=(Deal.company == Company.id))
        .join_from(Deal, User, JOIN.LEFT_OUTER, on=(Deal.owner == User.id))
        .where(Deal.id.in_(ids))
        .order_by(*_ORDER)
    )
    return _with_signals([DealCard(*row) for row in select.tuples()], query.now)


def _with_signals(cards: list[DealCard], now: datetime) -> list[DealCard]:
    """Add each card's tags and overdue task count (two small queries for the whole window)."""
    if not cards:
        return cards
    ids = [card.id for card in cards]
    tags: dict[int, list[str]] = {}
    for deal_id, name in (
        DealTag.select(DealTag.deal, Tag.name).join(Tag).where(DealTag.deal.in_(ids)).order_by(Tag.name).tuples()
    ):
        tags.setdefault(deal_id, []).append(name)
    overdue = dict(
        Task.select(Task.deal, fn.COUNT(Task.id))
        .where(Task.deal.in_(ids), Task.done == False, Task.due_at < now)  # noqa: E712
        .group_by(Task.deal)
        .tuples()
    )
    return [replace(card, tags=tuple(tags.get(card.id, ())), overdue_tasks=overdue.get(card.id, 0)) for card in cards]


def card_rank(query: BoardQuery, stage_id: int, deal_id: int) -> int | None:
    """Where `deal_id` stands in its column now (0 = top), or None if it is not in the column (or
    no longer matches the board's filter)."""
    deal = _live(Deal.select(Deal.id, Deal.stage_entered_at).where(Deal.id == deal_id, Deal.stage == stage_id), query).first()
    if deal is None:
        return None
    entered = deal.stage_entered_at
    before = Deal.select().where(
        Deal.stage == stage_id,
        (Deal.stage_entered_at > entered) | ((Deal.stage_entered_at == entered) & (Deal.id > deal_id)),
    )
    return _live(before, query).count()


def read_columns(query: BoardQuery, requests: list[ColumnRequest], totals: dict[int, ColumnTotals]) -> dict[int, ColumnWindow]:
    """Windows of several columns (whose `totals` are known), each around its anchor deal (where it
    is now) or its fallback index."""
    windows = {}
    for request in requests:
        count = totals[request.stage_id].count
        anchor = card_rank(query, request.stage_id, request.anchor_deal) if request.anchor_deal else None
        index = anchor if anchor is not None else min(request.fallback_index, max(count - 1, 0))
        offset = max(0, min(index - request.size // 3, count - request.size))
        cards = card_window(query, request.stage_id, offset, request.size)
        windows[request.stage_id] = ColumnWindow(request.stage_id, offset, tuple(cards), anchor)
    return windows


def load_board(
    pipeline_id: int | None = None,
    *,
    filter: BoardFilter = BoardFilter(),
    user_id: int | None = None,
    requests: dict[int, ColumnRequest] | None = None,
) -> Board | None:
    """The board of `pipeline_id` (default: the first pipeline), or None if there is no pipeline.

    `requests` says which window of each column to read (default: the top of each).
    """
    pipelines = list_pipelines()
    if not pipelines:
        return None
    pipeline = next((p for p in pipelines if p.id == pipeline_id), pipelines[0])
    query = BoardQuery(pipeline, filter, user_id)
    wanted = [(requests or {}).get(stage.id, ColumnRequest(stage.id)) for stage in pipeline.stages]
    totals = column_totals(query)
    read_only = permissions.current().read_only("deal")
    return Board(query, workspace_currency(), totals, read_columns(query, wanted, totals), read_only)


@dataclass(frozen=True)
class ColumnsUpdate:
    """Fresh totals and windows for some columns (after a move, an edit, or a change elsewhere),
    and the pipeline as it is now (None if it was archived): if someone changed its stages, the
    board must be rebuilt rather than refreshed."""

    totals: dict[int, ColumnTotals]
    windows: dict[int, ColumnWindow]
    pipeline: PipelineInfo | None = None


def refresh_columns(query: BoardQuery, requests: list[ColumnRequest], *, all_totals: bool = True) -> ColumnsUpdate:
    """Re-read the requested columns' windows, and the totals of every column (or only theirs)."""
    current = next((p for p in list_pipelines() if p.id == query.pipeline.id), None)
    if current != query.pipeline:
        return ColumnsUpdate({}, {}, current)
    stage_ids = [request.stage_id for request in requests]
    totals = column_totals(query, None if all_totals else stage_ids)
    return ColumnsUpdate(totals, read_columns(query, requests, totals), current)


def with_time(query: BoardQuery) -> BoardQuery:
    """The same query as of now (stale and overdue depend on the time)."""
    return replace(query, now=clock.now())


BOARD_PIPELINE = "board.pipeline"
BOARD_COLLAPSED = "board.collapse_closed"


def open_board(user_id: int | None) -> Board | None:
    """The board a user sees on opening the app: the pipeline they looked at last."""
    remembered = get_preference(user_id, BOARD_PIPELINE) if user_id is not None else None
    return load_board(remembered, user_id=user_id)


def move_and_read(
    ctx: Context,
    query: BoardQuery,
    deal_id: int,
    to_stage_id: int,
    *,
    from_stage_id: int,
    requests: list[ColumnRequest],
    lost_reason: str | None = None,
    restore_times: tuple[datetime, datetime | None] | None = None,
) -> ColumnsUpdate:
    """Move a deal (see deals.move_deal) and re-read the columns it touched, in one call: the board
    crosses to the database thread once per key press, not twice."""
    deals.move_deal(
        ctx, deal_id, to_stage_id, from_stage_id=from_stage_id, lost_reason=lost_reason, restore_times=restore_times
    )
    return refresh_columns(with_time(query), requests, all_totals=False)
