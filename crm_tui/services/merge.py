"""Merging duplicate companies, contacts or leads into one record, and undoing a merge.

`plan()` lays the records side by side with a default winner per field (the most recently updated
record with a value); the screen may change the choices and the survivor. `merge()` then, in one
transaction: writes the chosen values onto the survivor (through records.update: validation, one
event-log row per field), points every row that refers to the other records at the survivor (the
foreign keys of RELINKS and the custom "reference" values), soft-deletes the others, and logs one
"record.merged" event on the survivor whose `old` holds everything `undo()` needs.

The survivor defaults to the oldest record (lowest id): its id is the one older history, exports
and links outside the CRM most likely hold. For leads a converted one comes first, because a
converted lead is kept as it was and must not be the one that disappears.

Rows re-linked to the survivor get a new version (they changed, so a form opened on one before
the merge sees a conflict instead of silently pointing back at a deleted record). Tag links and
appointment attendees are moved unless the survivor already has that tag or attends that
appointment; those stay with the merged record, so undo gives it back exactly what it had.

Undo refuses (ServiceError, nothing changed) when the survivor was edited after the merge: putting
its old values back would silently undo that later edit. Rows re-linked by the merge are pointed
back only while they still point at the survivor; one moved elsewhere since keeps its new link.
Versions only move forward, so an undone record has a higher version than before the merge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm_tui.events import RecordDeleted
from crm_tui.models import (
    Appointment,
    AppointmentAttendee,
    BaseModel,
    Company,
    CompanyTag,
    Contact,
    ContactTag,
    CustomField,
    CustomValue,
    Deal,
    Event,
    Lead,
    LeadTag,
    Note,
    Task,
    User,
    VersionedModel,
)
from crm_tui.services import computed_fields, custom_fields, records, search_index
from crm_tui.services.context import Context
from crm_tui.services.custom_field_types import FieldDef, from_row, to_columns
from crm_tui.services.entities import ENTITIES, spec_for
from crm_tui.services.errors import ConflictError, NotFound, ServiceError
from crm_tui.services.sql_util import among
from crm_tui.services.unit import write


@dataclass(frozen=True)
class Link:
    """A foreign key that can point at a merged record. `unique_with`: the other columns of a
    unique key (a row whose key the survivor already has stays where it is)."""

    model: type[BaseModel]
    field: str
    unique_with: tuple[str, ...] = ()


_ACTIVITIES = (Note, Task, Appointment)
RELINKS: dict[str, tuple[Link, ...]] = {
    "company": (
        Link(Contact, "company"), Link(Deal, "company"), *(Link(m, "company") for m in _ACTIVITIES),
        Link(CompanyTag, "company", ("tag",)), Link(Lead, "converted_company"),
    ),
    "contact": (
        Link(Deal, "contact"), *(Link(m, "contact") for m in _ACTIVITIES),
        Link(AppointmentAttendee, "contact", ("appointment",)), Link(ContactTag, "contact", ("tag",)),
        Link(Lead, "converted_contact"),
    ),
    "lead": (*(Link(m, "lead") for m in _ACTIVITIES), Link(LeadTag, "lead", ("tag",))),
}  # fmt: skip
"""Every foreign key to a company, contact or lead (tests check none is missing)."""
_MODELS = {"company": Company, "contact": Contact, "lead": Lead}
_TABLES = {link.model._meta.table_name: link.model for links in RELINKS.values() for link in links}
_REFERENCE = "custom_value"
_LABELS = {
    "first_name": "First name", "last_name": "Last name", "title": "Job title", "company_id": "Company",
    "owner_id": "Owner", "company_name": "Company",
}  # fmt: skip


@dataclass(frozen=True)
class MergeRecord:
    """One record of a plan, as it was read."""

    id: int
    title: str
    version: int
    updated_at: datetime


@dataclass
class MergeField:
    """One field side by side: `values[i]` is record i's, `chosen` the index of the winner;
    `shown` the values as text (names for companies, owners and references)."""

    key: str
    label: str
    values: list[Any]
    chosen: int
    shown: list[str]


@dataclass
class MergePlan:
    """The records to merge (oldest first), their fields, and the proposed survivor."""

    entity: str
    records: list[MergeRecord]
    fields: list[MergeField]
    survivor_id: int


@dataclass(frozen=True)
class MergeResult:
    """What a merge did: the `event_id` of its "record.merged" row is what undo takes."""

    survivor_id: int
    merged: list[int]
    event_id: int
    relinked: int


@dataclass(frozen=True)
class UndoResult:
    """What an undo did: `kept` counts re-linked rows left alone because they changed since."""

    survivor_id: int
    restored: list[int]
    kept: int


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _same(a: Any, b: Any) -> bool:
    """Equal values, every kind of empty (None, "", []) being the same."""
    return (None if _empty(a) else a) == (None if _empty(b) else b)


def _kind(key: str, fd: FieldDef | None) -> str | None:
    """The record type a field's value is the id of ("user" for owners), or None."""
    if fd is None:
        return {"company_id": "company", "owner_id": "user"}.get(key)
    return "user" if fd.type == "user" else fd.reference_entity if fd.type == "reference" else None


def _text(value: Any, kind: str | None, names: dict[tuple[str, int], str]) -> str:
    if _empty(value):
        return ""
    if kind is not None:
        return names.get((kind, value), f"#{value}")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def _names(pairs: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The names of users and records the fields point at, one query per kind."""
    wanted: dict[str, set[int]] = {}
    for kind, record_id in pairs:
        wanted.setdefault(kind, set()).add(record_id)
    named: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        if kind == "user":
            rows = User.select(User.id, User.name).where(among(User.id, ids)).tuples()
            named |= {("user", user_id): name for user_id, name in rows if name}
        elif kind in ENTITIES:
            named |= {(kind, record_id): title for record_id, title in records.titles(kind, ids, include_deleted=True).items()}
    return {pair: named.get(pair) or f"#{pair[1]}" for pair in pairs}


def _check_ids(entity: str, ids: list[int]) -> None:
    if entity not in RELINKS:
        raise ServiceError(f"only {', '.join(RELINKS)} can be merged, not {entity!r}")
    if len(set(ids)) != len(ids):
        raise ServiceError("a record cannot be merged with itself")
    if len(ids) < 2:
        raise ServiceError("choose at least two records to merge")


def _editable_defs(entity: str) -> list[FieldDef]:
    return [fd for fd in custom_fields.definitions(entity) if not fd.read_only]


def plan(entity: str, ids: list[int]) -> MergePlan:
    """The records `ids` of `entity` side by side, each field's default winner chosen."""
    _check_ids(entity, ids)
    snaps = sorted((records.get(entity, record_id) for record_id in ids), key=lambda snap: snap.id)
    spec = spec_for(entity)
    defs = _editable_defs(entity)
    columns = [(key, _LABELS.get(key, key.removesuffix("_id").replace("_", " ").capitalize()), None) for key in spec.editable]
    columns += [(f"custom.{fd.key}", fd.label, fd) for fd in defs]
    locked = [snap for snap in snaps if spec.locked and spec.locked(snap.values)]
    survivor = (locked or snaps)[0]
    newest = sorted(range(len(snaps)), key=lambda i: (snaps[i].updated_at, snaps[i].id), reverse=True)
    rows = []
    for key, label, fd in columns:
        values = [snap.custom.get(fd.key) if fd else snap.values.get(key) for snap in snaps]
        default = snaps.index(survivor)
        if not locked:  # a converted lead survives unchanged
            default = next((i for i in newest if not _empty(values[i])), default)
        rows.append((key, label, fd, values, default))
    names = _names({(kind, v) for key, _, fd, values, _ in rows if (kind := _kind(key, fd)) for v in values if v})
    fields = [
        MergeField(key, label, values, chosen, [_text(v, _kind(key, fd), names) for v in values])
        for key, label, fd, values, chosen in rows
    ]
    shown = [MergeRecord(snap.id, snap.title, snap.version, snap.updated_at) for snap in snaps]
    return MergePlan(entity, shown, fields, survivor.id)


def _read_versions(entity: str, plan: MergePlan) -> None:
    """ConflictError unless every record is live and still at the version the plan read."""
    model = _MODELS[entity]
    found = {rid: (version, gone) for rid, version, gone in
             model.select(model.id, model.version, model.deleted_at).where(model.id.in_([r.id for r in plan.records])).tuples()}  # fmt: skip
    for record in plan.records:
        version, gone = found.get(record.id, (None, True))
        if version is None or gone is not None:
            raise NotFound(spec_for(entity).label, record.id)
        if version != record.version:
            raise ConflictError(
                entity, record.id, record.title, expected_version=record.version, actual_version=version, mine={},
                theirs={}, reason=f"{record.title!r} was changed by someone else after the merge screen read it",
            )  # fmt: skip


def _relink(entity: str, survivor: int, merged: list[int], now: datetime) -> list[list[Any]]:
    """Point every row that refers to `merged` at `survivor`; returns [table, row id, field, old]."""
    moved: list[list[Any]] = []
    for link in RELINKS[entity]:
        model, column = link.model, getattr(link.model, link.field)
        keys = [getattr(model, name) for name in link.unique_with]
        taken = {tuple(row) for row in model.select(*keys).where(column == survivor).tuples()} if keys else set()
        rows = []
        for row_id, old, *key in model.select(model.id, column, *keys).where(column.in_(merged)).order_by(model.id).tuples():
            if keys and tuple(key) in taken:
                continue  # the survivor has it already: it stays with the merged record
            taken.add(tuple(key))
            rows.append(row_id)
            moved.append([model._meta.table_name, row_id, link.field, old])
        _point(model, link.field, rows, survivor, now)
    refs = [fid for (fid,) in CustomField.select(CustomField.id).where(
        CustomField.type == "reference", CustomField.reference_entity == entity).tuples()]  # fmt: skip
    if refs:
        query = CustomValue.select(CustomValue.id, CustomValue.integer).where(
            CustomValue.field.in_(refs), CustomValue.integer.in_(merged)
        )
        rows = []
        for row_id, old in query.tuples():
            rows.append(row_id)
            moved.append([_REFERENCE, row_id, "integer", old])
        _point(CustomValue, "integer", rows, survivor, now)
    return moved


def _point(model: type[BaseModel], field: str, row_ids: list[int], target: int, now: datetime) -> None:
    """Set `field` to `target` on the rows (a versioned row gets a new version)."""
    values: dict[Any, Any] = {getattr(model, field): target}
    if issubclass(model, VersionedModel):
        values |= {model.version: model.version + 1, model.updated_at: now}
    for start in range(0, len(row_ids), 500):
        model.update(values).where(model.id.in_(row_ids[start : start + 500])).execute()


def _reindex(entity: str, ids: list[int]) -> None:
    search_index.sync_many(entity, ids)
    computed_fields.follow_up(entity, ids)


def merge(ctx: Context, plan: MergePlan, choices: dict[str, int] | None, survivor_id: int) -> MergeResult:
    """Merge the plan's records into `survivor_id` with the plan's choices, overridden by
    `choices` (field key -> index of the record whose value wins). One transaction."""
    entity = plan.entity
    ids = [record.id for record in plan.records]
    _check_ids(entity, ids)
    if survivor_id not in ids:
        raise ServiceError(f"the record kept must be one of those merged (#{survivor_id} is not)")
    chosen = {f.key: f.chosen for f in plan.fields} | dict(choices or {})
    by_key = {f.key: f for f in plan.fields}
    for key, index in chosen.items():
        if key not in by_key or not 0 <= index < len(ids):
            raise ServiceError(f"no choice {index!r} for field {key!r}")
    merged = [record_id for record_id in ids if record_id != survivor_id]
    model = _MODELS[entity]
    with write(ctx) as tx:
        _read_versions(entity, plan)
        before = records.get(entity, survivor_id)
        defs = _editable_defs(entity)
        previous = {fd.key: to_columns(fd, before.custom.get(fd.key)) for fd in defs}
        wanted = {key: by_key[key].values[index] for key, index in chosen.items()}
        standard = {k: v for k, v in wanted.items() if not k.startswith("custom.") and before.values.get(k) != v}
        custom = {k[7:]: v for k, v in wanted.items() if k.startswith("custom.") and not _same(before.custom.get(k[7:]), v)}
        version = next(record.version for record in plan.records if record.id == survivor_id)
        if standard or custom:
            version = records.update(ctx, entity, survivor_id, {**standard, "custom": custom}, version=version).version
        moved = _relink(entity, survivor_id, merged, tx.now)
        for record in plan.records:
            if record.id in merged:
                model.update({model.deleted_at: tx.now, model.version: record.version + 1}).where(model.id == record.id).execute()
        _reindex(entity, [survivor_id, *merged])
        old = {"version": before.version, "values": {k: before.values.get(k) for k in spec_for(entity).editable},
               "custom": previous, "relinked": moved}  # fmt: skip
        event_id = tx.log("record.merged", entity, survivor_id, old=old, new={"merged": merged, "version": version})
        for record_id in merged:
            tx.log("record.merged_into", entity, record_id, new={"survivor": survivor_id, "merge_event": event_id})
            tx.emit(RecordDeleted(event_id=event_id, user_id=ctx.user_id, at=tx.now, entity=entity, record_id=record_id))
    return MergeResult(survivor_id, merged, event_id, len(moved))


def _undone(event: Event) -> bool:
    query = Event.select(Event.new).where(
        Event.kind == "record.unmerged", Event.entity == event.entity, Event.record_id == event.record_id
    )
    return any(json.loads(new or "{}").get("undid") == event.id for (new,) in query.tuples())


def last_merge(entity: str, record_id: int) -> int | None:
    """The event id of the newest merge into (or of) this record that is not undone yet."""
    for event in Event.select().where(Event.entity == entity, Event.record_id == record_id,
                                      Event.kind.in_(["record.merged", "record.merged_into"])).order_by(Event.id.desc()):  # fmt: skip
        if event.kind == "record.merged_into":
            event = Event.get_or_none(Event.id == json.loads(event.new)["merge_event"])
            if event is None:
                continue
        if not _undone(event):
            return event.id
    return None


def undo(ctx: Context, event_id: int) -> UndoResult:
    """Undo the merge logged as `event_id`: the merged records come back, re-linked rows point at
    them again, and the survivor gets its previous values. Refused if the survivor changed since."""
    event = Event.get_or_none(Event.id == event_id, Event.kind == "record.merged")
    if event is None:
        raise ServiceError(f"there is no merge #{event_id} to undo")
    if _undone(event):
        raise ServiceError("this merge was undone already")
    entity, survivor_id = event.entity, event.record_id
    old, new = json.loads(event.old), json.loads(event.new)
    model = _MODELS[entity]
    label = spec_for(entity).label
    with write(ctx) as tx:
        row = model.get_or_none(model.id == survivor_id)
        if row is None or row.deleted_at is not None:
            raise ServiceError(f"the {label.lower()} the records were merged into was deleted; restore it first")
        if row.version != new["version"]:
            raise ServiceError(
                f"{label} {records.get(entity, survivor_id).title!r} was changed after the merge "
                f"(version {new['version']}, now {row.version}); undoing would lose that change, so nothing was undone"
            )
        merged = [int(record_id) for record_id in new["merged"]]
        kept = 0
        for table, row_id, field, previous in old["relinked"]:
            target = CustomValue if table == _REFERENCE else _TABLES[table]
            column = getattr(target, field)
            values: dict[Any, Any] = {column: previous}
            if issubclass(target, VersionedModel):
                values |= {target.version: target.version + 1, target.updated_at: tx.now}
            kept += 1 - target.update(values).where(target.id == row_id, column == survivor_id).execute()
        current = records.get(entity, survivor_id)
        standard = {k: v for k, v in old["values"].items() if current.values.get(k) != v}
        custom = {}
        for fd in _editable_defs(entity):
            cols = old["custom"].get(fd.key)
            if cols is not None:
                value = from_row(fd, cols["text"], cols["integer"], cols["real"], cols["json"])
                if not _same(current.custom.get(fd.key), value):
                    custom[fd.key] = value
        if standard or custom:
            records.update(ctx, entity, survivor_id, {**standard, "custom": custom}, version=current.version)
        _reindex(entity, [survivor_id])
        tx.log("record.unmerged", entity, survivor_id, new={"undid": event_id, "restored": merged, "kept": kept})
        for record_id in merged:
            records.restore(ctx, entity, record_id)
    return UndoResult(survivor_id, merged, kept)
