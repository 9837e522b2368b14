"""Every key of the board, grouped, as the user has them mapped (keymap included)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from crm_tui.widgets.card_list import CardList
from crm_tui.widgets.footer import BatchedFooter

GROUPS: list[tuple[str, list[str]]] = [
    ("Move around", ["board.column_left", "board.column_right", "board.column_1", "board.card_up", "board.card_down",
                     "board.card_first", "board.card_last", "board.page_up", "board.page_down"]),
    ("Move deals", ["board.move_prev", "board.move_next", "board.move_to", "board.undo"]),
    ("Deals", ["board.new", "board.open", "board.edit", "board.delete"]),
    ("Narrow the board", ["board.search", "board.filters", "board.views", "board.clear_filters"]),
    ("Board", ["board.pipeline", "board.edit_pipelines", "board.collapse", "board.refresh", "board.keys"]),
    ("Everywhere", ["app.command_palette", "app.quit"]),
]  # fmt: skip
"""The board's keys in the order a newcomer learns them."""


def _pretty(keys: str) -> str:
    names = {"question_mark": "?", "slash": "/", "escape": "esc", "pageup": "PgUp", "pagedown": "PgDn"}
    return " / ".join(names.get(key, key) for key in keys.split(","))


def key_table(owners: list[Any], keymap: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Binding id -> (keys as mapped, description), for the bindings of `owners` (classes)."""
    table: dict[str, tuple[str, str]] = {"app.command_palette": ("ctrl+p", "Command palette: every action by name")}
    for owner in owners:
        for binding in owner.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                table[binding.id] = (keymap.get(binding.id, binding.key), binding.tooltip or binding.description)
    table["board.column_1"] = ("1–9", "Jump to column 1 … 9")
    return table


class KeysScreen(ModalScreen[None]):
    """The keys of `screen`, grouped; any key closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="keys.close")]
    DEFAULT_CSS = """
    KeysScreen { align: center middle; }
    KeysScreen > VerticalScroll {
        width: 76; max-width: 95%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        app: Any = screen.app
        self.table = key_table([type(app), type(screen), CardList], getattr(app, "keymap", {}))

    def compose(self) -> ComposeResult:
        """One block per group."""
        lines: list[Content] = []
        for group, ids in GROUPS:
            lines.append(Content.styled(group, "bold $text-accent"))
            for binding_id in ids:
                if binding_id in self.table:
                    keys, description = self.table[binding_id]
                    lines.append(Content.assemble((f"  {_pretty(keys):<22}", "bold"), description))
            lines.append(Content(""))
        lines.append(Content.styled("Remap any key in config.toml: [keymap] \"board.move_next\" = \"ctrl+right\"", "$text-muted"))
        with VerticalScroll():
            yield Static(Content("\n").join(lines))
        yield BatchedFooter()

    def action_close(self) -> None:
        """Back to the board."""
        self.dismiss(None)
