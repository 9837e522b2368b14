"""The one place that reads the time, so that tests can freeze it.

Timestamps are stored as naive UTC datetimes on every back end and shown in local time.
"""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current time as a naive UTC datetime (what the database stores)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC).replace(tzinfo=None)


def freeze(moment: datetime | None) -> None:
    """Pin `now()` to `moment` (naive UTC), or unpin it with None. For tests and benchmarks."""
    global _frozen
    _frozen = moment
