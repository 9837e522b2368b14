"""Asking why a deal was lost before it is moved to a lost stage."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.text import safe_text


class LostReasonScreen(ModalScreen[str | None]):
    """Pick the lost reason; returns it, or None when cancelled (nothing is moved then)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="lost_reason.cancel")]
    DEFAULT_CSS = """
    LostReasonScreen { align: center middle; }
    LostReasonScreen > Vertical {
        width: 60; max-width: 90%; height: auto; max-height: 80%;
        border: round $error; background: $surface; padding: 0 1;
    }
    LostReasonScreen .title { padding: 0 0 1 0; }
    LostReasonScreen OptionList { height: auto; max-height: 16; }
    """

    def __init__(self, deal_title: str, reasons: list[str]) -> None:
        super().__init__()
        self.deal_title = deal_title
        self.reasons = reasons

    def compose(self) -> ComposeResult:
        """The question, then the reasons."""
        with Vertical():
            yield Static(
                Content.assemble("Why was ", (safe_text(self.deal_title), "bold"), " lost?"), classes="title"
            )
            yield OptionList(*[Option(Content(safe_text(reason)), id=str(i)) for i, reason in enumerate(self.reasons)])
        yield Footer()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.reasons[event.option_index])

    def action_cancel(self) -> None:
        """Close without moving the deal."""
        self.dismiss(None)
