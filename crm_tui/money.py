"""Money as integer minor units (cents) and an ISO 4217 code: parsing and formatting.

Amounts are never floats. `parse_money("1,234.50", "USD")` is 123450; `format_money(123450, "USD")`
is "$1,234.50".
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Currencies whose minor unit is not 1/100 (ISO 4217); every other code has two decimals.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CNY": "¥", "KRW": "₩"}
_NUMBER = re.compile(r"^[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$")


class MoneyError(ValueError):
    """Raised when text cannot be read as an amount of money."""


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit."""
    return _EXPONENTS.get(currency.upper(), 2)


def parse_money(text: str | int, currency: str) -> int:
    """Read an amount typed by a person ("12,400", "99.5", "1.2k", "$3M") into minor units."""
    if isinstance(text, int):
        return text * 10 ** exponent(currency)
    cleaned = text.strip().replace(" ", "").replace("_", "")
    for symbol in {*_SYMBOLS.values(), currency.upper()}:
        cleaned = cleaned.replace(symbol, "")
    multiplier = 1
    if cleaned[-1:].lower() in ("k", "m"):
        multiplier = 1_000 if cleaned[-1].lower() == "k" else 1_000_000
        cleaned = cleaned[:-1]
    if not _NUMBER.match(cleaned):
        raise MoneyError(f"{text!r} is not an amount (try 12400 or 12,400.50)")
    places = exponent(currency)
    try:
        value = Decimal(cleaned.replace(",", "")) * multiplier
    except InvalidOperation as error:  # pragma: no cover - the regex admits only decimals
        raise MoneyError(f"{text!r} is not an amount") from error
    minor = value.scaleb(places)
    if minor != minor.to_integral_value() and multiplier == 1:
        raise MoneyError(f"{text!r} has more than {places} decimal places for {currency}")
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(minor: int | None, currency: str, *, compact: bool = False) -> str:
    """Format minor units for display: "$12,400", "$12,400.50", or compact "$12.4k", "€1.25M"."""
    if minor is None:
        return ""
    currency = currency.upper()
    places = exponent(currency)
    major = Decimal(minor).scaleb(-places)
    sign = "-" if major < 0 else ""
    major = abs(major)
    if compact and major >= 1000:
        for limit, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
            if major >= limit:
                scaled = (major / limit).quantize(Decimal("0.01") if major < limit * 10 else Decimal("0.1"))
                number = f"{scaled:f}".rstrip("0").rstrip(".") + suffix
                break
    else:
        number = format_plain(abs(minor), currency)
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"


def format_plain(minor: int, currency: str) -> str:
    """An amount as a person would type it back: digits with grouping, no symbol ("12,400.50")."""
    places = exponent(currency)
    major = Decimal(minor).scaleb(-places)
    if major == major.to_integral_value():
        return f"{int(major):,}"
    return f"{major:,.{places}f}"
