"""Shared validated types for input models: safe text, names, email, phone, URL, money, dates.

Every text type rejects control characters (and, for single-line text, line breaks and tabs), so
nothing that could act on a terminal is ever stored.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints, ValidationInfo

from crm_tui.text import find_forbidden_character

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE_ALLOWED = re.compile(r"^[0-9+()\-./ xext]+$", re.IGNORECASE)
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_LOGIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")


def _single_line(value: str) -> str:
    if problem := find_forbidden_character(value):
        raise ValueError(f"contains a control character: {problem}")
    return value


def _multi_line(value: str) -> str:
    if problem := find_forbidden_character(value, multiline=True):
        raise ValueError(f"contains a control character: {problem}")
    return value


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("is not an email address (expected name@example.com)")
    # The whole address: mail systems treat the local part case-insensitively in practice, and
    # duplicate checks and look-ups by email compare stored text.
    return value.lower()


def _phone(value: str) -> str:
    digits = sum(map(str.isdigit, value))
    if not _PHONE_ALLOWED.match(value) or digits < 5 or digits > 20:
        raise ValueError("is not a phone number (digits, spaces, + - ( ) and an optional extension)")
    return value


def to_e164(value: str, country: str) -> str:
    """`value` as E.164 ("+15551234567", an extension kept as " ext. 12") when phonenumbers reads
    it as a valid number of `country` (or of the country its + prefix names); else unchanged."""
    import phonenumbers  # lazily: only workspaces with a default country need it

    try:
        number = phonenumbers.parse(value, country.upper())
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164} ext. {number.extension}" if number.extension else e164


def _phone_field(value: str | None, info: ValidationInfo) -> str | None:
    """A phone as typed, checked; in E.164 when the validation context names a default country
    (`context={"default_country": "US"}`, given by services.validation.validate)."""
    if not value:
        return value
    value = _phone(value)
    context = info.context if isinstance(info.context, dict) else {}
    country = context.get("default_country")
    return to_e164(value, country) if country else value


@cache
def has_phone(schema: type[BaseModel]) -> bool:
    """True when `schema` has a Phone field, so validating it needs the default country."""
    return any(
        getattr(item, "func", None) is _phone_field for field in schema.model_fields.values() for item in field.metadata
    )


def _url(value: str) -> str:
    if " " in value:
        raise ValueError("is not a web address (it contains a space)")
    if "://" not in value:
        value = f"https://{value}"
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// address")
    return value


def _domain(value: str) -> str:
    value = value.lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
    if not _DOMAIN.match(value):
        raise ValueError("is not a domain name (expected example.com)")
    return value


def _key(value: str) -> str:
    if not _KEY.match(value):
        raise ValueError("must start with a letter and hold only a-z, 0-9 and _ (at most 63)")
    return value


def _login(value: str) -> str:
    if not _LOGIN.match(value):
        raise ValueError("may hold letters, digits and _ . @ - only (at most 64)")
    return value


SafeStr = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_single_line)]
"""One line of record text (names, titles, sources)."""

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_single_line)]
"""A required one-line name."""

LongText = Annotated[str, StringConstraints(max_length=100_000), AfterValidator(_multi_line)]
"""Free text that may span lines (notes, addresses, details)."""

OptionalStr = Annotated[SafeStr | None, BeforeValidator(_blank_to_none)]
"""One line of optional text; blank becomes None."""

OptionalLongText = Annotated[LongText | None, BeforeValidator(_blank_to_none)]
"""Optional multi-line text; blank becomes None."""

Email = Annotated[SafeStr | None, BeforeValidator(_blank_to_none), AfterValidator(lambda v: v and _email(v))]
"""An optional email address, lower-cased."""

Phone = Annotated[SafeStr | None, BeforeValidator(_blank_to_none), AfterValidator(_phone_field)]
"""An optional phone number, checked for plausibility; as typed, or E.164 when the validation
context has a default country and the number is valid there."""

Url = Annotated[SafeStr | None, BeforeValidator(_blank_to_none), AfterValidator(lambda v: v and _url(v))]
"""An optional web address; https:// is added when no scheme is typed."""

Domain = Annotated[SafeStr | None, BeforeValidator(_blank_to_none), AfterValidator(lambda v: v and _domain(v))]
"""An optional bare domain name (example.com), lower-cased."""

Key = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_key)]
"""A machine name: lower-case letters, digits and underscores."""

Login = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_login)]
"""A user login."""

CurrencyCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z]{3}$")]
"""An ISO 4217 code such as USD."""

MinorUnits = Annotated[int, Field(ge=0, le=10**15)]
"""A non-negative amount of money in minor units (cents)."""

Percent = Annotated[int, Field(ge=0, le=100)]
"""A whole percentage."""

Stars = Annotated[int, Field(ge=0, le=5)]
"""A 0-5 star rating."""

RecordId = Annotated[int, Field(gt=0)]
"""The id of another record."""

__all__ = [
    "CurrencyCode", "Domain", "Email", "Key", "Login", "LongText", "MinorUnits", "Name",
    "OptionalLongText", "OptionalStr", "Percent", "Phone", "RecordId", "SafeStr", "Stars", "Url",
    "date", "datetime", "has_phone", "to_e164",
]  # fmt: skip
