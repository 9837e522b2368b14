"""In-app notifications: sending them (automations, reminders), the unread count, the list a user
reads, marking them read, and firing task reminders.

A notification is addressed to one user. One carrying a `key` exists at most once per user (the
unique (user, key) index), which makes a reminder fire once however many processes check it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import fn

from crm_tui import clock
from crm_tui.models import Notification, Task
from crm_tui.services.context import Context
from crm_tui.services.entities import spec_for
from crm_tui.services.unit import write

REMINDER_OFFSETS = (10080, 1440, 60, 30, 15, 5, 0)
"""The reminder offsets a task can have, in minutes before its due time (1 week ... at due time)."""
STALE_REMINDER = timedelta(days=1)
"""A reminder whose moment passed longer ago than this (the app was closed) is not sent late."""
CREATED_KIND = "notification.created"
"""The event-log kind `send` writes: a session polling the log looks for new notifications only when
one of these arrives."""
RECORD_ENTITIES = ("deal", "lead", "contact", "company")
"""The record types a notification can open, and the order a task's links are tried in (the most
specific first)."""


@dataclass(frozen=True)
class NotificationItem:
    """One notification as the notification centre lists it."""

    id: int
    created_at: datetime
    title: str
    body: str | None
    entity: str | None
    record_id: int | None
    read: bool


def send(
    ctx: Context,
    user_ids: Iterable[int | None],
    title: str,
    *,
    body: str | None = None,
    entity: str | None = None,
    record_id: int | None = None,
    event_id: int | None = None,
    key: str | None = None,
) -> int:
    """Notify each of `user_ids` (None and repeats skipped); returns how many were stored.

    Joins the caller's transaction if there is one. With a `key`, a user who already has a
    notification with that key does not get another.
    """
    users = list(dict.fromkeys(uid for uid in user_ids if uid is not None))
    if not users:
        return 0
    stored = 0
    with write(ctx) as tx:
        for user_id in users:
            query = Notification.insert(
                user=user_id,
                created_at=tx.now,
                title=title[:250],
                body=body,
                entity=entity,
                record_id=record_id,
                event=event_id,
                key=key,
            )
            if key is None:
                new_id = query.execute()
            else:
                # The (user, key) index keeps one: a user who has it (sent here before, or by another
                # process a moment ago) gets nothing, and nothing is counted.
                if not query.on_conflict_ignore().as_rowcount().execute():
                    continue
                new_id = Notification.select(Notification.id).where(Notification.user == user_id, Notification.key == key).scalar()
            stored += 1
            tx.log(CREATED_KIND, "notification", new_id, new={"user_id": user_id})
    return stored


def unread_count(user_id: int) -> int:
    """How many notifications `user_id` has not read."""
    return Notification.select().where(Notification.user == user_id, Notification.read_at.is_null()).count()


def listing(user_id: int, *, unread_only: bool = False, limit: int = 200) -> list[NotificationItem]:
    """`user_id`'s notifications, newest first."""
    query = Notification.select().where(Notification.user == user_id).order_by(Notification.id.desc()).limit(limit)
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    return [
        NotificationItem(row.id, row.created_at, row.title, row.body, row.entity, row.record_id, row.read_at is not None)
        for row in query
    ]


def newer_than(user_id: int, last_id: int) -> list[NotificationItem]:
    """`user_id`'s unread notifications with an id above `last_id`, oldest first (for toasts)."""
    query = (
        Notification.select()
        .where(Notification.user == user_id, Notification.read_at.is_null(), Notification.id > last_id)
        .order_by(Notification.id)
        .limit(50)
    )
    return [NotificationItem(row.id, row.created_at, row.title, row.body, row.entity, row.record_id, False) for row in query]


def latest_id(user_id: int) -> int:
    """The id of `user_id`'s newest notification (0 if none)."""
    return Notification.select(fn.MAX(Notification.id)).where(Notification.user == user_id).scalar() or 0


def record_to_open(entity: str | None, record_id: int | None) -> tuple[str, int] | None:
    """The record a notification about (entity, record_id) opens: the record itself for a company,
    contact, lead or deal; for a task, the record it belongs to (deal, then lead, contact, company).
    None when there is none, or it has been deleted."""
    if entity is None or record_id is None:
        return None
    if entity == "task":
        task = Task.get_or_none(Task.id == record_id)
        if task is None:
            return None
        links = [(kind, getattr(task, f"{kind}_id")) for kind in RECORD_ENTITIES]
        return next(((kind, link) for kind, link in links if link is not None and _alive(kind, link)), None)
    if entity in RECORD_ENTITIES and _alive(entity, record_id):
        return (entity, record_id)
    return None


def _alive(entity: str, record_id: int) -> bool:
    spec = spec_for(entity)
    query = spec.model.select().where(spec.model.id == record_id)
    if spec.soft_delete:
        query = query.where(spec.model.deleted_at.is_null())
    return query.exists()


def mark_read(ctx: Context, ids: Iterable[int], *, read: bool = True) -> int:
    """Mark the acting user's notifications `ids` read (or unread again); returns how many changed."""
    ids = list(ids)
    if not ids:
        return 0
    with write(ctx) as tx:
        query = Notification.update(read_at=tx.now if read else None).where(
            Notification.id.in_(ids), Notification.user == ctx.user_id
        )
        query = query.where(Notification.read_at.is_null() if read else Notification.read_at.is_null(False))
        return query.execute()


def mark_all_read(ctx: Context) -> int:
    """Mark every unread notification of the acting user read."""
    with write(ctx) as tx:
        return (
            Notification.update(read_at=tx.now)
            .where(Notification.user == ctx.user_id, Notification.read_at.is_null())
            .execute()
        )


def fire_reminders(ctx: Context, now: datetime | None = None) -> int:
    """Send every task reminder whose moment (due time minus its offset) has come, once each.

    The reminder goes to the task's assignee, else to whoever created the task. A reminder whose
    moment passed more than STALE_REMINDER ago is skipped, not sent late; the key (task, offset,
    due time) makes each fire once, and again after the task is rescheduled. When several of a
    task's moments passed while the app was closed, only the latest is sent, saying how far the due
    time is from now: one "due in 20 minutes", not also "due in 1 day" and "due in 1 hour".
    """
    now = now or clock.now()
    horizon = now + timedelta(minutes=max(REMINDER_OFFSETS))
    tasks = Task.select(Task.id, Task.title, Task.due_at, Task.reminders, Task.assignee, Task.created_by).where(
        Task.done == False, Task.due_at.is_null(False), Task.due_at > now - STALE_REMINDER, Task.due_at <= horizon
    )
    sent = 0
    for task in tasks:
        passed = [m for m in _offsets(task.reminders) if now - STALE_REMINDER < task.due_at - timedelta(minutes=m) <= now]
        if not passed:
            continue
        minutes = min(passed)  # the latest moment; earlier ones are old news
        sent += send(
            ctx,
            [task.assignee_id or task.created_by_id],
            f"Reminder: {task.title} {_due_text(task.due_at, minutes, now)}",
            body=f"Due {task.due_at:%Y-%m-%d %H:%M} UTC",
            entity="task",
            record_id=task.id,
            key=f"reminder:{task.id}:{minutes}:{task.due_at.isoformat()}",
        )
    return sent


ON_TIME = timedelta(minutes=2)
"""A reminder sent this soon after its moment says its own offset ("due in 1 hour")."""


def _due_text(due: datetime, minutes: int, now: datetime) -> str:
    """"is due in 1 hour" at the reminder's moment; sent late, how far the due time is from now."""
    if now - (due - timedelta(minutes=minutes)) <= ON_TIME:
        return "is due now" if minutes == 0 else f"is due in {_offset_text(minutes)}"
    left = round((due - now).total_seconds() / 60)
    if left > 0:
        return f"is due in {_rough(left)}"
    if left == 0:
        return "is due now"
    return f"was due {_rough(-left)} ago"


def _rough(minutes: int) -> str:
    """A late reminder's distance to the due time, in its largest whole unit."""
    for size, unit in ((1440, "day"), (60, "hour")):
        if minutes >= size:
            count = minutes // size
            return f"{count} {unit}" + ("s" if count > 1 else "")
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


def _offsets(stored: object) -> set[int]:
    """A task's reminder offsets. Demo workspaces made before schema v9 stored the list as JSON text
    inside the JSON; that is read too, and anything else unusable is skipped."""
    if isinstance(stored, str):
        try:
            stored = json.loads(stored)
        except ValueError:
            return set()
    if not isinstance(stored, list):
        return set()
    return {int(item) for item in stored if isinstance(item, int) and not isinstance(item, bool) and item >= 0}


def _offset_text(minutes: int) -> str:
    if minutes % 10080 == 0:
        return f"{minutes // 10080} week" + ("s" if minutes > 10080 else "")
    if minutes % 1440 == 0:
        return f"{minutes // 1440} day" + ("s" if minutes > 1440 else "")
    if minutes % 60 == 0:
        return f"{minutes // 60} hour" + ("s" if minutes > 60 else "")
    return f"{minutes} minutes"
