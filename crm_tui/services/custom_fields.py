"""Custom field definitions and values: read in batches, stored one row per value, and checked,
numbered and computed when their record is saved (`apply`, called by the record services).

Lookup and formula values are computed when their record is saved (services.computed_fields)
and stored like any other value, so lists sort and filter by them in SQL; computed_fields also
keeps them true when the records they read change, and formulas with today() once a day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from crm_tui import clock
from crm_tui.models import CustomField, CustomValue, database
from crm_tui.money import exponent
from crm_tui.services import lookup_paths, unit, workspace_settings
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldDef, FieldError, coerce, from_row, to_columns
from crm_tui.services.errors import ValidationFailed
from crm_tui.services.sql_util import among

__all__ = ["RECORD_MODELS", "FieldDef", "FieldError", "apply", "definitions", "read", "store"]


def _def(row: CustomField) -> FieldDef:
    return FieldDef(
        row.id, row.entity, row.key, row.label, row.type, row.required, tuple(row.options or ()), row.position,
        row.formula, row.reference_entity, tuple(row.lookup_path or ()), row.version,
    )  # fmt: skip


def _raw(entity: str) -> list[FieldDef]:
    query = CustomField.select().where(CustomField.entity == entity).order_by(CustomField.position, CustomField.id)
    return [_def(row) for row in query]


def definitions(entity: str) -> list[FieldDef]:
    """The custom fields of `entity` in their form order (a lookup knows its value type; one whose
    path no longer resolves, after a field it used was removed, shows text and computes nothing).
    Read once per write transaction: a save asks about ten times."""
    tx = unit.open_txn()
    if tx is None:
        return _definitions(entity)
    key = ("custom_fields.definitions", entity)
    if key not in tx.memo:
        tx.memo[key] = _definitions(entity)
    return list(tx.memo[key])


def _definitions(entity: str) -> list[FieldDef]:
    defs = _raw(entity)
    if not any(fd.type == "lookup" for fd in defs):
        return defs
    cache: dict[str, list[FieldDef]] = {entity: defs}

    def defs_of(name: str) -> list[FieldDef]:
        if name not in cache:
            cache[name] = _raw(name)
        return cache[name]

    return [_with_target(fd, defs_of) if fd.type == "lookup" else fd for fd in defs]


def _with_target(fd: FieldDef, defs_of: lookup_paths.DefsOf) -> FieldDef:
    """A lookup with the type (and a dropdown's options) of the field it shows."""
    try:
        resolved = lookup_paths.resolve(fd.entity, fd.lookup_path, defs_of)
    except FieldError:
        return fd
    options = resolved.field.options if resolved.field is not None else ()
    return replace(fd, value_type=resolved.value_type, options=options)


def read(entity: str, record_ids: list[int], defs: list[FieldDef] | None = None) -> dict[int, dict[str, Any]]:
    """Every custom value of the given records: record id -> field key -> value (absent = None)."""
    defs = definitions(entity) if defs is None else defs
    by_id = {fd.id: fd for fd in defs}
    result: dict[int, dict[str, Any]] = {record_id: {} for record_id in record_ids}
    if not by_id or not record_ids:
        return result
    query = CustomValue.select(
        CustomValue.field,
        CustomValue.record_id,
        CustomValue.text,
        CustomValue.integer,
        CustomValue.real,
        CustomValue.json,
    ).where(CustomValue.field.in_(list(by_id)), among(CustomValue.record_id, record_ids))
    for field_id, record_id, text, integer, real, data in query.tuples():
        fd = by_id[field_id]
        result[record_id][fd.key] = from_row(fd, text, integer, real, data)
    return result


def store(fd: FieldDef, record_id: int, value: Any) -> None:
    """Write one value (None or [] removes the row)."""
    columns = to_columns(fd, value)
    if all(v is None for v in columns.values()):
        CustomValue.delete().where(CustomValue.field == fd.id, CustomValue.record_id == record_id).execute()
        return
    updated = (
        CustomValue.update({getattr(CustomValue, name): v for name, v in columns.items()})
        .where(CustomValue.field == fd.id, CustomValue.record_id == record_id)
        .execute()
    )
    if not updated:
        CustomValue.insert(field=fd.id, record_id=record_id, **columns).execute()


def store_many(fd: FieldDef, values: dict[int, Any]) -> None:
    """Write one field's values for many records at once (record id -> value; None removes)."""
    if not values:
        return
    ids = list(values)
    for start in range(0, len(ids), 500):
        CustomValue.delete().where(CustomValue.field == fd.id, CustomValue.record_id.in_(ids[start : start + 500])).execute()
    rows = []
    for record_id, value in values.items():
        columns = to_columns(fd, value)
        if any(v is not None for v in columns.values()):
            data = columns["json"]
            rows.append((fd.id, record_id, columns["text"], columns["integer"], columns["real"], CustomValue.json.db_value(data)))
    if rows:
        # executemany: peewee's insert_many spends ~80 µs a row building SQL; this is a few µs.
        marks = ", ".join([database.param] * 6)
        cursor = database.cursor()
        cursor.executemany(
            f'INSERT INTO custom_value ("field_id", "record_id", "text", "integer", "real", "json") VALUES ({marks})', rows
        )


def next_number(fd: FieldDef) -> int:
    """The next auto-number of a field (one more than the highest given)."""
    top = (
        CustomValue.select(CustomValue.integer)
        .where(CustomValue.field == fd.id)
        .order_by(CustomValue.integer.desc())
        .first()
    )
    return (top.integer if top and top.integer else 0) + 1


MONEY_FIELDS = frozenset({"amount", "cost"})
"""Standard fields held in minor units."""


def formula_inputs(
    values: dict[str, Any], custom: dict[str, Any], defs: list[FieldDef], currency: str
) -> dict[str, Any]:
    """The names a formula can use: standard fields (without the `_id` links) and custom fields.
    Money is given in major units (12.50, not 1250), the numbers the form shows."""
    scale = Decimal(10) ** exponent(values.get("currency") or currency)
    names = {name: value for name, value in values.items() if not name.endswith("_id")}
    for name in MONEY_FIELDS & names.keys():
        if names[name] is not None:
            names[name] = Decimal(names[name]) / scale
    names["created"] = values.get("created_at")
    for fd in defs:
        value = custom.get(fd.key)
        if fd.type == "currency" and value is not None:
            value = Decimal(value) / scale
        elif fd.type == "multi_select":
            value = ", ".join(value or ())
        names[fd.key] = value
    return names


def compute(fd: FieldDef, inputs: dict[str, Any], *, today: date, parsed: Any = None) -> Any:
    """A formula field's value for one record (None when it cannot be computed). `parsed`: the
    formula already parsed over these names, to parse it once for many records."""
    from crm_tui import formula

    if not fd.formula:
        return None
    try:
        parsed = parsed or formula.parse(fd.formula, inputs.keys())
        result = parsed.evaluate(inputs, today=today)
    except formula.FormulaError:
        return None
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return Decimal(result)
    return result


def apply(
    entity: str,
    label: str,
    record_id: int,
    values: dict[str, Any],
    changes: dict[str, Any] | None,
    *,
    creating: bool,
) -> dict[str, tuple[Any, Any]]:
    """Check and store `changes` (field key -> typed value) for one record, number a new record's
    auto-number fields and recompute its formulas; returns what changed (key -> (old, new)).

    Raises ValidationFailed with one message per field, keyed `custom.<key>`; nothing is stored
    then. Runs inside the caller's write transaction.
    """
    changes = dict(changes or {})
    if entity not in RECORD_MODELS:
        if changes:
            raise ValidationFailed(label, {"custom": f"a {label.lower()} has no custom fields"})
        return {}
    defs = definitions(entity)
    if not defs:
        if changes:
            raise ValidationFailed(
                label,
                {f"custom.{key}": "is not a field of this record" for key in changes},
            )
        return {}
    by_key = {fd.key: fd for fd in defs}
    current = read(entity, [record_id], defs)[record_id]
    money = workspace_settings.currency()
    today = clock.now().date()
    errors: dict[str, str] = {}
    new = dict(current)
    for key, raw in changes.items():
        fd = by_key.get(key)
        if fd is None:
            errors[f"custom.{key}"] = "is not a field of this record"
            continue
        try:
            new[key] = coerce(fd, raw, currency=values.get("currency") or money, today=today)
        except FieldError as error:
            errors[f"custom.{key}"] = str(error)
    if creating:
        for fd in defs:
            if fd.required and not fd.read_only and new.get(fd.key) in (None, []) and f"custom.{fd.key}" not in errors:
                errors[f"custom.{fd.key}"] = "is required"
    if errors:
        raise ValidationFailed(label, errors)
    for fd in defs:
        if fd.type == "auto_number" and creating:
            new[fd.key] = next_number(fd)
    from crm_tui.services.computed_fields import computed  # it builds on this module

    new = computed(entity, defs, {record_id: (values, new)}, today=today, currency=money)[record_id]
    diff = {
        fd.key: (current.get(fd.key), new.get(fd.key)) for fd in defs if _differs(current.get(fd.key), new.get(fd.key))
    }
    for key, (_, value) in diff.items():
        store(by_key[key], record_id, value)
    return diff


def _differs(old: Any, new: Any) -> bool:
    return (old or None) != (new or None) if isinstance(old, list) or isinstance(new, list) else old != new
