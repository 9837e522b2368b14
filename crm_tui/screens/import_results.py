"""The Check and Import steps of the import wizard: the preview of the first rows, the dry run's
counts and rejected rows, the progress of a long run, the import's summary and its revert.

`RunsImports` is the wizard's half that runs dry runs, imports and reverts on the database thread;
their progress comes back as `ImportProgress` messages (posted, so the database thread never waits
for the UI)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from time import monotonic
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from crm_tui.screens.base import DataChanged, session_of
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.import_steps import ENTITY_LABELS, error_text
from crm_tui.services import import_batches
from crm_tui.services.errors import ServiceError
from crm_tui.services.import_engine import ImportRequest, ImportResult, run_import, write_rejected
from crm_tui.services.import_plan import Planned
from crm_tui.services.import_preview import PreviewRow
from crm_tui.services.import_read import Table
from crm_tui.text import safe_text

_ACTION_STYLES = {
    "create": "bold $text-success", "update": "bold $text-accent", "skip": "$text-muted", "reject": "bold $text-error",
}  # fmt: skip


def preview_line(row: PreviewRow) -> Content:
    """One previewed row: its line and action, then "Label: value" pairs (or why it is rejected)."""
    parts: list[str | tuple[str, str]] = [
        (f"line {row.line:<5} ", "dim"), (f"{row.action:<7}", _ACTION_STYLES.get(row.action, "")),
    ]  # fmt: skip
    if row.reason:
        parts += [" ", (safe_text(row.reason), "$text-error" if row.action == "reject" else "$text-muted")]
    if row.values and row.action != "reject":
        parts.append("\n  ")
        for number, (label, value) in enumerate(row.values):
            if number:
                parts.append(("  ·  ", "dim"))
            parts += [(f"{safe_text(label)}: ", "$text-muted"), safe_text(value) or ("—", "dim")]
    return Content.assemble(*parts)


def rejected_line(item: Planned) -> Content:
    """ "line 5  Email  not a valid e-mail address"."""
    reason = item.reason
    if item.column and reason.startswith(f"{item.column}: "):
        reason = reason[len(item.column) + 2 :]
    column = safe_text(item.column) or "row"
    return Content.assemble(
        (f"line {item.line:<5} ", "dim"), (column, "bold"), "  ", (safe_text(reason), "$text-error")
    )


def counts_line(result: ImportResult) -> Content:
    """The four counts, coloured."""
    return Content.assemble(
        (f"{result.total:,} rows: ", "bold"),
        (f"{result.created:,} create", "$text-success"), " · ",
        (f"{result.updated:,} update", "$text-accent"), " · ",
        (f"{len(result.skipped):,} skip", "$text-muted"), " · ",
        (f"{len(result.rejected):,} reject", "$text-error" if result.rejected else ""),
    )  # fmt: skip


class ProgressLine(Horizontal):
    """A progress bar with "checking 12,000 / 50,000 rows · 8,000 rows/s" beside it, shown only
    while it has the class -running (the panels give it the class progress)."""

    DEFAULT_CSS = """
    ProgressLine.progress { height: 1; display: none; }
    ProgressLine.progress.-running { display: block; }
    ProgressLine.progress ProgressBar { width: auto; padding-right: 2; }
    ProgressLine.progress .rate { width: 1fr; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        """The bar and the words."""
        yield ProgressBar(show_eta=False)
        yield Static("", classes="rate")

    def show(self, phase: str, done: int, total: int, rate: float) -> None:
        """Draw `done` of `total` rows in `phase` at `rate` rows per second."""
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one(".rate", Static).update(Content(f"{phase} {done:,} / {total:,} rows · {rate:,.0f} rows/s"))


class CheckPanel(Vertical):
    """Step 5: the first rows as stored, and a dry run of the whole file."""

    DEFAULT_CSS = """
    CheckPanel OptionList, CheckPanel OptionList:focus { height: 1fr; border: none; padding: 0; }
    CheckPanel #dry-rejected { height: auto; max-height: 40%; border-top: solid $error 50%; }
    CheckPanel #dry-summary { height: auto; display: none; padding: 1 0 0 0; }
    """

    def compose(self) -> ComposeResult:
        """Preview, progress, counts and rejected rows."""
        yield Static("The first 10 rows as stored · ctrl+d checks every row, storing nothing", classes="lead")
        yield OptionList(id="preview")
        yield ProgressLine(id="dry-progress", classes="progress")
        yield Static("", id="dry-summary")
        yield OptionList(id="dry-rejected")

    def show_preview(self, rows: list[PreviewRow]) -> None:
        """List the previewed rows (and forget an earlier dry run: the choices may have changed)."""
        box = self.query_one("#preview", OptionList)
        box.set_options(Option(preview_line(row)) for row in rows)
        if not rows:
            box.add_option(Option(Content.styled("the file has no rows", "dim"), disabled=True))
        else:
            box.highlighted = 0
        self.query_one("#dry-summary", Static).display = False
        self.query_one("#dry-rejected", OptionList).display = False

    def show_dry_run(self, result: ImportResult) -> None:
        """The counts, the warnings and every rejected row."""
        parts: list[Content] = [Content.assemble(("Dry run · nothing was stored · ", "bold"), counts_line(result))]
        parts += [Content.styled(f"⚠ {safe_text(text)}", "$text-warning") for text in result.warnings[:5]]
        if len(result.warnings) > 5:
            parts.append(Content.styled(f"… and {len(result.warnings) - 5} more warnings", "$text-warning"))
        summary = self.query_one("#dry-summary", Static)
        summary.update(Content("\n").join(parts))
        summary.display = True
        box = self.query_one("#dry-rejected", OptionList)
        box.set_options(Option(rejected_line(item)) for item in result.rejected)
        box.display = bool(result.rejected)
        if result.rejected:
            box.highlighted = 0


class ImportPanel(Vertical):
    """Step 6: what will be imported, the progress, and the summary (then the revert report)."""

    DEFAULT_CSS = """
    ImportPanel OptionList, ImportPanel OptionList:focus { height: 1fr; border: none; padding: 0; }
    """

    def compose(self) -> ComposeResult:
        """What will happen, progress and the summary lines."""
        yield Static("", id="import-ready", classes="lead")
        yield ProgressLine(id="import-progress", classes="progress")
        yield OptionList(id="import-lines")

    def ready(self, text: Content) -> None:
        """Say what ctrl+n will do; nothing has happened yet."""
        self.say(text)
        self.query_one("#import-lines", OptionList).display = False

    def say(self, text: Content) -> None:
        """Say what happened, above the lines."""
        self.query_one("#import-ready", Static).update(text)

    def show_lines(self, lines: list[Content], *, more: bool = False) -> None:
        """List `lines` (after the ones already there when `more`)."""
        box = self.query_one("#import-lines", OptionList)
        if not more:
            box.clear_options()
        box.add_options(Option(line) for line in lines)
        box.display = True
        if box.highlighted is None and lines:
            box.highlighted = 0


def _for_wizard(line: str) -> str:
    """A summary line as the wizard says it (the engine's lines name the command line's options)."""
    if line.startswith("All or nothing:"):
        return "All or nothing: fix the rejected rows, or choose Partial in the options, and import again."
    return line


class ImportProgress(Message, bubble=False):
    """How far a dry run or an import is (posted from the database thread)."""

    def __init__(self, phase: str, done: int, total: int) -> None:
        super().__init__()
        self.phase, self.done, self.total = phase, done, total


class RunsImports:
    """Mixin for the wizard (ImportWizard, a Screen): the dry run (Check step), the import and its
    revert (Import step). It uses the wizard's members declared below."""

    table: Table | None
    path: Path | None
    entity: str
    busy: str
    result: ImportResult | None
    reverted: bool
    is_busy: Callable[[], bool]
    request: Callable[[], ImportRequest]
    say: Callable[..., None]
    show_step: Callable[[str], None]
    # ... and the Screen's:
    app: Any
    query_one: Callable[..., Any]
    post_message: Callable[[Message], bool]
    refresh_bindings: Callable[[], None]
    _phase: tuple[str, float] = ("", 0.0)
    _progress_line: ProgressLine | None = None

    def action_dry_run(self) -> None:
        """Plan every row without storing anything, and show the counts and the rejected rows."""
        if not self.is_busy() and self.table is not None:
            self._dry_run(self.request())

    @work(group="import-wizard-run", exclusive=True, exit_on_error=False)
    async def _dry_run(self, request: ImportRequest) -> None:
        result = await self._with_progress("checking", "#dry-progress", request, dry_run=True)
        if result is not None:
            self.query_one(CheckPanel).show_dry_run(result)

    async def _with_progress(
        self, busy: str, bar: str, request: ImportRequest, *, dry_run: bool
    ) -> ImportResult | None:
        """run_import on the database thread with the progress line `bar`; None after showing an error."""
        assert self.table is not None
        session = session_of(self)  # type: ignore[arg-type]
        self.busy, self._phase = busy, ("", monotonic())
        line = self._progress_line = self.query_one(bar, ProgressLine)
        line.add_class("-running")
        line.show("checking", 0, len(self.table.rows), 0)
        try:
            return await session.call(
                run_import, session.ctx, self.table, request, dry_run=dry_run, progress=self._report
            )
        except ServiceError as error:
            self.say(str(error), error=True)
            return None
        finally:
            self.busy = ""
            line.remove_class("-running")

    def _report(self, phase: str, done: int, total: int) -> None:
        """Progress from the database thread: posted to the UI (post_message is thread-safe and
        does not wait, unlike call_from_thread, which would hang the thread if the app closed)."""
        self.post_message(ImportProgress(phase, done, total))

    def on_import_progress(self, message: ImportProgress) -> None:
        """Draw the progress and the rows per second of the phase."""
        if message.phase != self._phase[0]:
            self._phase = (message.phase, monotonic())
        rate = message.done / max(monotonic() - self._phase[1], 1e-3)
        if self._progress_line is not None:
            self._progress_line.show(message.phase, message.done, message.total, rate)

    def enter_import(self) -> None:
        """Show the Import step: what ctrl+n will store."""
        assert self.table is not None
        request = self.request()
        count = len(self.table.rows)
        how = "all or nothing" if request.mode == "all" else "partial (the rejected rows go to a file)"
        text = Content.assemble(
            ("Ready: ", "bold"), f"{count:,} row{'s' if count != 1 else ''} from ",
            (safe_text(self.path.name if self.path else ""), "bold"),
            f" into {ENTITY_LABELS[self.entity].lower()}, {how}.",
            "\nctrl+n imports them; escape goes back.",
        )  # fmt: skip
        self.query_one(ImportPanel).ready(text)
        self.show_step("import")

    def action_start_import(self) -> None:
        """Store the rows (once)."""
        if not self.is_busy() and self.table is not None and not (self.result and self.result.stored):
            self._import(self.request())

    @work(group="import-wizard-run", exclusive=True, exit_on_error=False)
    async def _import(self, request: ImportRequest) -> None:
        assert self.table is not None and self.path is not None
        panel = self.query_one(ImportPanel)
        result = await self._with_progress("importing", "#import-progress", request, dry_run=False)
        if result is None:
            return
        self.result = result
        lines = [Content(safe_text(_for_wizard(line))) for line in result.lines()]
        if result.stored and request.mode == "partial" and result.rejected:
            lines.insert(1, await self._write_rejected(result))
        panel.show_lines(lines)
        if result.stored:
            done = f"Imported: {result.created:,} created, {result.updated:,} updated · ctrl+z reverts it"
            panel.say(Content.styled(done, "bold $text-success"))
            self.app.post_message(DataChanged(None))  # the app hands it to every open screen
        else:
            panel.say(error_text("Nothing was stored: escape goes back to change the choices."))
        self.refresh_bindings()

    async def _write_rejected(self, result: ImportResult) -> Content:
        """Write the rejected rows next to the file; say where (or why not)."""
        assert self.table is not None and self.path is not None
        target = Path(f"{self.path}.rejected.csv")
        try:
            written = await session_of(self).call(  # type: ignore[arg-type]
                write_rejected, target, self.table.header, result.rejected
            )
        except OSError as error:
            return error_text(f"could not write {target}: {error.strerror or error}")
        return Content.styled(
            f"The rejected rows are in {safe_text(written)} (reason in the last column).", "bold $text-warning"
        )

    def action_revert(self) -> None:
        """Ask, then remove what this import stored."""
        if self.is_busy() or self.result is None or self.result.batch_id is None:
            return
        batch_id = self.result.batch_id
        question = Content(
            f"Revert import #{batch_id}? What it created is deleted; what it updated gets its old values back."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._revert(batch_id)

        self.app.push_screen(ConfirmScreen(question, yes="Revert", no="Keep"), callback=answered)

    @work(group="import-wizard-run", exclusive=True, exit_on_error=False)
    async def _revert(self, batch_id: int) -> None:
        session = session_of(self)  # type: ignore[arg-type]
        self.busy = "reverting"
        try:
            report = await session.call(import_batches.revert, session.ctx, batch_id)
        except ServiceError as error:
            self.say(str(error), error=True)
            return
        finally:
            self.busy = ""
        self.reverted = True
        panel = self.query_one(ImportPanel)
        panel.say(Content.styled(f"Import #{batch_id} was reverted · escape closes", "bold $text-warning"))
        panel.show_lines([Content(safe_text(line)) for line in report.lines()], more=True)
        self.app.post_message(DataChanged(None))
        self.refresh_bindings()
