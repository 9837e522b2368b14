"""The event bus: typed events, subscribe / publish, delivered after commit.

Services publish through `crm_tui.services.unit.write`, which hands events to the bus only once the
transaction that caused them has committed, so a subscriber never sees a change that was rolled
back. A subscriber that raises is logged and isolated: the other subscribers still run and the
stored change stands.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Something that changed in the workspace. `event_id` is its first row in the event log."""

    name: ClassVar[str] = "event"
    event_id: int | None = None
    user_id: int | None = None
    at: datetime
    txn: str = ""
    """The token shared by the event-log rows of the transaction that caused it."""


@dataclass(frozen=True, kw_only=True)
class RecordCreated(DomainEvent):
    """A record of `entity` ("deal", "company", ...) was created with `values`."""

    name: ClassVar[str] = "record.created"
    entity: str
    record_id: int
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RecordUpdated(DomainEvent):
    """Fields of a record changed: `changes` maps each field to its (old, new) pair."""

    name: ClassVar[str] = "record.updated"
    entity: str
    record_id: int
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RecordDeleted(DomainEvent):
    """A record was deleted; `values` is what it held."""

    name: ClassVar[str] = "record.deleted"
    entity: str
    record_id: int
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RecordRestored(DomainEvent):
    """A deleted record was brought back."""

    name: ClassVar[str] = "record.restored"
    entity: str
    record_id: int


@dataclass(frozen=True, kw_only=True)
class DealStageChanged(DomainEvent):
    """A deal moved from one stage to another (possibly into another pipeline)."""

    name: ClassVar[str] = "deal.stage_changed"
    deal_id: int
    pipeline_id: int
    from_stage_id: int | None
    to_stage_id: int
    stage_change_id: int
    to_kind: str
    lost_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class LeadConverted(DomainEvent):
    """A lead became a contact, and optionally a company and a deal."""

    name: ClassVar[str] = "lead.converted"
    lead_id: int
    contact_id: int
    company_id: int | None = None
    deal_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class TaskDue(DomainEvent):
    """A task reached its due time (or one of its reminders)."""

    name: ClassVar[str] = "task.due"
    task_id: int
    assignee_id: int | None = None


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any], None]


class EventBus:
    """An in-process publish/subscribe bus for DomainEvents.

    Subscribe to an event class (its subclasses included) or to DomainEvent for everything.
    Handlers run synchronously in the publishing thread, in subscription order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: list[tuple[type[DomainEvent], Handler]] = []

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call `handler` for every published event of `event_type`; returns an unsubscribe function."""
        entry = (event_type, handler)
        with self._lock:
            self._handlers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._handlers:
                    self._handlers.remove(entry)

        return unsubscribe

    def publish(self, event: DomainEvent) -> None:
        """Deliver `event` to its subscribers; a failing subscriber is logged and skipped."""
        with self._lock:
            handlers = [handler for kind, handler in self._handlers if isinstance(event, kind)]
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", handler, event.name)
