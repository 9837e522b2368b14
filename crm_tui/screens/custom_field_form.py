"""The custom field form: label, type, required, and the parts some types need (options, the record
type a reference points at, a lookup path, a formula checked as it is typed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from crm_tui import formula
from crm_tui.screens.base import ReportsWorkerErrors, session_of
from crm_tui.services import custom_field_rules, lookup_paths
from crm_tui.services.custom_field_types import READ_ONLY, FieldDef
from crm_tui.text import safe_text

TYPES: dict[str, str] = {
    "text": "Text", "long_text": "Long text", "number": "Number", "currency": "Currency", "percent": "Percent",
    "date": "Date", "datetime": "Date and time", "checkbox": "Checkbox (yes/no)", "dropdown": "Dropdown (one option)",
    "multi_select": "Multi-select (several options)", "email": "Email", "phone": "Phone", "url": "URL",
    "address": "Address", "rating": "Rating (stars)", "user": "User", "reference": "Reference (a linked record)",
    "lookup": "Lookup (a linked record's field)", "formula": "Formula (computed)", "auto_number": "Auto number",
}  # fmt: skip
"""Every custom field type (models.FIELD_TYPES) with the name people see."""

RECORD_TYPES = {"company": "Company", "contact": "Contact", "lead": "Lead", "deal": "Deal"}
PARTS = {
    "options": ("dropdown", "multi_select"),
    "reference": ("reference",),
    "lookup": ("lookup",),
    "formula": ("formula",),
}
"""The optional parts of the form and the types that show them."""
ERROR_LINES = ("label", "options", "reference_entity", "lookup_path", "formula")

Save = Callable[[dict[str, Any]], Awaitable[dict[str, str] | None]]


def formula_problem(entity: str, own_key: str | None, text: str) -> str | None:
    """What is wrong with formula `text` on `entity` (None: it reads); runs on the database thread."""
    return formula.check(text, custom_field_rules.formula_names(entity, own_key))


def _say(line: Static, message: Content) -> None:
    """Show `message` in an error line; an empty line takes no room."""
    line.update(message)
    line.display = bool(message.plain)


class CustomFieldFormScreen(ReportsWorkerErrors, ModalScreen[bool]):
    """Add a field to `entity`, or edit `field`; `save(values)` stores it and returns errors per field or None.

    Adding passes `label`, `type`, `required` and the type's own parts; editing passes only what changed
    (names from custom_field_admin.CHANGEABLE). `fields` are the record type's fields (for the lookup hint).
    Dismisses with True once saved, False when cancelled or nothing changed.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="custom_field_form.cancel"),
        Binding("ctrl+s", "save", "Save", id="custom_field_form.save"),
    ]
    DEFAULT_CSS = """
    CustomFieldFormScreen { align: center middle; }
    CustomFieldFormScreen > VerticalScroll {
        width: 70; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    CustomFieldFormScreen .title { text-style: bold; padding: 1 0 0 0; }
    CustomFieldFormScreen Label { margin-top: 1; color: $text-muted; }
    CustomFieldFormScreen Vertical { height: auto; }
    CustomFieldFormScreen Input, CustomFieldFormScreen Select, CustomFieldFormScreen TextArea { background: $boost; }
    CustomFieldFormScreen TextArea { height: 6; }
    CustomFieldFormScreen Checkbox { margin-top: 1; }
    CustomFieldFormScreen .hint { color: $text-muted; height: auto; }
    CustomFieldFormScreen .error { color: $text-error; height: auto; display: none; }
    CustomFieldFormScreen Horizontal { height: auto; align-horizontal: right; margin: 1 0; }
    CustomFieldFormScreen Button { margin-left: 2; }
    """

    def __init__(
        self, entity: str, save: Save, *, field: FieldDef | None = None, fields: Sequence[FieldDef] = ()
    ) -> None:
        super().__init__()
        self.entity = entity
        self.save = save
        self.field = field
        self.fields = [fd for fd in fields if field is None or fd.id != field.id]

    @property
    def kind(self) -> str:
        """The type being added (the select) or edited (fixed)."""
        if self.field is not None:
            return self.field.type
        value = self.query_one("#type", Select).value
        return value if isinstance(value, str) else "text"

    def compose(self) -> ComposeResult:
        """Label, type, required, then options / reference / lookup path / formula as the type needs."""
        fd = self.field
        noun = RECORD_TYPES[self.entity].lower()
        with VerticalScroll():
            if fd is None:
                yield Static(Content.styled(f"New {noun} field", "bold"), classes="title")
            else:
                yield Static(
                    Content.assemble(("Edit field ", "bold"), (safe_text(fd.label), "bold"), f"  ({fd.key})"),
                    classes="title",
                )
            yield Label("Label *")
            yield Input(fd.label if fd else "", id="label", placeholder="e.g. Renewal date", compact=True)
            yield Static("", id="label-error", classes="error", markup=False)
            yield Label("Type")
            if fd is None:
                yield Select(
                    [(name, value) for value, name in TYPES.items()],
                    value="text",
                    allow_blank=False,
                    id="type",
                    compact=True,
                )
            else:
                yield Static(Content(f"{TYPES.get(fd.type, fd.type)} (a field's type cannot change)"), id="type-fixed")
            yield Checkbox(
                "Required: every record needs a value", fd.required if fd else False, id="required", compact=True
            )
            with Vertical(id="part-options"):
                yield Label("Options, one per line (up to 500)")
                yield TextArea("\n".join(fd.options) if fd else "", id="options", compact=True)
                yield Static("", id="options-error", classes="error", markup=False)
            with Vertical(id="part-reference"):
                yield Label("Links to a")
                if fd is None:
                    choices = [(name, value) for value, name in RECORD_TYPES.items()]
                    yield Select(choices, value="company", allow_blank=False, id="reference_entity", compact=True)
                else:
                    target = RECORD_TYPES.get(fd.reference_entity or "", fd.reference_entity or "?")
                    yield Static(Content(f"{target} (fixed once added)"))
                yield Static("", id="reference_entity-error", classes="error", markup=False)
            with Vertical(id="part-lookup"):
                yield Label("Lookup path: a link, then a field of the record it reaches")
                yield Input(
                    ".".join(fd.lookup_path) if fd else "",
                    id="lookup_path",
                    placeholder="e.g. company.name",
                    compact=True,
                )
                yield Static(self._links_hint(), classes="hint")
                yield Static("", id="lookup_path-error", classes="error", markup=False)
            with Vertical(id="part-formula"):
                yield Label("Formula")
                yield Input(
                    (fd.formula or "") if fd else "", id="formula", placeholder="e.g. amount - cost", compact=True
                )
                yield Static(self._formula_hint(), classes="hint")
                yield Static("", id="formula-error", classes="error", markup=False)
            yield Static("", id="form-error", classes="error", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Save  ctrl+s", id="save", variant="primary")

    def _links_hint(self) -> Content:
        noun = RECORD_TYPES[self.entity].lower()
        links = [
            *lookup_paths.STANDARD_LINKS.get(self.entity, {}),
            *(fd.key for fd in self.fields if fd.type == "reference"),
        ]
        if not links:
            return Content(f"A {noun} links to nothing yet: add a reference field first.")
        return Content(
            f"A {noun} links by: {', '.join(safe_text(link) for link in links)} (e.g. {safe_text(links[0])}.name)"
        )

    def _formula_hint(self) -> Content:
        keys = [safe_text(fd.key) for fd in self.fields if fd.type not in ("lookup",)][:8]
        names = f"; custom fields: {', '.join(keys)}" if keys else ""
        return Content(f'e.g. amount - cost, today() - created, if(amount > 1000, "big", "small"){names}')

    def on_mount(self) -> None:
        """Show the parts the type needs and start in the label (options are added at the end)."""
        self._show_parts()
        options = self.query_one("#options", TextArea)
        options.move_cursor(options.document.end)  # new options go at the end
        self.query_one("#label", Input).focus()

    @on(Select.Changed, "#type")
    def _show_parts(self) -> None:
        kind = self.kind
        for part, kinds in PARTS.items():
            self.query_one(f"#part-{part}").display = kind in kinds
        self.query_one("#required", Checkbox).display = kind not in READ_ONLY

    @on(Input.Changed, "#formula")
    def _formula_typed(self, event: Input.Changed) -> None:
        if self.kind == "formula":
            self._check_formula(event.value)

    @work(exit_on_error=False, exclusive=True, group="custom-field-form-check")
    async def _check_formula(self, text: str) -> None:
        line = self.query_one("#formula-error", Static)
        if not text.strip():
            _say(line, Content(""))
            return
        own_key = self.field.key if self.field else None
        problem = await session_of(self).call(formula_problem, self.entity, own_key, text)
        _say(line, Content(safe_text(problem)) if problem else Content.styled("✓ the formula reads", "$text-success"))

    def _collect(self) -> dict[str, Any] | None:
        """The form as the service takes it (only what changed, when editing); None if a part is missing."""
        kind = self.kind
        values: dict[str, Any] = {"label": self.query_one("#label", Input).value.strip()}
        if kind not in READ_ONLY:
            values["required"] = self.query_one("#required", Checkbox).value
        errors: dict[str, str] = {}
        if kind in PARTS["options"]:
            text = self.query_one("#options", TextArea).text
            values["options"] = [line.strip() for line in text.splitlines() if line.strip()]
            if not values["options"]:
                errors["options"] = "needs at least one option (one per line)"
        if kind == "reference" and self.field is None:
            values["reference_entity"] = self.query_one("#reference_entity", Select).value
        if kind == "lookup":
            values["lookup_path"] = lookup_paths.parse(self.query_one("#lookup_path", Input).value)
        if kind == "formula":
            values["formula"] = self.query_one("#formula", Input).value.strip()
            if not values["formula"]:
                errors["formula"] = "needs a formula, like amount - cost"
        if not values["label"]:
            errors["label"] = "cannot be blank"
        if errors:
            self._show(errors)
            return None
        fd = self.field
        if fd is None:
            return {**values, "type": kind}
        was = {"label": fd.label, "required": fd.required, "options": list(fd.options), "formula": fd.formula,
               "lookup_path": list(fd.lookup_path)}  # fmt: skip
        return {name: value for name, value in values.items() if was.get(name) != value}

    def _show(self, errors: dict[str, str]) -> None:
        lines: dict[str, list[str]] = {}
        for name, message in errors.items():
            name = name.split(".")[0]
            if name == "key":
                name, message = "label", f"its key {message}"
            elif name not in ERROR_LINES and name:
                message = f"{name.replace('_', ' ')} {message}"
            lines.setdefault(name if name in ERROR_LINES else "form", []).append(safe_text(message))
        for line in self.query(".error").results(Static):
            _say(line, Content("\n".join(lines.get((line.id or "").removesuffix("-error"), []))))

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Check and store."""
        self._save()

    @work(exit_on_error=False, exclusive=True, group="custom-field-form-save")
    async def _save(self) -> None:
        values = self._collect()
        if values is None:
            return
        if not values:
            self.dismiss(False)
            return
        errors = await self.save(values)
        if errors:
            self._show(errors)
        else:
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(False)
