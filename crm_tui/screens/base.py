"""What every crm screen shares: access to the session, and the message that data changed."""

from __future__ import annotations

import logging
from time import monotonic
from typing import Any

from textual import events
from textual.dom import DOMNode
from textual.message import Message
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from crm_tui.events import DealStageChanged, DomainEvent
from crm_tui.services.session import Session
from crm_tui.text import safe_text

log = logging.getLogger(__name__)


REFRESH_GAP = 1.0
"""Screens that read a lot (the dashboard, the rules, the run log) read again at most this often."""


class RefreshAtMostOncePerGap:
    """Mixed into a screen with a `load()` that calls `loaded_now()`: a workspace change reads it
    again at once when the last read is older than REFRESH_GAP, else when that gap has passed."""

    _refresh_timer: Any = None
    _last_refresh: float = 0.0

    def loaded_now(self) -> None:
        """Call when a read starts: the gap counts from here."""
        self._last_refresh = monotonic()

    def on_data_changed(self, message: DataChanged) -> None:
        """The workspace changed: read again, at most once per gap."""
        if self._refresh_timer is not None:
            return
        wait = REFRESH_GAP - (monotonic() - self._last_refresh)
        if wait <= 0:
            # Textual 8.2.8's set_timer(0) never fires (it divides by zero): read now instead.
            self.load()  # type: ignore[attr-defined]
            return
        self._refresh_timer = self.set_timer(wait, self._refresh_later)  # type: ignore[attr-defined]

    def _refresh_later(self) -> None:
        self._refresh_timer = None
        self.load()  # type: ignore[attr-defined]


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


class ReportsWorkerErrors:
    """Mixin for screens (and the app): a background job that fails is logged and shown, and the
    app keeps running. Worker.StateChanged does not bubble, so each node that runs workers needs it.
    """

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Say that a background job failed (details go to crm.log)."""
        error = event.worker.error
        if event.state == WorkerState.ERROR and error is not None:
            log.error("background job %s failed", event.worker.name, exc_info=error)
            node: Any = self
            node.notify(
                f"{safe_text(error)} (details in crm.log)", title="Something went wrong", severity="error", markup=False
            )


class CatchesEarlyKeys:
    """Mixin for forms: keys typed before the first field had the focus (a burst right after the
    key that opened the form, over a slow link) reach the screen itself; put them in the field."""

    async def on_key(self, event: events.Key) -> None:
        """A key the screen got instead of its focused field acts on that field: letters are typed,
        enter submits, backspace deletes."""
        node: Any = self
        focused = node.focused
        if not isinstance(focused, Input):
            return
        if event.is_printable and event.character:
            focused.insert_text_at_cursor(event.character)
        elif event.key == "enter":
            await self.submit_now(focused)
        elif event.key == "backspace":
            focused.action_delete_left()
        else:
            return
        event.stop()
        event.prevent_default()

    async def submit_now(self, field: Input) -> None:
        """Enter arrived early: submit. Forms that read their fields override this to read them
        now, before keys queued after the enter are typed."""
        await field.action_submit()
