"""CrmApp: the Textual application, its modes, global keys, command palette and the bridge from
the event bus to the screens."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from crm_tui.events import DomainEvent
from crm_tui.screens.base import DataChanged, ReportsWorkerErrors
from crm_tui.screens.board import BoardScreen
from crm_tui.screens.board_commands import BoardCommands
from crm_tui.screens.dashboard import DashboardScreen
from crm_tui.screens.record_list import RecordListScreen
from crm_tui.screens.record_search import RecordSearch
from crm_tui.services import changes
from crm_tui.services.session import Session

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""How often the event log is read for changes made elsewhere."""
FORMULA_DELAY = 5.0
"""Seconds after start before formulas with today() are brought up to date (once a day)."""


class CrmApp(ReportsWorkerErrors, App[None]):
    """The terminal CRM for one session (one user on one workspace)."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "crm"
    COMMANDS = App.COMMANDS | {BoardCommands, RecordSearch}
    MODES = {
        "board": BoardScreen,
        "deals": lambda: RecordListScreen("deal"),
        "contacts": lambda: RecordListScreen("contact"),
        "companies": lambda: RecordListScreen("company"),
        "leads": lambda: RecordListScreen("lead"),
        "dashboard": DashboardScreen,
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
        Binding("f9", "custom_fields", "Fields", show=False, tooltip="Custom fields settings", id="app.custom_fields"),
    ]

    def __init__(
        self,
        session: Session,
        *,
        theme: str = "textual-dark",
        keymap: dict[str, str] | None = None,
        animations: str = "basic",
    ) -> None:
        super().__init__()
        self.session = session
        self._own_txns: deque[str] = deque(maxlen=2000)
        self._last_event_id: int | None = None
        self._wanted_theme = theme
        self._wanted_keymap = dict(keymap or {})
        self.animation_level = animations  # type: ignore[assignment]
        self._unsubscribe = session.ctx.bus.subscribe(DomainEvent, self._relay)
        session.preload("events", changes.latest_event_id)  # before any screen reads its data

    @property
    def keymap(self) -> dict[str, str]:
        """The user's remapped keys (binding id -> keys)."""
        return dict(self._wanted_keymap)

    def on_mount(self) -> None:
        """Apply the user's theme and keymap; start watching the event log for others' changes."""
        self.set_interval(POLL_SECONDS, self._poll_changes)
        # Formulas with today() move on at midnight: checked soon after start (not during it), then hourly.
        self.set_timer(FORMULA_DELAY, self._refresh_dated)
        self.set_interval(3600, self._refresh_dated)
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
        """Stop listening to the bus."""
        self._unsubscribe()

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

    @work(exclusive=True, group="app-poll", exit_on_error=False)
    async def _poll_changes(self) -> None:
        """Changes other processes wrote to the event log reach every screen within a second."""
        if self._last_event_id is None:
            self._last_event_id = await self.session.take_preloaded("events", changes.latest_event_id)
        rows = await self.session.call(changes.changes_since, self._last_event_id)
        if not rows:
            return
        self._last_event_id = rows[-1].id
        own = set(self._own_txns)
        if any(row.txn not in own for row in rows):
            for screen in self.screen_stack:
                screen.post_message(DataChanged(None))

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

    def open_record(self, entity: str, record_id: int) -> None:
        """Open the detail screen of one record (company, contact, lead or deal) over the current one."""
        from crm_tui.screens.record_screen import RecordScreen

        self.push_screen(RecordScreen(entity, record_id))

    def on_data_changed(self, message: DataChanged) -> None:
        """Hand a workspace change to every open screen."""
        for screen in self.screen_stack:
            screen.post_message(DataChanged(message.event))


def known_binding_ids() -> set[str]:
    """Every binding id a keymap can name."""
    return {b.id for owner in binding_owners() for b in owner.BINDINGS if getattr(b, "id", None)}


def binding_owners() -> list[type]:
    """Every class whose BINDINGS users can remap, in the order `crm keys` lists them."""
    from crm_tui.screens.choice import ChoiceScreen
    from crm_tui.screens.confirm import ConfirmScreen
    from crm_tui.screens.custom_field_form import CustomFieldFormScreen
    from crm_tui.screens.custom_fields import CustomFieldsScreen
    from crm_tui.screens.deal_form import DealFormScreen
    from crm_tui.screens.drill import DrillScreen
    from crm_tui.screens.filters import FilterScreen
    from crm_tui.screens.keys import KeysScreen
    from crm_tui.screens.pipelines import PipelinesScreen
    from crm_tui.screens.record_picker import RecordPickerScreen
    from crm_tui.screens.record_screen import RecordScreen
    from crm_tui.screens.stage_form import StageFormScreen
    from crm_tui.screens.text_prompt import TextPromptScreen
    from crm_tui.widgets.card_list import CardList
    from crm_tui.widgets.charts import Chart
    from crm_tui.widgets.record_table import RecordTable

    return [
        CrmApp, BoardScreen, CardList, DealFormScreen, FilterScreen, ChoiceScreen, ConfirmScreen,
        TextPromptScreen, KeysScreen, PipelinesScreen, StageFormScreen, RecordListScreen, RecordTable, RecordScreen,
        CustomFieldsScreen, CustomFieldFormScreen, RecordPickerScreen, DashboardScreen, Chart, DrillScreen,
    ]  # fmt: skip
