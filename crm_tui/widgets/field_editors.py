"""One editor per field type for record forms: text boxes, long text, dropdowns, checkboxes,
multi-select, user pickers and a star rating set with the keys 0-5. Each reads back with `value_of`."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
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


class ReferencePicker(Widget, can_focus=True):
    """A link to one record, shown by its name: enter (or typing) asks the screen to open a picker
    (the `Pick` message), delete clears it. `record_id` is the value."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "pick", "Choose", tooltip="Choose the record (type to search)"),
        Binding("delete,backspace", "clear", "Clear", show=False),
    ]
    DEFAULT_CSS = """
    ReferencePicker { height: 1; width: 1fr; padding: 0 1; background: $boost; }
    ReferencePicker:focus { background: $accent 30%; text-style: bold; }
    """

    class Pick(Message):
        """The user wants to choose the record, starting from `text` typed so far."""

        def __init__(self, picker: ReferencePicker, text: str) -> None:
            super().__init__()
            self.picker = picker
            self.text = text

    def __init__(self, entity: str, record_id: int | None, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entity = entity
        self.record_id = record_id
        self.title = title

    def render(self) -> Content:
        """The chosen record's name, or a hint."""
        if self.record_id is None:
            return Content.styled(f"none · enter or type to choose a {self.entity}", "dim")
        return Content.assemble(safe_text(self.title), ("  enter: change · del: clear", "dim"))

    def choose(self, record_id: int | None, title: str = "") -> None:
        """Set (or with None clear) the linked record."""
        self.record_id, self.title = record_id, title
        self.refresh()

    def action_pick(self) -> None:
        """Ask for the picker."""
        self.post_message(self.Pick(self, ""))

    def action_clear(self) -> None:
        """Unlink."""
        self.choose(None)

    def on_key(self, event: events.Key) -> None:
        """A letter or digit opens the picker already searching for it."""
        if event.is_printable and event.character and event.character.isalnum():
            event.stop()
            self.post_message(self.Pick(self, event.character))


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
    if editor == "reference":
        return ReferencePicker(field.reference or "record", value or None, field.shown, id=id)
    placeholder = {
        "date": "2026-12-01, today, +3d, next friday",
        "datetime": "2026-12-01 14:30",
        "money": "1,250.00",
        "company": "a company name (a new name adds it)",
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
    if isinstance(widget, ReferencePicker):
        return widget.record_id
    return None
