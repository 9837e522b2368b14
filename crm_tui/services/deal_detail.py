"""Everything about one deal for its detail panel: fields, related records, history, notes, tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from peewee import JOIN

from crm_tui.models import Company, Contact, Deal, DealTag, Note, Pipeline, Stage, StageChange, Tag, Task, User
from crm_tui.services.errors import NotFound

FromStage = Stage.alias()
Author = User.alias()


@dataclass(frozen=True)
class HistoryEntry:
    """One stage move."""

    at: datetime
    from_stage: str | None
    to_stage: str
    by: str | None


@dataclass(frozen=True)
class NoteEntry:
    """One note."""

    at: datetime
    author: str | None
    body: str


@dataclass(frozen=True)
class TaskEntry:
    """One open task."""

    due_at: datetime | None
    title: str
    assignee: str | None


@dataclass(frozen=True)
class DealDetail:
    """A deal as its detail panel shows it."""

    id: int
    version: int
    title: str
    pipeline: str
    stage: str
    stage_kind: str
    amount: int
    cost: int | None
    currency: str
    probability: int | None
    stage_probability: int
    confidence: int | None
    expected_close: date | None
    source: str | None
    lost_reason: str | None
    company: str | None
    contact: str | None
    owner: str | None
    owner_id: int | None
    created_at: datetime
    stage_entered_at: datetime
    closed_at: datetime | None
    tags: tuple[str, ...]
    history: tuple[HistoryEntry, ...]
    notes: tuple[NoteEntry, ...]
    tasks: tuple[TaskEntry, ...]


def deal_detail(deal_id: int, *, notes: int = 5, tasks: int = 5) -> DealDetail:
    """The deal with its related names, whole stage history, latest notes and open tasks."""
    deal = Deal.get_or_none(Deal.id == deal_id, Deal.deleted_at.is_null())
    if deal is None:
        raise NotFound("Deal", deal_id)
    company = Company.get_or_none(Company.id == deal.company_id) if deal.company_id else None
    contact = Contact.get_or_none(Contact.id == deal.contact_id) if deal.contact_id else None
    owner = User.get_or_none(User.id == deal.owner_id) if deal.owner_id else None
    stage = Stage.get_by_id(deal.stage_id)
    history = (
        StageChange.select(StageChange.at, FromStage.name, Stage.name, User.name)
        .join(Stage, on=(StageChange.to_stage == Stage.id))
        .join_from(StageChange, FromStage, JOIN.LEFT_OUTER, on=(StageChange.from_stage == FromStage.id))
        .join_from(StageChange, User, JOIN.LEFT_OUTER, on=(StageChange.user == User.id))
        .where(StageChange.deal == deal_id)
        .order_by(StageChange.at, StageChange.id)
        .tuples()
    )
    note_rows = (
        Note.select(Note.created_at, Author.name, Note.body)
        .join(Author, JOIN.LEFT_OUTER, on=(Note.author == Author.id))
        .where(Note.deal == deal_id)
        .order_by(Note.created_at.desc())
        .limit(notes)
        .tuples()
    )
    task_rows = (
        Task.select(Task.due_at, Task.title, User.name)
        .join(User, JOIN.LEFT_OUTER, on=(Task.assignee == User.id))
        .where(Task.deal == deal_id, Task.done == False)  # noqa: E712
        .order_by(Task.due_at)
        .limit(tasks)
        .tuples()
    )
    tag_names = DealTag.select(Tag.name).join(Tag).where(DealTag.deal == deal_id).order_by(Tag.name).tuples()
    contact_name = " ".join(part for part in (contact.first_name, contact.last_name) if part) if contact else None
    return DealDetail(
        id=deal.id, version=deal.version, title=deal.title, pipeline=Pipeline.get_by_id(deal.pipeline_id).name,
        stage=stage.name, stage_kind=stage.kind, amount=deal.amount, cost=deal.cost, currency=deal.currency,
        probability=deal.probability, stage_probability=stage.probability, confidence=deal.confidence,
        expected_close=deal.expected_close, source=deal.source, lost_reason=deal.lost_reason,
        company=company.name if company else None, contact=contact_name, owner=owner.name if owner else None,
        owner_id=deal.owner_id, created_at=deal.created_at, stage_entered_at=deal.stage_entered_at,
        closed_at=deal.closed_at, tags=tuple(name for (name,) in tag_names),
        history=tuple(HistoryEntry(*row) for row in history), notes=tuple(NoteEntry(*row) for row in note_rows),
        tasks=tuple(TaskEntry(*row) for row in task_rows),
    )  # fmt: skip
