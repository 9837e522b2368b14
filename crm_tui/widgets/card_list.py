"""A column's cards as a virtual list: the count comes from SQL, only windows of cards are loaded,
and only the rows on screen are drawn. Rows not loaded yet show a placeholder while the board
fetches them, so a column of 100,000 deals scrolls and jumps to its end at once."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Padding, Visual

from crm_tui import clock
from crm_tui.services.board import WINDOW, ColumnWindow, DealCard, StageInfo
from crm_tui.widgets.deal_card import CARD_LINES, card_content

ROW = CARD_LINES + 1
"""Screen rows per card, its separator included."""
KEEP = 12 * WINDOW
"""Most cards held at once; the ones farthest from the cursor are dropped first."""


class CardList(ScrollView, can_focus=True, inherit_bindings=False):
    """The cards of one stage, with a cursor. Left and right belong to the board."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, tooltip="Next card", id="board.card_down"),
        Binding("up,k", "cursor_up", "Up", show=False, tooltip="Previous card", id="board.card_up"),
        Binding("home,g", "first", "First", show=False, tooltip="First card of the column", id="board.card_first"),
        Binding("end,G", "last", "Last", show=False, tooltip="Last card of the column, however long", id="board.card_last"),
        Binding("pageup", "page(-1)", "Page up", show=False, tooltip="A screenful of cards up", id="board.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, tooltip="A screenful of cards down", id="board.page_down"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"card-list--card", "card-list--cursor", "card-list--separator", "card-list--empty"}
    DEFAULT_CSS = """
    CardList {
        background: transparent;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .card-list--separator { color: $foreground 15%; }
        & > .card-list--empty { color: $text-disabled; }
        & > .card-list--cursor { background: transparent; }
        &:focus > .card-list--cursor {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
    }
    """

    cursor: reactive[int] = reactive(0, init=False)
    """Position of the selected card in the column."""

    class NeedCards(Message):
        """Rows from `offset` on are on screen but not loaded."""

        def __init__(self, card_list: CardList, offset: int) -> None:
            super().__init__()
            self.card_list = card_list
            self.offset = offset

        @property
        def control(self) -> CardList:
            """The list that wants cards."""
            return self.card_list

    def __init__(self, stage: StageInfo, *, count: int = 0, window: ColumnWindow | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stage = stage
        self.count = 0
        self.moves = 0
        """How many times the user moved the cursor (set by watch_cursor)."""
        self._cards: dict[int, DealCard] = {}
        self._asked: set[int] = set()
        self._strips: LRUCache[tuple, list[Strip]] = LRUCache(256)
        self.show(count, window)

    # -- data ----------------------------------------------------------------------------------
    def show(
        self,
        count: int,
        window: ColumnWindow | None,
        *,
        cursor: int | None = None,
        keep_row: bool = False,
        moves_seen: int | None = None,
    ) -> None:
        """Replace what is loaded: `count` cards in all, `window` of them known; put the cursor on
        `cursor`, else on the window's anchor deal, else keep its position (clamped). With
        `keep_row`, the selected card stays on the same screen row (cards above it may have come
        or gone), so a refresh does not make the view jump. If the user has moved the cursor since
        `moves_seen` (the refresh was read before that), the cursor stays on the card they chose."""
        if moves_seen is not None and moves_seen != self.moves:
            chosen = self.current
            in_window = [i for i, card in enumerate(window.cards if window else (), window.offset if window else 0) if chosen and card.id == chosen.id]
            cursor = in_window[0] if in_window else self.cursor
            window = ColumnWindow(window.stage_id, window.offset, window.cards, None) if window else None
        row_on_screen = self.cursor * ROW - self.scroll_offset.y if keep_row else None
        self.count = count
        self._cards.clear()
        self._asked.clear()
        # The strip cache stays: it is keyed by the card's value, so unchanged cards draw at once.
        if window is not None:
            self._put(window)
        if cursor is None and window is not None and window.anchor_index is not None:
            cursor = window.anchor_index
        self.virtual_size = Size(self.virtual_size.width, max(0, count * ROW - 1))
        self.set_reactive(CardList.cursor, self._clamp(self.cursor if cursor is None else cursor))
        if row_on_screen is not None and 0 <= row_on_screen < self.scrollable_content_region.height:
            self.scroll_to(y=max(0, self.cursor * ROW - row_on_screen), animate=False, immediate=True, force=True)
        self._follow_cursor()
        self.refresh()

    def put(self, window: ColumnWindow) -> None:
        """Add a window of cards fetched for this list."""
        self._put(window)
        self.refresh()

    def _put(self, window: ColumnWindow) -> None:
        for index, card in enumerate(window.cards, window.offset):
            self._cards[index] = card
        if len(self._cards) > KEEP:
            far = sorted(self._cards, key=lambda index: abs(index - self.cursor), reverse=True)
            for index in far[: len(self._cards) - KEEP]:
                del self._cards[index]
                self._asked.discard(index // WINDOW * WINDOW)

    def loaded_cards(self) -> list[DealCard]:
        """The cards held now, in column order (a window, not the whole column)."""
        return [self._cards[index] for index in sorted(self._cards)]

    def card_at(self, index: int) -> DealCard | None:
        """The card at position `index`, if loaded."""
        return self._cards.get(index)

    @property
    def current(self) -> DealCard | None:
        """The card under the cursor (None in an empty column or while it loads)."""
        return self._cards.get(self.cursor) if self.count else None

    def _clamp(self, index: int) -> int:
        return max(0, min(index, self.count - 1)) if self.count else 0

    # -- drawing -------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """One screen row: a line of a card, a separator, or a placeholder while a card loads."""
        width = self.scrollable_content_region.width
        index, line = divmod(self.scroll_offset.y + y, ROW)
        base = self.get_visual_style("card-list--card")
        if self.count == 0 and y == 1:
            hint = self.get_visual_style("card-list--empty").rich_style
            return Strip([Segment(" No deals here".ljust(width), hint)], width)
        if index >= self.count or width <= 0:
            return Strip.blank(width, base.rich_style)
        if line == CARD_LINES:
            rule = self.get_visual_style("card-list--separator").rich_style
            return Strip([Segment(" "), Segment("─" * max(width - 2, 0), rule), Segment(" ")], width)
        card = self._cards.get(index)
        if card is None:
            self._ask(index)
            text = " …" if line == 0 else ""
            return Strip([Segment(text.ljust(width), base.rich_style)], width)
        return self._card_strips(card, index == self.cursor, width)[line]

    def _card_strips(self, card: DealCard, selected: bool, width: int) -> list[Strip]:
        now = clock.now()
        key = (card, selected, width, self.has_focus, now.date())
        if (strips := self._strips.get(key)) is None:
            component = "card-list--cursor" if selected else "card-list--card"
            style = self.get_visual_style("card-list--card", component)
            visual = Padding(card_content(card, self.stage, now), Spacing(0, 1, 0, 1))
            strips = Visual.to_strips(self, visual, width, CARD_LINES, style, pad=True)
            strips += [Strip.blank(width, style.rich_style)] * (CARD_LINES - len(strips))
            self._strips[key] = strips
        return strips

    def _ask(self, index: int) -> None:
        offset = index // WINDOW * WINDOW
        if offset not in self._asked:
            self._asked.add(offset)
            self.post_message(self.NeedCards(self, offset))

    def notify_style_update(self) -> None:
        """Styles changed (focus, theme): redraw the cards."""
        self._strips.clear()
        super().notify_style_update()

    def _on_focus(self, event: events.Focus) -> None:
        self._strips.clear()
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._strips.clear()
        self.refresh()

    # -- moving the cursor ---------------------------------------------------------------------
    def watch_cursor(self) -> None:
        """Keep the selected card in view, and count the move (a refresh that was read before it
        must not put the cursor back)."""
        self.moves += 1
        self._follow_cursor()
        self.refresh()

    def _follow_cursor(self) -> None:
        if self.count and self.is_mounted:
            self.scroll_to_region(
                Region(0, self.cursor * ROW, max(self.scrollable_content_region.width, 1), CARD_LINES),
                animate=False,
                force=True,
                immediate=True,
            )

    def on_resize(self) -> None:
        """Redraw at the new width."""
        self._strips.clear()
        self._follow_cursor()

    def action_cursor_down(self) -> None:
        """Select the next card (it stops at the last)."""
        self.cursor = self._clamp(self.cursor + 1)

    def action_cursor_up(self) -> None:
        """Select the previous card (it stops at the first)."""
        self.cursor = self._clamp(self.cursor - 1)

    def action_first(self) -> None:
        """Select the first card."""
        self.cursor = 0

    def action_last(self) -> None:
        """Select the last card, however long the column."""
        self.cursor = self._clamp(self.count - 1)

    def action_page(self, direction: int) -> None:
        """Move a screenful of cards up or down."""
        step = max(1, self.scrollable_content_region.height // ROW)
        self.cursor = self._clamp(self.cursor + direction * step)

    async def _on_click(self, event: events.Click) -> None:
        index = (self.scroll_offset.y + event.y) // ROW
        if index < self.count:
            self.cursor = index
            self.focus()
