"""The dashboard's people side: the latest things that happened (from the event log) as readable
lines, and a user's open tasks split into overdue, due today and upcoming."""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce

from peewee import JOIN, Case, fn

from crm_tui import clock
from crm_tui.models import Deal, Event, Stage, Task, User
from crm_tui.services.report_sql import as_int, next_day, on_deleted_deals

_NOTE_PREVIEW = 80
"""Characters of a note shown in the feed."""


@dataclass(frozen=True)
class FeedItem:
    """One line of the activity feed. `text` holds record text as users typed it: show it with
    `Content(text)` / `markup=False`, never as markup. `entity` / `record_id` is what enter opens."""

    event_id: int
    at: datetime
    who: str | None
    kind: str
    """created, moved, won, lost, closed, reopened, note, call, email, task_done or converted."""
    entity: str
    record_id: int
    text: str


_FEED_KINDS = (
    (Event.kind == "record.created") & Event.entity.in_(["deal", "note"]),
    Event.kind == "deal.stage_changed",
    (Event.kind == "lead.converted") & (Event.entity == "lead"),
    (Event.kind == "record.updated") & (Event.entity == "task") & (Event.field == "done") & (Event.new == "true"),
)
"""The events the feed shows, one condition per event kind (each served by the (kind, id) index)."""


def activity_feed(limit: int = 30, *, user_id: int | None = None) -> list[FeedItem]:
    """The newest `limit` events worth a line on the dashboard (deals created, moved, won and lost,
    notes, calls and emails logged, tasks completed, leads converted), newest first (in the log's
    order), optionally only those by `user_id`. One query reads the events; two small ones name
    their deals and tasks."""
    # The newest `limit` of each kind, each read backwards on the (kind, id) index, then the newest
    # `limit` of those: an OR of the kinds made SQLite gather every such event and sort them all.
    newest = []
    for condition in _FEED_KINDS:
        ids = Event.select(Event.id).where(condition)
        if user_id is not None:
            ids = ids.where(Event.user == user_id)
        newest.append(Event.id.in_(ids.order_by(Event.id.desc()).limit(limit)))
    query = (
        Event.select(Event.id, Event.at, Event.kind, Event.entity, Event.record_id, Event.old, Event.new, User.name)
        .join(User, JOIN.LEFT_OUTER, on=(Event.user == User.id))
        .where(reduce(operator.or_, newest))
        .order_by(Event.id.desc())
        .limit(limit)
    )
    events = list(query.tuples())
    notes = {row[0]: _decode(row[6]) for row in events if row[3] == "note"}
    deal_ids = {row[4] for row in events if row[3] == "deal"} | {
        data["deal_id"] for data in notes.values() if isinstance(data, dict) and data.get("deal_id")
    }
    # Names as they are now (a renamed deal shows its new name); empty id lists match nothing.
    titles = dict(Deal.select(Deal.id, Deal.title).where(Deal.id.in_(sorted(deal_ids))).tuples())
    task_ids = [row[4] for row in events if row[3] == "task"]
    task_rows = (
        Task.select(Task.id, Task.title, Task.deal, Deal.title)
        .join(Deal, JOIN.LEFT_OUTER, on=(Task.deal == Deal.id))
        .where(Task.id.in_(task_ids))
        .tuples()
    )
    tasks = {task_id: (title, deal_id, deal_title) for task_id, title, deal_id, deal_title in task_rows}
    stages = {sid: (name, kind) for sid, name, kind in Stage.select(Stage.id, Stage.name, Stage.kind).tuples()}
    items = []
    for event_id, at, kind, entity, record_id, old, new, who in events:
        at = Event.at.python_value(at)
        item = _describe(kind, entity, record_id, _decode(old), _decode(new), titles, tasks, stages)
        if item is not None:
            items.append(FeedItem(event_id, at, who, item[0], item[1], item[2], item[3]))
    return items


def _decode(text: str | None) -> object:
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return text


def _describe(
    kind: str,
    entity: str,
    record_id: int,
    old: object,
    new: object,
    titles: dict[int, str],
    tasks: dict[int, tuple[str, int | None, str | None]],
    stages: dict[int, tuple[str, str]],
) -> tuple[str, str, int, str] | None:
    """(kind, entity, record id, text) of one event, or None if it is not worth a line."""
    data = new if isinstance(new, dict) else {}
    if kind == "record.created" and entity == "deal":
        return "created", "deal", record_id, f"created deal {titles.get(record_id) or data.get('title') or '?'}"
    if kind == "deal.stage_changed":
        title = titles.get(record_id, "?")
        from_name, from_kind = stages.get(old, ("—", "open")) if isinstance(old, int) else ("—", "open")
        to_name, to_kind = stages.get(new, ("?", "open")) if isinstance(new, int) else ("?", "open")
        if to_kind in ("won", "lost"):
            return to_kind, "deal", record_id, f"{to_kind} {title}"
        if to_kind == "closed":
            return "closed", "deal", record_id, f"closed {title} as {to_name}"
        if from_kind != "open":
            return "reopened", "deal", record_id, f"reopened {title} in {to_name}"
        return "moved", "deal", record_id, f"moved {title}: {from_name} → {to_name}"
    if kind == "record.created" and entity == "note":
        body = str(data.get("body") or "")
        note_kind = "call" if body.startswith("Call: ") else "email" if body.startswith("Email: ") else "note"
        preview = " ".join(body.removeprefix("Call: ").removeprefix("Email: ").split())
        if len(preview) > _NOTE_PREVIEW:
            preview = preview[: _NOTE_PREVIEW - 1] + "…"
        preview = f": {preview}" if preview else ""  # the demo generator logs notes without their body
        deal_id = data.get("deal_id")
        if deal_id:
            return note_kind, "deal", deal_id, f"{note_kind} on {titles.get(deal_id, '?')}{preview}"
        for parent in ("company", "contact", "lead"):
            if data.get(f"{parent}_id"):
                return note_kind, parent, data[f"{parent}_id"], f"{note_kind}{preview}"
        return note_kind, "note", record_id, f"{note_kind}{preview}"
    if kind == "record.updated" and entity == "task":
        title, deal_id, deal_title = tasks.get(record_id, ("?", None, None))
        if deal_id:
            return "task_done", "deal", deal_id, f"completed {title} ({deal_title})"
        return "task_done", "task", record_id, f"completed {title}"
    if kind == "lead.converted":
        return "converted", "lead", record_id, f"converted lead {data.get('lead_name') or '?'}"
    return None


@dataclass(frozen=True)
class TaskItem:
    """An open task in a user's list."""

    id: int
    title: str
    due_at: datetime
    deal_id: int | None
    deal_title: str | None


@dataclass(frozen=True)
class MyTasks:
    """A user's open tasks with a due time: the first `limit` of each group and each group's size."""

    overdue: list[TaskItem] = field(default_factory=list)
    today: list[TaskItem] = field(default_factory=list)
    upcoming: list[TaskItem] = field(default_factory=list)
    overdue_count: int = 0
    today_count: int = 0
    upcoming_count: int = 0


def my_tasks(user_id: int, *, limit: int = 10, now: datetime | None = None, day_end: datetime | None = None) -> MyTasks:
    """The open tasks assigned to `user_id`, in one query: overdue (due before now, oldest first),
    due today (from now to `day_end`) and upcoming (from `day_end`), each sorted by due time and cut
    at `limit`, with the full counts. `day_end` is the end of the user's today in UTC (default: the
    next UTC midnight); the caller passes it to follow the user's time zone. Tasks without a due
    time and tasks on deleted deals are left out."""
    now = now or clock.now()
    day_end = day_end or next_day(now)
    mine = [Task.assignee == user_id, Task.done == False, Task.due_at.is_null(False)]
    ranges = [Task.due_at < now, (Task.due_at >= now) & (Task.due_at < day_end), Task.due_at >= day_end]
    groups: list[list[TaskItem]] = []
    for due in ranges:
        # Each group's first tasks from the (assignee, done, due_at) index, stopping at `limit`.
        first = (
            Task.select(Task.id, Task.title, Task.due_at, Task.deal, Deal.title)
            .join(Deal, JOIN.LEFT_OUTER, on=(Task.deal == Deal.id))
            .where(*mine, due, Task.deal.is_null() | Deal.deleted_at.is_null())
            .order_by(Task.due_at, Task.id)
            .limit(limit)
        )
        groups.append(
            [
                TaskItem(task_id, title, Task.due_at.python_value(due_at), deal_id, deal_title)
                for task_id, title, due_at, deal_id, deal_title in first.tuples()
            ]
        )
    # The counts from the index alone, less the tasks on deleted deals (see on_deleted_deals).
    sums = [fn.SUM(Case(None, [(due, 1)], 0)) for due in ranges]
    every = Task.select(*sums).where(*mine).tuples().first() or (0, 0, 0)
    hidden = on_deleted_deals(*sums).where(*mine).tuples().first() or (0, 0, 0)
    counts = [as_int(total) - as_int(gone) for total, gone in zip(every, hidden, strict=True)]
    return MyTasks(groups[0], groups[1], groups[2], counts[0], counts[1], counts[2])
