"""The columns a record list can show, sort and filter by: the standard fields of each record type
and its custom fields, each with the SQL expression that sorts and filters it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import JOIN, SQL, Expression, Field, fn

from crm_tui.models import (
    LEAD_STATUSES,
    Company,
    Contact,
    CustomValue,
    Deal,
    Lead,
    Stage,
    User,
)
from crm_tui.services import custom_fields, permissions, search
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldDef

OPERATORS: dict[str, tuple[str, ...]] = {
    "text": ("contains", "is", "starts", "empty", "not_empty"),
    "money": ("eq", "ne", "lt", "le", "gt", "ge", "empty", "not_empty"),
    "number": ("eq", "ne", "lt", "le", "gt", "ge", "empty", "not_empty"),
    "rating": ("eq", "ne", "lt", "le", "gt", "ge", "empty", "not_empty"),
    "date": ("within", "on", "before", "after", "empty", "not_empty"),
    "datetime": ("within", "on", "before", "after", "empty", "not_empty"),
    "choice": ("is", "is_not", "empty", "not_empty"),
    "user": ("is", "is_not", "empty", "not_empty"),
    "bool": ("is",),
    "list": ("has", "empty", "not_empty"),
}
"""The kinds of column (how each is shown) and the filter operators of each, the first being the default."""

OPERATOR_LABELS = {
    "contains": "contains", "is": "is", "starts": "starts with", "empty": "is empty", "not_empty": "is not empty",
    "eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "within": "within", "on": "on",
    "before": "before", "after": "after", "is_not": "is not", "has": "has",
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    """One field of a record list."""

    key: str
    label: str
    kind: str
    width: int
    options: tuple[str, ...] = ()
    field: FieldDef | None = None
    """The custom field behind a `custom.<key>` column."""

    @property
    def operators(self) -> tuple[str, ...]:
        """The filter operators this column offers."""
        return OPERATORS[self.kind]


@dataclass(frozen=True)
class EntityList:
    """What a list of one record type needs: its model, columns and quick-filter fields."""

    entity: str
    label: str
    plural: str
    columns: tuple[Column, ...]
    default_columns: tuple[str, ...]
    default_sort: str

    def column(self, key: str) -> Column:
        """The column called `key` (KeyError if there is none)."""
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)


_STANDARD: dict[str, tuple[Column, ...]] = {
    "company": (
        Column("name", "Name", "text", 28), Column("domain", "Domain", "text", 20), Column("industry", "Industry", "text", 16),
        Column("phone", "Phone", "text", 16), Column("employees", "Staff", "number", 7), Column("owner", "Owner", "user", 14),
        Column("created_at", "Created", "date", 10), Column("updated_at", "Updated", "date", 10),
    ),
    "contact": (
        Column("name", "Name", "text", 24), Column("email", "Email", "text", 26), Column("phone", "Phone", "text", 16),
        Column("title", "Title", "text", 16), Column("company", "Company", "text", 20), Column("source", "Source", "text", 12),
        Column("owner", "Owner", "user", 14), Column("created_at", "Created", "date", 10), Column("updated_at", "Updated", "date", 10),
    ),
    "lead": (
        Column("name", "Name", "text", 22), Column("company_name", "Company", "text", 20),
        Column("status", "Status", "choice", 11, LEAD_STATUSES), Column("email", "Email", "text", 24),
        Column("phone", "Phone", "text", 14), Column("source", "Source", "text", 12), Column("owner", "Owner", "user", 14),
        Column("created_at", "Created", "date", 10),
    ),
    "deal": (
        Column("title", "Title", "text", 28), Column("company", "Company", "text", 20), Column("stage", "Stage", "text", 16),
        Column("status", "Status", "choice", 7, ("open", "won", "lost", "closed")), Column("amount", "Amount", "money", 12),
        Column("probability", "Prob.", "number", 5), Column("expected_close", "Close", "date", 10),
        Column("owner", "Owner", "user", 14), Column("source", "Source", "text", 12), Column("created_at", "Created", "date", 10),
    ),
}  # fmt: skip

_DEFAULTS = {
    "company": ("name", "domain", "industry", "owner", "created_at"),
    "contact": ("name", "email", "phone", "company", "owner"),
    "lead": (
        "name",
        "company_name",
        "status",
        "email",
        "source",
        "owner",
        "created_at",
    ),
    "deal": ("title", "company", "stage", "amount", "expected_close", "owner"),
}
LABELS = {
    "company": ("Company", "Companies"),
    "contact": ("Contact", "Contacts"),
    "lead": ("Lead", "Leads"),
    "deal": ("Deal", "Deals"),
}
"""(singular, plural) name of each record type that has a list; the plural in lower case is the
app mode that shows the list."""
MODELS = RECORD_MODELS
QUICK_FIELDS: dict[str, tuple[Field, ...]] = {
    "company": (Company.name, Company.domain),
    "contact": (Contact.first_name, Contact.last_name, Contact.email, Contact.phone),
    "lead": (Lead.first_name, Lead.last_name, Lead.company_name, Lead.email),
    "deal": (Deal.title,),
}
"""The fields `/` matches by substring when its text has no words (see quick_condition)."""

_CUSTOM_KINDS = {
    "text": "text", "long_text": "text", "email": "text", "phone": "text", "url": "text", "address": "text",
    "number": "number", "percent": "number", "currency": "money", "rating": "rating", "date": "date",
    "datetime": "datetime", "checkbox": "bool", "dropdown": "choice", "multi_select": "list", "user": "user",
    "reference": "number", "auto_number": "number", "lookup": "text", "formula": "number",
}  # fmt: skip


def entity_list(entity: str) -> EntityList:
    """The list description of `entity`, with its custom fields as `custom.<key>` columns."""
    if entity not in _STANDARD:
        raise ValueError(f"no list of {entity!r}; lists exist for {', '.join(_STANDARD)}")
    custom = tuple(
        Column(f"custom.{fd.key}", fd.label, _CUSTOM_KINDS[fd.stored_type], 14, fd.options, fd)
        for fd in custom_fields.definitions(entity)
    )
    label, plural = LABELS[entity]
    first = _STANDARD[entity][0].key
    # Fields hidden from the acting user's role are no columns at all: not shown, sorted or filtered by.
    columns = tuple(c for c in _STANDARD[entity] + custom if permissions.shows(entity, c.key))
    defaults = tuple(key for key in _DEFAULTS[entity] if permissions.shows(entity, key))
    return EntityList(entity, label, plural, columns, defaults, first)


class Joins:
    """The joins a query needs for the columns it sorts and filters by, added once each."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.model = MODELS[entity]
        self.needed: dict[str, Any] = {}

    def expression(self, column: Column) -> Any:
        """The SQL expression of `column`'s value (a join is recorded when one is needed)."""
        model, key = self.model, column.key
        if column.field is not None:
            alias = self._custom(column.field)
            if column.field.stored_type == "formula":
                return fn.COALESCE(alias.real, alias.integer)
            return getattr(alias, column.field.column)
        if key == "name":
            if model is Company:
                return fn.LOWER(model.name)
            return fn.LOWER(fn.COALESCE(model.first_name, "").concat(" ").concat(fn.COALESCE(model.last_name, "")))
        if key == "owner":
            return self._join("owner", User.alias("owner_user"), model.owner).name
        if key == "company":
            return self._join("company", Company.alias("company_row"), model.company).name
        if key in ("stage", "status"):
            stage = self._join("stage", Stage.alias("stage_row"), Deal.stage)
            return stage.name if key == "stage" else stage.kind
        if key == "probability" and model is Deal:  # as shown: the deal's own, else its stage's
            stage = self._join("stage", Stage.alias("stage_row"), Deal.stage)
            return fn.COALESCE(Deal.probability, stage.probability)
        if key == "title":
            return fn.LOWER(model.title)
        return getattr(model, key)

    def sort_expressions(self, column: Column) -> list[Any]:
        """What ORDER BY uses for `column`: plain indexed columns where there are some."""
        model = self.model
        if column.key == "name" and model is Company:
            return [model.name]
        if column.key == "name":
            return [model.last_name, model.first_name]
        if column.key == "title":
            return [model.title]
        return [self.expression(column)]

    def filter_value(self, column: Column) -> Any:
        """The expression a filter compares: owners by id, not by name."""
        if column.key == "owner":
            return self.model.owner
        return self.expression(column)

    def _join(self, name: str, alias: Any, foreign: Field) -> Any:
        if name not in self.needed:
            self.needed[name] = (alias, alias.id == foreign)
        return self.needed[name][0]

    def _custom(self, fd: FieldDef) -> Any:
        name = f"custom.{fd.key}"
        if name not in self.needed:
            alias = CustomValue.alias(f"cv_{fd.key}")
            self.needed[name] = (
                alias,
                (alias.field == fd.id) & (alias.record_id == self.model.id),
            )
        return self.needed[name][0]

    def apply(self, query: Any) -> Any:
        """`query` with every recorded join added (LEFT OUTER: a missing value is NULL)."""
        for alias, on in self.needed.values():
            query = query.join_from(self.model, alias, JOIN.LEFT_OUTER, on=on)
        return query


def quick_condition(entity: str, text: str) -> Expression | None:
    """The `/` filter: records whose name, e-mail, phone, company or title has words starting with
    the words of `text` (any case, accents folded), found through the search index like the
    palette's search, so it costs the same on a million rows. Text without letters or digits
    ("@", "+") falls back to a substring match on the entity's quick fields."""
    text = text.strip()
    if not text:
        return None
    model = MODELS[entity]
    matches = search.matching_records(entity, text)
    if matches is not None:
        sql, params = matches
        return model.id.in_(SQL(f"({sql})", params))
    fields = QUICK_FIELDS[entity]
    condition = fields[0].contains(text)
    for fld in fields[1:]:
        condition = condition | fld.contains(text)
    return condition
