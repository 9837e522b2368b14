"""The stage form: name, probability, kind and rot days."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from crm_tui.services.pipelines import StageRow
from crm_tui.screens.base import ReportsWorkerErrors
from crm_tui.text import safe_text

KINDS = [("open", "Open"), ("won", "Won"), ("lost", "Lost"), ("closed", "Closed, neither won nor lost (N/A)")]


class StageFormScreen(ReportsWorkerErrors, ModalScreen[bool]):
    """Add a stage, or edit `stage`; `save(values)` stores it and returns errors per field or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="stage_form.cancel"),
        Binding("ctrl+s", "save", "Save", id="stage_form.save"),
    ]
    DEFAULT_CSS = """
    StageFormScreen { align: center middle; }
    StageFormScreen > VerticalScroll {
        width: 60; max-width: 95%; height: auto; max-height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    StageFormScreen .title { text-style: bold; padding: 1 0 0 0; }
    StageFormScreen Label { margin-top: 1; color: $text-muted; }
    StageFormScreen Input, StageFormScreen Select { background: $boost; }
    StageFormScreen .error { color: $text-error; height: auto; }
    StageFormScreen Horizontal { height: auto; align-horizontal: right; margin: 1 0; }
    StageFormScreen Button { margin-left: 2; }
    """

    def __init__(self, save: Callable[[dict[str, Any]], Awaitable[dict[str, str] | None]], *, stage: StageRow | None = None) -> None:
        super().__init__()
        self.save = save
        self.stage = stage

    def compose(self) -> ComposeResult:
        """Name, probability, kind, rot days."""
        stage = self.stage
        with VerticalScroll():
            title = Content.assemble("Edit stage ", (safe_text(stage.name), "bold")) if stage else Content.styled("New stage", "bold")
            yield Static(title, classes="title")
            yield Label("Name *")
            yield Input(stage.name if stage else "", id="name", compact=True)
            yield Static("", id="name-error", classes="error", markup=False)
            yield Label("Probability a deal here is won (0-100 %)")
            yield Input(str(stage.probability) if stage else "10", id="probability", compact=True)
            yield Static("", id="probability-error", classes="error", markup=False)
            yield Label("Kind")
            yield Select([(label, value) for value, label in KINDS], value=stage.kind if stage else "open", allow_blank=False, id="kind", compact=True)
            yield Label("Stale after this many days in the stage (empty: never)")
            yield Input(str(stage.rot_days) if stage and stage.rot_days else "", id="rot_days", compact=True)
            yield Static("", id="rot_days-error", classes="error", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Save  ctrl+s", id="save", variant="primary")

    def on_mount(self) -> None:
        """Start in the name."""
        self.query_one("#name", Input).focus()

    def _collect(self) -> dict[str, Any] | None:
        errors: dict[str, str] = {}
        values: dict[str, Any] = {"name": self.query_one("#name", Input).value, "kind": self.query_one("#kind", Select).value}
        probability = self.query_one("#probability", Input).value.strip()
        if probability.isdigit() and int(probability) <= 100:
            values["probability"] = int(probability)
        else:
            errors["probability"] = "A whole number from 0 to 100."
        rot = self.query_one("#rot_days", Input).value.strip()
        if not rot:
            values["rot_days"] = None
        elif rot.isdigit() and int(rot) > 0:
            values["rot_days"] = int(rot)
        else:
            errors["rot_days"] = "A number of days (1 or more), or empty."
        self._show(errors)
        return None if errors else values

    def _show(self, errors: dict[str, str]) -> None:
        for line in self.query(".error"):
            line.update("")
        for name, message in errors.items():
            target = self.query(f"#{name}-error")
            (target.first() if target else self.query_one("#name-error")).update(message)

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Check and store."""
        self._save()

    @work(exit_on_error=False, exclusive=True, group="stage-form-save")
    async def _save(self) -> None:
        values = self._collect()
        if values is None:
            return
        errors = await self.save(values)
        if errors:
            self._show(errors)
        else:
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(False)
