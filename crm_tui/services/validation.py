"""Turning pydantic errors into one clear message per field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from crm_tui.schemas.fields import has_phone
from crm_tui.services.errors import ValidationFailed
from crm_tui.services.workspace_settings import get_setting

DEFAULT_COUNTRY = "default_country"
"""The workspace setting holding the ISO 3166 code phones are read in (unset: phones as typed)."""

_MESSAGES = {
    "missing": "is required",
    "string_too_short": "cannot be blank",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "bool_parsing": "must be yes or no",
    "date_parsing": "must be a date like 2026-12-01",
    "date_from_datetime_parsing": "must be a date like 2026-12-01",
    "date_type": "must be a date like 2026-12-01",
    "datetime_parsing": "must be a date and time like 2026-12-01 14:30",
    "datetime_from_date_parsing": "must be a date and time like 2026-12-01 14:30",
    "datetime_type": "must be a date and time like 2026-12-01 14:30",
}


def message_for(error: dict[str, Any], label: str) -> str:
    """One pydantic error as a plain phrase that completes "<field> ..."."""
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"is not a field of {label.lower()}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be {context.get('ge', context.get('gt'))} or more"
    if kind in ("less_than_equal", "less_than"):
        return f"must be {context.get('le', context.get('lt'))} or less"
    if kind == "string_too_long":
        return f"is too long (at most {context.get('max_length')} characters)"
    if kind == "string_pattern_mismatch":
        return "is not in the expected format"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return _MESSAGES.get(kind, str(error["msg"]).lower())


def field_errors(error: ValidationError, label: str) -> dict[str, str]:
    """One message per field ("" for a rule about the whole record), first error wins."""
    errors: dict[str, str] = {}
    for item in error.errors():
        location = item["loc"]
        name = str(location[0]) if location else ""
        errors.setdefault(name, message_for(item, label))
    return errors


def default_country() -> str | None:
    """The workspace's default country for phones (ISO 3166 alpha-2), or None: phones as typed."""
    return get_setting(DEFAULT_COUNTRY)


def context_for(schema: type[BaseModel]) -> dict[str, Any] | None:
    """The validation context `schema` needs: the default country when it has a phone field (one
    indexed read of the setting; schemas themselves never read the database)."""
    if not has_phone(schema):
        return None
    return {DEFAULT_COUNTRY: default_country()}


def validate(schema: type[BaseModel], data: dict[str, Any], label: str) -> dict[str, Any]:
    """Validate `data` against `schema` and return the cleaned values, or raise ValidationFailed.
    Phones come out in E.164 when the workspace has a default country (see `context_for`)."""
    try:
        return schema.model_validate(data, context=context_for(schema)).model_dump()
    except ValidationError as error:
        raise ValidationFailed(label, field_errors(error, label)) from None
