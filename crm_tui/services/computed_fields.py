"""Computed custom fields kept true: lookups (a value of a linked record, or of a record linked
from that one) and formulas, stored like typed values so lists sort and filter them in SQL.

They are recomputed, in batches of records with one query per link and field:
- for the record being saved (`computed`, called by custom_fields.apply);
- for the records whose lookups pass through a record that changed, was deleted or restored
  (`follow_up`, called by the record services in the same transaction), and on through lookups
  of lookups;
- for every record of a type when a lookup or formula field is added or changed (`refresh`);
- once a day for formulas that use today() (`refresh_dated`, run by the app and by
  `crm formulas refresh` for cron).

Computed values are derived, so their changes are not written to the event log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from crm_tui import clock, formula
from crm_tui.models import CustomField, CustomValue
from crm_tui.services import custom_fields, lookup_paths, workspace_settings
from crm_tui.services.context import Context
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldDef, FieldError, to_columns
from crm_tui.services.entities import spec_for
from crm_tui.services.unit import write

BATCH = 500
_TODAY = re.compile(r"\btoday\b")
DATED_KEY = "formulas_dated_on"
"""The workspace setting holding the day formulas with today() were last brought up to date."""


def _column(entity: str, key: str) -> Any:
    model = RECORD_MODELS[entity]
    return getattr(model, key)


def _links(hop: lookup_paths.Hop, ids: Iterable[int], values: dict[int, tuple[dict, dict]] | None) -> dict[int, int]:
    """Source id -> the id its link points to. The first hop reads the values being saved."""
    ids = list(ids)
    if values is not None:
        found = {}
        for record_id in ids:
            standard, custom = values[record_id]
            target = custom.get(hop.key) if hop.field is not None else standard.get(f"{hop.key}_id")
            if target is not None:
                found[record_id] = int(target)
        return found
    if not ids:
        return {}
    if hop.field is not None:
        query = CustomValue.select(CustomValue.record_id, CustomValue.integer).where(
            CustomValue.field == hop.field.id, CustomValue.record_id.in_(ids), CustomValue.integer.is_null(False)
        )
        return dict(query.tuples())
    model = RECORD_MODELS[hop.source]
    link = _column(hop.source, hop.key)
    query = model.select(model.id, link).where(model.id.in_(ids), model.deleted_at.is_null(), link.is_null(False))
    return dict(query.tuples())


def _final(resolved: lookup_paths.Resolved, ids: set[int]) -> dict[int, Any]:
    """Target id -> the value the lookup shows, for live targets."""
    if not ids:
        return {}
    model = RECORD_MODELS[resolved.entity]
    live = model.select(model.id).where(model.id.in_(list(ids)), model.deleted_at.is_null())
    if resolved.field is not None:
        alive = {row[0] for row in live.tuples()}
        values = custom_fields.read(resolved.entity, sorted(alive), [resolved.field])
        return {record_id: found.get(resolved.key) for record_id, found in values.items()}
    if resolved.key == "name" and resolved.entity in ("contact", "lead"):
        rows = live.select_extend(model.first_name, model.last_name).tuples()
        return {rid: " ".join(p for p in (first, last) if p) or None for rid, first, last in rows}
    return dict(live.select_extend(_column(resolved.entity, resolved.key)).tuples())


def lookup_values(
    fd: FieldDef, rows: dict[int, tuple[dict, dict]], defs_of: lookup_paths.DefsOf
) -> dict[int, Any]:
    """The value of lookup `fd` for each record of `rows` (id -> (standard values, custom values),
    as the record is being saved: its own links are read from there, the rest from the database)."""
    try:
        resolved = lookup_paths.resolve(fd.entity, fd.lookup_path, defs_of)
    except FieldError:
        return dict.fromkeys(rows)
    reached = {record_id: record_id for record_id in rows}
    for depth, hop in enumerate(resolved.hops):
        links = _links(hop, set(reached.values()), rows if depth == 0 else None)
        reached = {record_id: links[at] for record_id, at in reached.items() if at in links}
    values = _final(resolved, set(reached.values()))
    return {record_id: values.get(reached[record_id]) if record_id in reached else None for record_id in rows}


def computed(
    entity: str, defs: list[FieldDef], rows: dict[int, tuple[dict, dict]], *, today: date, currency: str
) -> dict[int, dict[str, Any]]:
    """Each record's custom values with its lookups, then its formulas, computed afresh."""
    result = {record_id: dict(custom) for record_id, (_, custom) in rows.items()}
    cache: dict[str, list[FieldDef]] = {entity: defs}

    def defs_of(name: str) -> list[FieldDef]:
        if name not in cache:
            cache[name] = custom_fields.definitions(name)
        return cache[name]

    for fd in defs:
        if fd.type == "lookup":
            for record_id, value in lookup_values(fd, rows, defs_of).items():
                result[record_id][fd.key] = value
    formulas = [fd for fd in defs if fd.type == "formula"]
    parsed: dict[str, Any] = {}
    for record_id, (standard, _) in rows.items() if formulas else ():
        inputs = custom_fields.formula_inputs(standard, result[record_id], defs, currency)
        if not parsed:  # every record has the same names: parse each formula once
            parsed = {fd.key: _parsed(fd, inputs.keys()) for fd in formulas}
        for fd in formulas:
            value = custom_fields.compute(fd, inputs, today=today, parsed=parsed[fd.key]) if parsed[fd.key] else None
            result[record_id][fd.key] = inputs[fd.key] = value
    return result


def _parsed(fd: FieldDef, names: Iterable[str]) -> Any:
    try:
        return formula.parse(fd.formula or "", names)
    except formula.FormulaError:
        return None


def _batches(entity: str, ids: Iterable[int] | None) -> Iterable[list[int]]:
    if ids is not None:
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), BATCH):
            yield wanted[start : start + BATCH]
        return
    model = RECORD_MODELS[entity]
    after = 0
    while True:
        batch = [
            row[0]
            for row in model.select(model.id)
            .where(model.id > after, model.deleted_at.is_null())
            .order_by(model.id)
            .limit(BATCH)
            .tuples()
        ]
        if not batch:
            return
        yield batch
        after = batch[-1]


def refresh(entity: str, ids: Iterable[int] | None = None, *, today: date | None = None) -> list[int]:
    """Recompute the lookups and formulas of the given records (None: every live one); returns
    the ids whose values changed. Runs in the caller's transaction."""
    defs = custom_fields.definitions(entity)
    if entity not in RECORD_MODELS or not any(fd.type in ("lookup", "formula") for fd in defs):
        return []
    spec = spec_for(entity)
    model = RECORD_MODELS[entity]
    today = today or clock.now().date()
    money = workspace_settings.currency()
    changed: list[int] = []
    for batch in _batches(entity, ids):
        stored = custom_fields.read(entity, batch, defs)
        names = list(spec.columns)
        query = model.select(*spec.columns.values()).where(model.id.in_(batch), model.deleted_at.is_null())
        rows = {}
        for found in query.tuples():
            standard = dict(zip(names, found, strict=True))
            rows[standard["id"]] = (standard, stored[standard["id"]])
        fresh = computed(entity, defs, rows, today=today, currency=money)
        moved: set[int] = set()
        for fd in defs:
            if fd.type not in ("lookup", "formula"):
                continue
            writes = {
                record_id: values.get(fd.key)
                for record_id, values in fresh.items()
                if to_columns(fd, values.get(fd.key)) != to_columns(fd, stored[record_id].get(fd.key))
            }
            custom_fields.store_many(fd, writes)
            moved |= writes.keys()
        changed += sorted(moved)
    return changed


def _sources(hops: tuple[lookup_paths.Hop, ...], ids: set[int]) -> set[int]:
    """The records whose path `hops` reaches one of `ids` (walking the links backwards)."""
    for hop in reversed(hops):
        if not ids:
            return set()
        if hop.field is not None:
            query = CustomValue.select(CustomValue.record_id).where(
                CustomValue.field == hop.field.id, CustomValue.integer.in_(list(ids))
            )
        else:
            model = RECORD_MODELS[hop.source]
            query = model.select(model.id).where(_column(hop.source, hop.key).in_(list(ids)))
        ids = {row[0] for row in query.tuples()}
    return ids


def follow_up(entity: str, ids: Iterable[int], *, depth: int = 0) -> None:
    """Recompute the lookups that read the records `ids` of `entity` (just changed, deleted or
    restored), and on through the lookups that read those. Runs in the caller's transaction."""
    ids = set(ids)
    if not ids or depth > lookup_paths.MAX_NESTING or entity not in RECORD_MODELS:
        return
    if not CustomField.select().where(CustomField.type == "lookup").exists():
        return
    for source in RECORD_MODELS:
        defs = custom_fields.definitions(source)
        affected: set[int] = set()
        for fd in defs:
            if fd.type != "lookup":
                continue
            try:
                resolved = lookup_paths.resolve(source, fd.lookup_path, custom_fields.definitions)
            except FieldError:
                continue
            for at, hop in enumerate(resolved.hops):
                if hop.target == entity:
                    affected |= _sources(resolved.hops[: at + 1], ids)
        if affected:
            follow_up(source, refresh(source, affected), depth=depth + 1)


def uses_today(fd: FieldDef) -> bool:
    """A formula whose value changes with the day."""
    return fd.type == "formula" and bool(_TODAY.search(fd.formula or ""))


def refresh_dated(ctx: Context, *, today: date | None = None, force: bool = False) -> int:
    """Bring formulas that use today() up to date, once a day (again with `force`); returns how
    many records changed. Each batch is its own transaction, so users are never held up long."""
    today = today or clock.now().date()
    if not force and workspace_settings.get_setting(DATED_KEY) == today.isoformat():
        return 0
    changed = 0
    for entity in RECORD_MODELS:
        if not any(uses_today(fd) for fd in custom_fields.definitions(entity)):
            continue
        for batch in _batches(entity, None):
            with write(ctx):
                changed += len(refresh(entity, batch, today=today))
    with write(ctx):
        workspace_settings.put_setting(DATED_KEY, today.isoformat())
    return changed


def refresh_all(ctx: Context) -> int:
    """Recompute every lookup and formula of every record (after a bulk load that bypassed the
    services); returns how many records changed. One transaction per batch."""
    changed = 0
    for entity in RECORD_MODELS:
        for batch in _batches(entity, None):
            with write(ctx):
                changed += len(refresh(entity, batch))
    return changed
