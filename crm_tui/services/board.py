"""What the pipeline board shows, read a page at a time: pipelines and stages, column totals from
one aggregate query, and pages of deal cards by keyset (never a whole table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from peewee import JOIN, Case, fn

from crm_tui.models import Company, Deal, Pipeline, Stage, User
from crm_tui.services.workspace_settings import currency as workspace_currency

PAGE_SIZE = 20


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
    """A pipeline and its stages in board order."""

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


@dataclass(frozen=True)
class CardPage:
    """A page of a column's cards, newest arrival first; `has_more` when the column goes on."""

    stage_id: int
    cards: tuple[DealCard, ...]
    has_more: bool

    @property
    def cursor(self) -> tuple[datetime, int] | None:
        """Where the next page starts."""
        if not self.cards:
            return None
        last = self.cards[-1]
        return (last.stage_entered_at, last.id)


@dataclass(frozen=True)
class Board:
    """Everything the board draws on open: the pipeline, every column's totals and first page."""

    pipeline: PipelineInfo
    currency: str
    totals: dict[int, ColumnTotals]
    pages: dict[int, CardPage]


def list_pipelines() -> list[PipelineInfo]:
    """All pipelines with their stages, in display order."""
    stages: dict[int, list[StageInfo]] = {}
    for stage in Stage.select().where(Stage.deleted_at.is_null()).order_by(Stage.pipeline, Stage.position, Stage.id):
        stages.setdefault(stage.pipeline_id, []).append(
            StageInfo(stage.id, stage.name, stage.position, stage.probability, stage.kind, stage.rot_days)
        )
    return [
        PipelineInfo(pipeline.id, pipeline.name, tuple(stages.get(pipeline.id, ())))
        for pipeline in Pipeline.select().where(Pipeline.deleted_at.is_null()).order_by(Pipeline.position, Pipeline.id)
    ]


def column_totals(pipeline: PipelineInfo) -> dict[int, ColumnTotals]:
    """Count, total and weighted total of every column in one aggregate query.

    Weighted = amount x probability / 100, using the deal's own probability where set, else the
    stage's.
    """
    plain = fn.SUM(Case(None, [(Deal.probability.is_null(), Deal.amount)], 0))
    overridden = fn.SUM(Deal.amount * fn.COALESCE(Deal.probability, 0))
    query = (
        Deal.select(
            Deal.stage, Deal.currency, fn.COUNT(Deal.id), fn.SUM(Deal.amount), plain, overridden
        )
        .where(Deal.pipeline == pipeline.id, Deal.deleted_at.is_null())
        .group_by(Deal.stage, Deal.currency)
        .tuples()
    )
    counts: dict[int, int] = {}
    totals: dict[int, dict[str, int]] = {}
    weighted: dict[int, dict[str, int]] = {}
    probability = {stage.id: stage.probability for stage in pipeline.stages}
    for stage_id, code, count, total, plain_sum, overridden_sum in query:
        counts[stage_id] = counts.get(stage_id, 0) + count
        totals.setdefault(stage_id, {})[code] = int(total or 0)
        weighted_sum = int(overridden_sum or 0) + int(plain_sum or 0) * probability.get(stage_id, 0)
        weighted.setdefault(stage_id, {})[code] = weighted_sum // 100
    return {
        stage.id: ColumnTotals(counts.get(stage.id, 0), totals.get(stage.id, {}), weighted.get(stage.id, {}))
        for stage in pipeline.stages
    }


def card_page(stage_id: int, *, after: tuple[datetime, int] | None = None, limit: int = PAGE_SIZE) -> CardPage:
    """Up to `limit` cards of a column, newest arrival first, starting after the `after` cursor."""
    query = (
        Deal.select(
            Deal.id,
            Deal.version,
            Deal.stage,
            Deal.title,
            Company.name,
            User.name,
            Deal.amount,
            Deal.currency,
            Deal.expected_close,
            Deal.stage_entered_at,
        )
        .join(Company, JOIN.LEFT_OUTER, on=(Deal.company == Company.id))
        .join_from(Deal, User, JOIN.LEFT_OUTER, on=(Deal.owner == User.id))
        .where(Deal.stage == stage_id, Deal.deleted_at.is_null())
        .order_by(Deal.stage_entered_at.desc(), Deal.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        entered, last_id = after
        query = query.where(
            (Deal.stage_entered_at < entered) | ((Deal.stage_entered_at == entered) & (Deal.id < last_id))
        )
    rows = [DealCard(*row) for row in query.tuples()]
    return CardPage(stage_id, tuple(rows[:limit]), has_more=len(rows) > limit)


def load_board(pipeline_id: int | None = None, *, page_size: int = PAGE_SIZE) -> Board | None:
    """The board of `pipeline_id` (default: the first pipeline), or None if there is no pipeline."""
    pipelines = list_pipelines()
    if not pipelines:
        return None
    pipeline = next((p for p in pipelines if p.id == pipeline_id), pipelines[0])
    return Board(
        pipeline=pipeline,
        currency=workspace_currency(),
        totals=column_totals(pipeline),
        pages={stage.id: card_page(stage.id, limit=page_size) for stage in pipeline.stages},
    )


def locate_card(stage_id: int, deal_id: int, *, page_size: int = PAGE_SIZE) -> CardPage:
    """The first page(s) of a column up to and including `deal_id` (so a moved card can keep focus)."""
    cards: list[DealCard] = []
    after: tuple[datetime, int] | None = None
    while True:
        page = card_page(stage_id, after=after, limit=page_size)
        cards.extend(page.cards)
        if any(card.id == deal_id for card in page.cards) or not page.has_more:
            return CardPage(stage_id, tuple(cards), page.has_more)
        after = page.cursor


@dataclass(frozen=True)
class ColumnsUpdate:
    """Fresh totals for every column and fresh first pages for some of them."""

    totals: dict[int, ColumnTotals]
    pages: dict[int, CardPage]


def refresh_columns(
    pipeline: PipelineInfo, stage_ids: list[int], *, focus: tuple[int, int] | None = None, page_size: int = PAGE_SIZE
) -> ColumnsUpdate:
    """Re-read the totals and the first page of `stage_ids`; `focus` (stage id, deal id) makes sure
    that deal's column is read far enough to include it."""
    pages = {}
    for stage_id in dict.fromkeys(stage_ids):
        if focus is not None and focus[0] == stage_id:
            pages[stage_id] = locate_card(stage_id, focus[1], page_size=page_size)
        else:
            pages[stage_id] = card_page(stage_id, limit=page_size)
    return ColumnsUpdate(column_totals(pipeline), pages)
