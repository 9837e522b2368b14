"""Charts drawn with text, readable at 80x24 and at 200x60 without a mouse: a stat card with a big
number and its change, horizontal bars with values, and month columns with labels and a scale.
Colours come from the theme; every label is record text made safe first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.renderables.digits import Digits as DigitsFont
from textual.widget import Widget
from textual.widgets import Static

from crm_tui.text import safe_text

_EIGHTHS = " ▏▎▍▌▋▊▉█"
_RISE = " ▁▂▃▄▅▆▇█"


def scaled(value: float) -> tuple[str, str]:
    """12,345,678 -> ("12.3", "M"): a number Digits can draw and the letter for its scale."""
    size = abs(value)
    for limit, word in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip("."), word
    return (f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"), ""


def compact(value: float) -> str:
    """At most four characters for chart labels: 12,345,678 -> 12M; 2,840,000 -> 2.8M; 402,300 -> 402k."""
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            scaled_value = value / limit
            return (f"{scaled_value:.0f}" if abs(scaled_value) >= 10 else f"{scaled_value:.1f}".rstrip("0").rstrip(".")) + suffix
    return f"{value:.0f}"


class _Out:
    """Pieces of styled text, assembled into one Content (theme variables resolve when drawn)."""

    def __init__(self, title: str) -> None:
        self.parts: list[tuple[str, str] | str] = [(safe_text(title) + "\n", "bold")]

    def append(self, text: str, style: str = "") -> None:
        self.parts.append((text, style) if style else text)

    def content(self) -> Content:
        return Content.assemble(*self.parts)


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length as a number, the text shown beside it, and what it stands
    for (a stage id, a month, ...: what enter on it drills down to; None: nothing to open)."""

    label: str
    value: float
    text: str
    key: object = None


class Chart(Static):
    """A chart of bars the keyboard can walk: focus it (tab), move along its bars with the arrow
    keys, and enter posts `Chart.Picked` with the bar under the cursor, to show what is behind it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,right,j,l", "step(1)", "Next bar", show=False),
        Binding("up,left,k,h", "step(-1)", "Previous bar", show=False),
        Binding("home", "step(-1000000)", "First", show=False),
        Binding("end", "step(1000000)", "Last", show=False),
        Binding("enter", "pick", "Deals behind it", id="chart.pick"),
    ]
    DEFAULT_CSS = "Chart { height: auto; } Chart:focus { background: $boost; }"
    can_focus = True

    class Picked(Message):
        """Enter on a bar: `bar.key` says what it stands for."""

        def __init__(self, chart: Chart, bar: Bar) -> None:
            super().__init__()
            self.chart = chart
            self.bar = bar

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bars: list[Bar] = []
        self.chart_title = ""
        self.cursor = 0

    def show(self, title: str, bars: list[Bar]) -> None:
        """Draw `bars` under `title` (an empty list says so); the cursor stays where it was if it can."""
        self.chart_title, self.bars = title, list(bars)
        self.cursor = min(self.cursor, max(0, len(self.bars) - 1))
        self.refresh(layout=True)

    def action_step(self, by: int) -> None:
        """Move the cursor along the bars."""
        if self.bars:
            self.cursor = max(0, min(len(self.bars) - 1, self.cursor + by))
            self.refresh()

    def action_pick(self) -> None:
        """Say which bar was chosen, if it stands for something."""
        if self.bars and self.bars[self.cursor].key is not None:
            self.post_message(self.Picked(self, self.bars[self.cursor]))

    def label_style(self, index: int) -> str:
        """The cursor's label is shown reversed while the chart has focus."""
        return "reverse" if self.has_focus and index == self.cursor else ""

    EMPTY = "nothing to show for these filters"
    """Said under the title when there is nothing to draw."""

    def has_data(self) -> bool:
        """Whether there is anything to draw."""
        return bool(self.bars)

    def render(self) -> Content:
        """The title, then the chart at the current width (or the EMPTY line)."""
        out = _Out(self.chart_title)
        if self.has_data():
            self.draw(out, max(20, self.size.width or 80))
        else:
            out.append(f"  {self.EMPTY}\n", "$text-muted")
        return out.content()

    def draw(self, out: _Out, width: int) -> None:
        """Append the chart under its title; each kind of chart draws its own."""
        raise NotImplementedError

    def label_width(self) -> int:
        """Room for the labels: the longest, at most 24 cells."""
        return min(24, max(len(safe_text(b.label)) for b in self.bars))


class StatCard(Widget):
    """A big number in a 3x3 digit font with its title and the change against the previous period.

    Drawn as one widget (title, three rows of digits with the scale letter, foot): ten cards of
    six widgets each were most of the dashboard's widgets, and its first frame waited on them."""

    DEFAULT_CSS = """
    StatCard { height: 7; border: round $foreground 25%; padding: 0 1; color: $text-muted; text-wrap: nowrap; }
    """
    DIGITS_ALLOWED: ClassVar[frozenset[str]] = frozenset("0123456789+-.$£€:()")

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.card_title = title
        self._value = "-"
        self._scale = ""
        self._foot: Content | str = ""
        self._arrow = Content("")

    @property
    def value(self) -> str:
        """The number drawn in big digits ("-" before the first value)."""
        return self._value

    def show(
        self,
        big: str,
        foot: Content | str,
        change: float | None,
        *,
        scale: str = "",
        good_when_up: bool = True,
        unit: str = "%",
    ) -> None:
        """Put a value on the card: `big` in big digits (digits . $ £ € only) with its scale letter beside
        it ("M"), a foot line, and by the title ▲/▼ the percentage change (green when it is
        good news); `unit` "pts" for a change of a percentage in points."""
        self._value = "".join(ch for ch in big if ch in self.DIGITS_ALLOWED) or "0"
        self._scale = scale
        self._foot = foot
        self._arrow = Content("")
        if change is not None:
            good = (change >= 0) == good_when_up
            amount = f"{abs(change):.0f}%" if unit == "%" else f"{abs(change):.0f} {unit}"
            style = "$text-success" if good else "$text-error"
            self._arrow = Content.styled(f" {'▲' if change >= 0 else '▼'}{amount}", style)
        self.refresh()

    def render(self) -> Content:
        """Title and change (the title gives way to the change when both do not fit), the digits with
        the scale letter on their last row, and the foot."""
        width = self.content_size.width
        room = max(0, width - self._arrow.cell_length)
        title = Content(self.card_title).truncate(room, ellipsis=True) if room else Content("")
        rows = [segment.text for segment in DigitsFont(self._value).render(Style()) if segment.text != "\n"]
        rows[-1] += f" {self._scale}" if self._scale else ""
        digits = [Content.styled(row, "$text-accent").truncate(width) for row in rows]
        foot = self._foot if isinstance(self._foot, Content) else Content(self._foot)
        return Content("\n").join([title + self._arrow, *digits, foot.truncate(width, ellipsis=True)])


class HBars(Chart):
    """Horizontal bars, one per row: label, bar scaled to the widest value, and its text."""

    def draw(self, out: _Out, width: int) -> None:
        """One row a bar: label, bar, text."""
        label_width = self.label_width()
        text_width = max(len(b.text) for b in self.bars)
        room = max(4, width - label_width - text_width - 4)
        top = max((b.value for b in self.bars), default=0) or 1
        for index, bar in enumerate(self.bars):
            eighths = round(max(0.0, bar.value) / top * room * 8)
            full, part = divmod(eighths, 8)
            drawn = "█" * full + (_EIGHTHS[part] if part else "")
            out.append(f"{safe_text(bar.label)[:label_width]:<{label_width}}", self.label_style(index))
            out.append(" ")
            out.append(f"{drawn:<{room}}", "$accent")
            out.append(f" {bar.text:>{text_width}}\n")


class Columns(Chart):
    """Vertical columns (months), `height` rows tall, with the top value as the scale and each
    column's label and value below it."""

    def __init__(self, *, height: int = 6, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = height

    EMPTY = "nothing in these months"

    def has_data(self) -> bool:
        """Some month has a value."""
        return any(b.value for b in self.bars)

    def draw(self, out: _Out, width: int) -> None:
        """The columns (each at least 4 cells, at most 8), the labels and the values."""
        cell = max(4, min(8, (width - 8) // len(self.bars)))
        top = max(b.value for b in self.bars) or 1
        scale = compact(top)
        for row in range(self.rows, 0, -1):
            axis = f"{scale:>6} ┤" if row == self.rows else ("     0 ┤" if row == 1 else "       │")
            out.append(axis, "$text-muted")
            for bar in self.bars:
                level = max(0.0, bar.value) / top * self.rows * 8
                filled = level - (row - 1) * 8
                glyph = "█" if filled >= 8 else (_RISE[int(filled)] if filled > 0 else " ")
                out.append(f"{glyph * (cell - 1):<{cell}}", "$accent")
            out.append("\n")
        out.append("        ")
        for index, bar in enumerate(self.bars):
            out.append(f"{safe_text(bar.label)[: cell - 1]:<{cell - 1}}", self.label_style(index) or "$text-muted")
            out.append(" ")
        out.append("\n")
        out.append("        " + "".join(f"{b.text[: cell - 1]:<{cell}}" for b in self.bars))


_SWATCHES = (
    ("█", "$primary"), ("▓", "$secondary"), ("█", "$warning"), ("▒", "$success"),
    ("█", "$error"), ("░", "$accent"), ("▓", "$foreground 60%"), ("▒", "$primary"),
)  # fmt: skip
"""Colour and fill of each share in turn: neighbours differ in both, so the bar still reads on a
terminal with few colours (or none)."""


def split_cells(shares: list[float], room: int) -> list[int]:
    """Cells of a `room`-wide bar for each share (percent), by largest remainder so they fill it."""
    total = sum(max(0.0, s) for s in shares)
    if total <= 0 or room <= 0:
        return [0] * len(shares)
    exact = [max(0.0, s) / total * room for s in shares]
    cells = [int(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: exact[i] - cells[i], reverse=True)
    for i in by_remainder[: room - sum(cells)]:
        cells[i] += 1
    return cells


class ShareBar(Chart):
    """A 100% stacked bar, one segment per group, with a legend under it (swatch, label, share,
    value): the terminal's stand-in for a pie chart, legible at any width. The cursor walks the
    legend. Bar values are the groups' shares in percent."""

    def draw(self, out: _Out, width: int) -> None:
        """The bar across the width, then the legend."""
        cells = split_cells([b.value for b in self.bars], width - 2)
        for index, count in enumerate(cells):
            glyph, colour = _SWATCHES[index % len(_SWATCHES)]
            out.append(glyph * count, colour)
        out.append("\n")
        label_width = self.label_width()
        for index, bar in enumerate(self.bars):
            glyph, colour = _SWATCHES[index % len(_SWATCHES)]
            out.append(glyph * 2, colour)
            out.append(" ")
            out.append(f"{safe_text(bar.label)[:label_width]:<{label_width}}", self.label_style(index))
            out.append(f" {bar.value:5.1f}%  {bar.text}\n")
