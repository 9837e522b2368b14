"""One editor per field type for record forms: text boxes, long text, dropdowns, checkboxes,
multi-select, user pickers and a star rating set with the keys 0-5. Each reads back with `value_of`."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select, SelectionList, Static, TextArea

from crm_tui.services.record_form import FormField
from crm_tui.text import safe_text


class Rating(Widget, can_focus=True):
    """0 to 5 stars: the digit keys set it, left and right step it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *[Binding(str(n), f"set({n})", f"{n} stars", show=False) for n in range(6)],
        Binding("left", "step(-1)", "Fewer", show=False),
        Binding("right", "step(1)", "More", show=False),
    ]
    DEFAULT_CSS = """
    Rating { height: 1; width: auto; padding: 0 1; color: $text-warning; }
    Rating:focus { background: $boost; text-style: bold; }
    """
    stars: reactive[int] = reactive(0)
    """How many stars are set."""

    def __init__(self, stars: int = 0, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.set_reactive(Rating.stars, max(0, min(5, stars)))

    def render(self) -> Content:
        """★★★☆☆ and a hint."""
        return Content.assemble("★" * self.stars + "☆" * (5 - self.stars), ("  0-5", "dim"))

    def action_set(self, stars: int) -> None:
        """Set the rating."""
        self.stars = stars

    def action_step(self, step: int) -> None:
        """One star more or fewer."""
        self.stars = max(0, min(5, self.stars + step))


def make_editor(field: FormField, users: list[tuple[str, int]], *, id: str) -> Widget:
    """The editor widget for `field`, showing its current value."""
    editor, value = field.editor, field.value
    if editor == "readonly":
        return Static(Content(safe_text(value) or "—"), id=id, classes="readonly")
    if editor == "long_text":
        area = TextArea(str(value or ""), id=id, soft_wrap=True, show_line_numbers=False)
        return area
    if editor == "choice":
        options = [(Content(safe_text(option)), option) for option in field.options]
        return Select(options, value=value if value in field.options else Select.NULL, id=id, compact=True)
    if editor == "user":
        options = [(Content(safe_text(name)), user_id) for name, user_id in users]
        chosen = value if any(user_id == value for _, user_id in users) else Select.NULL
        return Select(options, value=chosen, id=id, compact=True, prompt="nobody")
    if editor == "bool":
        return Checkbox(Content(""), bool(value), id=id, compact=True)
    if editor == "multi":
        chosen = set(value or ())
        return SelectionList(*[(Content(safe_text(o)), o, o in chosen) for o in field.options], id=id, compact=True)
    if editor == "rating":
        return Rating(int(value or 0), id=id)
    placeholder = {
        "date": "2026-12-01, today, +3d, next friday",
        "datetime": "2026-12-01 14:30",
        "money": "1,250.00",
        "company": "a company name (a new name adds it)",
        "reference": f"the id of a {field.reference or 'record'}",
    }.get(editor, "")
    return Input(str(value or ""), id=id, compact=True, placeholder=placeholder)


def value_of(widget: Widget) -> Any:
    """What an editor holds now, as the form service takes it."""
    if isinstance(widget, Input):
        return widget.value
    if isinstance(widget, TextArea):
        return widget.text
    if isinstance(widget, Select):
        return None if widget.value is Select.NULL else widget.value
    if isinstance(widget, Checkbox):
        return widget.value
    if isinstance(widget, SelectionList):
        return list(widget.selected)
    if isinstance(widget, Rating):
        return widget.stars or None
    return None
