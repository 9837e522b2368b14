"""A rule's dry run: the records it would have fired for over the last days (a time rule: the ones
it holds for now) and what it would have done to each. Nothing is written; enter opens a record."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.schemas.automation import TIME_TRIGGERS, Rule
from crm_tui.screens.base import ReportsWorkerErrors, open_record, session_of, stamp
from crm_tui.services import automation_log
from crm_tui.services.automation_log import DryHit, DryRun
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

DAYS = 30
"""How far back a dry run of an event rule looks."""
LIMIT = 100
"""Hits listed at most (the newest)."""
TRUNCATED = (
    "Not the whole picture: a dry run lists at most {limit} records and reads the newest {events:,} changes at most."
)


def hit_line(hit: DryHit) -> Content:
    """ "2026-11-20 14:03  deal  ACME renewal", then each thing it would do, indented."""
    when = stamp(hit.when) if hit.when is not None else "now"
    parts: list[str | tuple[str, str]] = [
        (f"{when:<16}  ", "dim"),
        (f"{hit.entity:<8}", "$accent"),
        safe_text(hit.title),
    ]
    for would in hit.would:
        parts += ["\n    ", ("would ", "dim"), safe_text(would)]
    return Content.assemble(*parts)


def summary(rule: Rule, result: DryRun, days: int) -> Content:
    """How many hits, over what, that nothing changed, and whether the run stopped early."""
    count = len(result.hits)
    records = f"{count} record{'s' if count != 1 else ''}"
    if rule.trigger.type in TIME_TRIGGERS:
        what = f"{records} it holds for now"
    else:
        what = f"{records} it would have fired for in the last {days} days ({result.events_read:,} changes read)"
    parts: list[str | tuple[str, str]] = [what, " · ", ("nothing was changed", "bold $success")]
    if result.truncated:
        parts += [
            "\n",
            (TRUNCATED.format(limit=LIMIT, events=automation_log.DRY_RUN_EVENTS), "$text-warning"),
        ]
    return Content.assemble(*parts)


class DryRunScreen(ReportsWorkerErrors, ModalScreen[None]):
    """What `rule` (saved or not) would have done; `days` back for an event rule."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", tooltip="Close the dry run", id="dry_run.close"),
    ]
    DEFAULT_CSS = """
    DryRunScreen { align: center middle; }
    DryRunScreen > Vertical {
        width: 110; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    DryRunScreen #dry-title { text-style: bold; }
    DryRunScreen #dry-summary { color: $text-muted; padding-bottom: 1; }
    DryRunScreen OptionList { height: auto; max-height: 30; border: none; }
    """

    def __init__(self, rule: Rule, *, days: int = DAYS) -> None:
        super().__init__()
        self.rule = rule
        self.days = days
        self.hits: list[DryHit] = []

    def compose(self) -> ComposeResult:
        """Title, the count and notes, then the hits."""
        with Vertical():
            yield Static(Content.assemble("Dry run: ", safe_text(self.rule.name)), id="dry-title")
            yield Static(Content("reading…"), id="dry-summary")
            yield OptionList(id="dry-hits")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Run the rule without writing anything."""
        self.load()

    @work(group="dry-run-read", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Ask the service what the rule would do, and list it."""
        result = await session_of(self).call(automation_log.dry_run, self.rule, days=self.days, limit=LIMIT)
        self.hits = result.hits
        self.query_one("#dry-summary", Static).update(summary(self.rule, result, self.days))
        box = self.query_one("#dry-hits", OptionList)
        box.set_options(Option(hit_line(hit)) for hit in result.hits)
        if result.hits:
            box.highlighted = 0
        else:
            box.add_option(Option(Content.styled("no record: the rule would not have fired", "dim"), disabled=True))
        self.set_focus(box)

    @on(OptionList.OptionSelected, "#dry-hits")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.hits):
            hit = self.hits[event.option_index]
            self._open(hit.entity, hit.record_id)

    @work(group="dry-run-open", exit_on_error=False)
    async def _open(self, entity: str, record_id: int) -> None:
        await open_record(self, entity, record_id)

    def action_close(self) -> None:
        """Back to where the dry run was asked for."""
        self.dismiss(None)
