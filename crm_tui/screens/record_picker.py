"""Choosing a record for a reference field: type to narrow (the search index, as the lists' `/`),
up/down to move, enter to choose, esc to leave the field as it was."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.screens.base import session_of
from crm_tui.services.list_fields import LABELS
from crm_tui.services.record_lists import Choice, choices
from crm_tui.text import safe_text


class RecordPickerScreen(ModalScreen[Choice | None]):
    """Pick one company, contact, lead or deal; returns the Choice, or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "move(1)", "Next", show=False, priority=True),
        Binding("up", "move(-1)", "Previous", show=False, priority=True),
    ]
    DEFAULT_CSS = """
    RecordPickerScreen { align: center middle; }
    RecordPickerScreen > Vertical {
        width: 70; max-width: 95%; height: auto; max-height: 80%; border: round $accent; background: $surface;
        padding: 0 1;
    }
    RecordPickerScreen .question { padding: 1 0 0 0; text-style: bold; }
    RecordPickerScreen OptionList { height: auto; max-height: 14; border: none; }
    RecordPickerScreen .hint { color: $text-muted; }
    """

    def __init__(self, entity: str, text: str = "") -> None:
        super().__init__()
        self.entity = entity
        self.text = text
        self.found: list[Choice] = []

    def compose(self) -> ComposeResult:
        """The question, a search box and what matches."""
        label = LABELS[self.entity][0].lower()
        with Vertical():
            yield Static(f"Choose a {label}", classes="question")
            yield Input(
                self.text, placeholder=f"type part of the {label}'s name", id="find", compact=True, select_on_focus=False
            )
            yield OptionList(id="found")
            yield Static("type to narrow · ↑↓ move · enter chooses · esc cancels", classes="hint")

    def on_mount(self) -> None:
        """Start typing at once; list what matches what was typed so far."""
        self.query_one("#find", Input).focus()
        self.lookup(self.text)

    @on(Input.Changed, "#find")
    def _changed(self, event: Input.Changed) -> None:
        self.lookup(event.value)

    @work(exclusive=True, group="picker-read", exit_on_error=False)
    async def lookup(self, text: str) -> None:
        """Show the records matching `text` (the first 20 in list order)."""
        self.found = await session_of(self).call(choices, self.entity, text)
        found = self.query_one("#found", OptionList)
        found.clear_options()
        for choice in self.found:
            found.add_option(Option(Content.assemble(safe_text(choice.title), (f"  {safe_text(choice.detail)}", "dim"))))
        if not self.found:
            found.add_option(Option(Content("nothing matches"), disabled=True))
        else:
            found.highlighted = 0

    def action_move(self, step: int) -> None:
        """Move the highlight while the cursor stays in the search box."""
        found = self.query_one("#found", OptionList)
        if self.found:
            found.highlighted = max(0, min(len(self.found) - 1, (found.highlighted or 0) + step))

    @on(Input.Submitted, "#find")
    def _submitted(self) -> None:
        at = self.query_one("#found", OptionList).highlighted
        if self.found and at is not None and at < len(self.found):
            self.dismiss(self.found[at])

    @on(OptionList.OptionSelected, "#found")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.found):
            self.dismiss(self.found[event.option_index])

    def action_cancel(self) -> None:
        """Leave the field as it was."""
        self.dismiss(None)
