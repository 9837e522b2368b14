"""CrmApp: the Textual application, its modes, global keys, command palette and the bridge from
the event bus to the screens."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from weakref import WeakKeyDictionary

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from crm_tui.config import SmtpSettings
from crm_tui.events import DomainEvent
from crm_tui.screens.automation_runner import AutomationRunner
from crm_tui.screens.base import DataChanged, ReportsWorkerErrors
from crm_tui.screens.board import BoardScreen
from crm_tui.screens.board_commands import BoardCommands
from crm_tui.screens.dashboard import DashboardScreen
from crm_tui.screens.data_tools import DataTools
from crm_tui.screens.notifications import InboxBadge, NotificationsScreen, unread_text
from crm_tui.screens.record_list import RecordListScreen
from crm_tui.screens.record_search import RecordSearch
from crm_tui.screens.tasks import TasksScreen
from crm_tui.services import changes, live, notifications
from crm_tui.services.errors import StorageError
from crm_tui.services.notifications import NotificationItem
from crm_tui.services.session import Session
from crm_tui.text import safe_text

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
LISTENED_POLL_SECONDS = 10.0
"""How often the event log is read for changes made elsewhere."""
FORMULA_DELAY = 5.0
"""Seconds after start before formulas with today() are brought up to date (once a day)."""
REMINDER_DELAY = 10.0
"""Seconds after start before the first check for task reminders that have come due."""
REMINDER_SECONDS = 60.0
"""How often task reminders are checked (reminders are set in minutes)."""
TOASTS_AT_ONCE = 3
"""New notifications shown as toasts one by one; more arriving together make one summary toast."""


class ChangesCommitted(Message, bubble=False):
    """Another session committed a change (PostgreSQL's NOTIFY woke the listener)."""


class CrmApp(DataTools, AutomationRunner, ReportsWorkerErrors, App[None]):
    """The terminal CRM for one session (one user on one workspace)."""

    CSS_PATH = "styles/app.tcss"
    # The unread badge (InboxBadge) lives on a layer of its own on every screen, above the
    # screen's widgets and below toasts and tooltips (Textual adds those layers after these).
    CSS = "Screen { layers: default inbox; }"
    TITLE = "crm"
    COMMANDS = App.COMMANDS | {BoardCommands, RecordSearch}
    MODES = {
        "board": BoardScreen,
        "deals": lambda: RecordListScreen("deal"),
        "contacts": lambda: RecordListScreen("contact"),
        "companies": lambda: RecordListScreen("company"),
        "leads": lambda: RecordListScreen("lead"),
        "dashboard": DashboardScreen,
        "tasks": TasksScreen,
        "automations": lambda: _automations(),
    }
    DEFAULT_MODE = "board"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
        Binding("f2", "go('board')", "Board", show=False, tooltip="The deal board", id="app.board"),
        Binding("f3", "go('deals')", "Deals", show=False, tooltip="The list of deals", id="app.deals"),
        Binding("f4", "go('contacts')", "Contacts", show=False, tooltip="The list of contacts", id="app.contacts"),
        Binding("f5", "go('companies')", "Companies", show=False, tooltip="The list of companies", id="app.companies"),
        Binding("f6", "go('leads')", "Leads", show=False, tooltip="The list of leads", id="app.leads"),
        Binding("f7", "go('dashboard')", "Dashboard", show=False, tooltip="The dashboard", id="app.dashboard"),
        Binding("f8", "go('tasks')", "Tasks", show=False, tooltip="Your tasks and the agenda", id="app.tasks"),
        Binding("f9", "custom_fields", "Fields", show=False, tooltip="Custom fields settings", id="app.custom_fields"),
        Binding("f10", "notifications", "Inbox", show=False, tooltip="Your notifications", id="app.notifications"),
        Binding("f12", "go('automations')", "Automations", show=False, tooltip="Automation rules, dry runs and the run log", id="app.automations"),
    ]

    unread: reactive[int] = reactive(0, init=False)
    """How many notifications the user has not read: shown by the badge on every screen and as the
    app's sub-title."""

    def __init__(
        self,
        session: Session,
        *,
        theme: str = "textual-dark",
        keymap: dict[str, str] | None = None,
        animations: str = "basic",
        smtp: SmtpSettings | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self._smtp = smtp
        self._own_txns: deque[str] = deque(maxlen=2000)
        self._last_event_id: int | None = None
        self._last_notification_id: int | None = None
        self._wanted_theme = theme
        self._wanted_keymap = dict(keymap or {})
        self.animation_level = animations  # type: ignore[assignment]
        self._unsubscribe = session.ctx.bus.subscribe(DomainEvent, self._relay)
        self._generation = 0
        """How many changes were handed to screens; `_seen` holds the count each screen last heard
        (a screen not in it is new, and reads fresh data anyway)."""
        self._seen: WeakKeyDictionary[Screen, int] = WeakKeyDictionary()
        session.preload("events", changes.latest_event_id)  # before any screen reads its data

    @property
    def keymap(self) -> dict[str, str]:
        """The user's remapped keys (binding id -> keys)."""
        return dict(self._wanted_keymap)

    def on_mount(self) -> None:
        """Apply the user's theme and keymap; start watching the event log for others' changes."""
        # On PostgreSQL a change wakes the app at once; the slow poll is a safety net.
        self._listener = live.Listener(lambda: self.post_message(ChangesCommitted()))
        self.set_interval(LISTENED_POLL_SECONDS if self._listener.start() else POLL_SECONDS, self._poll_changes)
        # Formulas with today() move on at midnight: checked soon after start (not during it), then hourly.
        self.set_timer(FORMULA_DELAY, self._refresh_dated)
        self.set_interval(3600, self._refresh_dated)
        # Reminders that came due while the app was closed: soon after start, then every minute.
        self.set_timer(REMINDER_DELAY, self._fire_reminders)
        self.set_interval(REMINDER_SECONDS, self._fire_reminders)
        self.start_automations(self.session, self._smtp)
        self.screen_change_signal.subscribe(self, self._on_screen_shown)
        self._on_screen_shown(self.screen)
        if self._wanted_theme in self.available_themes:
            self.theme = self._wanted_theme
        else:
            self.notify(f"Unknown theme in config: {self._wanted_theme}", severity="warning", markup=False)
        if self._wanted_keymap:
            self.set_keymap(self._wanted_keymap)
            unknown = sorted(set(self._wanted_keymap) - known_binding_ids())
            if unknown:
                self.notify(
                    f"Unknown binding ids in your keymap (see crm keys): {', '.join(unknown)}",
                    severity="warning",
                    timeout=10,
                    markup=False,
                )

    def on_unmount(self) -> None:
        """Stop listening to the bus and running automations."""
        self._unsubscribe()
        self._listener.stop()
        self.stop_automations()

    def _relay(self, event: DomainEvent) -> None:
        # Called on whatever thread published (usually the database thread): post_message is
        # thread-safe and hands the event to the app's own loop.
        self._own_txns.append(event.txn)
        self.post_message(DataChanged(event))

    @work(exclusive=True, group="app-formulas", exit_on_error=False)
    async def _refresh_dated(self) -> None:
        """Bring formulas that use today() up to date once a day (a no-op the rest of the day)."""
        from crm_tui.services import computed_fields

        await self.session.call(computed_fields.refresh_dated, self.session.ctx)

    @work(exclusive=True, group="app-reminders", exit_on_error=False)
    async def _fire_reminders(self) -> None:
        """Send the task reminders that have come due (to whoever they are for; each fires once
        however many sessions check), and recount the unread (read elsewhere meanwhile)."""
        try:
            await self._inbox_baseline()  # reminders fired now are news: toasted, not in the baseline
            await self.session.call(notifications.fire_reminders, self.session.ctx)
            count = await self.session.call(notifications.unread_count, self.session.ctx.user_id)
        except StorageError:
            # A busy database is not worth a message every minute: the next check tries again.
            log.warning("reminder check failed", exc_info=True)
            return
        self.unread = count

    def on_changes_committed(self, message: ChangesCommitted) -> None:
        """Another session committed a change (PostgreSQL): read the event log now."""
        self._poll_changes()

    @work(exclusive=True, group="app-poll", exit_on_error=False)
    async def _poll_changes(self) -> None:
        """Changes other processes wrote to the event log reach every screen within a second, and
        new notifications for this user show as toasts."""
        if self._last_event_id is None:
            self._last_event_id = await self.session.take_preloaded("events", changes.latest_event_id)
        if self._last_notification_id is None:
            await self._inbox_baseline()
            self.unread = await self.session.call(notifications.unread_count, self.session.ctx.user_id)
        rows = await self.session.call(changes.changes_since, self._last_event_id)
        if not rows:
            return
        if any(row.kind == notifications.CREATED_KIND for row in rows):
            # Before moving past the rows: a poll cancelled here looks again next time.
            await self._check_inbox()
        self._last_event_id = rows[-1].id
        own = set(self._own_txns)
        # A notification changes no record on any screen: it alone is no reason to read them again.
        if any(row.txn not in own and row.kind != notifications.CREATED_KIND for row in rows):
            self.automations_soon()  # changes made where no engine may be running (a script, an import)
            self._tell_screens(None)

    async def _inbox_baseline(self) -> None:
        """Note the newest notification there is: older ones are counted, never toasted."""
        if self._last_notification_id is None:
            latest = await self.session.call(notifications.latest_id, self.session.ctx.user_id)
            if self._last_notification_id is None:  # the other worker may have set it meanwhile
                self._last_notification_id = latest

    async def _check_inbox(self) -> None:
        """Toast this user's notifications that arrived since the last look; update the count."""
        assert self._last_notification_id is not None
        user = self.session.ctx.user_id
        items = await self.session.call(notifications.newer_than, user, self._last_notification_id)
        count = await self.session.call(notifications.unread_count, user)
        if items:
            self._last_notification_id = items[-1].id
            self._toast(items)
            for screen in self.screen_stack:
                if isinstance(screen, NotificationsScreen):
                    screen.load()
        self.unread = count

    def _toast(self, items: list[NotificationItem]) -> None:
        shown = items if len(items) <= TOASTS_AT_ONCE else items[: TOASTS_AT_ONCE - 1]
        for item in shown:
            self.notify(safe_text(item.body) or "F10 shows your notifications", title=safe_text(item.title), markup=False, timeout=8)
        if len(items) > len(shown):
            self.notify(f"{len(items) - len(shown)} more new notifications: F10 shows them", markup=False, timeout=8)

    def watch_unread(self, count: int) -> None:
        """Show the new unread count on every screen of the current mode (the others get it when
        they are shown)."""
        self.sub_title = unread_text(count)
        for screen in self.screen_stack:
            self._badge_on(screen)

    def _badge_on(self, screen: Screen) -> None:
        # Screens are built by their own modules: the app adds the badge to each full screen as it
        # is shown (a dialog shows the badge of the screen under it).
        if isinstance(screen, ModalScreen):
            return
        badges = screen.query(InboxBadge)
        if badges:
            for badge in badges:
                badge.count = self.unread
        else:
            screen.mount(InboxBadge(self.unread))

    def action_notifications(self) -> None:
        """Open the notification centre (not over a dialog; the centre closes itself with F10)."""
        if not isinstance(self.screen, ModalScreen):
            self.push_screen(NotificationsScreen())

    def action_go(self, mode: str) -> None:
        """Switch to the board or one of the record lists (each keeps its place)."""
        if self.current_mode != mode and not isinstance(self.screen, ModalScreen):
            self.switch_mode(mode)

    def action_custom_fields(self) -> None:
        """Open the custom fields settings, on the record type of the list in view (deals otherwise)."""
        from crm_tui.screens.custom_fields import CustomFieldsScreen  # noqa: PLC0415 - loaded on first use

        if isinstance(self.screen, ModalScreen):
            return
        entity = getattr(self.screen, "entity", None)
        self.push_screen(CustomFieldsScreen(entity if entity in ("company", "contact", "lead", "deal") else "deal"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette's own commands, plus the custom fields settings."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Custom fields", "Add, rename, reorder and remove custom fields (F9)", self.action_custom_fields)
        yield SystemCommand(
            "Automations", "Rules that react to changes: edit, switch on or off, dry run, run log (F12)", lambda: self.action_go("automations")
        )
        yield SystemCommand(
            "Notifications", "Your inbox: reminders and messages, read and unread (F10)", self.action_notifications
        )
        yield from self.data_commands()

    def open_record(self, entity: str, record_id: int) -> None:
        """Open the detail screen of one record (company, contact, lead or deal) over the current one."""
        from crm_tui.screens.record_screen import RecordScreen

        self.push_screen(RecordScreen(entity, record_id))

    def on_data_changed(self, message: DataChanged) -> None:
        """Hand a workspace change to every open screen, and let the rules react to it."""
        self.automations_soon()
        self._tell_screens(message.event)

    def _tell_screens(self, event: DomainEvent | None) -> None:
        # Only the current mode's screens hear of a change now; the others are told when shown.
        self._generation += 1
        for screen in self.screen_stack:
            self._seen[screen] = self._generation
            screen.post_message(DataChanged(event))

    def _on_screen_shown(self, screen: Screen) -> None:
        """A screen came into view: give it the unread badge, and a change it missed while another
        mode was shown (the board, a list, the dashboard then read again their own way)."""
        self._badge_on(screen)
        seen = self._seen.get(screen)
        self._seen[screen] = self._generation
        if seen is not None and seen < self._generation:
            screen.post_message(DataChanged(None))


def _automations() -> Screen:
    # Loaded on first use: the rule editor pulls in the rule schemas and TOML, which start-up does not need.
    from crm_tui.screens.automations import AutomationsScreen

    return AutomationsScreen()


def known_binding_ids() -> set[str]:
    """Every binding id a keymap can name."""
    return {b.id for owner in binding_owners() for b in owner.BINDINGS if getattr(b, "id", None)}


def binding_owners() -> list[type]:
    """Every class whose BINDINGS users can remap, in the order `crm keys` lists them."""
    from crm_tui.screens.automations import AutomationsScreen
    from crm_tui.screens.choice import ChoiceScreen
    from crm_tui.screens.confirm import ConfirmScreen
    from crm_tui.screens.custom_field_form import CustomFieldFormScreen
    from crm_tui.screens.custom_fields import CustomFieldsScreen
    from crm_tui.screens.deal_form import DealFormScreen
    from crm_tui.screens.drill import DrillScreen
    from crm_tui.screens.dry_run import DryRunScreen
    from crm_tui.screens.duplicates import DuplicatesScreen
    from crm_tui.screens.export_dialog import ExportDialog
    from crm_tui.screens.filters import FilterScreen
    from crm_tui.screens.import_files import PathInput
    from crm_tui.screens.import_mapping import TargetPicker
    from crm_tui.screens.import_wizard import ImportWizard
    from crm_tui.screens.keys import KeysScreen
    from crm_tui.screens.merge_screen import MergeScreen
    from crm_tui.screens.normalise_screen import NormaliseScreen
    from crm_tui.screens.pipelines import PipelinesScreen
    from crm_tui.screens.record_picker import RecordPickerScreen
    from crm_tui.screens.record_screen import RecordScreen
    from crm_tui.screens.rule_editor import RuleEditorScreen
    from crm_tui.screens.run_log import RunLogScreen
    from crm_tui.screens.stage_form import StageFormScreen
    from crm_tui.screens.tag_cleanup import TagCleanupScreen
    from crm_tui.screens.text_prompt import TextPromptScreen
    from crm_tui.widgets.card_list import CardList
    from crm_tui.widgets.charts import Chart
    from crm_tui.widgets.record_table import RecordTable

    return [
        CrmApp, BoardScreen, CardList, DealFormScreen, FilterScreen, ChoiceScreen, ConfirmScreen,
        TextPromptScreen, KeysScreen, PipelinesScreen, StageFormScreen, RecordListScreen, RecordTable, RecordScreen,
        CustomFieldsScreen, CustomFieldFormScreen, RecordPickerScreen, DashboardScreen, Chart, DrillScreen,
        NotificationsScreen, TasksScreen, AutomationsScreen, RuleEditorScreen, DryRunScreen, RunLogScreen,
        ExportDialog, ImportWizard, TargetPicker, PathInput, DuplicatesScreen, MergeScreen, TagCleanupScreen, NormaliseScreen,
    ]  # fmt: skip
