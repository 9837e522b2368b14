"""CrmApp: the Textual application, its modes, global keys, command palette and the bridge from
the event bus to the screens."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from crm_tui.events import DomainEvent
from crm_tui.screens.base import DataChanged
from crm_tui.screens.board import BoardScreen
from crm_tui.screens.board_commands import BoardCommands
from crm_tui.services.session import Session


class CrmApp(App[None]):
    """The terminal CRM for one session (one user on one workspace)."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "crm"
    COMMANDS = App.COMMANDS | {BoardCommands}
    MODES = {"board": BoardScreen}
    DEFAULT_MODE = "board"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
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
        self._wanted_theme = theme
        self._wanted_keymap = dict(keymap or {})
        self.animation_level = animations  # type: ignore[assignment]
        self._unsubscribe = session.ctx.bus.subscribe(DomainEvent, self._relay)

    def on_mount(self) -> None:
        """Apply the user's theme and keymap."""
        if self._wanted_theme in self.available_themes:
            self.theme = self._wanted_theme
        else:
            self.notify(f"Unknown theme in config: {self._wanted_theme}", severity="warning", markup=False)
        if self._wanted_keymap:
            self.set_keymap(self._wanted_keymap)

    def on_unmount(self) -> None:
        """Stop listening to the bus."""
        self._unsubscribe()

    def _relay(self, event: DomainEvent) -> None:
        # Called on whatever thread published (usually the database thread): post_message is
        # thread-safe and hands the event to the app's own loop.
        self.post_message(DataChanged(event))

    def on_data_changed(self, message: DataChanged) -> None:
        """Hand a workspace change to every open screen."""
        for screen in self.screen_stack:
            screen.post_message(DataChanged(message.event))
