"""A record's form: the fields it shows (standard and custom), their values as the editors show
them, and saving what was typed (parsed per type, validated, with optimistic concurrency)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm_tui import clock
from crm_tui.dates import parse_date
from crm_tui.models import LEAD_STATUSES, Pipeline, Stage
from crm_tui.money import format_plain, parse_money
from crm_tui.services import custom_fields, lookups, permissions, records, workspace_settings
from crm_tui.services.context import Context
from crm_tui.services.custom_field_types import FieldError, coerce
from crm_tui.services.entities import spec_for
from crm_tui.services.errors import NotFound, ValidationFailed
from crm_tui.services.records import Snapshot
from crm_tui.services.unit import write
from crm_tui.services.validation import validate

# (key, label, editor, options) per record type; editors: text, long_text, money, number, date,
# choice, user, company, readonly.
STANDARD_FIELDS: dict[str, tuple[tuple[str, str, str, tuple[str, ...]], ...]] = {
    "company": (
        ("name", "Name", "text", ()), ("domain", "Domain", "text", ()), ("website", "Website", "text", ()),
        ("phone", "Phone", "text", ()), ("industry", "Industry", "text", ()), ("employees", "Employees", "number", ()),
        ("owner_id", "Owner", "user", ()), ("address", "Address", "long_text", ()),
    ),
    "contact": (
        ("first_name", "First name", "text", ()), ("last_name", "Last name", "text", ()), ("email", "Email", "text", ()),
        ("phone", "Phone", "text", ()), ("title", "Job title", "text", ()), ("company_id", "Company", "company", ()),
        ("source", "Source", "text", ()), ("owner_id", "Owner", "user", ()), ("address", "Address", "long_text", ()),
    ),
    "lead": (
        ("first_name", "First name", "text", ()), ("last_name", "Last name", "text", ()),
        ("company_name", "Company", "text", ()), ("email", "Email", "text", ()), ("phone", "Phone", "text", ()),
        ("title", "Job title", "text", ()), ("status", "Status", "choice", LEAD_STATUSES),
        ("source", "Source", "text", ()), ("owner_id", "Owner", "user", ()),
    ),
    "deal": (
        ("title", "Title", "text", ()), ("company_id", "Company", "company", ()), ("amount", "Amount", "money", ()),
        ("cost", "Cost", "money", ()), ("expected_close", "Expected close", "date", ()), ("probability", "Probability %", "number", ()),
        ("source", "Source", "text", ()), ("owner_id", "Owner", "user", ()),
    ),
}  # fmt: skip
_REQUIRED = {"company": {"name"}, "deal": {"title"}}
_CUSTOM_EDITORS = {
    "long_text": "long_text", "address": "long_text", "currency": "money", "number": "number", "percent": "number",
    "date": "date", "datetime": "datetime", "checkbox": "bool", "dropdown": "choice", "multi_select": "multi",
    "rating": "rating", "user": "user", "reference": "reference", "formula": "readonly", "lookup": "readonly",
    "auto_number": "readonly",
}  # fmt: skip


@dataclass(frozen=True)
class FormField:
    """One editor of a form: `value` is what the editor shows (text, a bool, a list or an id)."""

    key: str
    label: str
    editor: str
    value: Any
    options: tuple[str, ...] = ()
    required: bool = False
    reference: str | None = None
    """The record type a reference field points to."""
    shown: str = ""
    """A reference's record by name."""


@dataclass(frozen=True)
class RecordForm:
    """A record as its form shows it."""

    entity: str
    id: int
    version: int
    title: str
    currency: str
    fields: tuple[FormField, ...]
    users: tuple[lookups.Choice, ...]
    locked: str | None = None
    """Why the record cannot be edited (a converted lead); every field is then read-only."""
    stage: DealStage | None = None
    """A deal's pipeline, stage and state (the form has no field for them: the board moves deals)."""


@dataclass(frozen=True)
class DealStage:
    """Where a deal stands: "Sales › Negotiation", its kind (open, won, lost) and a detail (the
    stage's probability, when it was won or lost, the lost reason)."""

    where: str
    kind: str
    detail: str
    stage_id: int
    pipeline_id: int


def deal_stage(values: dict[str, Any]) -> DealStage | None:
    """Where the deal with these stored `values` stands."""
    row = (
        Stage.select(Stage.name, Stage.kind, Stage.probability, Stage.pipeline, Pipeline.name.alias("pipeline_name"))
        .join(Pipeline, on=(Stage.pipeline == Pipeline.id))
        .where(Stage.id == values.get("stage_id"))
        .dicts()
        .first()
    )
    if row is None:
        return None
    closed = values.get("closed_at")
    when = f" {closed:%Y-%m-%d}" if isinstance(closed, datetime) else ""
    if row["kind"] == "won":
        detail = f"won{when}"
    elif row["kind"] == "lost":
        detail = f"lost{when}" + (f": {values['lost_reason']}" if values.get("lost_reason") else "")
    else:
        chance = values.get("probability") if values.get("probability") is not None else row["probability"]
        detail = f"{chance}%"
    return DealStage(f"{row['pipeline_name']} › {row['name']}", row["kind"], detail, values["stage_id"], row["pipeline"])


def _currency(snap: Snapshot) -> str:
    """The currency a record's money is in: its own (deals) or the workspace's."""
    return snap.values.get("currency") or workspace_settings.currency()


def _shown(editor: str, value: Any, currency: str) -> Any:
    if value is None:
        return [] if editor == "multi" else (False if editor == "bool" else "")
    if editor == "money":
        return format_plain(int(value), currency)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if editor in ("bool", "multi", "rating", "user", "reference"):
        return value
    return str(value)


def read_form(entity: str, record_id: int) -> RecordForm:
    """The form of one record: standard fields, then custom fields in their order."""
    snap = records.get(entity, record_id)
    currency = _currency(snap)
    access = permissions.current()  # hidden fields are absent: not even read
    fields: list[FormField] = []
    for key, label, editor, options in STANDARD_FIELDS[entity]:
        if not access.can_see(entity, key):
            continue
        value = snap.values.get(key)
        if editor == "company":
            value = records.get("company", value).title if value else ""
        elif editor == "user":
            value = value or None
        else:
            value = _shown(editor, value, currency)
        fields.append(FormField(key, label, editor, value, options, key in _REQUIRED.get(entity, ())))
    users = tuple(lookups.users(active_only=False))
    names = {user.id: user.name for user in users}
    for fd in custom_fields.definitions(entity):
        if not access.can_see(entity, f"custom.{fd.key}"):
            continue
        editor = _CUSTOM_EDITORS.get(fd.type, "text")
        value = _shown(editor, snap.custom.get(fd.key), currency)
        if fd.type == "lookup":  # shown as the field it looks up shows its values
            shows = _CUSTOM_EDITORS.get(fd.stored_type, "text")
            value = _as_text(FormField("", "", shows, _shown(shows, snap.custom.get(fd.key), currency)), names)
        shown = _reference_title(fd.reference_entity, value) if editor == "reference" and value else ""
        fields.append(
            FormField(f"custom.{fd.key}", fd.label, editor, value, fd.options, fd.required, fd.reference_entity, shown)
        )
    spec = spec_for(entity)
    locked = spec.locked(snap.values) if spec.locked else None
    if not locked and not permissions.may_edit(access, entity, snap.values):
        locked = f"belongs to someone else: a {access.role} can only read it"
    # Read-only fields show their value and cannot be typed in.
    barred = access.read_only(entity)
    fields = [
        FormField(f.key, f.label, "readonly", _as_text(f, names)) if locked or f.key in barred else f for f in fields
    ]
    stage = deal_stage(snap.values) if entity == "deal" else None
    return RecordForm(entity, snap.id, snap.version, snap.title, currency, tuple(fields), users, locked, stage)


def _reference_title(entity: str | None, record_id: int) -> str:
    try:
        return records.get(entity or "", record_id).title
    except (NotFound, ValueError):
        return f"#{record_id} (deleted)"


def _as_text(field: FormField, users: dict[int, str]) -> str:
    value = field.value
    if field.editor == "user":
        return users.get(value, "") if value else ""
    if field.editor == "bool":
        return "yes" if value else "no"
    if field.editor == "multi":
        return ", ".join(value)
    if field.editor == "rating":
        return "★" * int(value or 0)
    if field.editor == "reference":
        return field.shown
    return "" if value is None else str(value)


def _parse(editor: str, key: str, typed: Any, currency: str, errors: dict[str, str]) -> Any:
    if not isinstance(typed, str):
        return typed
    text = typed.strip()
    try:
        if editor == "money":
            return parse_money(text, currency) if text else 0
        if editor == "number":
            return int(text.replace(",", "")) if text else None
        if editor == "date":
            if not text:
                return None
            day = parse_date(text, clock.now().date())
            if day is None:
                raise ValueError("must be a date like 2026-12-01, today, +3d or next friday")
            return day
    except ValueError as error:
        message = str(error)
        errors[key] = "must be a whole number" if "invalid literal" in message else message
        return None
    return text


def check_field(entity: str, record_id: int, key: str, typed: Any) -> str | None:
    """The message a save would show beside form field `key` for what is typed in it (None: it
    is fine), without saving: the form checks each field as the user leaves it."""
    snap = records.get(entity, record_id)
    currency = _currency(snap)
    if key.startswith("custom."):
        fd = next((f for f in custom_fields.definitions(entity) if f"custom.{f.key}" == key), None)
        if fd is None or fd.read_only:
            return None
        try:
            coerce(fd, typed, currency=currency, today=clock.now().date())
        except FieldError as error:
            return str(error)
        return None
    editor = {name: editor for name, _, editor, _ in STANDARD_FIELDS[entity]}.get(key)
    if editor is None or editor == "company":
        return None
    errors: dict[str, str] = {}
    value = _parse(editor, key, typed, currency, errors)
    if errors:
        return errors[key]
    spec = spec_for(entity)
    data = {name: snap.values.get(name) for name in spec.editable} | {key: value}
    try:
        validate(spec.schema, data, spec.label)
    except ValidationFailed as failed:
        return failed.errors.get(key) or failed.errors.get(key.removesuffix("_id"))
    return None


def save_form(ctx: Context, entity: str, record_id: int, version: int, typed: dict[str, Any]) -> Snapshot:
    """Save what the form holds. Standard values are parsed per editor (money, dates, company by
    name: a new name makes a company), custom ones by their field type. One message per field on
    failure (ValidationFailed keyed by form field); ConflictError if someone saved first."""
    spec = {key: editor for key, _, editor, _ in STANDARD_FIELDS[entity]}
    snap = records.get(entity, record_id)
    currency = _currency(snap)
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    company_name: str | None = None
    for key, value in typed.items():
        if key.startswith("custom."):
            custom[key.removeprefix("custom.")] = value
        elif spec.get(key) == "company":
            company_name = str(value or "").strip()
        elif key in spec:
            changes[key] = _parse(spec[key], key, value, currency, errors)
    if errors:
        raise ValidationFailed(entity.capitalize(), errors)
    with write(ctx):
        if company_name is not None:
            current = records.get("company", snap["company_id"]).title if snap.values.get("company_id") else ""
            if company_name != current:
                found = lookups.company_named(company_name) if company_name else None
                made = found or (records.create(ctx, "company", {"name": company_name}).id if company_name else None)
                changes["company_id"] = made
        if custom:
            changes["custom"] = custom
        return records.update(ctx, entity, record_id, changes, version=version)

