"""What a custom field definition must satisfy beyond its schema: a key that clashes with nothing,
at most 500 distinct options, a formula that parses over the record's names, a lookup path that
resolves, a reference to a record type that exists. Checked when a field is added or changed."""

from __future__ import annotations

import re
from typing import Any

from peewee import ForeignKeyField

from crm_tui import formula
from crm_tui.services import custom_fields, lookup_paths
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldError
from crm_tui.services.errors import ValidationFailed

MAX_OPTIONS = 500
COMPUTED = frozenset({"formula", "lookup"})


def standard_names(entity: str) -> set[str]:
    """The standard names a formula on `entity` can use (and a custom key must not take)."""
    model = RECORD_MODELS[entity]
    names = {f.name for f in model._meta.sorted_fields if not isinstance(f, ForeignKeyField)}
    return (names - {"id", "version", "deleted_at"}) | {"created", "name"}


def formula_names(entity: str, own_key: str | None = None) -> set[str]:
    """Every name a formula on `entity` can use: standard fields and the other custom fields."""
    customs = {fd.key for fd in custom_fields.definitions(entity) if fd.key != own_key}
    return standard_names(entity) | customs


def names_in(text: str | None) -> set[str]:
    """The names a formula's text mentions (a cheap scan: quoted text may add a few)."""
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text or ""))


def key_for(entity: str, label: str) -> str:
    """A free key made from `label` ("Renewal date" -> renewal_date; renewal_date_2 if taken)."""
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:50] or "field"
    if not base[0].isalpha():
        base = f"f_{base}"
    taken = standard_names(entity) | {fd.key for fd in custom_fields.definitions(entity)}
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


def check(values: dict[str, Any], *, field_id: int | None = None) -> None:
    """Raise ValidationFailed (one message per field) if the definition `values` cannot work."""
    entity, key, kind = values["entity"], values["key"], values["type"]
    errors: dict[str, str] = {}
    if entity not in RECORD_MODELS:
        errors["entity"] = f"must be one of {', '.join(RECORD_MODELS)}"
        raise ValidationFailed("Custom field", errors)
    others = [fd for fd in custom_fields.definitions(entity) if fd.id != field_id]
    if key in standard_names(entity):
        errors["key"] = f"is the name of a standard {entity} field"
    elif any(fd.key == key for fd in others):
        errors["key"] = f"is taken by another {entity} field"
    options = list(values.get("options") or ())
    if len(options) > MAX_OPTIONS:
        errors["options"] = f"may hold at most {MAX_OPTIONS} options (this has {len(options)})"
    elif len({option.lower() for option in options}) != len(options):
        errors["options"] = "holds the same option twice"
    if kind == "formula" and values.get("formula"):
        problem = formula.check(values["formula"], formula_names(entity, key))
        if problem:
            errors["formula"] = problem
    if kind == "reference" and values.get("reference_entity") not in RECORD_MODELS:
        errors["reference_entity"] = f"must be one of {', '.join(RECORD_MODELS)}"
    if kind == "lookup":
        try:
            lookup_paths.resolve(entity, values.get("lookup_path") or (), custom_fields.definitions)
        except FieldError as error:
            errors["lookup_path"] = str(error)
    if errors:
        raise ValidationFailed("Custom field", errors)


def before_insert(tx: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The record services' hook: a new definition is checked before it is stored."""
    check(values)
    return {}


def after_insert(tx: Any, record_id: int, values: dict[str, Any]) -> None:
    """The record services' hook: a new lookup or formula is computed for every record at once;
    a new auto-number numbers the records there already, oldest first."""
    if values["type"] == "auto_number":
        model = RECORD_MODELS[values["entity"]]
        fd = next(fd for fd in custom_fields.definitions(values["entity"]) if fd.id == record_id)
        ids = [row[0] for row in model.select(model.id).order_by(model.id).tuples()]
        custom_fields.store_many(fd, {rid: number for number, rid in enumerate(ids, 1)})
    if values["type"] in COMPUTED:
        from crm_tui.services import computed_fields  # it builds on the record services

        computed_fields.follow_up(values["entity"], computed_fields.refresh(values["entity"]))
