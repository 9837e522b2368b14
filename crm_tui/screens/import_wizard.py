"""The import wizard: choose a file, map its columns, map unknown deal stages, choose the options,
check (a preview of the first rows and a dry run of them all), import, and revert the import.

ctrl+n moves on, escape goes back a step (and closes the wizard on the first). Reading, checking and
importing run on the session's database thread; the progress comes back as messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, DirectoryTree, Input, Select, Static

from crm_tui.screens.base import ReportsWorkerErrors, session_of
from crm_tui.screens.import_files import FileTree
from crm_tui.screens.import_mapping import ColumnsPanel
from crm_tui.screens.import_results import CheckPanel, ImportPanel, RunsImports
from crm_tui.screens.import_steps import (
    ENTITY_LABELS,
    STEPS,
    FilePanel,
    OptionsPanel,
    StagesPanel,
    error_text,
    read_summary,
    steps_bar,
)
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import import_columns, import_mappings, import_preview
from crm_tui.services.errors import ServiceError
from crm_tui.services.import_engine import ImportRequest, ImportResult
from crm_tui.services.import_preview import MissingStage
from crm_tui.services.import_read import Table, read_table
from crm_tui.services.import_rows import StageChoices
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

_BUSY = {
    "reading": "the file is being read", "checking": "the dry run is running", "importing": "the import is running",
    "reverting": "the import is being reverted",
}  # fmt: skip


class ImportWizard(RunsImports, ReportsWorkerErrors, Screen[None]):
    """Import a CSV or XLSX file into `entity` records, step by step (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next", tooltip="The next step", id="import.next"),
        # A priority binding: the table's own enter would hide "Change" from the footer.
        Binding("enter", "change_target", "Change", priority=True, tooltip="Choose what the highlighted column becomes",
                id="import.change"),
        Binding("ctrl+n", "start_import", "Import", tooltip="Store the rows now", id="import.run"),
        Binding("escape", "back", "Back", tooltip="The step before (closes the wizard on the first)", id="import.back"),
        Binding("ctrl+o", "browse", "Browse", tooltip="Show or hide the file browser", id="import.browse"),
        Binding("ctrl+s", "save_mapping", "Save mapping", tooltip="Keep the mapping by name", id="import.save_mapping"),
        Binding("ctrl+d", "dry_run", "Dry run", tooltip="Check every row; store nothing", id="import.dry_run"),
        Binding("ctrl+z", "revert", "Revert this import", tooltip="Remove what this import stored", id="import.revert"),
    ]  # fmt: skip
    # What the step panels share; each panel styles its own widgets (in its DEFAULT_CSS).
    DEFAULT_CSS = """
    ImportWizard #steps { height: 1; padding: 0 1; background: $boost; }
    ImportWizard #panels { height: 1fr; padding: 0 1; }
    ImportWizard .step { height: 1fr; }
    ImportWizard .lead { color: $text-muted; height: auto; padding-bottom: 1; }
    ImportWizard .row { height: auto; margin-bottom: 1; }
    ImportWizard .label { width: 14; color: $text-muted; }
    ImportWizard #message { height: auto; max-height: 4; padding: 0 1; display: none; }
    ImportWizard #message.-shown { display: block; }
    """

    def __init__(self, entity: str = "contact") -> None:
        super().__init__()
        self.entity = entity if entity in ENTITY_LABELS else "contact"
        self.step = "file"
        self.table: Table | None = None
        self.path: Path | None = None
        self._columns_for: tuple[str, tuple[str, ...]] | None = None
        """(entity, header) the column rows were drawn for: a file read again keeps the choices."""
        self.missing: list[MissingStage] = []
        """The deal file's stages its pipelines lack."""
        self.busy = ""
        self.result: ImportResult | None = None
        self.reverted = False

    def compose(self) -> ComposeResult:
        """The steps bar, a panel per step, a message line and the keys."""
        yield Static("", id="steps")
        with ContentSwitcher(initial="step-file", id="panels"):
            yield FilePanel(self.entity, id="step-file", classes="step")
            yield ColumnsPanel(id="step-columns", classes="step")
            yield StagesPanel(id="step-stages", classes="step")
            yield OptionsPanel(id="step-options", classes="step")
            yield CheckPanel(id="step-check", classes="step")
            yield ImportPanel(id="step-import", classes="step")
        yield Static("", id="message")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Start in the path field."""
        self._draw_steps()
        self.query_one("#path", Input).focus()

    # -- moving between steps ------------------------------------------------------------------
    def shown_steps(self) -> list[str]:
        """The steps this import goes through (Stages only for a deal file with unknown stages)."""
        return [step for step in STEPS if step != "stages" or (self.entity == "deal" and self.missing)]

    def _draw_steps(self) -> None:
        self.query_one("#steps", Static).update(steps_bar(self.step, self.shown_steps()))

    def show_step(self, step: str) -> None:
        """Show the panel of `step`, with its keys, and focus its first field."""
        self.step = step
        self.query_one("#panels", ContentSwitcher).current = f"step-{step}"
        self._draw_steps()
        self.say()
        self.refresh_bindings()
        panel = self.query_one(f"#step-{step}")
        focusable = [widget for widget in panel.query("*") if widget.focusable and widget.display]
        if step == "file":
            self.query_one("#path", Input).focus()
        elif step == "columns":
            self.query_one("#column-table", DataTable).focus()
        elif focusable:
            focusable[0].focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Each step's own keys only on that step (and so in the footer)."""
        stored = self.result is not None and self.result.stored
        allowed = {
            "next": self.step != "import",
            "change_target": self.step == "columns" and isinstance(self.focused, DataTable),
            "start_import": self.step == "import" and not stored,
            "browse": self.step == "file",
            "save_mapping": self.step == "columns",
            "dry_run": self.step == "check",
            "revert": self.step == "import" and stored and not self.reverted,
        }
        return allowed.get(action, True)

    def say(self, text: Content | str = "", *, error: bool = False) -> None:
        """Show `text` on the message line (an error in the error colour); "" hides it."""
        line = self.query_one("#message", Static)
        line.update(error_text(text) if error else Content(text) if isinstance(text, str) else text)
        line.set_class(bool(text), "-shown")

    def is_busy(self) -> bool:
        """Whether a read, dry run, import or revert is running (saying so when it is)."""
        if self.busy:
            self.say(f"Wait: {_BUSY[self.busy]}.", error=True)
        return bool(self.busy)

    def action_next(self) -> None:
        """Move on to the next step (reading the file first, on the first)."""
        if not self.is_busy():
            self._advance()

    def action_back(self) -> None:
        """The step before; on the first step, or after an import was stored, close."""
        if self.busy in ("importing", "reverting", "reading"):
            self.is_busy()
            return
        trees = self.query("#tree")
        if trees:
            trees.remove()
            self.query_one("#path", Input).focus()
            return
        if self.step == "file" or (self.step == "import" and self.result is not None and self.result.stored):
            self.dismiss(None)
            return
        shown = self.shown_steps()
        self.show_step(shown[max(shown.index(self.step) - 1, 0)])

    @work(group="import-wizard-step", exclusive=True, exit_on_error=False)
    async def _advance(self) -> None:
        try:
            if self.step == "file":
                if await self._read() and self.table is not None:
                    await self._enter_columns(self.table)
            elif self.step == "columns":
                await self._leave_columns()
            elif self.step == "stages":
                await self._enter_options()
            elif self.step == "options":
                await self._enter_check()
            elif self.step == "check":
                self.enter_import()
        except ServiceError as error:
            self.say(str(error), error=True)

    # -- 1 File --------------------------------------------------------------------------------
    @on(Input.Submitted, "#path, #delimiter, #encoding")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_next()

    @on(Select.Changed, "#entity")
    def _entity_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != self.entity:
            self.entity = str(event.value)
            self.missing = []
            self._draw_steps()

    async def action_browse(self) -> None:
        """Show the file browser (at the folder typed so far), or hide it."""
        trees = self.query("#tree")
        if trees:
            await trees.remove()
            self.query_one("#path", Input).focus()
            return
        typed = Path(self.query_one("#path", Input).value.strip() or "~").expanduser()
        folder = typed if typed.is_dir() else typed.parent
        # Mounted only while shown: a directory tree keeps a loader worker running as long as it exists.
        tree = FileTree(folder if folder.is_dir() else Path.home(), id="tree")
        await self.query_one(FilePanel).mount(tree, before="#file-status")
        tree.focus()

    @on(DirectoryTree.FileSelected, "#tree")
    async def _file_chosen(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        field = self.query_one("#path", Input)
        field.value = str(event.path)
        await self.query("#tree").remove()
        field.focus()
        self.action_next()

    async def _read(self) -> bool:
        """Read the file named in the path field (again, if it was: it may have been fixed); say how it went."""
        panel = self.query_one(FilePanel)
        text = self.query_one("#path", Input).value.strip()
        delimiter = self.query_one("#delimiter", Input).value
        encoding = self.query_one("#encoding", Input).value.strip()
        status = panel.query_one("#file-status", Static)
        if not text:
            status.update(error_text("type the path of the file to import (tab completes it)"))
            return False
        path = Path(text).expanduser()
        status.update(Content.styled("reading…", "$text-muted"))
        self.busy = "reading"
        try:
            table = await session_of(self).call(
                read_table, path, delimiter=delimiter or None, encoding=encoding or None
            )
        except ServiceError as error:
            status.update(error_text(error))
            self.table = None
            return False
        finally:
            self.busy = ""
        self.table, self.path = table, path
        self.result, self.reverted = None, False
        status.update(read_summary(table))
        return True

    # -- 2 Columns -----------------------------------------------------------------------------
    async def _enter_columns(self, table: Table) -> None:
        panel = self.query_one(ColumnsPanel)
        session = session_of(self)
        targets = await session.call(import_columns.targets, self.entity)
        if self._columns_for == (self.entity, tuple(table.header)):
            chosen = dict(panel.chosen)  # the same columns read again: keep what the user chose
        else:
            chosen = await session.call(import_columns.suggest, self.entity, table.header)
        names = await session.call(import_mappings.mapping_names, self.entity)
        panel.fill(table, targets, chosen, self.path.name if self.path else "")
        panel.set_saved(names)
        self._columns_for = (self.entity, tuple(table.header))
        self.missing = []
        self.show_step("columns")

    @on(Select.Changed, "#saved-mappings")
    def _load_chosen(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and self.table is not None:
            self._load_mapping(str(event.value))

    @work(group="import-wizard-mapping", exclusive=True, exit_on_error=False)
    async def _load_mapping(self, name: str) -> None:
        assert self.table is not None
        try:
            mapping = await session_of(self).call(import_mappings.load_mapping, name, self.entity, self.table.header)
        except ServiceError as error:
            self.say(str(error), error=True)
            return
        self.query_one(ColumnsPanel).set_mapping(mapping)
        self.say(Content.assemble("Loaded the mapping ", (safe_text(name), "bold"), f": {len(mapping)} columns."))

    def action_change_target(self) -> None:
        """Choose what the highlighted column becomes."""
        panel = self.query_one(ColumnsPanel)
        index = panel.current
        if index is None:
            return

        def chosen(key: str | None) -> None:
            if key is not None:
                panel.set_target(index, key)

        self.app.push_screen(panel.picker(index), callback=chosen)

    @on(DataTable.RowSelected, "#column-table")
    def _row_clicked(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_change_target()

    def action_save_mapping(self) -> None:
        """Ask for a name and keep the current mapping under it."""
        if self.table is None:
            return
        mapping, _ = self.query_one(ColumnsPanel).mapping()
        prompt = TextPromptScreen(Content(f"Save this {self.entity} mapping as"), placeholder="HubSpot contacts")

        def answered(name: str | None) -> None:
            if name:
                self._save_mapping(name, mapping)

        self.app.push_screen(prompt, callback=answered)

    @work(group="import-wizard-mapping", exclusive=True, exit_on_error=False)
    async def _save_mapping(self, name: str, mapping: dict[int, str]) -> None:
        assert self.table is not None
        session = session_of(self)
        try:
            await session.call(import_mappings.save_mapping, name, self.entity, self.table.header, mapping)
            names = await session.call(import_mappings.mapping_names, self.entity)
        except ServiceError as error:
            self.say(str(error), error=True)
            return
        self.query_one(ColumnsPanel).set_saved(names)
        self.say(Content.assemble("Saved the mapping as ", (safe_text(name), "bold"), "."))

    async def _leave_columns(self) -> None:
        assert self.table is not None
        mapping, new_fields = self.query_one(ColumnsPanel).mapping()
        if not mapping and not new_fields:
            self.say("No column is imported: choose what at least one column becomes.", error=True)
            return
        self.missing = []
        if self.entity == "deal":
            session = session_of(self)
            self.missing = await session.call(import_preview.missing_stages, self.table, mapping)
            if self.missing:
                stages = self.query_one(StagesPanel)
                if stages.missing != self.missing:  # the same stages again: keep what was chosen
                    await stages.fill(self.missing)
                self.show_step("stages")
                return
        await self._enter_options()

    # -- 4 Options, 5 Check --------------------------------------------------------------------
    async def _enter_options(self) -> None:
        panel = self.query_one(OptionsPanel)
        if panel.entity != self.entity:
            await panel.configure(self.entity)
        self.show_step("options")

    def request(self) -> ImportRequest:
        """The import the choices so far describe."""
        mapping, new_fields = self.query_one(ColumnsPanel).mapping()
        options = self.query_one(OptionsPanel)
        stages = StageChoices(self.query_one(StagesPanel).mapped() if self.missing else {})
        return ImportRequest(
            self.entity, mapping, file_name=self.path.name if self.path else "", mode=options.mode,
            on_duplicate=options.on_duplicate, match_on=options.match_on, stages=stages, new_fields=new_fields,
            automations=options.automations,
        )  # fmt: skip

    async def _enter_check(self) -> None:
        assert self.table is not None
        rows = await session_of(self).call(import_preview.preview, self.table, self.request())
        self.query_one(CheckPanel).show_preview(rows)
        self.show_step("check")
