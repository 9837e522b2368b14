"""The notification centre (F10): the user's notifications newest first, unread ones bold with a dot.
Enter opens the record one is about and marks it read, space toggles read, A marks all read, u shows
only the unread ones. Also the small badge with the unread count that the app puts on its screens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui import clock
from crm_tui.screens.base import ReportsWorkerErrors, session_of
from crm_tui.services import notifications
from crm_tui.services.notifications import NotificationItem
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

LIMIT = 200
"""Notifications listed at most (the newest)."""
UNREAD_DOT = "●"


def ago(moment: datetime, now: datetime) -> str:
    """When `moment` was, for a list: "just now", "5 min ago", "3 h ago", "2 d ago", then the local
    date. Both are naive UTC, as the database stores them."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d ago"
    return f"{moment.replace(tzinfo=UTC).astimezone():%Y-%m-%d}"


def unread_text(count: int) -> str:
    """ "3 unread", or "" when there is nothing unread."""
    return f"{count} unread" if count else ""


class InboxBadge(Static):
    """The unread count in the top right corner of a screen; hidden while there is nothing unread.
    A click opens the notification centre.

    It sits on a layer of its own (the app declares `inbox` on every Screen), so docking it takes no
    room from the screen's own widgets: it covers the right end of their top row instead."""

    DEFAULT_CSS = """
    InboxBadge {
        layer: inbox; dock: right; width: auto; height: 1; padding: 0 1;
        background: $accent; color: $text; text-style: bold; display: none;
    }
    InboxBadge.-unread { display: block; }
    """

    count: reactive[int] = reactive(0)
    """How many notifications the user has not read."""

    def __init__(self, count: int = 0, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.set_reactive(InboxBadge.count, count)

    def on_mount(self) -> None:
        """Draw the count it was made with."""
        self.watch_count(self.count)

    def watch_count(self, count: int) -> None:
        """Show the new count (or hide the badge at zero)."""
        self.set_class(count > 0, "-unread")
        self.update(Content(f"✉ {count}"))
        self.tooltip = f"{unread_text(count)} (F10 opens them)" if count else None

    async def on_click(self, event: events.Click) -> None:
        """Open the notification centre."""
        event.stop()
        await self.run_action("app.notifications")


class NotificationsScreen(ReportsWorkerErrors, ModalScreen[None]):
    """The current user's notifications, newest first, and what can be done with them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: the list's own enter (not shown in the Footer) would hide this one.
        Binding("enter", "open", "Open", tooltip="Open the record it is about, and mark it read", priority=True,
                id="notifications.open"),
        Binding("space", "toggle_read", "Read/unread", tooltip="Mark it read, or unread again", id="notifications.toggle_read"),
        Binding("A", "read_all", "All read", tooltip="Mark every notification read", id="notifications.read_all"),
        Binding("u", "unread_only", "Unread only", tooltip="Show only the unread ones, or all again", id="notifications.unread_only"),
        # A dialog cuts the app's keys off: F10 closes it here, as it opened it.
        Binding("escape,f10", "close", "Back", tooltip="Close the notification centre", id="notifications.close"),
    ]
    DEFAULT_CSS = """
    NotificationsScreen { align: center middle; }
    NotificationsScreen > Vertical {
        width: 100; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    NotificationsScreen #inbox-title { text-style: bold; }
    NotificationsScreen #inbox-summary { color: $text-muted; padding-bottom: 1; }
    NotificationsScreen OptionList { height: auto; max-height: 30; border: none; }
    """

    def __init__(self, *, unread_only: bool = False) -> None:
        super().__init__()
        self.unread_only = unread_only
        self.items: list[NotificationItem] = []
        self.read: dict[int, bool] = {}
        """Read state by id as the user last set it (ahead of the database while a write runs)."""
        self.unread = 0

    def compose(self) -> ComposeResult:
        """Title, what is shown, then the notifications."""
        with Vertical():
            yield Static(Content("Notifications"), id="inbox-title")
            yield Static(Content("reading…"), id="inbox-summary")
            yield OptionList(id="inbox-list")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the notifications."""
        self.load()

    @property
    def option_list(self) -> OptionList:
        """The list of notifications."""
        return self.query_one("#inbox-list", OptionList)

    # -- reading ---------------------------------------------------------------------------------
    @work(group="inbox-read", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Read the notifications and the unread count, and show them (keeping the highlighted one)."""
        session = session_of(self)
        user = session.ctx.user_id
        items = await session.call(notifications.listing, user, unread_only=self.unread_only, limit=LIMIT)
        count = await session.call(notifications.unread_count, user)
        self.show(items, count)

    def show(self, items: list[NotificationItem], unread: int) -> None:
        """Draw `items`; the highlight stays on the same notification, or at the same place if it
        left the list (read in the unread-only view)."""
        box = self.option_list
        current = self.current()
        index = box.highlighted
        self.items = items
        self.read = {item.id: item.read for item in items}
        self.unread = unread
        app: Any = self.app
        app.unread = unread
        now = clock.now()
        box.clear_options()
        box.add_options(Option(self._prompt(item, now), id=str(item.id)) for item in items)
        if not items:
            empty = "nothing unread" if self.unread_only else "no notifications yet"
            box.add_option(Option(Content.styled(empty, "dim"), disabled=True))
        else:
            ids = [item.id for item in items]
            if current is not None and current.id in ids:
                box.highlighted = ids.index(current.id)
            else:
                box.highlighted = min(index or 0, len(items) - 1)
        self._draw_summary()
        self.set_focus(box)

    def _prompt(self, item: NotificationItem, now: datetime) -> Content:
        read = self.read.get(item.id, item.read)
        title = safe_text(item.title)
        body = safe_text(item.body) if item.body else ""
        return Content.assemble(
            (f"{'  ' if read else UNREAD_DOT + ' '}", "bold $accent"),
            (f"{ago(item.created_at, now):>10}  ", "dim"),
            (title, "dim" if read else "bold"),
            (f"  · {body}" if body else "", "dim"),
        )

    def _draw_summary(self) -> None:
        count = self.unread
        shown = "unread only (u shows all)" if self.unread_only else "read and unread (u: unread only)"
        self.query_one("#inbox-title", Static).update(
            Content.assemble("Notifications", (f" · {unread_text(count)}" if count else " · all read", "dim"))
        )
        self.query_one("#inbox-summary", Static).update(
            Content(f"{len(self.items)} shown · {shown}")
        )

    def current(self) -> NotificationItem | None:
        """The highlighted notification."""
        box = self.option_list
        index = box.highlighted
        if index is None or index >= len(self.items):
            return None
        return self.items[index]

    def _redraw(self, item: NotificationItem) -> None:
        self.option_list.replace_option_prompt(str(item.id), self._prompt(item, clock.now()))

    # -- acting ----------------------------------------------------------------------------------
    @on(OptionList.OptionSelected, "#inbox-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        # A click on a notification (enter is the screen's own binding).
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """Open the record the highlighted notification is about, and mark it read."""
        item = self.current()
        if item is None:
            return
        was_read = self.read.get(item.id, item.read)
        self.read[item.id] = True
        self._redraw(item)
        self._open(item, mark=not was_read)

    @work(group="inbox-write", exit_on_error=False)
    async def _open(self, item: NotificationItem, *, mark: bool) -> None:
        session = session_of(self)
        if mark:
            await session.call(notifications.mark_read, session.ctx, [item.id])
        target = await session.call(notifications.record_to_open, item.entity, item.record_id)
        if target is None:
            what = {None: "it is not about a record", "task": "the task is gone, or not linked to a record"}.get(
                item.entity, "that record was deleted"
            )
            self.notify(f"Nothing to open: {what}.", severity="warning", markup=False)
        else:
            self.app.open_record(*target)  # type: ignore[attr-defined]
        self.load()

    def action_toggle_read(self) -> None:
        """Mark the highlighted notification read, or unread again."""
        item = self.current()
        if item is None:
            return
        read = not self.read.get(item.id, item.read)
        self.read[item.id] = read
        self._redraw(item)
        self._write(notifications.mark_read, [item.id], read=read)

    def action_read_all(self) -> None:
        """Mark every notification read."""
        for item in self.items:
            self.read[item.id] = True
            self._redraw(item)
        self._write(notifications.mark_all_read)

    @work(group="inbox-write", exit_on_error=False)
    async def _write(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        # Not exclusive: each key's write must happen. Writes reach the database thread in the
        # order the keys were pressed, and the exclusive read that follows shows the last state.
        session = session_of(self)
        await session.call(fn, session.ctx, *args, **kwargs)
        self.load()

    def action_unread_only(self) -> None:
        """Show only the unread notifications, or all of them again."""
        self.unread_only = not self.unread_only
        self.load()

    def action_close(self) -> None:
        """Back to where the user was."""
        self.dismiss(None)
