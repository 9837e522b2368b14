"""A record's activity timeline and related records: notes, tasks, appointments, logged calls and
emails, stage moves and field changes (from the event log), newest first, with who and when."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from peewee import JOIN

from crm_tui.models import Appointment, Company, Contact, CustomValue, Deal, Event, Lead, Note, Stage, Task, User
from crm_tui.money import format_money
from crm_tui.services import custom_fields, permissions, records
from crm_tui.services.context import Context
from crm_tui.services.custom_field_types import RECORD_MODELS
from crm_tui.services.entities import spec_for
from crm_tui.services.errors import NotFound

_LINK = {"company": "company", "contact": "contact", "lead": "lead", "deal": "deal"}
_HIDDEN_FIELDS = {"version", "updated_at", "stage_entered_at"}


@dataclass(frozen=True)
class TimelineItem:
    """One thing that happened to a record."""

    at: datetime
    who: str | None
    kind: str  # note, call, email, task, task_done, appointment, created, changed, moved, converted, deleted, restored, merged
    text: str


@dataclass(frozen=True)
class Related:
    """A record linked to the one shown, openable with enter."""

    entity: str
    id: int
    title: str
    detail: str


def _text(value: str | None) -> str:
    if value is None:
        return "—"
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return "—" if decoded in (None, "") else str(decoded)


def timeline(entity: str, record_id: int, *, limit: int = 200) -> list[TimelineItem]:
    """The newest `limit` things that happened to the record."""
    items: list[TimelineItem] = []
    link = _LINK[entity]
    author = User.alias("author")
    for note in (
        Note.select(Note.created_at, Note.body, author.name.alias("who"))
        .join(author, JOIN.LEFT_OUTER, on=(Note.author == author.id))
        .where(getattr(Note, link) == record_id)
        .order_by(Note.id.desc())
        .limit(limit)
        .objects()
    ):
        kind = "call" if note.body.startswith("Call: ") else "email" if note.body.startswith("Email: ") else "note"
        items.append(TimelineItem(note.created_at, note.who, kind, note.body))
    for task in (
        Task.select(Task.created_at, Task.title, Task.due_at, Task.done, author.name.alias("who"))
        .join(author, JOIN.LEFT_OUTER, on=(Task.assignee == author.id))
        .where(getattr(Task, link) == record_id)
        .order_by(Task.id.desc())
        .limit(limit)
        .objects()
    ):
        due = f" · due {task.due_at:%Y-%m-%d %H:%M}" if task.due_at else ""
        items.append(
            TimelineItem(task.created_at, task.who, "task_done" if task.done else "task", f"{task.title}{due}")
        )
    for meeting in (
        Appointment.select().where(getattr(Appointment, link) == record_id).order_by(Appointment.id.desc()).limit(limit)
    ):
        items.append(
            TimelineItem(
                meeting.starts_at, None, "appointment", f"{meeting.title} · {meeting.starts_at:%Y-%m-%d %H:%M}"
            )
        )
    events = (
        Event.select(Event.at, Event.kind, Event.field, Event.old, Event.new, User.name.alias("who"))
        .join(User, JOIN.LEFT_OUTER, on=(Event.user == User.id))
        .where(Event.entity == entity, Event.record_id == record_id)
        .order_by(Event.id.desc())
        .limit(limit)
        .objects()
    )
    stages = {s.id: s.name for s in Stage.select(Stage.id, Stage.name)} if entity == "deal" else {}
    hidden = _HIDDEN_FIELDS | permissions.current().hidden(entity)
    shown = _Shown(Deal.select(Deal.currency).where(Deal.id == record_id).scalar() if entity == "deal" else None)
    for event in events:
        item = _event_item(event, stages, hidden, shown)
        if item is not None:
            items.append(item)
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


class _Shown:
    """A changed field's old and new values as people read them: money in the deal's currency,
    people by name (the event log keeps minor units and user ids)."""

    def __init__(self, currency: str | None) -> None:
        self.currency = currency
        self._users: dict[int, str] | None = None

    def __call__(self, field: str, stored: str | None) -> str:
        text = _text(stored)
        if text == "—":
            return text
        if field in custom_fields.MONEY_FIELDS and self.currency and text.lstrip("-").isdigit():
            return format_money(int(text), self.currency)
        if _MOMENT.fullmatch(text):  # 2026-11-23T09:44:37.496568 as the rest of the timeline writes times
            return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
        if field in _USER_FIELDS and text.isdigit():
            if self._users is None:
                self._users = {uid: name or login for uid, name, login in User.select(User.id, User.name, User.login).tuples()}
            return self._users.get(int(text), f"user #{text}")
        return text


_USER_FIELDS = {"owner_id", "assignee_id", "author_id"}
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")


def _event_item(event: Event, stages: dict[int, str], hidden: frozenset[str] | set[str], shown: _Shown) -> TimelineItem | None:
    kind, who, at = event.kind, event.who, event.at
    if kind == "record.created":
        return TimelineItem(at, who, "created", "created")
    if kind == "record.updated":
        if event.field in hidden:
            return None
        name = (event.field or "").removeprefix("custom.").removesuffix("_id").replace("_", " ")
        field = event.field or ""
        return TimelineItem(at, who, "changed", f"{name}: {shown(field, event.old)} → {shown(field, event.new)}")
    if kind == "deal.stage_changed":
        old, new = json.loads(event.old or "null"), json.loads(event.new or "null")
        return TimelineItem(at, who, "moved", f"moved {stages.get(old, '—')} → {stages.get(new, '?')}")
    if kind == "lead.converted":
        data = json.loads(event.new or "{}")
        name = data.get("lead_name") or "a lead"
        return TimelineItem(at, who, "converted", f"converted from lead {name}")
    if kind in ("record.deleted", "record.restored"):
        return TimelineItem(at, who, kind.removeprefix("record."), kind.removeprefix("record."))
    if kind in ("tag.added", "tag.removed"):
        return TimelineItem(at, who, "changed", kind.replace(".", " "))
    if kind in ("record.merged", "record.merged_into", "record.unmerged"):
        data = json.loads(event.new or "{}")
        if kind == "record.merged":
            ids = ", ".join(f"#{record_id}" for record_id in data.get("merged", []))
            return TimelineItem(at, who, "merged", f"merged {ids} into this record")
        if kind == "record.merged_into":
            return TimelineItem(at, who, "merged", f"merged into #{data.get('survivor', '?')}")
        return TimelineItem(at, who, "merged", "merge undone")
    return None


def related(entity: str, record_id: int, *, limit: int = 50) -> list[Related]:
    """The records linked to this one: a company's contacts and deals, a contact's company and
    deals, a deal's company and contact, a converted lead's contact, company and deal."""
    snap = records.get(entity, record_id)
    found: list[Related] = []
    if snap.values.get("company_id"):
        company = Company.get_or_none(Company.id == snap["company_id"])
        if company is not None:
            found.append(Related("company", company.id, company.name, "company"))
    if entity == "deal" and snap.values.get("contact_id"):
        contact = Contact.get_or_none(Contact.id == snap["contact_id"])
        if contact is not None:
            found.append(Related("contact", contact.id, records.get("contact", contact.id).title, "contact"))
    if entity == "company":
        for contact in Contact.select().where(Contact.company == record_id, Contact.deleted_at.is_null()).limit(limit):
            found.append(
                Related(
                    "contact",
                    contact.id,
                    " ".join(p for p in (contact.first_name, contact.last_name) if p),
                    contact.email or "contact",
                )
            )
    if entity in ("company", "contact"):
        deals = (
            Deal.select(Deal.id, Deal.title, Stage.name.alias("stage_name"))  # not "stage": that is the FK
            .join(Stage, on=(Deal.stage == Stage.id))
            .where(getattr(Deal, entity) == record_id, Deal.deleted_at.is_null())
            .order_by(Deal.id.desc())
            .limit(limit)
            .objects()
        )
        found += [Related("deal", deal.id, deal.title, f"deal · {deal.stage_name}") for deal in deals]
    if entity == "lead":
        lead = Lead.get_by_id(record_id)
        for kind, made in (("contact", lead.converted_contact_id), ("deal", lead.converted_deal_id)):
            if made:
                title = records.get(kind, made, include_deleted=True).title
                found.append(Related(kind, made, title, "converted into"))
    return found + _references(entity, snap, limit)


def _references(entity: str, snap: records.Snapshot, limit: int) -> list[Related]:
    """The records this one's reference fields point to, and those whose reference fields point
    to it ("referenced by"), each named by the field."""
    found: list[Related] = []
    access = permissions.current()
    for fd in custom_fields.definitions(entity):
        if not access.can_see(entity, f"custom.{fd.key}"):
            continue
        target = snap.custom.get(fd.key) if fd.type == "reference" else None
        if target and fd.reference_entity:
            try:
                found.append(Related(fd.reference_entity, target, records.get(fd.reference_entity, target).title, fd.label))
            except NotFound:
                continue
    for source in RECORD_MODELS:
        for fd in custom_fields.definitions(source):
            if fd.type != "reference" or fd.reference_entity != entity or not access.can_see(source, f"custom.{fd.key}"):
                continue
            model, spec = RECORD_MODELS[source], spec_for(source)
            holders = (
                model.select(*[getattr(model, name) for name in ("id", *spec.title_fields)])
                .join(CustomValue, on=(CustomValue.record_id == model.id))
                .where(CustomValue.field == fd.id, CustomValue.integer == snap.id, model.deleted_at.is_null())
                .limit(limit)
                .dicts()
            )
            for row in holders:  # one query per reference field, titled from the row itself
                found.append(Related(source, row["id"], spec.title(row), f"{source} · its {fd.label} is this"))
    return found


def add_activity(ctx: Context, entity: str, record_id: int, kind: str, text: str) -> int:
    """Add a note, or log a call or email (a note that says so), on the record."""
    body = {"note": text, "call": f"Call: {text}", "email": f"Email: {text}"}[kind]
    data = {"body": body, "author_id": ctx.user_id, f"{_LINK[entity]}_id": record_id}
    return records.create(ctx, "note", data).id


def add_task(
    ctx: Context,
    entity: str,
    record_id: int,
    title: str,
    due_at: datetime | None,
    assignee_id: int | None,
    reminders: list[int],
) -> int:
    """Add a task on the record."""
    data = {"title": title, "due_at": due_at, "assignee_id": assignee_id or ctx.user_id, "created_by_id": ctx.user_id,
            "reminders": reminders, f"{_LINK[entity]}_id": record_id}  # fmt: skip
    return records.create(ctx, "task", data).id
