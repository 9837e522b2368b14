"""Asking for one line of text (a name for a saved view, a new pipeline...)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from crm_tui.screens.base import CatchesEarlyKeys


class TextPromptScreen(CatchesEarlyKeys, ModalScreen[str | None]):
    """Ask for a line of text; enter returns it (stripped; non-empty unless `allow_empty`), Esc
    returns None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]
    DEFAULT_CSS = """
    TextPromptScreen { align: center middle; }
    TextPromptScreen > Vertical {
        width: 60; max-width: 90%; height: auto; border: round $accent; background: $surface; padding: 0 1;
    }
    TextPromptScreen .question { padding: 1 0 0 0; }
    TextPromptScreen .hint { color: $text-muted; }
    """

    def __init__(self, question: Content, *, value: str = "", placeholder: str = "", allow_empty: bool = False) -> None:
        super().__init__()
        self.allow_empty = allow_empty
        """Enter on an empty field answers "" (an optional answer) instead of doing nothing."""
        self.question = question
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        """The question and an input."""
        with Vertical():
            yield Static(self.question, classes="question")
            yield Input(self.value, placeholder=self.placeholder)
            yield Static("enter to save · esc to cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: answer, unless blank (and an answer is needed)."""
        if event.value.strip() or self.allow_empty:
            self.dismiss(event.value.strip())

    async def submit_now(self, field: Input) -> None:
        """Enter came before the field had the focus: answer with what was typed so far."""
        if field.value.strip() or self.allow_empty:
            self.dismiss(field.value.strip())

    def action_cancel(self) -> None:
        """Esc: no answer."""
        self.dismiss(None)
