"""Choosing which pipeline the board shows."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.services.board import PipelineInfo
from crm_tui.text import safe_text


class PipelinePickerScreen(ModalScreen[int | None]):
    """Pick a pipeline; returns its id, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pipeline_picker.cancel")]
    DEFAULT_CSS = """
    PipelinePickerScreen { align: center middle; }
    PipelinePickerScreen > Vertical {
        width: 50; max-width: 90%; height: auto; max-height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    PipelinePickerScreen .title { padding: 0 0 1 0; text-style: bold; }
    PipelinePickerScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, pipelines: list[PipelineInfo], current: int | None) -> None:
        super().__init__()
        self.pipelines = pipelines
        self.current = current

    def compose(self) -> ComposeResult:
        """The pipelines, the current one highlighted."""
        with Vertical():
            yield Static("Show pipeline", classes="title")
            options = [
                Option(
                    Content.assemble(
                        (safe_text(p.name), "bold" if p.id == self.current else ""),
                        (f"  {len(p.stages)} stages", "$text-muted"),
                    ),
                    id=str(p.id),
                )
                for p in self.pipelines
            ]
            yield OptionList(*options)
        yield Footer()

    def on_mount(self) -> None:
        """Start on the pipeline being shown."""
        option_list = self.query_one(OptionList)
        ids = [p.id for p in self.pipelines]
        if self.current in ids:
            option_list.highlighted = ids.index(self.current)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.pipelines[event.option_index].id)

    def action_cancel(self) -> None:
        """Keep the current pipeline."""
        self.dismiss(None)
