"""Charts drawn with text, readable at 80x24 and at 200x60 without a mouse: a stat card with a big
number and its change, horizontal bars with values, and month columns with labels and a scale.
Colours come from the theme; every label is record text made safe first."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Digits, Static

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
    """One bar: its label, its length as a number, and the text shown beside it."""

    label: str
    value: float
    text: str


class StatCard(Widget):
    """A big number (Digits) with its title and the change against the previous period."""

    DEFAULT_CSS = """
    StatCard { height: 7; border: round $foreground 25%; padding: 0 1; }
    StatCard .card-title { color: $text-muted; height: 1; }
    StatCard .card-number { height: 3; }
    StatCard Digits { height: 3; width: auto; color: $text-accent; }
    StatCard .card-scale { height: 3; width: auto; content-align: left bottom; padding-left: 1; color: $text-accent; }
    StatCard .card-foot { height: 1; color: $text-muted; }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.card_title = title

    def compose(self) -> ComposeResult:
        """Title (with the change), number, foot."""
        yield Static(Content(self.card_title), classes="card-title")
        with Horizontal(classes="card-number"):
            yield Digits("-")
            yield Static("", classes="card-scale")
        yield Static("", classes="card-foot")

    def show(
        self, big: str, foot: Content | str, change: float | None, *, scale: str = "", good_when_up: bool = True
    ) -> None:
        """Put a value on the card: `big` in Digits (digits . $ £ € only) with its scale letter beside
        it ("million"), a foot line, and by the title ▲/▼ the percentage change (green when it is
        good news)."""
        allowed = set("0123456789+-.$£€:()")
        self.query_one(Digits).update("".join(ch for ch in big if ch in allowed) or "0")
        self.query_one(".card-scale", Static).update(scale)
        arrow: Content | str = ""
        if change is not None:
            good = (change >= 0) == good_when_up
            style = "$text-success" if good else "$text-error"
            arrow = Content.styled(f" {'▲' if change >= 0 else '▼'}{abs(change):.0f}%", style)
        self.query_one(".card-title", Static).update(Content.assemble(self.card_title, arrow))
        self.query_one(".card-foot", Static).update(foot)


class HBars(Static):
    """Horizontal bars, one per row: label, bar scaled to the widest value, and its text."""

    DEFAULT_CSS = "HBars { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bars: list[Bar] = []
        self.chart_title = ""

    def show(self, title: str, bars: list[Bar]) -> None:
        """Draw `bars` under `title` (an empty list says so)."""
        self.chart_title, self.bars = title, list(bars)
        self.refresh(layout=True)

    def render(self) -> Content:
        """The bars at the current width."""
        out = _Out(self.chart_title)
        if not self.bars:
            out.append("  nothing to show for these filters\n", "$text-muted")
            return out.content()
        width = max(20, self.size.width or 80)
        label_width = min(24, max(len(safe_text(b.label)) for b in self.bars))
        text_width = max(len(b.text) for b in self.bars)
        room = max(4, width - label_width - text_width - 4)
        top = max((b.value for b in self.bars), default=0) or 1
        for bar in self.bars:
            eighths = round(max(0.0, bar.value) / top * room * 8)
            full, part = divmod(eighths, 8)
            drawn = "█" * full + (_EIGHTHS[part] if part else "")
            out.append(f"{safe_text(bar.label)[:label_width]:<{label_width}} ")
            out.append(f"{drawn:<{room}}", "$accent")
            out.append(f" {bar.text:>{text_width}}\n")
        return out.content()


class Columns(Static):
    """Vertical columns (months), `height` rows tall, with the top value as the scale and each
    column's label and value below it."""

    DEFAULT_CSS = "Columns { height: auto; }"

    def __init__(self, *, height: int = 6, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bars: list[Bar] = []
        self.chart_title = ""
        self.rows = height

    def show(self, title: str, bars: list[Bar]) -> None:
        """Draw `bars` (left to right) under `title`."""
        self.chart_title, self.bars = title, list(bars)
        self.refresh(layout=True)

    def render(self) -> Content:
        """The columns at the current width (each at least 4 cells, at most 8)."""
        out = _Out(self.chart_title)
        if not self.bars or not any(b.value for b in self.bars):
            out.append("  nothing in these months\n", "$text-muted")
            return out.content()
        width = max(20, self.size.width or 80)
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
        out.append("        " + "".join(f"{safe_text(b.label)[: cell - 1]:<{cell}}" for b in self.bars) + "\n", "$text-muted")
        out.append("        " + "".join(f"{b.text[: cell - 1]:<{cell}}" for b in self.bars))
        return out.content()
