"""What every crm screen shares: access to the session, the message that data changed, jobs on a
database thread of their own, opening a record and showing a stored moment."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from time import monotonic
from typing import Any, ClassVar

from textual import events
from textual.dom import DOMNode
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, ProgressBar
from textual.worker import Worker, WorkerState

from crm_tui.events import DealStageChanged, DomainEvent
from crm_tui.services import permissions, records
from crm_tui.services.errors import NotFound
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


class ReloadSoonOnChange:
    """Mixed into a screen that reads again when the workspace changes: the changes of the next
    RELOAD_DELAY seconds are read once, by `reload_after_change()`, which the screen implements."""

    RELOAD_DELAY: ClassVar[float] = 0.3
    """Seconds from a change to the read (so a burst of changes is read at most a few times a second)."""
    _reload_pending: bool = False

    def on_data_changed(self, message: DataChanged) -> None:
        """Someone changed the workspace: read again soon."""
        if not self._reload_pending:
            self._reload_pending = True
            self.set_timer(self.RELOAD_DELAY, self._reload_now)  # type: ignore[attr-defined]

    def _reload_now(self) -> None:
        self._reload_pending = False
        self.reload_after_change()

    def reload_after_change(self) -> None:
        """Read what the screen shows again (the screen's own way)."""
        raise NotImplementedError


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


OPENABLE = ("company", "contact", "lead", "deal")
"""Record types with a page of their own (app.open_record)."""


async def open_record(node: DOMNode, entity: str | None, record_id: int | None) -> None:
    """Open a record's page, or say why there is none (a task, a deleted record). Await it in a worker."""
    if entity is None or record_id is None:
        return
    if entity not in OPENABLE:
        node.notify(f"A {entity} has no page of its own.", markup=False)
        return
    try:
        await session_of(node).call(records.get, entity, record_id)
    except NotFound:
        node.notify(f"That {entity} was deleted.", severity="warning", markup=False)
        return
    node.app.open_record(entity, record_id)  # type: ignore[attr-defined]


def server_files_refused(node: DOMNode) -> bool:
    """In a session `crm serve` started, say that files on the server are out of reach and return
    True: the import and export dialogs are not opened (their file pickers would list the server's
    folders)."""
    try:
        permissions.check_server_files()
    except permissions.PermissionDenied as error:
        node.notify(str(error), severity="warning", timeout=8, markup=False)
        return True
    return False


def stamp(moment: datetime) -> str:
    """A stored (naive UTC) moment as local time, to the minute."""
    return f"{moment.replace(tzinfo=UTC).astimezone():%Y-%m-%d %H:%M}"


PROGRESS_POLL = 0.1
"""Seconds between two draws of the progress of a job on a database thread."""


class PolledProgress:
    """The progress of a job on a database thread, drawn on `bar` every PROGRESS_POLL seconds.

    The job calls `report` on its own thread, which only keeps the numbers: the thread never
    touches the UI, nor waits for it. Call `start` before the job and `stop` after it.
    """

    def __init__(self, bar: ProgressBar) -> None:
        self.bar = bar
        self._done_total = (0, 0)
        self._timer: Timer | None = None

    def report(self, done: int, total: int) -> None:
        """`done` of `total` are done (called on the job's thread): kept for the next draw."""
        self._done_total = (done, total)

    def start(self) -> None:
        """Show nothing done yet, and draw the progress reported from now on until `stop`."""
        self._done_total = (0, 0)
        self._draw()
        self._timer = self.bar.set_interval(PROGRESS_POLL, self._draw)

    def stop(self) -> None:
        """Stop drawing (reports made after this are not shown)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _draw(self) -> None:
        done, total = self._done_total
        self.bar.update(total=max(total, 1), progress=done)


@asynccontextmanager
async def own_session(
    node: DOMNode, *, cancel: threading.Event | None = None, progress: PolledProgress | None = None
) -> AsyncIterator[Session]:
    """A session of its own for one long job, so that the app's session keeps serving the screens.

    `progress` (when given) is drawn while the block runs. On the way out, `cancel` is set first,
    so that a job still running (its worker was cancelled: the screen closed, or a newer job
    replaced it) stops, and the session is closed on a thread: the UI never waits for the job to
    notice.
    """
    own = session_of(node).sibling()
    if progress is not None:
        progress.start()
    try:
        yield own
    finally:
        if cancel is not None:
            cancel.set()
        if progress is not None:
            progress.stop()
        await asyncio.to_thread(own.close)


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
