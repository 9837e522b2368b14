"""Create, read, update, delete and restore any record type, with validation, optimistic
concurrency and an event-log row per change.

Every write goes through `write()`: the row and its log entries commit together and the matching
event is published after commit. Updates are `UPDATE ... WHERE id = ? AND version = ?`; when
someone else saved first, ConflictError shows both versions and nothing is overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from peewee import IntegrityError, Model

from crm_tui.events import RecordCreated, RecordDeleted, RecordRestored, RecordUpdated
from crm_tui.models import database
from crm_tui.services import computed_fields, custom_fields, permissions, search_index, team_notices
from crm_tui.services.context import Context
from crm_tui.services.entities import EntitySpec, spec_for
from crm_tui.services.errors import ConflictError, NotFound, ServiceError, ValidationFailed
from crm_tui.services.sql_util import among
from crm_tui.services.unit import Txn, write
from crm_tui.services.validation import validate


@dataclass(frozen=True)
class Snapshot:
    """A record as stored: its fields by service name (foreign keys as `<name>_id`)."""

    entity: str
    id: int
    version: int
    title: str
    values: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    """Custom field values by key (companies, contacts, leads and deals)."""

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def _values(spec: EntitySpec, row: Model) -> dict[str, Any]:
    data = row.__data__
    return {name: data.get(fld.name) for name, fld in spec.columns.items() if name not in ("version",)}


def _snapshot(spec: EntitySpec, row: Model) -> Snapshot:
    values = _values(spec, row)
    return Snapshot(
        entity=spec.name,
        id=row.id,
        version=row.version,
        title=spec.title(values),
        values=values,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=values.get("deleted_at"),
        custom=custom_fields.read(spec.name, [row.id])[row.id] if spec.name in custom_fields.RECORD_MODELS else {},
    )


def _load(spec: EntitySpec, record_id: int, *, include_deleted: bool = False) -> Model:
    row = spec.model.get_or_none(spec.model.id == record_id)
    if row is None or (not include_deleted and getattr(row, "deleted_at", None) is not None):
        raise NotFound(spec.label, record_id)
    return row


def _check_references(spec: EntitySpec, values: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    for name, value in values.items():
        fld = spec.columns.get(name)
        rel_model = getattr(fld, "rel_model", None)
        if value is None or rel_model is None:
            continue
        query = rel_model.select(rel_model.id).where(rel_model.id == value)
        if "deleted_at" in rel_model._meta.fields:
            query = query.where(rel_model.deleted_at.is_null())
        if not query.exists():
            errors[name] = f"no {rel_model.__name__.lower()} #{value}"
    if errors:
        raise ValidationFailed(spec.label, errors)


def _columns(spec: EntitySpec, values: dict[str, Any]) -> dict[Any, Any]:
    return {spec.columns[name]: value for name, value in values.items()}


def get(entity: str, record_id: int, *, include_deleted: bool = False) -> Snapshot:
    """The record as stored now; NotFound if it does not exist or was deleted."""
    spec = spec_for(entity)
    return _snapshot(spec, _load(spec, record_id, include_deleted=include_deleted))


def titles(entity: str, ids: Iterable[int], *, include_deleted: bool = False) -> dict[int, str]:
    """The titles of many records of one type, in one query: record id -> title (an id that is not
    there, or deleted unless `include_deleted`, is left out)."""
    spec = spec_for(entity)
    model = spec.model
    query = model.select(model.id, *(getattr(model, name) for name in spec.title_fields)).where(among(model.id, ids))
    if spec.soft_delete and not include_deleted:
        query = query.where(model.deleted_at.is_null())
    return {row["id"]: spec.title(row) for row in query.dicts()}


def create(ctx: Context, entity: str, data: dict[str, Any]) -> Snapshot:
    """Validate `data` and store a new record; returns it as stored."""
    spec = spec_for(entity)
    data = dict(data)
    custom = data.pop("custom", None)
    with write(ctx) as tx:
        # What the caller sets, not the defaults; taking a new record oneself is no change of owner.
        given = [name for name, value in data.items() if value is not None and not (name == "owner_id" and value == ctx.user_id)]
        given += [f"custom.{key}" for key, value in (custom or {}).items() if value not in (None, "", [])]
        permissions.check_fields(tx.access, entity, given)
        permissions.check_signed(tx.access, entity, data)
        if spec.defaults is not None:
            data = spec.defaults(data)
        values = validate(spec.schema, data, spec.label)
        _check_references(spec, values)
        extra = spec.before_insert(tx, values) if spec.before_insert else {}
        record_id = spec.model.insert(
            _columns(spec, {**values, **extra}) | {spec.model.created_at: tx.now, spec.model.updated_at: tx.now}
        ).execute()
        tx.wrote(entity)
        search_index.sync(entity, record_id)
        if spec.after_insert is not None:
            spec.after_insert(tx, record_id, values)
        stored = {**values, "created_at": tx.now}
        made = custom_fields.apply(entity, spec.label, record_id, stored, custom, creating=True)
        if made:
            values = {**values, "custom": {key: new for key, (_, new) in made.items()}}
        event_id = tx.log("record.created", entity, record_id, new=values)
        team_notices.after_change(tx, entity, spec.label, record_id, spec.title(values), values)
        tx.emit(RecordCreated(event_id=event_id, user_id=ctx.user_id, at=tx.now, entity=entity, record_id=record_id, values=values))
        return _snapshot(spec, _load(spec, record_id))


def _conflict(spec: EntitySpec, record_id: int, mine: dict[str, Any], expected: int | None) -> ConflictError:
    row = spec.model.get_or_none(spec.model.id == record_id)
    theirs = _values(spec, row) if row is not None else {}
    return ConflictError(
        spec.name,
        record_id,
        spec.title(theirs or mine),
        expected_version=expected,
        actual_version=row.version if row is not None else None,
        mine=mine,
        theirs=theirs,
    )


def update(ctx: Context, entity: str, record_id: int, changes: dict[str, Any], *, version: int) -> Snapshot:
    """Apply `changes` to the record the caller read at `version`.

    The whole record is validated with the changes applied. Unchanged values write nothing. If the
    record is no longer at `version`, ConflictError carries both versions and nothing is stored.
    """
    spec = spec_for(entity)
    changes = dict(changes)
    custom = changes.pop("custom", None)
    fixed = {name: reason for name, reason in spec.fixed_on_update.items() if name in changes}
    if fixed:
        raise ValidationFailed(spec.label, fixed)
    with write(ctx) as tx:
        row = _load(spec, record_id)
        current = _values(spec, row)
        if row.version != version:
            raise _conflict(spec, record_id, dict(changes), version)
        reason = spec.locked(current) if spec.locked else None
        if reason:
            raise ServiceError(f"{spec.label} {spec.title(current)!r} {reason}")
        editable = {name: current[name] for name in spec.editable}
        values = validate(spec.schema, {**editable, **changes}, spec.label)
        diff = {name: (current.get(name), value) for name, value in values.items() if value != current.get(name)}
        _check_references(spec, {name: new for name, (_, new) in diff.items()})
        merged = {**current, **{name: new for name, (_, new) in diff.items()}}
        custom_diff = custom_fields.apply(entity, spec.label, record_id, merged, custom, creating=False)
        diff |= {f"custom.{key}": change for key, change in custom_diff.items()}
        if not diff:
            return _snapshot(spec, row)
        return _apply(tx, spec, record_id, version, diff)


def _apply(tx: Txn, spec: EntitySpec, record_id: int, version: int, diff: dict[str, tuple[Any, Any]]) -> Snapshot:
    model = spec.model
    updated = (
        model.update(
            _columns(spec, {name: new for name, (_, new) in diff.items() if not name.startswith("custom.")})
            | {model.updated_at: tx.now, model.version: version + 1}
        )
        .where(model.id == record_id, model.version == version)
        .execute()
    )
    tx.wrote(spec.name)
    if updated != 1:
        raise _conflict(spec, record_id, {name: new for name, (_, new) in diff.items()}, version)
    search_index.sync(spec.name, record_id)
    computed_fields.follow_up(spec.name, [record_id])
    event_ids = [
        tx.log("record.updated", spec.name, record_id, field=name, old=old, new=new)
        for name, (old, new) in diff.items()
    ]
    snapshot = _snapshot(spec, _load(spec, record_id))
    team_notices.after_change(tx, spec.name, spec.label, record_id, snapshot.title, {k: new for k, (_, new) in diff.items()})
    tx.emit(
        RecordUpdated(
            event_id=event_ids[0], user_id=tx.ctx.user_id, at=tx.now, entity=spec.name, record_id=record_id, changes=diff
        )
    )
    return snapshot


def delete(ctx: Context, entity: str, record_id: int, *, version: int) -> None:
    """Delete the record the caller read at `version`.

    Companies, contacts, leads and deals are hidden (undo with `restore`); other records are erased.
    The event log keeps every deleted record's values.
    """
    spec = spec_for(entity)
    with write(ctx) as tx:
        row = _load(spec, record_id)
        values = _values(spec, row)
        if row.version != version:
            raise _conflict(spec, record_id, {}, version)
        if spec.before_delete is not None:
            spec.before_delete(tx, record_id)
        if spec.soft_delete:
            model = spec.model
            model.update({model.deleted_at: tx.now, model.version: version + 1}).where(
                model.id == record_id, model.version == version
            ).execute()
        else:
            try:
                with database.atomic():  # a savepoint: PostgreSQL aborts the transaction on error
                    row.delete_instance()
            except IntegrityError:
                raise ServiceError(
                    f"{spec.label} {spec.title(values)!r} is still in use (it has deals or history); "
                    "move or delete those first"
                ) from None
        tx.wrote(entity)
        search_index.sync(entity, record_id)
        computed_fields.follow_up(entity, [record_id])
        event_id = tx.log("record.deleted", entity, record_id, old=values)
        tx.emit(RecordDeleted(event_id=event_id, user_id=ctx.user_id, at=tx.now, entity=entity, record_id=record_id, values=values))


def restore(ctx: Context, entity: str, record_id: int) -> Snapshot:
    """Bring back a deleted company, contact, lead or deal."""
    spec = spec_for(entity)
    if not spec.soft_delete:
        raise ServiceError(f"a deleted {spec.label.lower()} cannot be restored")
    with write(ctx) as tx:
        row = _load(spec, record_id, include_deleted=True)
        if row.deleted_at is None:
            return _snapshot(spec, row)
        model = spec.model
        model.update({model.deleted_at: None, model.version: model.version + 1, model.updated_at: tx.now}).where(
            model.id == record_id
        ).execute()
        search_index.sync(entity, record_id)
        computed_fields.follow_up(entity, [record_id])
        event_id = tx.log("record.restored", entity, record_id)
        tx.emit(RecordRestored(event_id=event_id, user_id=ctx.user_id, at=tx.now, entity=entity, record_id=record_id))
        return _snapshot(spec, _load(spec, record_id))
