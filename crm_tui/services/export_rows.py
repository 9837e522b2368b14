"""What an export reads: the ids to export, a chunk at a time (a list query's matches in its order,
or every live record by id), and the rows of each chunk, as typed Python values.

Here: the columns a record list shows (labels as the header, values as a person reads them);
services.export_full has every importable field. A chunk is CHUNK ids, read with the joins done in
SQL (owner, company, stage...), then its custom values in one query, so nothing holds a whole table.

Values stay typed until a writer formats them: text is `str`; money is a `Decimal` in major units
("1234.50" for 123450 cents of USD); numbers `int`/`Decimal`; dates `date`; times `datetime`;
yes/no `bool`; empty `None`. Writers rely on this (only `str` cells can carry a CSV formula).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any

from peewee import JOIN, Expression, ModelSelect

from crm_tui.models import Appointment, Deal, Note, Task, User
from crm_tui.money import exponent
from crm_tui.services import custom_fields, lookup_paths, record_lists, records
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldDef, FieldError
from crm_tui.services.list_fields import Column, entity_list
from crm_tui.services.record_lists import ListQuery

CHUNK = 1000
"""Records read per query."""

ACTIVITIES = {"task": Task, "note": Note, "appointment": Appointment}
"""Exportable types without a list or custom fields, linked to records (never soft-deleted themselves)."""

_CUSTOM_KINDS = {"currency": "money", "number": "number", "percent": "number", "rating": "number",
                 "auto_number": "number", "date": "date", "datetime": "datetime", "checkbox": "bool"}  # fmt: skip
_LIST_KINDS = {"money": "money", "number": "number", "rating": "number", "date": "date", "datetime": "datetime",
               "bool": "bool"}  # fmt: skip


@dataclass(frozen=True)
class OutColumn:
    """One exported column: its header and its kind (text, number, money, date, datetime, bool)."""

    header: str
    kind: str = "text"


@dataclass
class Table:
    """What a writer writes: the columns, how many rows to expect, and the rows in chunks."""

    columns: list[OutColumn]
    total: int
    chunks: Iterator[list[list[Any]]]


@dataclass(frozen=True)
class Lookups:
    """What every chunk needs and is read once per export: users and the workspace currency."""

    users: dict[int, tuple[str, str]]
    """User id -> (login, name)."""
    currency: str

    @classmethod
    def read(cls, currency: str) -> Lookups:
        """Every user (a team is small) and the given currency."""
        return cls({row[0]: (row[1], row[2]) for row in User.select(User.id, User.login, User.name).tuples()}, currency)


# -- which ids ------------------------------------------------------------------------------------
def _live(entity: str, query: ModelSelect) -> tuple[ModelSelect, list[Expression]]:
    """`query` joined as needed, and the conditions of a record that counts as live: not deleted,
    and for a task, note or appointment not on a deleted deal (the app hides those)."""
    model = RECORD_MODELS.get(entity) or ACTIVITIES[entity]
    if entity in ACTIVITIES:
        joined = query.join_from(model, Deal, JOIN.LEFT_OUTER, on=(model.deal == Deal.id))
        return joined, [model.deal.is_null() | Deal.deleted_at.is_null()]
    return query, [model.deleted_at.is_null()]


def all_ids(entity: str) -> tuple[int, Iterator[list[int]]]:
    """How many live records `entity` has, and their ids in id order, a chunk at a time (keyset
    paging: every chunk costs the same however far it is)."""
    model = RECORD_MODELS.get(entity) or ACTIVITIES[entity]
    counted, where = _live(entity, model.select(model.id))
    total = counted.where(*where).count()

    def chunks() -> Iterator[list[int]]:
        last = 0
        while True:
            select, where = _live(entity, model.select(model.id))
            ids = [row[0] for row in select.where(*where, model.id > last).order_by(model.id).limit(CHUNK).tuples()]
            if ids:
                yield ids
            if len(ids) < CHUNK:
                return
            last = ids[-1]

    return total, chunks()


def query_ids(query: ListQuery, user_id: int | None) -> tuple[int, Iterator[list[int]]]:
    """How many records a list query matches, and their ids in its order, a chunk at a time: one
    SELECT of ids, read as it streams (the rows themselves are read per chunk)."""
    total = record_lists.count(query, user_id)
    select, order = record_lists.id_selection(query, user_id)  # the list's own ids and ORDER BY

    def chunks() -> Iterator[list[int]]:
        rows = (row[0] for row in select.order_by(*order).tuples().iterator())
        while ids := list(islice(rows, CHUNK)):
            yield ids

    return total, chunks()


# -- values ---------------------------------------------------------------------------------------
def major(minor: int | None, currency: str) -> Decimal | None:
    """Minor units as a Decimal of major units with the currency's decimals (123450 -> 1234.50)."""
    return None if minor is None else Decimal(int(minor)).scaleb(-exponent(currency))


def _titles(entity: str, ids: set[int]) -> dict[int, str]:
    """The titles of records (deleted ones too: a reference still names them)."""
    return records.titles(entity, ids, include_deleted=True)


def _target(fd: FieldDef) -> str | None:
    """The record type a reference field (or a lookup that shows one) points at."""
    if fd.type == "reference":
        return fd.reference_entity
    try:
        resolved = lookup_paths.resolve(fd.entity, fd.lookup_path, custom_fields.definitions)
    except FieldError:
        return None
    return None if resolved.field is None else _target(resolved.field)


class Custom:
    """Custom values of a chunk as export cells: `person` picks a user's name (lists) or login
    (the importable export); references become the referenced record's title."""

    def __init__(self, entity: str, defs: list[FieldDef], lookups: Lookups, *, person: int) -> None:
        self.entity, self.defs, self.lookups, self.person = entity, defs, lookups, person
        self.targets = {fd.key: _target(fd) for fd in defs if fd.stored_type == "reference"}
        self.titles: dict[str, dict[int, str]] = {}

    def read(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        """The chunk's values (record id -> key -> value), with the titles its references need."""
        values = custom_fields.read(self.entity, ids, self.defs)
        self.prepare(values.values())
        return values

    def prepare(self, records: Iterable[dict[str, Any]], prefix: str = "") -> None:
        """Read the titles of the records the chunk's references point at (values under `prefix` + key)."""
        wanted: dict[str, set[int]] = {}
        for record in records:
            for key, target in self.targets.items():
                if target and record.get(prefix + key) is not None:
                    wanted.setdefault(target, set()).add(int(record[prefix + key]))
        self.titles = {target: _titles(target, found) for target, found in wanted.items()}

    def cell(self, fd: FieldDef, value: Any, currency: str) -> Any:
        """One value as its export cell."""
        if value is None or value == []:
            return None
        kind = fd.stored_type
        if kind == "currency":
            return major(int(value), currency)
        if kind == "multi_select":
            return "; ".join(str(item) for item in value)
        if kind == "user":
            user = self.lookups.users.get(int(value))
            return user[self.person] if user else None
        if kind == "reference":
            target = self.targets.get(fd.key)
            return self.titles.get(target or "", {}).get(int(value), f"#{value}")
        if isinstance(value, (bool, int, Decimal, date)):
            return value
        if isinstance(value, float):
            return Decimal(repr(value))
        return str(value)


def custom_kind(fd: FieldDef) -> str:
    """The export kind of a custom field's cells."""
    return _CUSTOM_KINDS.get(fd.stored_type, "text") if fd.type != "formula" else "number"


# -- the columns a list shows ---------------------------------------------------------------------
def shown_columns(entity: str) -> list[Column]:
    """What a record list shows: the entity's default columns, then every custom field column."""
    spec = entity_list(entity)
    return [spec.column(key) for key in spec.default_columns] + [c for c in spec.columns if c.field is not None]


def _unique(labels: list[str], keys: list[str]) -> list[str]:
    """Headers that are unique (a custom field may share a label with a standard column)."""
    seen: set[str] = set()
    out = []
    for label, key in zip(labels, keys, strict=True):
        out.append(f"{label} ({key})" if label.casefold() in seen else label)
        seen.add(label.casefold())
    return out


def shown_table(entity: str, ids: Iterator[list[int]], total: int, lookups: Lookups) -> Table:
    """The list's shown columns (labels as the header) of the records `ids`, in their order."""
    spec = entity_list(entity)
    columns = shown_columns(entity)
    custom = Custom(entity, [c.field for c in columns if c.field is not None], lookups, person=1)
    headers = _unique([c.label for c in columns], [c.key for c in columns])
    out = [
        OutColumn(header, custom_kind(c.field) if c.field else _LIST_KINDS.get(c.kind, "text"))
        for header, c in zip(headers, columns, strict=True)
    ]

    def cell(column: Column, values: dict[str, Any]) -> Any:
        value = values.get(column.key)
        currency = values.get("currency") or lookups.currency
        if column.field is not None:
            return custom.cell(column.field, value, currency)
        if value is None or value == "":
            return None
        if column.kind == "money":
            return major(value, currency)
        if column.kind == "date" and isinstance(value, datetime):
            return value.date()
        return value if isinstance(value, (bool, int, Decimal, date)) else str(value)

    def chunks() -> Iterator[list[list[Any]]]:
        for chunk in ids:
            rows = record_lists.rows_by_id(spec, chunk)
            custom.prepare((row.values for row in rows), "custom.")
            yield [[cell(column, row.values) for column in columns] for row in rows]

    return Table(out, total, chunks())
