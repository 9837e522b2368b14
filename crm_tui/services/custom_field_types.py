"""What each custom field type accepts and how its values are stored: the CustomValue column that
sorts it, the typed text or Python value a field takes (`coerce`), and the way back (`from_row`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from crm_tui import clock
from crm_tui.dates import parse_date
from crm_tui.models import Company, Contact, Deal, Lead, User
from crm_tui.money import parse_money
from crm_tui.schemas import fields as types
from crm_tui.services.validation import DEFAULT_COUNTRY, default_country, message_for

COLUMN = {
    "text": "text", "long_text": "text", "email": "text", "phone": "text", "url": "text", "address": "text",
    "dropdown": "text", "date": "text", "datetime": "text",
    "number": "real", "percent": "real", "formula": "real",
    "currency": "integer", "rating": "integer", "checkbox": "integer", "user": "integer",
    "reference": "integer", "auto_number": "integer", "lookup": "text",
    "multi_select": "json",
}  # fmt: skip
"""The CustomValue column each field type is stored (and sorted) in."""

READ_ONLY = frozenset({"formula", "lookup", "auto_number"})
"""Types whose values are computed, never typed."""

RECORD_MODELS = {"company": Company, "contact": Contact, "lead": Lead, "deal": Deal}

_ADAPTERS = {
    "text": TypeAdapter(types.OptionalStr),
    "long_text": TypeAdapter(types.OptionalLongText),
    "address": TypeAdapter(types.OptionalLongText),
    "email": TypeAdapter(types.Email),
    "phone": TypeAdapter(types.Phone),
    "url": TypeAdapter(types.Url),
    "rating": TypeAdapter(types.Stars | None),
    "currency": TypeAdapter(types.MinorUnits | None),
}


@dataclass(frozen=True)
class FieldDef:
    """A custom field as the services and screens use it."""

    id: int
    entity: str
    key: str
    label: str
    type: str
    required: bool
    options: tuple[str, ...]
    position: int
    formula: str | None
    reference_entity: str | None
    lookup_path: tuple[str, ...]
    version: int
    value_type: str | None = None
    """For a lookup: the type of the field it shows (its values are stored and sorted as that)."""

    @property
    def read_only(self) -> bool:
        """Computed, not typed (formula, lookup, auto-number)."""
        return self.type in READ_ONLY

    @property
    def stored_type(self) -> str:
        """The type whose storage this field's values use: a lookup's value type, else its own."""
        return (self.value_type or "text") if self.type == "lookup" else self.type

    @property
    def column(self) -> str:
        """The CustomValue column that holds (and sorts) this field's values."""
        return COLUMN[self.stored_type]


class FieldError(ValueError):
    """A value a field cannot hold; the message completes "<label> ..."."""


_READ = object()
"""`coerce(country=...)` unset: read the workspace's default country when a phone needs it."""


def coerce(fd: FieldDef, raw: Any, *, currency: str = "USD", today: date | None = None, country: Any = _READ) -> Any:
    """The value `raw` (typed text or a Python value) as this field stores it, or FieldError.

    Blank text is None. Currency is minor units; dates are `date`; checkbox is bool; multi-select is
    a list of options in the field's order. A phone is in E.164 when `country` (by default the
    workspace's default country) is set.
    """
    if isinstance(raw, str) and not raw.strip() and fd.type not in ("checkbox",):
        raw = None
    if fd.read_only:
        raise FieldError("is computed and cannot be typed")
    if raw is None:
        if fd.required:
            raise FieldError("is required")
        return [] if fd.type == "multi_select" else None
    kind = fd.type
    try:
        if kind == "currency" and isinstance(raw, str):
            raw = parse_money(raw, currency)
        if kind in _ADAPTERS:
            # Phones in E.164 when the workspace has a default country, as the standard fields are.
            # Callers that coerce many values (an import) read the country once and pass it.
            if kind == "phone":
                context = {DEFAULT_COUNTRY: default_country() if country is _READ else country}
            else:
                context = None
            return _ADAPTERS[kind].validate_python(raw, context=context)
        if kind in ("number", "percent"):
            value = Decimal(str(raw).replace(",", "").strip().removesuffix("%"))
            if not value.is_finite() or abs(value) > Decimal(10) ** 15:
                raise FieldError("must be a number")
            if kind == "percent" and not 0 <= value <= 100:
                raise FieldError("must be between 0 and 100")
            return value
        if kind in ("date", "datetime"):
            return _moment(kind, raw, today or clock.now().date())
        if kind == "checkbox":
            return _boolean(raw)
        if kind == "dropdown":
            text = str(raw).strip()
            match = next(
                (option for option in fd.options if option.lower() == text.lower()),
                None,
            )
            if match is None:
                raise FieldError(f"must be one of the field's options ({', '.join(fd.options[:5])}…)")
            return match
        if kind == "multi_select":
            chosen = [part.strip() for part in raw.split(",")] if isinstance(raw, str) else list(raw)
            lower = {str(item).lower() for item in chosen if str(item).strip()}
            unknown = lower - {option.lower() for option in fd.options}
            if unknown:
                raise FieldError(f"has options the field does not offer: {', '.join(sorted(unknown))}")
            return [option for option in fd.options if option.lower() in lower]
        if kind in ("user", "reference"):
            return _record_id(fd, raw)
    except ValidationError as error:
        raise FieldError(message_for(error.errors()[0], fd.label)) from None
    except (ArithmeticError, ValueError) as error:
        if isinstance(error, FieldError):
            raise
        raise FieldError(str(error) if kind == "currency" else f"is not a valid {kind.replace('_', ' ')}") from None
    raise FieldError(f"has an unknown type {kind!r}")


def _moment(kind: str, raw: Any, today: date) -> date | datetime:
    if isinstance(raw, datetime):
        return raw if kind == "datetime" else raw.date()
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day) if kind == "datetime" else raw
    text = str(raw).strip()
    if kind == "datetime":
        day_text, _, time_text = text.rpartition(" ") if ":" in text.rsplit(" ", 1)[-1] else (text, "", "")
        day = parse_date(day_text, today)
        if day is None:
            raise FieldError("must be a date and time like 2026-12-01 14:30")
        hours, minutes = (time_text or "0:00").split(":")[:2]
        return datetime(day.year, day.month, day.day, int(hours), int(minutes))
    day = parse_date(text, today)
    if day is None:
        raise FieldError("must be a date like 2026-12-01, today, +3d or next friday")
    return day


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "yes", "y", "true", "x", "on"):
        return True
    if text in ("", "0", "no", "n", "false", "off"):
        return False
    raise FieldError("must be yes or no")


def _record_id(fd: FieldDef, raw: Any) -> int:
    try:
        record_id = int(raw)
    except (TypeError, ValueError):
        raise FieldError("must name a record by its id") from None
    if fd.type == "user":
        exists = User.select(User.id).where(User.id == record_id).exists()
    else:
        model = RECORD_MODELS.get(fd.reference_entity or "")
        exists = (
            model is not None
            and model.select(model.id).where(model.id == record_id, model.deleted_at.is_null()).exists()
        )
    if not exists:
        raise FieldError(f"refers to no {'user' if fd.type == 'user' else fd.reference_entity} #{record_id}")
    return record_id


def to_columns(fd: FieldDef, value: Any) -> dict[str, Any]:
    """The CustomValue columns that store `value`."""
    if fd.type == "lookup":
        fd = replace(fd, type=fd.stored_type)
    columns: dict[str, Any] = {
        "text": None,
        "integer": None,
        "real": None,
        "json": None,
    }
    if value is None or value == []:
        return columns
    column = fd.column
    if fd.type == "formula":  # a formula's result may be a number, a yes/no, a date or text
        if isinstance(value, bool):
            column, value = "integer", int(value)
        elif not isinstance(value, (int, float, Decimal)):
            column = "text"
    if column == "integer":
        columns["integer"] = int(value)
    elif column == "real":
        columns["real"] = float(value)
    elif column == "json":
        columns["json"] = list(value)
    else:
        columns["text"] = (
            value.isoformat(sep=" ")
            if isinstance(value, datetime)
            else (value.isoformat() if isinstance(value, date) else str(value))
        )
    return columns


def from_row(fd: FieldDef, text: str | None, integer: int | None, real: float | None, data: Any) -> Any:
    """A stored value back as the Python value `coerce` makes."""
    if fd.type == "lookup":
        fd = replace(fd, type=fd.stored_type)
    column = fd.column
    if fd.type == "formula":
        if real is not None:
            return _decimal(real)
        if integer is not None:
            return bool(integer)
        if text is not None and len(text) == 10 and text[4:5] == "-":
            try:
                return date.fromisoformat(text)
            except ValueError:
                return text
        return text
    if column == "integer":
        if integer is None:
            return None
        return bool(integer) if fd.type == "checkbox" else integer
    if column == "real":
        return None if real is None else Decimal(repr(real)).normalize()
    if column == "json":
        return list(json.loads(data) if isinstance(data, str) else (data or []))
    if text is None:
        return None
    if fd.type == "date":
        return date.fromisoformat(text)
    if fd.type == "datetime":
        return datetime.fromisoformat(text)
    return text


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.01")).normalize()
