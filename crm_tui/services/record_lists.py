"""Record lists: count, sort, filter and page any record type in SQL, a page at a time.

A ListQuery (quick text, conditions combined with AND, a sort) becomes one SELECT of ids with the
joins its columns need; a page then reads the shown values of those ids only. Nothing loads a
whole table: 100,000 contacts cost a COUNT and a page of 50.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from peewee import JOIN, Expression, fn

from crm_tui import clock
from crm_tui.dates import parse_date
from crm_tui.models import Company, Contact, Deal, Lead, Stage, User, database
from crm_tui.money import parse_money
from crm_tui.services import custom_fields, search
from crm_tui.services.errors import ServiceError
from crm_tui.services.list_fields import (
    MODELS,
    OPERATOR_LABELS,
    Column,
    EntityList,
    Joins,
    entity_list,
    quick_condition,
)

PAGE = 50
"""Rows read per page."""

PERIODS = (
    "today", "yesterday", "this_week", "last_week", "next_week", "this_month", "last_month", "next_month",
    "this_quarter", "last_quarter", "this_year", "last_7_days", "last_30_days", "next_30_days", "last_12_months",
)  # fmt: skip
"""The periods a date filter can name; they are relative to the day the list is read."""


@dataclass(frozen=True)
class Condition:
    """One filter: the column, the operator and the value (as JSON-ready data)."""

    key: str
    op: str
    value: Any = None

    def describe(self, entity: EntityList) -> str:
        """A short sentence for the filter bar: "Status is working"."""
        try:
            label = entity.column(self.key).label
        except KeyError:
            label = self.key
        shown = "" if self.value is None else f" {str(self.value).replace('_', ' ')}"
        return f"{label} {OPERATOR_LABELS.get(self.op, self.op)}{shown}"


@dataclass(frozen=True)
class ListQuery:
    """What a list shows: a quick text filter, conditions (all must hold) and the sort."""

    entity: str
    text: str = ""
    conditions: tuple[Condition, ...] = ()
    sort: str = ""
    descending: bool = False

    def to_json(self) -> dict[str, Any]:
        """The filters as a saved view stores them."""
        return {
            "kind": "list",
            "text": self.text,
            "conditions": [asdict(c) for c in self.conditions],
        }

    @classmethod
    def from_view(cls, entity: str, filters: dict[str, Any], sort: list[Any]) -> ListQuery:
        """The query a saved view describes."""
        conditions = tuple(Condition(c["key"], c["op"], c.get("value")) for c in filters.get("conditions", []))
        key, descending = (sort[0][0], sort[0][1] == "desc") if sort and isinstance(sort[0], list) else ("", False)
        return cls(entity, filters.get("text", ""), conditions, key, descending)


@dataclass(frozen=True)
class ListRow:
    """One record as a list shows it: values by column key."""

    id: int
    version: int
    values: dict[str, Any] = field(default_factory=dict)


def period_range(name: str, today: date) -> tuple[date, date]:
    """The first day and the day after the last day of a named period."""
    week = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    quarter = month.replace(month=(today.month - 1) // 3 * 3 + 1)
    ranges = {
        "today": (today, today + timedelta(days=1)),
        "yesterday": (today - timedelta(days=1), today),
        "this_week": (week, week + timedelta(days=7)),
        "last_week": (week - timedelta(days=7), week),
        "next_week": (week + timedelta(days=7), week + timedelta(days=14)),
        "this_month": (month, next_month),
        "last_month": ((month - timedelta(days=1)).replace(day=1), month),
        "next_month": (next_month, (next_month + timedelta(days=32)).replace(day=1)),
        "this_quarter": (quarter, (quarter + timedelta(days=95)).replace(day=1)),
        "last_quarter": ((quarter - timedelta(days=80)).replace(day=1), quarter),
        "last_12_months": (next_month.replace(year=next_month.year - 1), next_month),
        "this_year": (
            today.replace(month=1, day=1),
            today.replace(year=today.year + 1, month=1, day=1),
        ),
        "last_7_days": (today - timedelta(days=6), today + timedelta(days=1)),
        "last_30_days": (today - timedelta(days=29), today + timedelta(days=1)),
        "next_30_days": (today, today + timedelta(days=30)),
    }
    if name not in ranges:
        raise ServiceError(f"unknown period {name!r}; known: {', '.join(PERIODS)}")
    return ranges[name]


def parse_value(
    column: Column,
    op: str,
    text: str,
    *,
    currency: str = "USD",
    user_id: int | None = None,
) -> Any:
    """The value a user typed for a filter, checked and made JSON-ready; ServiceError if it is not."""
    if op not in column.operators:
        raise ServiceError(f"{column.label} cannot be filtered with {OPERATOR_LABELS.get(op, op)!r}")
    text = text.strip()
    if op in ("empty", "not_empty"):
        return None
    if not text:
        raise ServiceError(f"type a value for {column.label}")
    kind = column.kind
    if op == "within":
        name = text.lower().replace(" ", "_")
        if name not in PERIODS:
            raise ServiceError(f"{text!r} is not a period; try: {', '.join(p.replace('_', ' ') for p in PERIODS)}")
        return name
    if kind in ("date", "datetime"):
        day = parse_date(text, clock.now().date())
        if day is None:
            raise ServiceError(f"{text!r} is not a date (2026-12-01, today, +3d, next friday)")
        return day.isoformat()
    if kind == "money":
        try:
            return parse_money(text, currency)
        except ValueError as error:
            raise ServiceError(str(error)) from None
    if kind in ("number", "rating"):
        try:
            return float(text.replace(",", ""))
        except ValueError:
            raise ServiceError(f"{text!r} is not a number") from None
    if kind == "bool":
        return text.lower() in ("yes", "y", "true", "1", "x")
    if kind == "user":
        if text.lower() in ("me", "mine"):
            return "me"
        row = User.select(User.id).where(fn.LOWER(User.name) == text.lower()).first()
        if row is None:
            raise ServiceError(f"no user called {text!r}")
        return row.id
    if kind == "choice" and column.options:
        match = next((o for o in column.options if o.lower() == text.lower()), None)
        if match is None:
            raise ServiceError(f"{column.label} is one of: {', '.join(column.options)}")
        return match
    return text


def _condition(joins: Joins, column: Column, cond: Condition, user_id: int | None) -> Expression:
    value, op = cond.value, cond.op
    if column.kind == "list":
        alias = joins.expression(column)  # the json column; membership is read as text
        if op == "has":
            return alias.contains(f'"{value}"')
        return alias.is_null() if op == "empty" else alias.is_null(False)
    expr = joins.filter_value(column)
    if op == "empty":
        return expr.is_null() | (expr == "") if column.kind == "text" else expr.is_null()
    if op == "not_empty":
        return expr.is_null(False) & (expr != "") if column.kind == "text" else expr.is_null(False)
    if column.kind == "user" and value == "me":
        if user_id is None:  # nobody is "me": mine matches nothing, not the unowned records
            return expr.is_null(False) if op == "is_not" else (joins.model.id < 0)
        value = user_id
    if column.kind in ("date", "datetime"):
        if op == "within":
            start, end = period_range(str(value), clock.now().date())
        else:
            start = date.fromisoformat(str(value))
            end = start + timedelta(days=1)
        if column.kind == "datetime" or column.key in ("created_at", "updated_at"):
            start, end = (
                datetime(start.year, start.month, start.day),
                datetime(end.year, end.month, end.day),
            )
        if column.field is not None:
            start, end = start.isoformat(), end.isoformat()
        return {"within": (expr >= start) & (expr < end), "on": (expr >= start) & (expr < end),
                "before": expr < start, "after": expr >= end}[op]  # fmt: skip
    if column.kind == "text":
        text = str(value)
        if op == "contains":
            return expr.contains(text)
        if op == "starts":
            return expr.startswith(text)
        return fn.LOWER(expr) == text.lower()
    if column.kind == "bool":
        return expr == (1 if value else 0) if value else (expr.is_null() | (expr == 0))
    comparisons = {"eq": expr == value, "ne": expr != value, "lt": expr < value, "le": expr <= value,
                   "gt": expr > value, "ge": expr >= value, "is": expr == value, "is_not": (expr != value) | expr.is_null()}  # fmt: skip
    return comparisons[op]


def id_selection(
    query: ListQuery, user_id: int | None, entity: EntityList | None = None, *, reverse: bool = False, ordered: bool = True
):
    """The matching ids (a SELECT with the joins it needs) and the ORDER BY of the list. Not
    `ordered`: no joins for the sort, which a COUNT does not need (SQLite keeps an unused join)."""
    entity = entity or entity_list(query.entity)
    model = MODELS[query.entity]
    joins = Joins(query.entity)
    where: list[Expression] = [model.deleted_at.is_null()]
    if (quick := quick_condition(query.entity, query.text)) is not None:
        where.append(quick)
    for cond in query.conditions:
        try:
            column = entity.column(cond.key)
        except KeyError:
            continue  # a custom field removed since the view was saved
        where.append(_condition(joins, column, cond, user_id))
    order: list[Any] = []
    if not ordered:
        return joins.apply(model.select(model.id)).where(*where), order
    sort_key = query.sort or entity.default_sort
    try:
        sort_column = entity.column(sort_key)
    except KeyError:
        sort_column = entity.column(entity.default_sort)
    descending = query.descending != reverse
    nulls = "FIRST" if reverse else "LAST"  # empty values stay at the end of the list either way
    for expr in joins.sort_expressions(sort_column):
        order.append(expr.desc(nulls=nulls) if descending else expr.asc(nulls=nulls))
    order.append(model.id.desc() if descending else model.id)
    select = joins.apply(model.select(model.id)).where(*where)
    return select, order


def count(query: ListQuery, user_id: int | None = None) -> int:
    """How many records the query matches."""
    matches = None if query.conditions else search.matching_records(query.entity, query.text)
    if matches is not None:
        # The index holds live records only, so its matches are the count: no need to visit them.
        sql, params = matches
        return database.execute_sql(f"SELECT COUNT(*) FROM ({sql}) AS m", params).fetchone()[0]
    select, _ = id_selection(query, user_id, ordered=False)
    return select.count()


def page(
    query: ListQuery, offset: int, user_id: int | None = None, *, limit: int = PAGE, total: int | None = None
) -> list[ListRow]:
    """The rows from `offset` on, in the query's order, with every column's value.

    Given the `total`, a page in the second half is read from the end in reverse order: an OFFSET
    costs a scan of the rows it skips, so the last page of a million rows is as cheap as the first.
    """
    entity = entity_list(query.entity)
    offset = max(0, offset)
    if total is not None and offset > total // 2:
        wanted = max(0, min(limit, total - offset))
        select, order = id_selection(query, user_id, entity, reverse=True)
        rows = select.order_by(*order).limit(wanted).offset(total - offset - wanted).tuples()
        ids = [row[0] for row in rows][::-1]
    else:
        select, order = id_selection(query, user_id, entity)
        ids = [row[0] for row in select.order_by(*order).limit(limit).offset(offset).tuples()]
    return rows_by_id(entity, ids)


def position_of(query: ListQuery, record_id: int, user_id: int | None = None) -> int | None:
    """Where a record is in the query's order (None if it does not match): one query numbering the
    matching rows in order."""
    select, order = id_selection(query, user_id)
    model = MODELS[query.entity]
    numbered = select.select_extend(fn.ROW_NUMBER().over(order_by=order).alias("position")).alias("numbered")
    row = (
        model.select(numbered.c.position)
        .from_(numbered)
        .where(numbered.c.id == record_id)
        .tuples()
        .first()
    )
    return None if row is None else row[0] - 1


def rows_by_id(entity: EntityList, ids: list[int]) -> list[ListRow]:
    """The shown values of the given records, in the order of `ids`."""
    if not ids:
        return []
    model = MODELS[entity.entity]
    owner = User.alias("o")
    fields: list[Any] = [model, owner.name.alias("owner_name")]
    query = model.select(*fields).join_from(model, owner, JOIN.LEFT_OUTER, on=(owner.id == model.owner))
    if model in (Contact, Deal):
        company = Company.alias("c")
        query = query.select_extend(company.name.alias("company_name_")).join_from(
            model, company, JOIN.LEFT_OUTER, on=(company.id == model.company)
        )
    if model is Deal:
        query = query.select_extend(
            Stage.name.alias("stage_name"),
            Stage.kind.alias("stage_kind"),
            Stage.probability.alias("stage_probability"),
        ).join_from(Deal, Stage, on=(Stage.id == Deal.stage))
    custom = custom_fields.read(entity.entity, ids, [c.field for c in entity.columns if c.field is not None])
    found: dict[int, ListRow] = {}
    for row in query.where(model.id.in_(ids)).objects():
        values = dict(row.__data__)
        values["owner"] = row.owner_name
        if model in (Contact, Lead):
            values["name"] = " ".join(part for part in (row.first_name, row.last_name) if part) or "(no name)"
        if model in (Contact, Deal):
            values["company"] = row.company_name_
        if model is Deal:
            values.update(stage=row.stage_name, status=row.stage_kind)
            values["probability"] = row.probability if row.probability is not None else row.stage_probability
        for key, value in custom[row.id].items():
            values[f"custom.{key}"] = value
        found[row.id] = ListRow(row.id, row.version, values)
    return [found[record_id] for record_id in ids if record_id in found]


@dataclass(frozen=True)
class ListPage:
    """What a list screen shows at once: the columns, the total and one page of rows."""

    entity: EntityList
    count: int
    offset: int
    rows: list[ListRow]


def read_list(query: ListQuery, user_id: int | None = None, *, offset: int = 0) -> ListPage:
    """The count and the page at `offset` (rounded down to a page) in one call."""
    offset = max(0, offset) // PAGE * PAGE
    entity = entity_list(query.entity)
    total = count(query, user_id)
    if offset >= total:
        offset = max(0, (total - 1) // PAGE * PAGE)
    return ListPage(entity, total, offset, page(query, offset, user_id, total=total))


@dataclass(frozen=True)
class Choice:
    """A record offered by a reference picker: its id, name and a line to tell it apart."""

    id: int
    title: str
    detail: str


def choices(entity: str, text: str, *, limit: int = 20) -> list[Choice]:
    """Up to `limit` records of `entity` matching `text` as the `/` filter does (all, in list
    order, for no text): what a reference field's type-ahead offers."""
    rows = page(ListQuery(entity, text=text), 0, limit=max(1, min(limit, 100)))
    key = "title" if entity == "deal" else "name"
    details = {"company": ("domain", "industry"), "contact": ("email", "company"), "lead": ("email", "company_name"),
               "deal": ("company", "stage")}[entity]  # fmt: skip
    return [
        Choice(row.id, str(row.values.get(key) or f"#{row.id}"), " · ".join(str(row.values[d]) for d in details if row.values.get(d)))
        for row in rows
    ]
