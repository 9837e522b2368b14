"""The custom fields settings: list a record type's fields with how many records hold a value, add,
change, reorder and remove them. Removing a field that holds values keeps every value in the event
log ("custom_field.removed": the definition and record id -> value), so nothing is lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import fn

from crm_tui.models import CustomField, CustomValue
from crm_tui.services import computed_fields, custom_field_rules, custom_fields, lookup_paths, permissions, records
from crm_tui.services.context import Context
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldDef, FieldError
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


def used_by(fd: FieldDef, everything: dict[str, list[FieldDef]] | None = None) -> list[FieldDef]:
    """The formulas and lookups (of any record type) that read `fd`; `everything` (entity ->
    definitions) saves re-reading them when asking for many fields."""
    everything = everything or {entity: custom_fields.definitions(entity) for entity in RECORD_MODELS}
    found = []
    for entity, defs in everything.items():
        for other in defs:
            if other.id == fd.id:
                continue
            if other.type == "formula" and entity == fd.entity and fd.key in custom_field_rules.names_in(other.formula):
                found.append(other)
            elif other.type == "lookup" and _reads(other, fd, everything):
                found.append(other)
    return found


def _reads(lookup: FieldDef, fd: FieldDef, everything: dict[str, list[FieldDef]]) -> bool:
    try:
        resolved = lookup_paths.resolve(lookup.entity, lookup.lookup_path, lambda name: everything.get(name, []))
    except FieldError:
        return False
    return any(hop.field is not None and hop.field.id == fd.id for hop in resolved.hops) or (
        resolved.field is not None and resolved.field.id == fd.id
    )


def fields(entity: str) -> list[FieldRow]:
    """The fields of `entity` in form order, each with its value count and who reads it."""
    everything = {name: custom_fields.definitions(name) for name in RECORD_MODELS}
    defs = everything[entity]
    counts = dict(
        CustomValue.select(CustomValue.field, fn.COUNT(CustomValue.id))
        .where(CustomValue.field.in_([fd.id for fd in defs]))
        .group_by(CustomValue.field)
        .tuples()
    )
    return [FieldRow(fd, counts.get(fd.id, 0), tuple(other.label for other in used_by(fd, everything))) for fd in defs]


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
    permissions.forget()  # a formula or lookup over a hidden field is hidden too
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
        if fd.type in ("dropdown", "multi_select") and "options" in changes:
            _keep_held_options(fd, {str(option) for option in changes["options"] or ()})
        if fd.type == "reference" and changes.get("reference_entity", fd.reference_entity) != fd.reference_entity:
            if _holders(field_id):
                raise ValidationFailed("Custom field", {"reference_entity": "cannot change while records link through it"})
        records.update(ctx, "custom_field", field_id, changes, version=version)
        recompute = fd.type in custom_field_rules.COMPUTED and ({"formula", "lookup_path"} & changes.keys())
        if recompute:
            computed_fields.follow_up(fd.entity, computed_fields.refresh(fd.entity))
    permissions.forget()
    return _definition(field_id)


def move_field(ctx: Context, field_id: int, step: int) -> int:
    """Move a field `step` places up (negative) or down the form; returns its new position."""
    with write(ctx) as tx:
        fd = _definition(field_id)
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
    with write(ctx) as tx:
        fd = _definition(field_id)
        values = custom_fields.read(fd.entity, _holders(field_id), [fd])
        export = {str(record_id): found[fd.key] for record_id, found in values.items() if fd.key in found}
        definition = {name: getattr(fd, name) for name in ("entity", "key", "label", "type", "options", "formula")}
        tx.log("custom_field.removed", "custom_field", field_id, old={"definition": definition, "values": export})
        readers = used_by(fd)
        CustomValue.delete().where(CustomValue.field == field_id).execute()
        records.delete(ctx, "custom_field", field_id, version=version)
        for entity in dict.fromkeys(reader.entity for reader in readers):
            computed_fields.follow_up(entity, computed_fields.refresh(entity))
    permissions.forget()
    return len(export)


def _keep_held_options(fd: FieldDef, kept: set[str]) -> None:
    """Refuse dropping an option that records hold (the count of each shown)."""
    held: dict[str, int] = {}
    if fd.type == "dropdown":
        query = (
            CustomValue.select(CustomValue.text, fn.COUNT(CustomValue.id))
            .where(CustomValue.field == fd.id, CustomValue.text.not_in(list(kept) or [""]))
            .group_by(CustomValue.text)
        )
        held = dict(query.tuples())
    else:  # multi-select values are JSON lists: counted here rather than in back-end specific SQL
        for found in custom_fields.read(fd.entity, _holders(fd.id), [fd]).values():
            for option in found.get(fd.key) or ():
                if option not in kept:
                    held[option] = held.get(option, 0) + 1
    if held:
        dropped = ", ".join(f"{text!r} ({count})" for text, count in held.items())
        raise ValidationFailed("Custom field", {"options": f"records still hold {dropped}"})


def _holders(field_id: int) -> list[int]:
    return [row[0] for row in CustomValue.select(CustomValue.record_id).where(CustomValue.field == field_id).tuples()]

