"""The one-off "normalise" action: the workspace's default country for phones, a check of what
would change (a dry run) and the change itself, over every company, contact and lead, with progress
and a report (changes per field, the first few examples). Dismisses with True when it changed data."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, ProgressBar, Static

from crm_tui.screens.base import PolledProgress, ReportsWorkerErrors, session_of
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.services import normalise
from crm_tui.services.errors import ServiceError
from crm_tui.services.normalise import NormaliseReport
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

EXPLAINED = (
    "Trims spaces, lower-cases emails and domains, gives web addresses a scheme and, with a default "
    "country, writes phones in international form (+12025550143). A value that does not parse is only trimmed."
)
_ENTITIES = {"company": "Companies", "contact": "Contacts", "lead": "Leads"}


def field_name(key: str) -> str:
    """ "contact.custom.work_phone" -> "Contacts · work_phone (custom)" """
    entity, _, field = key.partition(".")
    custom = field.startswith("custom.")
    name = field.removeprefix("custom.").replace("_", " ")
    return f"{_ENTITIES.get(entity, entity)} · {safe_text(name)}{' (custom)' if custom else ''}"


def report_text(report: NormaliseReport) -> Content:
    """What changed (or would), per field, then examples."""
    values = sum(report.changes.values())
    if not values:
        return Content.styled(
            "Every stored value is in its standard format already: nothing to change.", "$text-success"
        )
    if report.dry_run:
        head = Content.assemble((f"Would change {values:,} values in {report.records:,} records", "bold"),
                                ("  (a check: nothing was changed)", "dim"))  # fmt: skip
    else:
        head = Content.styled(f"Changed {values:,} values in {report.records:,} records.", "bold $text-success")
    lines = [head]
    if report.skipped:
        lines.append(
            Content.styled(
                f"{report.skipped:,} records changed meanwhile were left as they were: run it again.", "$text-warning"
            )
        )
    lines.append(Content(""))
    for key, count in sorted(report.changes.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(Content.assemble((f"{count:>8,}  ", "bold"), field_name(key)))
    if report.examples:
        lines += [Content(""), Content.styled("For example", "bold")]
    for change in report.examples:
        lines.append(Content.assemble(
            (f"  {change.entity} #{change.record_id} {change.field.replace('_', ' ')}: ", "dim"),
            f"“{safe_text(change.old)}”", ("  →  ", "$accent"), f"“{safe_text(change.new)}”",
        ))  # fmt: skip
    return Content("\n").join(lines)


class NormaliseScreen(ReportsWorkerErrors, ModalScreen[bool]):
    """Set the default country, check what normalising would change, and apply it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "check", "Check", tooltip="Count what would change, changing nothing", id="normalise.check"),
        Binding("ctrl+s", "apply", "Apply", tooltip="Change the stored values (asks first)", id="normalise.apply"),
        Binding("escape", "close", "Close", tooltip="Close (wait for a running change to end)", id="normalise.close"),
    ]
    DEFAULT_CSS = """
    NormaliseScreen { align: center middle; }
    NormaliseScreen > Vertical {
        width: 96; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    NormaliseScreen #normalise-title { text-style: bold; }
    NormaliseScreen #normalise-help { color: $text-muted; padding-bottom: 1; }
    NormaliseScreen #country-row { height: auto; }
    NormaliseScreen #country-row Static { width: auto; padding: 1 1 0 0; }
    NormaliseScreen #country { width: 12; }
    NormaliseScreen #country-note { color: $text-muted; width: 1fr; }
    NormaliseScreen #buttons { height: auto; margin-top: 1; }
    NormaliseScreen #buttons Button { margin-right: 2; }
    NormaliseScreen ProgressBar { display: none; margin-top: 1; }
    NormaliseScreen.-running ProgressBar { display: block; }
    NormaliseScreen #report-box { height: auto; max-height: 20; margin-top: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.country: str | None = None
        """The default country as stored."""
        self.running = False
        self.changed = False
        """Apply changed something (the caller may read again)."""

    def compose(self) -> ComposeResult:
        """Title, what it does, the country, the buttons, progress and the report."""
        with Vertical():
            yield Static("Normalise stored values", id="normalise-title")
            yield Static(EXPLAINED, id="normalise-help")
            with Horizontal(id="country-row"):
                yield Static("Default country for phones")
                yield Input(placeholder="e.g. US", max_length=2, id="country")
                yield Static("", id="country-note")
            with Horizontal(id="buttons"):
                yield Button("Check  ctrl+r", id="check")
                yield Button("Apply  ctrl+s", id="apply", variant="warning")
            yield ProgressBar(id="normalise-progress", show_eta=False)
            with VerticalScroll(id="report-box"):
                yield Static("", id="report")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the default country; start in its field."""
        self.set_focus(self.query_one("#country", Input))
        self.load()

    @work(group="normalise-read", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Show the stored default country."""
        self.country = await session_of(self).call(normalise.default_country)
        self.query_one("#country", Input).value = self.country or ""
        self._note()

    def _note(self, text: str | None = None, style: str = "") -> None:
        if text is None:
            text = (
                "enter saves" if self.country is None else f"now {self.country}; enter saves a change, empty clears it"
            )
        self.query_one("#country-note", Static).update(Content.styled(text, style))

    async def _save_country(self) -> bool:
        """Store the country typed if it changed; False (and why, beside it) when it is refused."""
        wanted = self.query_one("#country", Input).value.strip().upper() or None
        if wanted == self.country:
            return True
        session = session_of(self)
        try:
            self.country = await session.call(normalise.set_default_country, session.ctx, wanted)
        except ServiceError as error:
            self._note(safe_text(error), "$text-error")
            return False
        self._note()
        self.notify(
            f"Default country for phones: {self.country}" if self.country else "No default country for phones",
            markup=False,
        )
        return True

    @on(Input.Submitted, "#country")
    @work(group="normalise-country", exclusive=True, exit_on_error=False)
    async def _submitted(self, event: Input.Submitted) -> None:
        await self._save_country()

    @on(Button.Pressed, "#check")
    def _check_pressed(self) -> None:
        self.action_check()

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.action_apply()

    def action_check(self) -> None:
        """A dry run: what would change."""
        if not self.running:
            self.run(dry_run=True)

    def action_apply(self) -> None:
        """Ask, then change the stored values."""
        if self.running:
            return
        question = Content(
            "Bring every company, contact and lead to the standard formats now? Each change is in the activity log; "
            "it cannot be undone in one step."
        )
        self.app.push_screen(ConfirmScreen(question, yes="Apply"), callback=self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self.run(dry_run=False)

    @work(group="normalise-run", exclusive=True, exit_on_error=False)
    async def run(self, *, dry_run: bool) -> None:
        """Check or apply (the country typed is saved first), showing progress, then the report."""
        if self.running or not await self._save_country():
            return
        session = session_of(self)
        progress = PolledProgress(self.query_one("#normalise-progress", ProgressBar))
        self.running = True
        progress.start()
        self.add_class("-running")
        report_box = self.query_one("#report", Static)
        report_box.update(Content.styled("checking…" if dry_run else "changing…", "dim"))
        try:
            report = await session.call(
                normalise.normalise, session.ctx, None, dry_run=dry_run, progress=progress.report
            )
        except ServiceError as error:
            report_box.update(Content.styled(safe_text(error), "$text-error"))
            return
        finally:
            progress.stop()
            self.running = False
            self.remove_class("-running")
        if not dry_run and report.records:
            self.changed = True
        report_box.update(report_text(report))

    def action_close(self) -> None:
        """Close (not while a change runs: it is committed chunk by chunk)."""
        if self.running:
            self.notify("Wait for it to finish: it is being written.", severity="warning")
            return
        self.dismiss(self.changed)
