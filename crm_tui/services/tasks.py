"""Tasks and the agenda: a user's (or everyone's) tasks split into overdue, today, upcoming and
done; completing, reopening, snoozing and adding them; and the appointments of the coming days.

Days are UTC days, like every stored time. Each section is read by its own query on the task
indexes ((assignee, done, due_at) for one user, (done, due_at) for everyone) and cut at a limit, so
the screen never loads all tasks. Every write goes through `records`, so it is validated, versioned,
logged and published like any other change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from peewee import JOIN, ModelSelect

from crm_tui.models import Appointment, AppointmentAttendee, Company, Contact, Deal, Lead, Task, User
from crm_tui.services import records
from crm_tui.services.context import Context
from crm_tui.services.entities import spec_for
from crm_tui.services.records import Snapshot
from crm_tui.services.unit import write

AGENDA_LIMIT = 500
"""Appointments read at most for one agenda (a week of a busy team is far fewer)."""


@dataclass(frozen=True)
class LinkedRecord:
    """The record a task or appointment belongs to, as the screen opens it."""

    entity: str
    """deal, lead, contact or company."""
    id: int
    title: str
    """Record text as typed: show it with `Content(safe_text(title))`, never as markup."""


@dataclass(frozen=True)
class TaskRow:
    """One task in a section. `version` is what complete / reopen / snooze pass back."""

    id: int
    version: int
    title: str
    due_at: datetime | None
    done: bool
    done_at: datetime | None
    assignee_id: int | None
    assignee: str | None
    record: LinkedRecord | None


@dataclass(frozen=True)
class TaskSection:
    """The first tasks of one section, and whether more were left out."""

    key: str
    """overdue, today, upcoming or done."""
    label: str
    tasks: list[TaskRow] = field(default_factory=list)
    more: bool = False


@dataclass(frozen=True)
class TaskSections:
    """Overdue, today, upcoming and done, in the order the screen shows them."""

    overdue: TaskSection
    today: TaskSection
    upcoming: TaskSection
    done: TaskSection

    def __iter__(self) -> Iterator[TaskSection]:
        """The four sections in screen order."""
        return iter((self.overdue, self.today, self.upcoming, self.done))


@dataclass(frozen=True)
class AgendaItem:
    """One appointment on the agenda."""

    id: int
    starts_at: datetime
    ends_at: datetime
    title: str
    location: str | None
    record: LinkedRecord | None


@dataclass(frozen=True)
class AgendaDay:
    """One day of the agenda and its appointments by start time (possibly none)."""

    day: date
    appointments: list[AgendaItem] = field(default_factory=list)
    cut: bool = False
    """More appointments start after the last one listed (AGENDA_LIMIT was reached): the days after
    this one are not complete."""


# -- reading -------------------------------------------------------------------------------------
def _link_columns(model: Any) -> list[Any]:
    return [
        model.deal, Deal.title,
        model.lead, Lead.first_name, Lead.last_name, Lead.company_name, Lead.deleted_at,
        model.contact, Contact.first_name, Contact.last_name, Contact.deleted_at,
        model.company, Company.name, Company.deleted_at,
    ]  # fmt: skip


def _with_links(query: ModelSelect, model: Any) -> ModelSelect:
    """Join the linked records and leave out rows on deleted deals."""
    return (
        query.join_from(model, Deal, JOIN.LEFT_OUTER, on=(model.deal == Deal.id))
        .join_from(model, Lead, JOIN.LEFT_OUTER, on=(model.lead == Lead.id))
        .join_from(model, Contact, JOIN.LEFT_OUTER, on=(model.contact == Contact.id))
        .join_from(model, Company, JOIN.LEFT_OUTER, on=(model.company == Company.id))
        .where(model.deal.is_null() | Deal.deleted_at.is_null())
    )


def _linked(values: tuple[Any, ...]) -> LinkedRecord | None:
    """The preferred live link of a row's link columns (deal, then lead, contact, company)."""
    deal_id, deal_title, lead_id, l_first, l_last, l_company, l_deleted = values[:7]
    contact_id, c_first, c_last, c_deleted, company_id, company_name, co_deleted = values[7:]
    candidates = (
        ("deal", deal_id, {"title": deal_title}, None),
        ("lead", lead_id, {"first_name": l_first, "last_name": l_last, "company_name": l_company}, l_deleted),
        ("contact", contact_id, {"first_name": c_first, "last_name": c_last}, c_deleted),
        ("company", company_id, {"name": company_name}, co_deleted),
    )
    for entity, record_id, names, deleted_at in candidates:
        # A deleted lead, contact or company cannot be opened: fall back to the next link.
        if record_id is not None and deleted_at is None:
            return LinkedRecord(entity, record_id, spec_for(entity).title({**names, "id": record_id}))
    return None


def _task_query(user_id: int | None) -> ModelSelect:
    query = Task.select(
        Task.id, Task.version, Task.title, Task.due_at, Task.done, Task.done_at, Task.assignee, User.name,
        *_link_columns(Task),
    ).join_from(Task, User, JOIN.LEFT_OUTER, on=(Task.assignee == User.id))  # fmt: skip
    query = _with_links(query, Task)
    return query if user_id is None else query.where(Task.assignee == user_id)


def _rows(query: ModelSelect) -> list[TaskRow]:
    return [
        TaskRow(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7], _linked(row[8:]))
        for row in query.tuples()
    ]


def _section(key: str, label: str, rows: list[TaskRow], limit: int) -> TaskSection:
    """Rows were read with limit + 1: the extra one only says that there are more."""
    return TaskSection(key, label, rows[:limit], len(rows) > limit)


def task_sections(user_id: int | None, *, now: datetime, done_limit: int = 50, limit: int = 200) -> TaskSections:
    """The tasks assigned to `user_id` (everyone's with None): overdue (open, due before `now`,
    oldest first), today (open, due from `now` to the next UTC midnight), upcoming (open, due later,
    then those without a due time) and done (most recently done first). Each open section holds at
    most `limit` tasks, done at most `done_limit`. Tasks on deleted deals are left out."""
    day_end = datetime.combine(now.date() + timedelta(days=1), time())
    open_tasks = _task_query(user_id).where(Task.done == False)
    by_due = (Task.due_at, Task.id)
    overdue = _rows(open_tasks.where(Task.due_at < now).order_by(*by_due).limit(limit + 1))
    today = _rows(open_tasks.where(Task.due_at >= now, Task.due_at < day_end).order_by(*by_due).limit(limit + 1))
    upcoming = _rows(open_tasks.where(Task.due_at >= day_end).order_by(*by_due).limit(limit + 1))
    if len(upcoming) <= limit:
        # Tasks without a due time come after every dated one, oldest first.
        undated = open_tasks.where(Task.due_at.is_null()).order_by(Task.id).limit(limit + 1 - len(upcoming))
        upcoming += _rows(undated)
    # Pick the ids first with only the deal join the filter needs, then read those rows: on
    # PostgreSQL the (done, done_at) index cannot serve DESC NULLS LAST, so the done tasks are
    # sorted, and sorting bare ids was 4x faster than sorting the fully joined rows.
    latest = (Task.done_at.desc(nulls="LAST"), Task.id.desc())
    done_ids = (
        Task.select(Task.id)
        .join(Deal, JOIN.LEFT_OUTER, on=(Task.deal == Deal.id))
        .where(Task.done == True, Task.deal.is_null() | Deal.deleted_at.is_null())
        .order_by(*latest)
        .limit(done_limit + 1)
    )
    if user_id is not None:
        done_ids = done_ids.where(Task.assignee == user_id)
    done = _rows(_task_query(user_id).where(Task.id.in_(done_ids)).order_by(*latest))
    return TaskSections(
        _section("overdue", "Overdue", overdue, limit),
        _section("today", "Today", today, limit),
        _section("upcoming", "Upcoming", upcoming, limit),
        _section("done", "Done", done, done_limit),
    )


def agenda(user_id: int | None, start: date, days: int) -> list[AgendaDay]:
    """The appointments starting on `days` days from `start` (UTC days), one AgendaDay per day even
    when it has none, each by start time. With `user_id`, only those the user owns or attends.
    Appointments on deleted deals are left out; at most AGENDA_LIMIT are read."""
    first = datetime.combine(start, time())
    after = first + timedelta(days=days)
    query = _with_links(
        Appointment.select(
            Appointment.id, Appointment.starts_at, Appointment.ends_at, Appointment.title, Appointment.location,
            *_link_columns(Appointment),
        ),
        Appointment,
    ).where(Appointment.starts_at >= first, Appointment.starts_at < after)  # fmt: skip
    if user_id is not None:
        attending = AppointmentAttendee.select(AppointmentAttendee.appointment).where(
            AppointmentAttendee.user == user_id
        )
        query = query.where((Appointment.owner == user_id) | Appointment.id.in_(attending))
    rows = list(query.order_by(Appointment.starts_at, Appointment.id).limit(AGENDA_LIMIT + 1).tuples())
    agenda_days = [AgendaDay(start + timedelta(days=offset)) for offset in range(days)]
    for row in rows[:AGENDA_LIMIT]:
        item = AgendaItem(row[0], row[1], row[2], row[3], row[4], _linked(row[5:]))
        agenda_days[(item.starts_at.date() - start).days].appointments.append(item)
    if len(rows) > AGENDA_LIMIT:
        last = (rows[AGENDA_LIMIT - 1][1].date() - start).days
        agenda_days[last] = replace(agenda_days[last], cut=True)
    return agenda_days


# -- writing -------------------------------------------------------------------------------------
def _set_done(ctx: Context, task_id: int, version: int, done: bool) -> Snapshot:
    with write(ctx) as tx:
        saved = records.update(ctx, "task", task_id, {"done": done}, version=version)
        if saved.version == version:  # it already was in that state: nothing changed
            return saved
        # TaskIn has no done_at (users do not type it), so it is set here, in the same
        # transaction, with its own event-log row.
        done_at = tx.now if done else None
        Task.update(done_at=done_at).where(Task.id == task_id).execute()
        tx.log("record.updated", "task", task_id, field="done_at", old=saved.values.get("done_at"), new=done_at)
    return records.get("task", task_id)


def complete(ctx: Context, task_id: int, *, version: int) -> Snapshot:
    """Mark the task the caller read at `version` done now (ConflictError if it changed since)."""
    return _set_done(ctx, task_id, version, True)


def reopen(ctx: Context, task_id: int, *, version: int) -> Snapshot:
    """Mark a done task open again (ConflictError if it changed since the caller read it)."""
    return _set_done(ctx, task_id, version, False)


def snooze_choices(now: datetime) -> list[tuple[str, datetime]]:
    """What a task can be snoozed to: in an hour, tomorrow at 9:00, next Monday at 9:00 (UTC)."""
    nine = time(9, 0)
    in_an_hour = now.replace(second=0, microsecond=0) + timedelta(hours=1)
    monday = now.date() + timedelta(days=7 - now.weekday())  # Monday's "next week" is in 7 days
    return [
        ("+1 hour", in_an_hour),
        ("tomorrow 9:00", datetime.combine(now.date() + timedelta(days=1), nine)),
        ("next week (Monday 9:00)", datetime.combine(monday, nine)),
    ]


def default_due(now: datetime) -> datetime:
    """When a new task is due unless told otherwise: tomorrow at 9:00."""
    return datetime.combine(now.date() + timedelta(days=1), time(9, 0))


def snooze(ctx: Context, task_id: int, *, version: int, until: datetime) -> Snapshot:
    """Move the task's due time to `until` (ConflictError if it changed since the caller read it).
    Its reminders follow the new due time."""
    return records.update(ctx, "task", task_id, {"due_at": until}, version=version)


def create_task(
    ctx: Context,
    title: str,
    due_at: datetime | None,
    assignee_id: int | None,
    *,
    details: str | None = None,
    reminders: list[int] | None = None,
    deal_id: int | None = None,
    lead_id: int | None = None,
    contact_id: int | None = None,
    company_id: int | None = None,
) -> Snapshot:
    """Add a task, created by the acting user, optionally linked to records; returns it as stored."""
    data: dict[str, Any] = {
        "title": title, "details": details, "due_at": due_at, "reminders": list(reminders or []),
        "assignee_id": assignee_id, "created_by_id": ctx.user_id,
        "deal_id": deal_id, "lead_id": lead_id, "contact_id": contact_id, "company_id": company_id,
    }  # fmt: skip
    return records.create(ctx, "task", data)
