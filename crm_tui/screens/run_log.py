"""The automation run log: every run, newest first, with what each action did or why it failed.
`f` cycles the status shown, `/` filters by text (rule, record, error), `a` switches between the
rule it was opened for and every rule, `c` clears the filters, enter opens the run's record."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.screens.base import RefreshAtMostOncePerGap, ReportsWorkerErrors, open_record, session_of, stamp
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import automation_log
from crm_tui.services.automation_log import RunRow
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

LIMIT = 200
"""Runs listed at most (the newest that pass the filters)."""
# "running" exists only inside the run's own transaction: no other reader ever sees it.
STATUS_FILTERS: tuple[str | None, ...] = (None, *(s for s in automation_log.STATUSES if s != "running"))
"""What `f` cycles through: every status, then each one."""
STATUS_STYLES = {"done": "$success", "failed": "bold $error", "stopped": "$warning", "sending": "$accent"}


def run_line(run: RunRow) -> Content:
    """A run: time, status, rule and record on one line, then each outcome (or the error) indented."""
    parts: list[str | tuple[str, str] | Content] = [
        (f"{stamp(run.started_at)}  ", "dim"),
        (f"{run.status:<8}", STATUS_STYLES.get(run.status, "")),
        "  ",
        (safe_text(run.rule), "bold"),
    ]
    if run.entity:
        parts += [("  ", ""), (f"{run.entity} ", "dim"), safe_text(run.record)]
    if run.depth > 1:
        parts.append((f"  (chain step {run.depth})", "dim"))
    for outcome in run.outcomes:
        parts += ["\n    ", safe_text(outcome)]
    if run.error:
        parts += ["\n    ", (safe_text(run.error), "$text-error" if run.status == "failed" else "$text-warning")]
    return Content.assemble(*parts)


class RunLogScreen(RefreshAtMostOncePerGap, ReportsWorkerErrors, Screen[None]):
    """The runs of the rule `rule_id` (named `rule_name`), or of every rule when it is None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", tooltip="Back to the rules", id="run_log.close"),
        Binding("f", "cycle_status", "Status", tooltip="Show all runs, or only done / failed / stopped / sending",
                id="run_log.status"),
        Binding("slash", "find", "Find", key_display="/", tooltip="Only runs whose rule, record or error contains a text",
                id="run_log.find"),
        Binding("a", "all_rules", "All rules", tooltip="Every rule's runs, or only the rule it was opened for",
                id="run_log.all_rules"),
        Binding("c", "clear", "Clear filters", tooltip="Show every status and drop the text filter", id="run_log.clear"),
        Binding("r", "refresh", "Refresh", tooltip="Read the log again", id="run_log.refresh"),
    ]  # fmt: skip
    DEFAULT_CSS = """
    RunLogScreen #log-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    RunLogScreen #log-filters { height: 1; padding: 0 1; color: $text-muted; }
    RunLogScreen OptionList { height: 1fr; border: round $panel; }
    RunLogScreen OptionList:focus { border: round $accent; }
    """

    def __init__(self, rule_id: int | None = None, rule_name: str = "") -> None:
        super().__init__()
        self.rule_id = rule_id
        self.rule_name = rule_name
        self.one_rule = rule_id is not None
        self.status: str | None = None
        self.text = ""
        self.runs: list[RunRow] = []

    def compose(self) -> ComposeResult:
        """Title, the filters in force, then the runs."""
        yield Static("", id="log-title")
        yield Static("", id="log-filters")
        yield OptionList(id="runs")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the log."""
        self.query_one("#runs", OptionList).focus()
        self.load()

    @work(group="run-log-read", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Read the newest runs that pass the filters and list them."""
        rule_id = self.rule_id if self.one_rule else None
        self.loaded_now()
        runs = await session_of(self).call(
            automation_log.run_log, rule_id=rule_id, status=self.status, text=self.text, limit=LIMIT
        )
        self.runs = runs
        box = self.query_one("#runs", OptionList)
        was = box.highlighted or 0
        box.set_options(Option(run_line(run), id=str(run.id)) for run in runs)
        if runs:
            box.highlighted = min(was, len(runs) - 1)
        else:
            box.add_option(Option(Content.styled(self._nothing(), "dim"), disabled=True))
        self._draw_heading()

    def _nothing(self) -> str:
        if self.status or self.text:
            return "no run matches the filters (c clears them)"
        return "no runs yet: a rule runs when something it reacts to happens after it was switched on"

    def _draw_heading(self) -> None:
        whose: list[str | tuple[str, str]] = (
            ["Runs of ", (safe_text(self.rule_name), "bold")] if self.one_rule else ["Runs of every rule"]
        )
        self.query_one("#log-title", Static).update(Content.assemble(*whose))
        shown = (
            f"the newest {LIMIT}"
            if len(self.runs) >= LIMIT
            else f"{len(self.runs)} run{'s' if len(self.runs) != 1 else ''}"
        )
        parts: list[str | tuple[str, str]] = [
            shown,
            " · status ",
            (self.status or "any", "bold"),
            " · text ",
            (safe_text(self.text) or "—", "bold"),
        ]
        if self.rule_id is not None:
            parts += [" · a: ", ("every rule" if self.one_rule else "this rule only", "bold")]
        parts.append(" · enter opens the record")
        self.query_one("#log-filters", Static).update(Content.assemble(*parts))

    # -- filters ---------------------------------------------------------------------------------
    def action_cycle_status(self) -> None:
        """Show the next status (any, done, failed, stopped, sending)."""
        index = STATUS_FILTERS.index(self.status) if self.status in STATUS_FILTERS else 0
        self.status = STATUS_FILTERS[(index + 1) % len(STATUS_FILTERS)]
        self.load()

    def action_find(self) -> None:
        """Ask for a text the rule name, record or error must contain."""

        def found(text: str | None) -> None:
            if text is not None:
                self.text = text
                self.load()

        prompt = TextPromptScreen(Content("Only runs whose rule, record or error contains"), value=self.text)
        self.app.push_screen(prompt, callback=found)

    def action_all_rules(self) -> None:
        """Switch between the rule the log was opened for and every rule."""
        if self.rule_id is None:
            self.notify("This is the log of every rule already.", markup=False)
            return
        self.one_rule = not self.one_rule
        self.load()

    def action_clear(self) -> None:
        """Every status, no text filter."""
        self.status, self.text = None, ""
        self.load()

    def action_refresh(self) -> None:
        """Read the log again."""
        self.load()

    # -- opening ---------------------------------------------------------------------------------
    @on(OptionList.OptionSelected, "#runs")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.runs):
            run = self.runs[event.option_index]
            self._open(run.entity, run.record_id)

    @work(group="run-log-open", exit_on_error=False)
    async def _open(self, entity: str | None, record_id: int | None) -> None:
        await open_record(self, entity, record_id)

    def action_close(self) -> None:
        """Back to the rules."""
        self.dismiss(None)
