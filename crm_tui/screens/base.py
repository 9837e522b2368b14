"""What every crm screen shares: access to the session, and the message that data changed."""

from __future__ import annotations

from typing import Any

from textual.dom import DOMNode
from textual.message import Message

from crm_tui.events import DealStageChanged, DomainEvent
from crm_tui.services.session import Session


class DataChanged(Message, bubble=False):
    """Something changed in the workspace (relayed from the event bus by the app).

    It does not bubble: the app hands it to each screen, and it must not come back up. (A
    `bubble = False` class attribute would be overwritten by Message.__init_subclass__.)
    """

    def __init__(self, event: DomainEvent | None) -> None:
        super().__init__()
        self.event = event
        """What changed in this process, or None for changes found in the event log (made elsewhere)."""

    @property
    def record(self) -> tuple[str, int] | None:
        """(entity, record id) of the change, when it is about one record."""
        event = self.event
        if isinstance(event, DealStageChanged):
            return ("deal", event.deal_id)
        entity, record_id = getattr(event, "entity", None), getattr(event, "record_id", None)
        return (entity, record_id) if entity is not None and record_id is not None else None


def session_of(node: DOMNode) -> Session:
    """The session of the app `node` belongs to."""
    app: Any = node.app
    return app.session
