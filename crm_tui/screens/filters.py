"""Filtering deals by owner, tag, amount range, expected close range, stale only and mine only."""

from __future__ import annotations

from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from crm_tui import clock
from crm_tui.dates import DateError, parse_date
from crm_tui.money import MoneyError, format_money, parse_money
from crm_tui.services.board_filter import BoardFilter
from crm_tui.services.lookups import Choice
from crm_tui.text import safe_text


class FilterScreen(ModalScreen[BoardFilter | None]):
    """Edit the board's filters; returns the new filter (without its text part), or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="filters.cancel"),
        Binding("ctrl+s", "apply", "Apply", id="filters.apply"),
    ]
    DEFAULT_CSS = """
    FilterScreen { align: center middle; }
    FilterScreen > VerticalScroll {
        width: 72; max-width: 95%; height: auto; max-height: 95%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    FilterScreen .title { text-style: bold; padding: 1 0 0 0; }
    FilterScreen Label { margin-top: 1; color: $text-muted; }
    FilterScreen Input, FilterScreen Select { background: $boost; }
    FilterScreen SelectionList { height: auto; max-height: 8; }
    FilterScreen .pair { height: auto; }
    FilterScreen .pair Input { width: 1fr; }
    FilterScreen .error { color: $text-error; height: auto; }
    FilterScreen .buttons { height: auto; align-horizontal: right; margin: 1 0; }
    FilterScreen Button { margin-left: 2; }
    """

    def __init__(self, current: BoardFilter, *, users: list[Choice], tags: list[Choice], currency: str) -> None:
        super().__init__()
        self.current = current
        self.users = users
        self.tags = tags
        self.currency = currency

    def compose(self) -> ComposeResult:
        """Owners, tags, amount range, close range, switches, buttons."""
        flt = self.current
        amount = lambda value: format_money(value, self.currency).lstrip("$€£¥") if value is not None else ""  # noqa: E731
        with VerticalScroll():
            yield Static("Filter deals", classes="title")
            yield Label("Owners (space to tick)")
            yield SelectionList[int](
                *[Selection(Content(safe_text(u.name)), u.id, u.id in flt.owner_ids) for u in self.users], id="owners"
            )
            yield Label("Tags")
            yield SelectionList[int](*[Selection(Content(safe_text(t.name)), t.id, t.id in flt.tag_ids) for t in self.tags], id="tags")
            yield Label(f"Amount ({self.currency}) from / to")
            with Horizontal(classes="pair"):
                yield Input(amount(flt.amount_min), placeholder="minimum", id="amount_min", compact=True)
                yield Input(amount(flt.amount_max), placeholder="maximum", id="amount_max", compact=True)
            yield Label("Expected close from / to")
            with Horizontal(classes="pair"):
                yield Input(flt.close_from.isoformat() if flt.close_from else "", placeholder="e.g. today", id="close_from", compact=True)
                yield Input(flt.close_to.isoformat() if flt.close_to else "", placeholder="e.g. +30d", id="close_to", compact=True)
            yield Static("", id="error", classes="error", markup=False)
            yield Checkbox("Stale only (longer in their stage than its rot days)", flt.stale_only, id="stale_only")
            yield Checkbox("Mine only", flt.mine_only, id="mine_only")
            with Horizontal(classes="buttons"):
                yield Button("Clear all", id="clear")
                yield Button("Cancel", id="cancel")
                yield Button("Apply  ctrl+s", id="apply", variant="primary")

    def on_mount(self) -> None:
        """Start in the owners list (space ticks one)."""
        self.query_one("#owners", SelectionList).focus()

    def _money(self, name: str, errors: list[str]) -> int | None:
        text = self.query_one(f"#{name}", Input).value
        if not text.strip():
            return None
        try:
            return parse_money(text, self.currency)
        except MoneyError as error:
            errors.append(str(error))
            return None

    def _date(self, name: str, errors: list[str]) -> date | None:
        try:
            return parse_date(self.query_one(f"#{name}", Input).value, clock.now().date())
        except DateError as error:
            errors.append(str(error))
            return None

    def collect(self) -> BoardFilter | None:
        """The filter the fields describe, or None (with the problem shown)."""
        errors: list[str] = []
        flt = BoardFilter(
            owner_ids=tuple(self.query_one("#owners", SelectionList).selected),
            tag_ids=tuple(self.query_one("#tags", SelectionList).selected),
            amount_min=self._money("amount_min", errors),
            amount_max=self._money("amount_max", errors),
            close_from=self._date("close_from", errors),
            close_to=self._date("close_to", errors),
            stale_only=self.query_one("#stale_only", Checkbox).value,
            mine_only=self.query_one("#mine_only", Checkbox).value,
        )
        if flt.amount_min is not None and flt.amount_max is not None and flt.amount_min > flt.amount_max:
            errors.append("the lowest amount is above the highest")
        if flt.close_from and flt.close_to and flt.close_from > flt.close_to:
            errors.append("the first close date is after the last")
        self.query_one("#error", Static).update("; ".join(errors))
        return None if errors else flt

    @on(Input.Submitted)
    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        """Use these filters."""
        flt = self.collect()
        if flt is not None:
            self.dismiss(flt)

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.dismiss(BoardFilter())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Keep the filters as they were."""
        self.dismiss(None)
