"""The deals behind one bar of a dashboard chart: a modal list read with the dashboard's filter,
its count and value on top (they add up to the bar), enter opens a deal, escape goes back."""

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

from crm_tui.money import format_money
from crm_tui.screens.base import ReportsWorkerErrors, session_of
from crm_tui.services import reports
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

LIMIT = 200
"""Deals listed at most (the count and value on top are of all of them)."""


class DrillScreen(ReportsWorkerErrors, ModalScreen[None]):
    """The deals a bar stands for: `what` and `key` as reports.deals_behind takes them."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Back", id="drill.close")]
    DEFAULT_CSS = """
    DrillScreen { align: center middle; }
    DrillScreen > Vertical {
        width: 100; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    DrillScreen #drill-title { text-style: bold; }
    DrillScreen #drill-summary { color: $text-muted; padding-bottom: 1; }
    DrillScreen OptionList { height: auto; max-height: 24; border: none; }
    """

    def __init__(self, title: str, f: reports.ReportFilter, what: str, key: object) -> None:
        super().__init__()
        self.drill_title = title
        self.filter = f
        self.what = what
        self.key = key
        self.ids: list[int] = []

    def compose(self) -> ComposeResult:
        """Title, count and value, then the deals."""
        with Vertical():
            yield Static(Content(safe_text(self.drill_title)), id="drill-title")
            yield Static(Content("reading…"), id="drill-summary")
            yield OptionList(id="drill-deals")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the deals."""
        self.load()

    @work(group="drill-read", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        """Read the deals behind the bar and list them."""
        page = await session_of(self).call(reports.deals_behind, self.filter, self.what, self.key, limit=LIMIT)
        money = ", ".join(format_money(value, code) for code, value in page.value.items()) or "nothing"
        shown = f" (the first {len(page.rows)})" if page.total > len(page.rows) else ""
        self.query_one("#drill-summary", Static).update(
            Content(f"{page.total} deal{'s' if page.total != 1 else ''}{shown} · {money} · enter opens one")
        )
        box = self.query_one("#drill-deals", OptionList)
        box.clear_options()
        self.ids = [row.id for row in page.rows]
        width = max((len(safe_text(row.stage)) for row in page.rows), default=0)
        for row in page.rows:
            at = f"{row.at:%Y-%m-%d}" if row.at is not None else "—"
            box.add_option(
                Option(
                    Content.assemble(
                        (f"{format_money(row.amount, row.currency):>14} ", "bold"),
                        (f"{at} ", "dim"),
                        (f"{safe_text(row.stage)[:24]:<{min(24, width)}} ", "dim"),
                        safe_text(row.title),
                        (f"  · {safe_text(row.owner)}" if row.owner else "", "dim"),
                    )
                )
            )
        if not page.rows:
            box.add_option(Option(Content.styled("no deals behind this bar", "dim"), disabled=True))
        else:
            box.highlighted = 0
        self.set_focus(box)

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.ids):
            self.app.open_record("deal", self.ids[event.option_index])  # type: ignore[attr-defined]

    def action_close(self) -> None:
        """Back to the dashboard."""
        self.dismiss(None)
