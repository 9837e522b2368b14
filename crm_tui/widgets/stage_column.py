"""A board column: the stage's header (name, count, totals) over its list of deal cards."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.money import format_money
from crm_tui.services.board import CardPage, ColumnTotals, DealCard, StageInfo
from crm_tui.text import safe_text
from crm_tui.widgets.deal_card import card_content

_PREFETCH = 6
"""Ask for the next page when the highlight comes this close to the last loaded card."""


class DealList(OptionList, inherit_bindings=False):
    """The cards of one column, a page at a time; posts NeedMore near the end of what is loaded.

    It owns only vertical keys: left and right (scrolling, in a plain OptionList) belong to the
    board, which moves the focus between columns.
    """

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="board.card_down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="board.card_up"),
        Binding("home,g", "first", "First", show=False, id="board.card_first"),
        Binding("end,G", "last", "Last", show=False, id="board.card_last"),
        Binding("pageup", "page_up", "Page up", show=False, id="board.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="board.page_down"),
        Binding("enter", "select", "Open", show=False, id="board.open"),
    ]

    class NeedMore(Message):
        """The highlight is near the end of the loaded cards and the column has more."""

        def __init__(self, deal_list: DealList) -> None:
            super().__init__()
            self.deal_list = deal_list

        @property
        def control(self) -> DealList:
            """The list that wants more cards."""
            return self.deal_list

    has_more = False
    """The column has cards beyond those loaded."""
    loading_more = False
    """A NeedMore is being served."""

    def __init__(self, page: CardPage | None = None, *, id: str | None = None) -> None:
        cards = list(page.cards) if page else []
        super().__init__(*self._options_for(cards), id=id)
        self.cards = cards
        self.has_more = page.has_more if page else False
        self.loading_more = False
        if cards:
            self.highlighted = 0

    def action_cursor_down(self) -> None:
        """Move down, stopping at the last card instead of wrapping to the first."""
        if self.highlighted is not None and self.highlighted >= self.option_count - 1:
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        """Move up, stopping at the first card instead of wrapping to the last."""
        if self.highlighted == 0:
            return
        super().action_cursor_up()

    def show(self, cards: list[DealCard], has_more: bool, *, focus_deal: int | None = None, index: int | None = None) -> None:
        """Replace the cards; highlight `focus_deal` if present, else `index` (clamped)."""
        self.cards = list(cards)
        self.has_more = has_more
        self.loading_more = False
        self.set_options(self._options_for(self.cards))
        target = index if index is not None else 0
        if focus_deal is not None:
            target = next((i for i, card in enumerate(self.cards) if card.id == focus_deal), target)
        self.highlighted = min(target, len(self.cards) - 1) if self.cards else None

    def extend(self, page: CardPage) -> None:
        """Append the next page of cards."""
        known = {card.id for card in self.cards}
        fresh = [card for card in page.cards if card.id not in known]
        self.cards.extend(fresh)
        self.has_more = page.has_more
        self.loading_more = False
        self.add_options(self._options_for(fresh))

    @staticmethod
    def _options_for(cards: list[DealCard]) -> list[Option | None]:
        options: list[Option | None] = []
        for card in cards:
            options.append(Option(card_content(card), id=str(card.id)))
            options.append(None)
        return options

    @property
    def current(self) -> DealCard | None:
        """The highlighted card."""
        if self.highlighted is None or not self.cards:
            return None
        return self.cards[self.highlighted]

    def watch_highlighted(self, highlighted: int | None) -> None:
        """Ask for more cards when the highlight nears the end of what is loaded."""
        super().watch_highlighted(highlighted)
        if highlighted is not None and self.has_more and not self.loading_more and highlighted >= len(self.cards) - _PREFETCH:
            self.loading_more = True
            self.post_message(self.NeedMore(self))


class StageColumn(Vertical):
    """One stage of the board."""

    MIN_WIDTH = 30
    """Narrowest a column gets before the board scrolls sideways instead."""

    DEFAULT_CSS = """
    StageColumn {
        width: 32;
        height: 100%;
        border: round $panel;
        padding: 0;
        &:focus-within { border: round $accent; }
        .stage-header { height: 2; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
        .stage-empty { display: none; color: $text-disabled; padding: 1 1; }
        &.-empty .stage-empty { display: block; }
        &.-empty DealList { height: 1; }
        DealList {
            border: none;
            height: 1fr;
            max-height: 100%;
            padding: 0;
            background: transparent;
            text-wrap: nowrap;
            text-overflow: ellipsis;
            scrollbar-size-vertical: 1;
            &:focus { border: none; background-tint: transparent; }
            & > .option-list--option { padding: 0 1; }
            /* Only the focused column shows its selected card. */
            &:blur > .option-list--option-highlighted { background: transparent; color: $foreground; text-style: none; }
        }
    }
    """

    def __init__(
        self,
        stage: StageInfo,
        *,
        totals: ColumnTotals | None = None,
        currency: str = "USD",
        page: CardPage | None = None,
        width: int | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.stage = stage
        # Built with its data and width, so a board appears in one layout pass.
        self._totals = totals or ColumnTotals()
        self._currency = currency
        self._page = page
        if width is not None:
            self.styles.width = width
        self.set_class(stage.is_closed, "-closed")
        self.set_class(self._totals.count == 0, "-empty")

    def compose(self) -> ComposeResult:
        """Header, the empty-column hint, then the cards."""
        yield Static(self._header(self._totals, self._currency), classes="stage-header")
        yield Static("No deals in this stage", classes="stage-empty", markup=False)
        yield DealList(self._page)

    @property
    def deals(self) -> DealList:
        """The column's card list."""
        return self.query_one(DealList)

    def _header(self, totals: ColumnTotals, currency: str) -> Content:
        name = Content.styled(safe_text(self.stage.name), "bold")
        probability = Content.styled(f" {self.stage.probability}%", "$text-muted")
        money = "  ".join(
            format_money(amount, code, compact=True)
            for code, amount in sorted(totals.total.items(), key=lambda item: item[0] != currency)
        )
        noun = "deal" if totals.count == 1 else "deals"
        summary = Content.styled(f"{totals.count:,} {noun}" + (f" · {money}" if money else ""), "$text-muted")
        return Content("\n").join([Content.assemble(name, probability), summary])

    def set_totals(self, totals: ColumnTotals, currency: str) -> None:
        """Show the column's count and totals."""
        self.query_one(".stage-header", Static).update(self._header(totals, currency))
        self.set_class(totals.count == 0, "-empty")

    @on(DealList.NeedMore)
    def _forward(self, event: DealList.NeedMore) -> None:
        event.stop()
        self.post_message(self.NeedMore(self))

    class NeedMore(Message):
        """This column wants its next page of cards."""

        def __init__(self, column: StageColumn) -> None:
            super().__init__()
            self.column = column
