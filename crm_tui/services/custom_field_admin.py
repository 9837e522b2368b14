"""The custom fields settings: list a record type's fields with how many records hold a value, add,
change, reorder and remove them. Removing a field that holds values keeps every value in the event
log ("custom_field.removed": the definition and record id -> value), so nothing is lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import fn

from crm_tui.models import CustomField, CustomValue
from crm_tui.services import computed_fields, custom_field_rules, custom_fields, records
from crm_tui.services.context import Context
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldDef
from crm_tui.services.errors import NotFound, ServiceError, ValidationFailed
from crm_tui.services.unit import write

CHANGEABLE = ("label", "required", "options", "formula", "reference_entity", "lookup_path")
"""What an existing field lets the settings change (its record type, key and type stay)."""


@dataclass(frozen=True)
class FieldRow:
    """A field as the settings list it."""

    field: FieldDef
    values: int
    """How many records hold a value."""
    used_by: tuple[str, ...]
    """Labels of the formulas and lookups that read it."""


def _definition(field_id: int) -> FieldDef:
    row = CustomField.get_or_none(CustomField.id == field_id)
    if row is None:
        raise NotFound("Custom field", field_id)
    return next(fd for fd in custom_fields.definitions(row.entity) if fd.id == field_id)


def used_by(fd: FieldDef) -> list[FieldDef]:
    """The formulas and lookups (of any record type) that read `fd`."""
    found = []
    for entity in RECORD_MODELS:
        for other in custom_fields.definitions(entity):
            if other.id == fd.id:
                continue
            if other.type == "formula" and entity == fd.entity and fd.key in custom_field_rules.names_in(other.formula) or other.type == "lookup" and _reads(other, fd):
                found.append(other)
    return found


def _reads(lookup: FieldDef, fd: FieldDef) -> bool:
    from crm_tui.services import lookup_paths
    from crm_tui.services.custom_field_types import FieldError

    try:
        resolved = lookup_paths.resolve(lookup.entity, lookup.lookup_path, custom_fields.definitions)
    except FieldError:
        return False
    return any(hop.field is not None and hop.field.id == fd.id for hop in resolved.hops) or (
        resolved.field is not None and resolved.field.id == fd.id
    )


def fields(entity: str) -> list[FieldRow]:
    """The fields of `entity` in form order, each with its value count and who reads it."""
    defs = custom_fields.definitions(entity)
    counts = dict(
        CustomValue.select(CustomValue.field, fn.COUNT(CustomValue.id))
        .where(CustomValue.field.in_([fd.id for fd in defs]))
        .group_by(CustomValue.field)
        .tuples()
    )
    return [FieldRow(fd, counts.get(fd.id, 0), tuple(other.label for other in used_by(fd))) for fd in defs]


def add_field(ctx: Context, entity: str, label: str, kind: str, **options: Any) -> FieldDef:
    """Add a field at the end of `entity`'s form; its key is made from the label. A lookup or
    formula is computed for every record at once."""
    if entity not in RECORD_MODELS:
        raise ServiceError(f"custom fields exist for {', '.join(RECORD_MODELS)}")
    with write(ctx):
        last = CustomField.select(fn.MAX(CustomField.position)).where(CustomField.entity == entity).scalar()
        data = {
            "entity": entity,
            "label": label,
            "type": kind,
            "key": custom_field_rules.key_for(entity, label or "field"),
            "position": (last if last is not None else -1) + 1,
            **{name: value for name, value in options.items() if name in CHANGEABLE},
        }
        made = records.create(ctx, "custom_field", data)
    return _definition(made.id)


def change_field(ctx: Context, field_id: int, *, version: int, **changes: Any) -> FieldDef:
    """Change a field's label, required flag, options, formula, reference or lookup path. A
    dropdown option that records still hold cannot be dropped; a changed formula or path is
    recomputed for every record."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise ServiceError(f"a field's {', '.join(sorted(unknown))} cannot change")
    with write(ctx):
        fd = _definition(field_id)
        merged = {
            "entity": fd.entity, "key": fd.key, "type": fd.type, "label": fd.label, "required": fd.required,
            "options": list(fd.options), "formula": fd.formula, "reference_entity": fd.reference_entity,
            "lookup_path": list(fd.lookup_path) or None, **changes,
        }  # fmt: skip
        custom_field_rules.check(merged, field_id=field_id)
        if fd.type == "dropdown" and "options" in changes:
            kept = {str(option) for option in changes["options"] or ()}
            held = (
                CustomValue.select(CustomValue.text, fn.COUNT(CustomValue.id))
                .where(CustomValue.field == field_id, CustomValue.text.not_in(list(kept) or [""]))
                .group_by(CustomValue.text)
                .tuples()
            )
            dropped = [f"{text!r} ({count})" for text, count in held]
            if dropped:
                raise ValidationFailed("Custom field", {"options": f"records still hold {', '.join(dropped)}"})
        records.update(ctx, "custom_field", field_id, changes, version=version)
        recompute = fd.type in custom_field_rules.COMPUTED and ({"formula", "lookup_path"} & changes.keys())
        if recompute:
            computed_fields.follow_up(fd.entity, computed_fields.refresh(fd.entity))
    return _definition(field_id)


def move_field(ctx: Context, field_id: int, step: int) -> int:
    """Move a field `step` places up (negative) or down the form; returns its new position."""
    fd = _definition(field_id)
    with write(ctx) as tx:
        order = [other.id for other in custom_fields.definitions(fd.entity)]
        at = order.index(field_id)
        to = max(0, min(len(order) - 1, at + step))
        if to == at:
            return at
        order.insert(to, order.pop(at))
        for position, other_id in enumerate(order):
            CustomField.update(position=position).where(CustomField.id == other_id, CustomField.position != position).execute()
        tx.log("custom_field.moved", "custom_field", field_id, field="position", old=at, new=to)
    return to


def remove_field(ctx: Context, field_id: int, *, version: int) -> int:
    """Remove a field and its values, keeping them in the event log; returns how many values
    there were. Formulas and lookups that read it show nothing from then on."""
    fd = _definition(field_id)
    with write(ctx) as tx:
        values = custom_fields.read(fd.entity, _holders(field_id), [fd])
        export = {str(record_id): found[fd.key] for record_id, found in values.items() if fd.key in found}
        definition = {name: getattr(fd, name) for name in ("entity", "key", "label", "type", "options", "formula")}
        tx.log("custom_field.removed", "custom_field", field_id, old={"definition": definition, "values": export})
        readers = used_by(fd)
        CustomValue.delete().where(CustomValue.field == field_id).execute()
        records.delete(ctx, "custom_field", field_id, version=version)
        for entity in dict.fromkeys(reader.entity for reader in readers):
            computed_fields.follow_up(entity, computed_fields.refresh(entity))
    return len(export)


def _holders(field_id: int) -> list[int]:
    return [row[0] for row in CustomValue.select(CustomValue.record_id).where(CustomValue.field == field_id).tuples()]

