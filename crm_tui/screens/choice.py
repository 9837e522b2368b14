"""A modal that asks the user to choose one item from a short list."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.widgets.footer import BatchedFooter


class ChoiceScreen(ModalScreen[int | None]):
    """Show `choices` under `question`; dismiss with the chosen index, or None on Esc.

    Everything shown is Content, so record text in the question or the choices is never markup.
    `tone` ("accent" or "error") colours the frame.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]
    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical {
        width: 60; max-width: 90%; height: auto; max-height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ChoiceScreen.-error > Vertical { border: round $error; }
    ChoiceScreen .question { padding: 0 0 1 0; }
    ChoiceScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, question: Content, choices: list[Content], *, current: int = 0, tone: str = "accent") -> None:
        super().__init__(classes=f"-{tone}")
        self.question = question
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        """The question, then the choices."""
        with Vertical():
            yield Static(self.question, classes="question")
            yield OptionList(*[Option(choice, id=str(index)) for index, choice in enumerate(self.choices)])
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Start on the current choice."""
        if self.choices:
            self.query_one(OptionList).highlighted = min(self.current, len(self.choices) - 1)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)
