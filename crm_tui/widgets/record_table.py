"""A record list as a virtual table (or as cards): the row count comes from SQL, pages of rows are
fetched as they scroll into view, and only the lines on screen are drawn."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from crm_tui.money import format_money
from crm_tui.services.list_fields import Column
from crm_tui.services.record_lists import PAGE, ListRow
from crm_tui.text import fit, safe_text

CARD_LINES = 3
"""Lines of a record shown as a card (a separator follows each)."""


def cell_text(column: Column, row: ListRow, currency: str) -> str:
    """The value of one cell as plain, safe text."""
    value: Any = row.values.get(column.key)
    if value is None or value == "" or value == []:
        return ""
    kind = column.kind
    if kind == "money":
        return format_money(int(value), row.values.get("currency") or currency)
    if kind == "rating":
        return "★" * int(value) + "☆" * (5 - int(value))
    if kind == "bool":
        return "✓" if value else ""
    if kind == "list":
        return safe_text(", ".join(str(item) for item in value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:,}" if value == value.to_integral() else f"{value:,.2f}"
    if kind == "number" and isinstance(value, (int, float)):
        return f"{value:,}" if isinstance(value, int) or float(value).is_integer() else f"{value:,.2f}"
    return safe_text(value)


def _fit(text: str, width: int, right: bool = False) -> str:
    """`text` fitted to `width` cells, and padded to them (on the left when `right`)."""
    text = fit(text, width)
    return text.rjust(width) if right else text.ljust(width)


class RecordTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows of one record list with a cursor and a selection (space)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor(1)", "Down", show=False, tooltip="Next record", id="list.down"),
        Binding("up,k", "cursor(-1)", "Up", show=False, tooltip="Previous record", id="list.up"),
        Binding("home,g", "first", "First", show=False, tooltip="First record", id="list.first"),
        Binding("end,G", "last", "Last", show=False, tooltip="Last record, however long the list", id="list.last"),
        Binding("pageup", "page(-1)", "Page up", show=False, tooltip="A screenful up", id="list.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, tooltip="A screenful down", id="list.page_down"),
        Binding("space", "toggle_select", "Select", tooltip="Select the record for a bulk action", id="list.select"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"record-table--cursor", "record-table--selected"}
    DEFAULT_CSS = """
    RecordTable {
        background: transparent;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        & > .record-table--selected { color: $text-accent; text-style: bold; }
        & > .record-table--cursor { background: $boost; }
        &:focus > .record-table--cursor {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
    }
    """

    cursor: reactive[int] = reactive(0, init=False)
    """Position of the highlighted record in the list."""

    class NeedRows(Message):
        """Rows from `offset` on are on screen but not loaded."""

        def __init__(self, table: RecordTable, offset: int) -> None:
            super().__init__()
            self.table = table
            self.offset = offset

        @property
        def control(self) -> RecordTable:
            """The table that wants rows."""
            return self.table

    class SelectionChanged(Message):
        """Records were selected or unselected."""

    def __init__(self, *, currency: str = "USD", id: str | None = None) -> None:
        super().__init__(id=id)
        self.currency = currency
        self.columns: list[Column] = []
        self.count = 0
        self.cards = False
        self.selected: set[int] = set()
        self._rows: dict[int, ListRow] = {}
        self._asked: set[int] = set()

    # -- data ----------------------------------------------------------------------------------
    def show(
        self, columns: list[Column], count: int, first: list[ListRow], *, cards: bool = False, cursor: int | None = None
    ) -> None:
        """Replace everything shown: the columns, the row count and the first page of rows (or the
        page around `cursor`, at its offset rounded down to a page)."""
        self.columns, self.count, self.cards = columns, count, cards
        self._rows.clear()
        self._asked.clear()
        offset = (cursor or 0) // PAGE * PAGE
        self.put(offset, first)
        self.virtual_size = Size(self.virtual_size.width, self._line_of(count))
        self.set_reactive(RecordTable.cursor, self._clamp(self.cursor if cursor is None else cursor))
        self._follow_cursor()
        self.refresh()

    def put(self, offset: int, rows: list[ListRow]) -> None:
        """Add a page of rows read for this table."""
        for index, row in enumerate(rows, offset):
            self._rows[index] = row
        self._asked.add(offset)
        if len(self._rows) > 20 * PAGE:  # keep memory flat on a long scroll
            for index in sorted(self._rows, key=lambda i: abs(i - self.cursor), reverse=True)[
                : len(self._rows) - 20 * PAGE
            ]:
                del self._rows[index]
                self._asked.discard(index // PAGE * PAGE)
        self.refresh()

    def forget(self) -> None:
        """Drop loaded rows (data changed): visible ones are read again."""
        self._rows.clear()
        self._asked.clear()
        self.refresh()

    @property
    def current(self) -> ListRow | None:
        """The highlighted record (None in an empty list or while it loads)."""
        return self._rows.get(self.cursor) if self.count else None

    def row_at(self, index: int) -> ListRow | None:
        """The record at `index`, if loaded."""
        return self._rows.get(index)

    def _clamp(self, index: int) -> int:
        return max(0, min(index, self.count - 1)) if self.count else 0

    # -- geometry ------------------------------------------------------------------------------
    @property
    def _row_lines(self) -> int:
        return CARD_LINES + 1 if self.cards else 1

    def _line_of(self, index: int) -> int:
        """The virtual line where record `index` starts (line 0 is the table header)."""
        return index * self._row_lines + (0 if self.cards else 1)

    def widths(self, width: int) -> list[int]:
        """Each column's width at a table `width`: natural widths, the first stretched to fill;
        when too narrow the widest shrink (not below 8) and then the last ones are left out."""
        sizes = [column.width for column in self.columns]
        room = width - 3
        while sizes and sum(sizes) + len(sizes) > room:
            # The first column names the record: the others give way first.
            others = [i for i in range(1, len(sizes)) if sizes[i] > 10]
            widest = max(others, key=sizes.__getitem__) if others else 0
            if sizes[widest] > (16 if widest == 0 else 10):
                sizes[widest] -= 1
            else:
                sizes.pop()
        if sizes:
            sizes[0] += max(0, room - sum(sizes) - len(sizes))
        return sizes

    # -- drawing -------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """One screen line: the header, a row, a card line or a placeholder while rows load."""
        width = self.scrollable_content_region.width
        base = self.rich_style
        if width <= 0:
            return Strip.blank(0)
        if self.count == 0:
            text = " Nothing here. n adds a record; / and f change the filter." if y == (0 if self.cards else 1) else ""
            return Strip([Segment(_fit(text, width), base + Style(dim=True))], width)
        if not self.cards and y == 0:
            return self._header(width, base)
        line = self.scroll_offset.y + y - (0 if self.cards else 1)
        index, part = divmod(line, self._row_lines)
        if index >= self.count or index < 0:
            return Strip.blank(width, base)
        row = self._rows.get(index)
        if row is None:
            self._ask(index)
            return Strip([Segment(_fit(" …" if part == 0 else "", width), base)], width)
        style = self._row_style(index, row, base)
        if self.cards:
            return self._card_line(row, part, width, style, base)
        return self._table_line(row, width, style)

    def _row_style(self, index: int, row: ListRow, base: Style) -> Style:
        style = base
        if row.id in self.selected:
            style += self.get_component_rich_style("record-table--selected")
        if index == self.cursor:
            style += self.get_component_rich_style("record-table--cursor")
        return style

    def _header(self, width: int, base: Style) -> Strip:
        segments = [Segment("   ", base)]
        for column, size in zip(self.columns, self.widths(width), strict=False):
            right = column.kind in ("money", "number")
            segments.append(Segment(_fit(column.label, size, right) + " ", base + Style(bold=True, dim=True)))
        return Strip(segments, width).crop(0, width).extend_cell_length(width, base)

    def _table_line(self, row: ListRow, width: int, style: Style) -> Strip:
        mark = " ● " if row.id in self.selected else "   "
        segments = [Segment(mark, style)]
        for column, size in zip(self.columns, self.widths(width), strict=False):
            right = column.kind in ("money", "number")
            segments.append(Segment(_fit(cell_text(column, row, self.currency), size, right) + " ", style))
        return Strip(segments, width).crop(0, width).extend_cell_length(width, style)

    def _card_line(self, row: ListRow, part: int, width: int, style: Style, base: Style) -> Strip:
        if part == CARD_LINES:
            return Strip([Segment(" " + "─" * max(width - 2, 0) + " ", base + Style(dim=True))], width)
        texts = [cell_text(column, row, self.currency) for column in self.columns]
        if part == 0:
            mark = "● " if row.id in self.selected else ""
            text = f" {mark}{texts[0] if texts else ''}"
            return Strip([Segment(_fit(text, width), style + Style(bold=True))], width)
        pairs = [f"{column.label}: {text}" for column, text in zip(self.columns[1:], texts[1:], strict=False) if text]
        half = (len(pairs) + 1) // 2
        chunk = pairs[:half] if part == 1 else pairs[half:]
        return Strip([Segment(_fit("   " + " · ".join(chunk), width), style)], width)

    def _ask(self, index: int) -> None:
        offset = index // PAGE * PAGE
        if offset not in self._asked:
            self._asked.add(offset)
            self.post_message(self.NeedRows(self, offset))

    # -- moving --------------------------------------------------------------------------------
    def watch_cursor(self) -> None:
        """Keep the highlighted record in view."""
        self._follow_cursor()
        self.refresh()

    def _follow_cursor(self) -> None:
        if self.count and self.is_mounted:
            top = self._line_of(self.cursor)
            lines = self._row_lines if self.cards else 1
            height = self.scrollable_content_region.height
            y = self.scroll_offset.y
            if top - (0 if self.cards else 1) < y:
                y = top - (0 if self.cards else 1)
            elif top + lines > y + height:
                y = top + lines - height
            self.scroll_to(y=max(0, y), animate=False, immediate=True, force=True)

    def on_resize(self) -> None:
        """Keep the cursor in view at the new size."""
        self._follow_cursor()

    def action_cursor(self, step: int) -> None:
        """Move the highlight by `step` records."""
        self.cursor = self._clamp(self.cursor + step)

    def action_first(self) -> None:
        """Highlight the first record."""
        self.cursor = 0

    def action_last(self) -> None:
        """Highlight the last record."""
        self.cursor = self._clamp(self.count - 1)

    def action_page(self, direction: int) -> None:
        """Move a screenful up or down."""
        step = max(1, (self.scrollable_content_region.height - 1) // self._row_lines)
        self.cursor = self._clamp(self.cursor + direction * step)

    def action_toggle_select(self) -> None:
        """Add the highlighted record to the selection, or take it out; then go to the next one."""
        row = self.current
        if row is None:
            return
        self.selected.symmetric_difference_update({row.id})
        self.cursor = self._clamp(self.cursor + 1)
        self.refresh()
        self.post_message(self.SelectionChanged())

    async def _on_click(self, event: events.Click) -> None:
        line = self.scroll_offset.y + event.y - (0 if self.cards else 1)
        index = line // self._row_lines
        if 0 <= index < self.count:
            self.cursor = index
            self.focus()
