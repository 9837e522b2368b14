"""Export a record list (or the tasks, appointments or notes) to a file: pick the format, the
columns (as the list shows them, or every field for re-import) and the path; enter or ctrl+s writes
it on a database thread of its own, with a progress bar, and the dialog closes saying what it wrote.

Dismisses with "Exported 1,234 contacts to ~/contacts-2026-11-22.csv" (the caller toasts it, with
`toast_result`) or None when cancelled. Esc during an export stops it; no partial file is left either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Input, ProgressBar, RadioButton, RadioSet, Static

from crm_tui import clock
from crm_tui.screens.base import CatchesEarlyKeys, PolledProgress, ReportsWorkerErrors, own_session, session_of
from crm_tui.services import export
from crm_tui.services.errors import ServiceError
from crm_tui.services.export import ExportCancelled, ExportRequest
from crm_tui.services.record_lists import ListQuery
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

_SUFFIXES = tuple(f".{fmt}" for fmt in export.FORMAT_LABELS)


def toast_result(node: DOMNode) -> Callable[[str | None], None]:
    """The callback to push an ExportDialog with: `node` toasts what the export wrote (nothing
    when it was cancelled)."""

    def toast(message: str | None) -> None:
        if message:
            node.notify(message, markup=False)

    return toast


class ExportDialog(CatchesEarlyKeys, ReportsWorkerErrors, ModalScreen[str | None]):
    """Ask how and where to export `entity` (the rows of `query`, a list's current query, when
    given; `view_name` is only shown), export, and dismiss with a sentence saying what was written."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "export", "Export", tooltip="Write the file", id="export.run"),
        Binding("escape", "cancel", "Cancel", tooltip="Close, or stop a running export", id="export.cancel"),
    ]
    DEFAULT_CSS = """
    ExportDialog { align: center middle; }
    ExportDialog > Vertical {
        width: 72; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ExportDialog #export-title { text-style: bold; padding-bottom: 1; }
    ExportDialog .label { color: $text-muted; }
    ExportDialog RadioSet { width: 100%; margin-bottom: 1; }
    ExportDialog #export-progress { display: none; margin-top: 1; }
    ExportDialog.-running #export-progress { display: block; }
    ExportDialog #export-error { color: $text-error; }
    ExportDialog .hint { color: $text-muted; padding-top: 1; }
    """

    def __init__(self, entity: str, query: ListQuery | None = None, view_name: str | None = None) -> None:
        super().__init__()
        self.entity = entity
        self.list_query = query if entity in export.LIST_ENTITIES else None
        self.view_name = view_name
        self.formats = export.formats_for(entity)
        self.exporting = False
        self._cancel = threading.Event()
        self._overwrite: str | None = None
        """The path the user was told exists: enter again replaces it."""

    def compose(self) -> ComposeResult:
        """Title, format, columns, path, progress, error and a hint."""
        plural = export.NOUNS[self.entity][1]
        title = Content.assemble("Export ", plural, *((" · ", safe_text(self.view_name)) if self.view_name else ()))
        with Vertical():
            yield Static(title, id="export-title")
            yield Static("Format", classes="label")
            yield RadioSet(
                *[RadioButton(export.FORMAT_LABELS[fmt], value=i == 0, id=f"format-{fmt}") for i, fmt in enumerate(self.formats)],
                id="export-format",
                compact=True,
            )  # fmt: skip
            yield Static("Columns", classes="label", id="export-columns-label")
            yield RadioSet(
                RadioButton("as the list shows them", value=True, id="columns-shown"),
                RadioButton("every field (for re-import)", id="columns-all"),
                id="export-columns",
                compact=True,
            )
            yield Static("Save to", classes="label")
            yield Input(self._default_path(self.formats[0]), id="export-path", compact=True)
            yield ProgressBar(id="export-progress", show_eta=False)
            yield Static("", id="export-error")
            yield Static("enter or ctrl+s to export · tab between choices · esc to cancel", classes="hint")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Start in the path: enter exports with the defaults."""
        self._show_columns()
        self.set_focus(self.query_one("#export-path", Input))

    # -- choices -------------------------------------------------------------------------------
    def _default_path(self, fmt: str) -> str:
        return f"~/{export.default_filename(self.entity, fmt, clock.now().date())}"

    @property
    def chosen_format(self) -> str:
        """The chosen format."""
        pressed = self.query_one("#export-format", RadioSet).pressed_button
        return (pressed.id or "").removeprefix("format-") if pressed is not None else self.formats[0]

    @property
    def chosen_columns(self) -> str:
        """ "shown" or "all" (always "all" for types without a list)."""
        if self.entity not in export.LIST_ENTITIES:
            return "all"
        pressed = self.query_one("#export-columns", RadioSet).pressed_button
        return "all" if pressed is not None and pressed.id == "columns-all" else "shown"

    def _show_columns(self) -> None:
        shown = self.entity in export.LIST_ENTITIES and self.chosen_format in ("csv", "json")
        self.query_one("#export-columns", RadioSet).display = shown
        self.query_one("#export-columns-label", Static).display = shown

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        """Follow the format with the file's suffix, and offer columns only for CSV and JSON."""
        self._show_columns()
        field = self.query_one("#export-path", Input)
        text = field.value
        for suffix in _SUFFIXES:
            if text.lower().endswith(suffix):
                field.value = text[: -len(suffix)] + f".{self.chosen_format}"
                break
        self._say("")

    def export_request(self) -> ExportRequest:
        """The export the choices describe (as the session's user: "mine" in a view means theirs)."""
        fmt = self.chosen_format
        query = self.list_query if fmt != "ics" else None
        columns = self.chosen_columns if fmt in ("csv", "json") else "all"
        return ExportRequest(self.entity, fmt, query, columns, session_of(self).ctx.user_id)

    def _say(self, text: str) -> None:
        self.query_one("#export-error", Static).update(Content(safe_text(text)))

    # -- exporting -----------------------------------------------------------------------------
    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_export()

    async def submit_now(self, field: Input) -> None:
        """Enter came before the path had the focus: export with what is there."""
        self.action_export()

    def action_export(self) -> None:
        """Check the path and start the export (once; a second enter while it runs does nothing)."""
        if self.exporting:
            return
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            self._say("type the file to write")
            return
        path = Path(text).expanduser()
        if path.is_dir():
            self._say(f"{text} is a folder: add a file name")
            return
        if path.exists() and self._overwrite != text:
            self._overwrite = text
            self._say(f"{text} exists: enter again to replace it")
            return
        self._say("")
        self.run_export(self.export_request(), text)

    @work(group="export-dialog-run", exclusive=True, exit_on_error=False)
    async def run_export(self, request: ExportRequest, text: str) -> None:
        """Export on a database thread of its own (the session's keeps serving the screens)."""
        progress = PolledProgress(self.query_one("#export-progress", ProgressBar))
        cancel = self._cancel

        def report(done: int, total: int) -> None:
            """Progress from the export's thread: kept for the bar; stops a cancelled export."""
            progress.report(done, total)
            if cancel.is_set():
                raise ExportCancelled()

        self.exporting = True
        cancel.clear()
        self.add_class("-running")
        try:
            # On the way out the export is cancelled too: when the worker itself was (the app closing).
            async with own_session(self, cancel=cancel, progress=progress) as own:
                count = await own.call(export.export_file, request, Path(text).expanduser(), report)
        except ExportCancelled:
            self.dismiss(None)
            return
        except ServiceError as error:
            self._say(str(error))
            return
        finally:
            self.exporting = False
            self.remove_class("-running")
        self.dismiss(f"Exported {export.describe(count, request.entity)} to {text}")

    def action_cancel(self) -> None:
        """Esc: stop a running export (the dialog closes when it has), else close."""
        if self.exporting:
            self._cancel.set()
            self._say("stopping…")
            return
        self.dismiss(None)
