"""Reading the event log for changes made elsewhere (another process or another user), so open
screens can refresh without a key press."""

from __future__ import annotations

from dataclasses import dataclass

from peewee import fn

from crm_tui.models import Event

BATCH = 500


@dataclass(frozen=True)
class Change:
    """One event-log row, as a refresh needs it."""

    id: int
    kind: str
    entity: str
    record_id: int
    txn: str


def latest_event_id() -> int:
    """The id of the newest event-log row (0 in an empty log)."""
    return Event.select(fn.MAX(Event.id)).scalar() or 0


def changes_since(last_id: int, limit: int = BATCH) -> list[Change]:
    """Up to `limit` event-log rows newer than `last_id`, oldest first."""
    query = (
        Event.select(Event.id, Event.kind, Event.entity, Event.record_id, Event.txn)
        .where(Event.id > last_id)
        .order_by(Event.id)
        .limit(limit)
    )
    return [Change(*row) for row in query.tuples()]
