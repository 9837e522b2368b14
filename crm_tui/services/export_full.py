"""The full export: every importable field of a record, with the importer's keys as the header.

    company: name, domain, website, phone, address, industry, employees, owner, tags, custom.<key>...
    contact: first_name, last_name, email, phone, title, address, source, company, owner, tags, custom...
    lead: first_name, last_name, company_name, email, phone, title, status, source, owner, tags, custom...
    deal: title, amount, currency, pipeline, stage, status, lost_reason, expected_close, probability,
          source, company, contact, contact_email, owner, tags, custom.<key>...
    task: title, details, due_at, done, assignee, deal, company, contact_email
    note: body, deal, company, contact_email, author
    appointment: title, starts_at, ends_at, location, details, owner, deal, company, contact_email

People are named by login (owner, assignee, author, custom user fields), companies by name, a deal's
contact as "First Last" plus its e-mail, a deal's status is its stage's kind, tags are joined by
"; ", money is in major units of the record's currency. A link to a deleted record is empty;
formula, lookup and auto-number fields are left out (they are computed, never imported).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from peewee import JOIN, ModelSelect

from crm_tui.models import (
    TAG_LINKS,
    Appointment,
    Company,
    Contact,
    Deal,
    Note,
    Pipeline,
    Stage,
    Tag,
    Task,
    User,
)
from crm_tui.services import custom_fields, permissions
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldDef
from crm_tui.services.export_rows import ACTIVITIES, Custom, Lookups, OutColumn, Table, custom_kind, major
from crm_tui.services.sql_util import among

COMPUTED = frozenset({"formula", "lookup", "auto_number"})
"""Custom field types the full export leaves out: they are computed, never imported."""

Reader = Callable[[list[int]], dict[int, list[Any]]]
"""Reads the standard fields of a chunk: record id -> cells (in the header's order)."""


def _person(first: str | None, last: str | None) -> str | None:
    return " ".join(part for part in (first, last) if part) or None


def _by_id(query: ModelSelect, convert: Callable[[tuple[Any, ...]], list[Any]]) -> dict[int, list[Any]]:
    return {row[0]: convert(row[1:]) for row in query.tuples()}


def _live_join(query: ModelSelect, source: Any, alias: Any, link: Any) -> ModelSelect:
    """LEFT JOIN a linked record only while it is live: a link to a deleted record exports empty."""
    return query.join_from(source, alias, JOIN.LEFT_OUTER, on=((alias.id == link) & alias.deleted_at.is_null()))


def _record_reader(entity: str) -> tuple[list[OutColumn], Reader]:
    """The standard columns of a company, contact, lead or deal, and their reader."""
    model = RECORD_MODELS[entity]
    owner = User.alias("owner_user")
    company = Company.alias("company_row")
    names = {"company": ["name", "domain", "website", "phone", "address", "industry", "employees"],
             "contact": ["first_name", "last_name", "email", "phone", "title", "address", "source"],
             "lead": ["first_name", "last_name", "company_name", "email", "phone", "title", "status", "source"],
             "deal": ["title", "amount", "currency"]}[entity]  # fmt: skip
    fields = [model.id, *(getattr(model, name) for name in names), owner.login]
    kinds = {"employees": "number", "amount": "money"}
    columns = [OutColumn(name, kinds.get(name, "text")) for name in names]

    def query() -> ModelSelect:
        select = model.select(*fields).join_from(model, owner, JOIN.LEFT_OUTER, on=(owner.id == model.owner))
        if entity == "contact":
            select = _live_join(select.select_extend(company.name), model, company, model.company)
        return select

    if entity == "deal":
        contact = Contact.alias("contact_row")
        columns += [OutColumn(key, kind) for key, kind in [
            ("pipeline", "text"), ("stage", "text"), ("status", "text"), ("lost_reason", "text"),
            ("expected_close", "date"), ("probability", "number"), ("source", "text"), ("company", "text"),
            ("contact", "text"), ("contact_email", "text")]]  # fmt: skip
        extra = [Pipeline.name, Stage.name, Stage.kind, Deal.lost_reason, Deal.expected_close, Deal.probability,
                 Deal.source, company.name, contact.first_name, contact.last_name, contact.email]  # fmt: skip

        def deals(ids: list[int]) -> dict[int, list[Any]]:
            select = (
                query().select_extend(*extra)
                .join_from(Deal, Pipeline, on=(Pipeline.id == Deal.pipeline))
                .join_from(Deal, Stage, on=(Stage.id == Deal.stage))
            )  # fmt: skip
            select = _live_join(_live_join(select, Deal, company, Deal.company), Deal, contact, Deal.contact)
            return _by_id(select.where(among(Deal.id, ids)), lambda r: [
                r[0], major(r[1], r[2]), r[2], *r[4:12], _person(r[12], r[13]), r[14], r[3]])  # fmt: skip

        return columns + [OutColumn("owner")], deals
    if entity == "contact":
        columns.append(OutColumn("company"))
        return columns + [OutColumn("owner")], lambda ids: _by_id(
            query().where(among(model.id, ids)), lambda r: [*r[:-2], r[-1], r[-2]]
        )
    return columns + [OutColumn("owner")], lambda ids: _by_id(query().where(among(model.id, ids)), list)


def _tags(entity: str, ids: list[int]) -> dict[int, str]:
    link, column = TAG_LINKS[entity]
    record = getattr(link, column)
    found: dict[int, list[str]] = {}
    query = (
        link.select(record, Tag.name).join(Tag, on=(link.tag == Tag.id)).where(among(record, ids)).order_by(Tag.name)
    )
    for record_id, name in query.tuples():
        found.setdefault(record_id, []).append(name)
    return {record_id: "; ".join(names) for record_id, names in found.items()}


def full_table(entity: str, ids: Iterator[list[int]], total: int, lookups: Lookups) -> Table:
    """Every importable field of the records `ids` (header: the importer's keys), in their order."""
    if entity in ACTIVITIES:
        columns, reader = _activity_reader(entity)
        defs: list[FieldDef] = []
    else:
        columns, reader = _record_reader(entity)
        columns.append(OutColumn("tags"))
        defs = [
            fd for fd in custom_fields.definitions(entity)
            if fd.type not in COMPUTED and permissions.shows(entity, f"custom.{fd.key}")
        ]  # fmt: skip
        columns += [OutColumn(f"custom.{fd.key}", custom_kind(fd)) for fd in defs]
    custom = Custom(entity, defs, lookups, person=0)
    currency_at = columns.index(OutColumn("currency")) if entity == "deal" else None

    def chunks() -> Iterator[list[list[Any]]]:
        for chunk in ids:
            base = reader(chunk)
            tags = _tags(entity, chunk) if entity not in ACTIVITIES else {}
            values = custom.read(chunk) if defs else {}
            rows = []
            for record_id in chunk:
                if record_id not in base:
                    continue  # deleted since its id was read
                row = base[record_id]
                if entity not in ACTIVITIES:
                    currency = row[currency_at] if currency_at is not None else lookups.currency
                    row.append(tags.get(record_id))
                    row += [custom.cell(fd, values[record_id].get(fd.key), currency) for fd in defs]
                rows.append(row)
            yield rows

    # Standard fields hidden from the acting user's role leave the file too (custom ones were never read).
    keep = [i for i, column in enumerate(columns) if permissions.shows(entity, column.header)]
    if len(keep) == len(columns):
        return Table(columns, total, chunks())
    return Table([columns[i] for i in keep], total, ([[row[i] for i in keep] for row in rows] for rows in chunks()))


def _activity_reader(entity: str) -> tuple[list[OutColumn], Reader]:
    """The columns of a task, note or appointment (with its links by name) and their reader."""
    model = ACTIVITIES[entity]
    person = User.alias("person")
    deal, company, contact = Deal.alias("deal_row"), Company.alias("company_row"), Contact.alias("contact_row")
    own: list[tuple[str, str, Any]] = {
        "task": [("title", "text", Task.title), ("details", "text", Task.details), ("due_at", "datetime", Task.due_at),
                 ("done", "bool", Task.done), ("assignee", "text", person.login)],
        "note": [("body", "text", Note.body)],
        "appointment": [("title", "text", Appointment.title), ("starts_at", "datetime", Appointment.starts_at),
                        ("ends_at", "datetime", Appointment.ends_at), ("location", "text", Appointment.location),
                        ("details", "text", Appointment.details), ("owner", "text", person.login)],
    }[entity]  # fmt: skip
    links = [("deal", "text", deal.title), ("company", "text", company.name), ("contact_email", "text", contact.email)]
    tail = [("author", "text", person.login)] if entity == "note" else []
    spec = own + links + tail
    user_link = {"task": Task.assignee, "note": Note.author, "appointment": Appointment.owner}[entity]

    def read(ids: list[int]) -> dict[int, list[Any]]:
        select = model.select(model.id, *(column for _, _, column in spec))
        select = select.join_from(model, person, JOIN.LEFT_OUTER, on=(person.id == user_link))
        for alias, link in ((deal, model.deal), (company, model.company), (contact, model.contact)):
            select = _live_join(select, model, alias, link)
        kinds = [kind for _, kind, _ in spec]
        return _by_id(
            select.where(among(model.id, ids)),
            lambda r: [bool(v) if kind == "bool" else v for kind, v in zip(kinds, r, strict=True)],
        )

    return [OutColumn(key, kind) for key, kind, _ in spec], read
