"""A board column: the stage's header (name, count, total, weighted total) over its cards. A
closed stage can be collapsed to a narrow strip that shows only its count and total."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from crm_tui.money import format_money
from crm_tui.services.board import ColumnTotals, ColumnWindow, StageInfo
from crm_tui.text import safe_text
from crm_tui.widgets.card_list import CardList


def _money(amounts: dict[str, int], currency: str) -> str:
    """Totals per currency, the workspace currency first."""
    ordered = sorted(amounts.items(), key=lambda item: item[0] != currency)
    return " + ".join(format_money(amount, code, compact=True) for code, amount in ordered) or format_money(0, currency)


class StageColumn(Vertical):
    """One stage of the board."""

    MIN_WIDTH = 30
    """Narrowest an open column gets before the board scrolls sideways instead."""
    COLLAPSED_WIDTH = 14
    """Width of a collapsed (closed) column."""

    DEFAULT_CSS = """
    StageColumn {
        width: 32;
        height: 100%;
        border: round $panel;
        padding: 0;
        /* A class the board sets, not :focus-within: that pseudo-class restyles whole columns on
           every focus change (about 28 ms per move at 120x35). */
        &.-focused { border: round $accent; }
        .stage-header {
            height: 3; padding: 0 1; background: $boost;
            text-wrap: nowrap; text-overflow: ellipsis;
        }
        &.-collapsed {
            width: 14;
            CardList { display: none; }
            .stage-header { height: 100%; background: $panel; }
        }
    }
    """

    def __init__(
        self,
        stage: StageInfo,
        *,
        totals: ColumnTotals | None = None,
        currency: str = "USD",
        window: ColumnWindow | None = None,
        width: int | None = None,
        collapsed: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.stage = stage
        # Built with its data and width, so a board appears in one layout pass.
        self.totals = totals or ColumnTotals()
        self.currency = currency
        self._window = window
        self.collapsed = collapsed and stage.is_closed
        if width is not None and not self.collapsed:
            self.styles.width = width
        self.set_class(self.collapsed, "-collapsed")

    def compose(self) -> ComposeResult:
        """Header, then the cards (an empty column says so itself, and keeps the focus)."""
        yield Static(self._header(), classes="stage-header")
        yield CardList(self.stage, count=self.totals.count, window=self._window)

    @property
    def cards(self) -> CardList:
        """The column's card list."""
        return self.query_one(CardList)

    def _header(self) -> Content:
        name = Content.styled(safe_text(self.stage.name), "bold")
        count = self.totals.count
        if self.collapsed:
            return Content("\n").join(
                [name, Content.styled(f"{count:,}", "$text-muted"), Content.styled(_money(self.totals.total, self.currency), "$text-muted")]
            )
        probability = Content.styled(f" {self.stage.probability}%", "$text-muted")
        noun = "deal" if count == 1 else "deals"
        summary = Content.styled(f"{count:,} {noun} · {_money(self.totals.total, self.currency)}", "$text-muted")
        weighted = Content.styled(f"weighted {_money(self.totals.weighted, self.currency)}", "$text-muted")
        return Content("\n").join([Content.assemble(name, probability), summary, weighted])

    def set_totals(self, totals: ColumnTotals, currency: str) -> None:
        """Show the column's count and totals."""
        self.totals = totals
        self.currency = currency
        self.query_one(".stage-header", Static).update(self._header())

    def set_collapsed(self, collapsed: bool) -> None:
        """Fold a closed column to a strip, or open it again (the board sets its width)."""
        self.collapsed = collapsed and self.stage.is_closed
        self.set_class(self.collapsed, "-collapsed")
        self.query_one(".stage-header", Static).update(self._header())

    def show(
        self,
        totals: ColumnTotals,
        currency: str,
        window: ColumnWindow | None,
        *,
        cursor: int | None = None,
        keep_row: bool = False,
        moves_seen: int | None = None,
    ) -> None:
        """Fresh totals and cards (see CardList.show)."""
        self.set_totals(totals, currency)
        self.cards.show(totals.count, window, cursor=cursor, keep_row=keep_row, moves_seen=moves_seen)
