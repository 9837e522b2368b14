"""Reading dates as people type them: 2026-12-01, today, tomorrow, +3d, +2w, next friday, dec 14."""

from __future__ import annotations

import re
from datetime import date, timedelta

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_OFFSET = re.compile(r"^([+-])\s*(\d+)\s*(d|day|days|w|week|weeks|m|month|months)?$")
_MONTH_DAY = re.compile(r"^([a-z]{3})[a-z]*\.?\s+(\d{1,2})(?:,?\s+(\d{4}))?$|^(\d{1,2})\s+([a-z]{3})[a-z]*\.?(?:\s+(\d{4}))?$")


class DateError(ValueError):
    """The text is not a date this module understands."""


def parse_date(text: str, today: date) -> date | None:
    """The date `text` means, relative to `today`; None for blank text."""
    value = " ".join(text.strip().lower().split())
    if not value:
        return None
    if value in ("today", "now"):
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    if value == "yesterday":
        return today - timedelta(days=1)
    if match := _OFFSET.match(value):
        sign, amount, unit = match.groups()
        days = int(amount) * {"w": 7, "m": 30}.get((unit or "d")[0], 1)
        return today + timedelta(days=days if sign == "+" else -days)
    words = value.split()
    if words[-1] in _WEEKDAYS and len(words) <= 2 and (len(words) == 1 or words[0] in ("next", "this")):
        ahead = (_WEEKDAYS.index(words[-1]) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    if match := _MONTH_DAY.match(value):
        month_name, day, year = (match.group(1), match.group(2), match.group(3)) if match.group(1) else (match.group(5), match.group(4), match.group(6))
        if month_name not in _MONTHS:
            raise DateError(f"{text!r} is not a date")
        candidate = _make(int(year) if year else today.year, _MONTHS.index(month_name) + 1, int(day), text)
        if not year and candidate < today:
            candidate = _make(today.year + 1, candidate.month, candidate.day, text)
        return candidate
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DateError(f"{text!r} is not a date (try 2026-12-01, tomorrow, +2w or next friday)") from None


def _make(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateError(f"{text!r} is not a real date") from None
