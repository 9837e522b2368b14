"""The custom fields settings: a record type's fields in form order, with how many records hold a
value and which formulas and lookups read each; add, edit, rename, reorder and remove them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.screens.base import DataChanged, ReportsWorkerErrors, session_of
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.custom_field_form import TYPES, CustomFieldFormScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import custom_field_admin
from crm_tui.services.custom_field_admin import FieldRow
from crm_tui.services.errors import ServiceError, ValidationFailed
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter

RECORD_TYPES = (("company", "Companies"), ("contact", "Contacts"), ("lead", "Leads"), ("deal", "Deals"))
"""The record types that have custom fields, in the order of the header (and keys 1-4)."""
ENTITIES = [entity for entity, _ in RECORD_TYPES]
NOUNS = {"company": "company", "contact": "contact", "lead": "lead", "deal": "deal"}
PLURALS = dict(RECORD_TYPES)


def describe(row: FieldRow) -> Content:
    """One line of the list: label, type, key, required, what it holds and who reads it."""
    fd = row.field
    parts: list[str | tuple[str, str] | Content] = [
        (safe_text(fd.label), "bold"),
        "  ",
        (TYPES.get(fd.type, fd.type), "$accent"),
    ]
    if fd.type == "formula" and fd.formula:
        parts += ["  = ", safe_text(fd.formula)]
    elif fd.type == "lookup" and fd.lookup_path:
        parts += ["  ← ", safe_text(".".join(fd.lookup_path))]
    elif fd.type == "reference" and fd.reference_entity:
        parts += ["  → ", safe_text(fd.reference_entity)]
    parts += [("  · ", "$text-muted"), (safe_text(fd.key), "$text-muted")]
    if fd.required:
        parts += [("  · ", "$text-muted"), ("required", "$warning")]
    parts += [("  · ", "$text-muted"), (f"{row.values:,} value{'s' if row.values != 1 else ''}", "$text-muted")]
    if row.used_by:
        parts += [("  · used by ", "$text-muted"), safe_text(", ".join(row.used_by))]
    return Content.assemble(*parts)



async def _errors_of(call: Awaitable[Any], then: Callable[[Any], Any] | None = None) -> dict[str, str] | None:
    """Await a settings service call for the form: its errors by field, or None once it is done."""
    try:
        result = await call
    except ValidationFailed as error:
        return error.errors
    except ServiceError as error:
        return {"": str(error)}
    if then is not None:
        then(result)
    return None

class CustomFieldsScreen(ReportsWorkerErrors, Screen[None]):
    """The custom fields of one record type (`entity`: company, contact, lead or deal); 1-4 switch type."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="custom_fields.back"),
        Binding("n", "add", "Add", id="custom_fields.add"),
        Binding("e", "edit", "Edit", key_display="e/⏎", id="custom_fields.edit"),
        Binding("r", "rename", "Rename", id="custom_fields.rename"),
        Binding("K,shift+up", "move(-1)", "Up", key_display="K", id="custom_fields.up"),
        Binding("J,shift+down", "move(1)", "Down", key_display="J", id="custom_fields.down"),
        Binding("d,delete", "remove", "Remove", id="custom_fields.remove"),
        Binding("tab,right_square_bracket", "cycle(1)", "Next type", key_display="tab", id="custom_fields.next_type"),
        Binding(
            "shift+tab,left_square_bracket", "cycle(-1)", "Previous type", show=False, id="custom_fields.previous_type"
        ),
        Binding("1", "show_type(0)", "Companies", show=False, id="custom_fields.companies"),
        Binding("2", "show_type(1)", "Contacts", show=False, id="custom_fields.contacts"),
        Binding("3", "show_type(2)", "Leads", show=False, id="custom_fields.leads"),
        Binding("4", "show_type(3)", "Deals", show=False, id="custom_fields.deals"),
    ]
    DEFAULT_CSS = """
    CustomFieldsScreen { layout: vertical; }
    CustomFieldsScreen .heading { height: 1; padding: 0 1; background: $panel; }
    CustomFieldsScreen #empty { height: auto; padding: 1 2; color: $text-muted; }
    CustomFieldsScreen OptionList { height: 1fr; border: round $panel; }
    CustomFieldsScreen OptionList:focus { border: round $accent; }
    CustomFieldsScreen .hint { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, entity: str = "deal") -> None:
        if entity not in ENTITIES:
            raise ValueError(f"custom fields exist for {', '.join(ENTITIES)}, not {entity!r}")
        super().__init__()
        self.entity = entity
        self.rows: list[FieldRow] = []

    def compose(self) -> ComposeResult:
        """The record types, the fields of the current one, a line of keys."""
        yield Static(self._heading(), id="types", classes="heading")
        yield Static("", id="empty")
        yield OptionList(id="fields")
        yield Static(
            "1-4 or tab: record type · n add · e edit · r rename · K/J reorder · d remove · esc back", classes="hint"
        )
        yield BatchedFooter()

    def _heading(self) -> Content:
        parts: list[str | tuple[str, str]] = [("Custom fields  ", "bold")]
        for number, (entity, name) in enumerate(RECORD_TYPES, 1):
            parts.append((f" {number} {name} ", "bold reverse $accent" if entity == self.entity else "$text-muted"))
            parts.append(" ")
        return Content.assemble(*parts)

    def on_mount(self) -> None:
        """Read the fields."""
        self.query_one("#fields", OptionList).focus()
        self.reload()

    @property
    def current(self) -> FieldRow | None:
        """The highlighted field."""
        index = self.query_one("#fields", OptionList).highlighted
        return self.rows[index] if index is not None and 0 <= index < len(self.rows) else None

    @work(exit_on_error=False, exclusive=True, group="custom-fields-load")
    async def reload(self, keep: int | None = None) -> None:
        """Read the current record type's fields again, keeping (or moving to) the field `keep`."""
        entity = self.entity
        keep = keep or (self.current.field.id if self.current else None)
        rows = await session_of(self).call(custom_field_admin.fields, entity)
        if entity != self.entity:
            return
        self.rows = rows
        option_list = self.query_one("#fields", OptionList)
        was = option_list.highlighted or 0
        option_list.set_options(Option(describe(row), id=str(row.field.id)) for row in rows)
        ids = [row.field.id for row in rows]
        option_list.highlighted = ids.index(keep) if keep in ids else (min(was, len(ids) - 1) if ids else None)
        empty = self.query_one("#empty", Static)
        empty.update(Content(f"No custom fields on {PLURALS[entity].lower()} yet: press n to add one."))
        empty.display = not rows

    async def _fresh(self, field_id: int) -> FieldRow | None:
        """The field as stored now (keys typed fast may act before the list is re-read)."""
        rows = await session_of(self).call(custom_field_admin.fields, self.entity)
        row = next((row for row in rows if row.field.id == field_id), None)
        if row is None:
            self.notify("That field was removed meanwhile.", severity="warning")
            self.reload()
        return row

    def on_data_changed(self, message: DataChanged) -> None:
        """Someone else changed the workspace: read the fields again (own changes reload themselves)."""
        if message.event is None:
            self.reload()

    def _failed(self, error: ServiceError, title: str) -> None:
        text = "; ".join(error.errors.values()) if isinstance(error, ValidationFailed) else str(error)
        self.notify(safe_text(text), title=title, severity="warning", markup=False)

    # -- record types ---------------------------------------------------------------------------
    def action_show_type(self, index: int) -> None:
        """Show the fields of record type number `index` (0: companies ... 3: deals)."""
        entity = ENTITIES[index % len(ENTITIES)]
        if entity != self.entity:
            self.entity = entity
            self.query_one("#types", Static).update(self._heading())
            self.rows = []
            self.query_one("#fields", OptionList).clear_options()
            self.reload()

    def action_cycle(self, step: int) -> None:
        """Show the next (or previous) record type."""
        self.action_show_type(ENTITIES.index(self.entity) + step)

    # -- changes -----------------------------------------------------------------------------
    def action_back(self) -> None:
        """Close the settings."""
        self.dismiss(None)

    def action_add(self) -> None:
        """Add a field at the end of the form."""
        entity = self.entity
        session = session_of(self)
        added: list[int] = []

        async def save(values: dict[str, Any]) -> dict[str, str] | None:
            label, kind = values.pop("label"), values.pop("type")
            return await _errors_of(
                session.call(custom_field_admin.add_field, session.ctx, entity, label, kind, **values),
                lambda made: added.append(made.id),
            )

        def done(saved: bool | None) -> None:
            if saved and added:
                self.notify("Field added.", markup=False)
                self.reload(keep=added[0])

        fields = [row.field for row in self.rows]
        self.app.push_screen(CustomFieldFormScreen(entity, save, fields=fields), callback=done)

    @on(OptionList.OptionSelected, "#fields")
    def _selected(self) -> None:
        self.action_edit()

    @work(exit_on_error=False, group="custom-fields-edit")
    async def action_edit(self) -> None:
        """Edit the highlighted field (its type and key stay)."""
        row = self.current and await self._fresh(self.current.field.id)
        if row is None:
            return
        fd = row.field
        session = session_of(self)

        async def save(values: dict[str, Any]) -> dict[str, str] | None:
            return await _errors_of(
                session.call(custom_field_admin.change_field, session.ctx, fd.id, version=fd.version, **values)
            )

        def done(saved: bool | None) -> None:
            if saved:
                self.notify("Field saved.", markup=False)
                self.reload(keep=fd.id)

        fields = [other.field for other in self.rows]
        self.app.push_screen(CustomFieldFormScreen(fd.entity, save, field=fd, fields=fields), callback=done)

    @work(exit_on_error=False, group="custom-fields-edit")
    async def action_rename(self) -> None:
        """Give the highlighted field a new label (its key stays, so formulas keep working)."""
        row = self.current and await self._fresh(self.current.field.id)
        if row is None:
            return
        fd = row.field
        question = Content.assemble("New label for ", (safe_text(fd.label), "bold"), f" (its key {fd.key} stays)")
        self.app.push_screen(
            TextPromptScreen(question, value=fd.label), callback=lambda label: self._rename(fd.id, fd.version, label)
        )

    @work(exit_on_error=False, group="custom-fields-edit")
    async def _rename(self, field_id: int, version: int, label: str | None) -> None:
        if not label:
            return
        session = session_of(self)
        try:
            await session.call(custom_field_admin.change_field, session.ctx, field_id, version=version, label=label)
        except ServiceError as error:
            self._failed(error, "Not renamed")
            return
        self.notify(f"Renamed to {safe_text(label)}.", markup=False)
        self.reload(keep=field_id)

    @work(exit_on_error=False, group="custom-fields-edit")
    async def action_move(self, step: int) -> None:
        """Move the highlighted field up (-1) or down (1) the form; the cursor stays on it."""
        row = self.current
        if row is None:
            return
        session = session_of(self)
        try:
            await session.call(custom_field_admin.move_field, session.ctx, row.field.id, step)
        except ServiceError as error:
            self._failed(error, "Not moved")
            return
        self.reload(keep=row.field.id)

    @work(exit_on_error=False, group="custom-fields-edit")
    async def action_remove(self) -> None:
        """Remove the highlighted field after saying what goes with it."""
        row = self.current and await self._fresh(self.current.field.id)
        if row is None:
            return
        fd = row.field
        noun = NOUNS[fd.entity]
        parts: list[str | tuple[str, str]] = ["Remove the field ", (safe_text(fd.label), "bold"), "?\n\n"]
        if row.values:
            many = f"{row.values:,} {noun}{'s' if row.values != 1 else ''}"
            parts.append(f"Its values on {many} will be removed (they are kept in the event log).")
        else:
            parts.append(f"No {noun} holds a value.")
        if row.used_by:
            verb = "reads" if len(row.used_by) == 1 else "read"
            parts.append(f"\n\n{safe_text(', '.join(row.used_by))} {verb} it and will show nothing.")
        self.app.push_screen(
            ConfirmScreen(Content.assemble(*parts), yes="Remove"),
            callback=lambda yes: self._remove(fd.id, fd.version, fd.label, yes),
        )

    @work(exit_on_error=False, group="custom-fields-edit")
    async def _remove(self, field_id: int, version: int, label: str, yes: bool | None) -> None:
        if not yes:
            return
        session = session_of(self)
        try:
            count = await session.call(custom_field_admin.remove_field, session.ctx, field_id, version=version)
        except ServiceError as error:
            self._failed(error, "Not removed")
            return
        kept = f" and its {count:,} value{'s' if count != 1 else ''} (kept in the event log)" if count else ""
        self.notify(f"Removed {safe_text(label)}{kept}.", markup=False)
        self.reload()
