"""A record's detail screen: its form on the left (every standard and custom field, each with its
own editor, errors shown beside the field), related records and the activity timeline on the right.
ctrl+s saves; Esc asks before dropping unsaved changes; a conflicting save shows both values."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.screens.base import DataChanged, ReportsWorkerErrors, session_of
from crm_tui.screens.record_activity import RecordActivity
from crm_tui.screens.record_picker import RecordPickerScreen
from crm_tui.services import record_form, timeline
from crm_tui.services.errors import ConflictError, ServiceError, ValidationFailed
from crm_tui.services.list_fields import LABELS
from crm_tui.services.record_form import RecordForm
from crm_tui.services.record_lists import Choice
from crm_tui.text import safe_text
from crm_tui.widgets.field_editors import ReferencePicker, make_editor, value_of
from crm_tui.widgets.footer import BatchedFooter

_ICONS = {"note": "✎", "call": "☎", "email": "✉", "task": "☐", "task_done": "☑", "appointment": "◷", "created": "+",
          "changed": "~", "moved": "→", "converted": "⇄", "deleted": "✕", "restored": "↺", "merged": "⧉"}  # fmt: skip


def _dom_id(key: str) -> str:
    return "f-" + key.replace(".", "--")


class RecordScreen(RecordActivity, ReportsWorkerErrors, Screen[None]):
    """Everything about one company, contact, lead or deal."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True, tooltip="Save the form", id="record.save"),
        Binding("escape", "close", "Back", tooltip="Back (asks before dropping unsaved changes)", id="record.close"),
        Binding("e", "edit", "Edit", tooltip="Put the cursor in the form", id="record.edit"),
        Binding("a", "add_note", "Note", tooltip="Add a note", id="record.note"),
        Binding("t", "add_task", "Task", tooltip="Add a task (title, due, assignee, reminder)", id="record.task"),
        Binding("c", "log_contact", "Log call/email", tooltip="Log a call or an email", id="record.log"),
        Binding("C", "convert", "Convert", tooltip="Convert the lead (cannot be undone)", id="record.convert"),
        Binding("m", "move_deal", "Move", tooltip="Move the deal to another stage: win it, lose it, reopen it", id="record.move"),
    ]
    DEFAULT_CSS = """
    RecordScreen #title { height: 1; padding: 0 1; text-style: bold; background: $boost; }
    RecordScreen #form { width: 1fr; padding: 0 1; }
    RecordScreen #side { width: 1fr; border-left: vkey $foreground 20%; }
    RecordScreen .label { color: $text-muted; margin-top: 1; }
    RecordScreen .label.-required { color: $text; }
    RecordScreen .error { color: $text-error; height: auto; display: none; }
    RecordScreen .error.-shown { display: block; }
    RecordScreen TextArea { height: 4; }
    RecordScreen SelectionList { height: auto; max-height: 6; }
    RecordScreen .heading { padding: 0 1; text-style: bold; color: $text-accent; }
    RecordScreen #related { height: auto; max-height: 10; border: none; }
    RecordScreen #timeline { height: 1fr; border: none; }
    """

    def __init__(self, entity: str, record_id: int) -> None:
        super().__init__()
        self.entity = entity
        self.record_id = record_id
        self.form: RecordForm | None = None
        self.related_items: list[timeline.Related] = []
        self._loaded: dict[str, Any] = {}
        self._reading = asyncio.Lock()

    def compose(self) -> ComposeResult:
        """Title, then the form beside the related records and the timeline."""
        yield Static("", id="title")
        with Horizontal():
            yield VerticalScroll(id="form")
            with Vertical(id="side"):
                yield Static("Related", classes="heading")
                yield OptionList(id="related")
                yield Static("Timeline", classes="heading")
                yield OptionList(id="timeline")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the record."""
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Letters type into the form's fields; they act only when the form does not have the focus.
        Convert is for leads only, Move for deals."""
        if action == "convert" and self.entity != "lead":
            return False
        if action == "move_deal" and self.entity != "deal":
            return False
        if action in ("add_note", "add_task", "log_contact", "convert", "edit", "move_deal"):
            return not isinstance(self.focused, Input) and not self._in_form()
        return True

    def _in_form(self) -> bool:
        focused = self.focused
        return focused is not None and any(node.id == "form" for node in focused.ancestors)

    # -- reading -------------------------------------------------------------------------------
    @work(group="record-read", exit_on_error=False)
    async def load(self, *, form: bool = True) -> None:
        """Read the form, the related records and the timeline. Reads run one after another:
        cancelling one halfway through rebuilding the form would leave it half built."""
        async with self._reading:
            await self._load(form=form)

    async def _load(self, *, form: bool) -> None:
        session = session_of(self)
        if form:
            self.form = await session.call(record_form.read_form, self.entity, self.record_id)
            await self._fill_form(self.form)
        self.related_items = await session.call(timeline.related, self.entity, self.record_id)
        items = await session.call(timeline.timeline, self.entity, self.record_id)
        related = self.query_one("#related", OptionList)
        related.clear_options()
        for item in self.related_items:
            related.add_option(Option(Content.assemble(safe_text(item.title), (f"  {safe_text(item.detail)}", "dim"))))
        if not self.related_items:
            related.add_option(Option(Content("nothing linked yet"), disabled=True))
        lines = self.query_one("#timeline", OptionList)
        lines.clear_options()
        for item in items:
            who = f" · {safe_text(item.who)}" if item.who else ""
            head = (f"{_ICONS.get(item.kind, '•')} {item.at:%Y-%m-%d %H:%M}{who}", "dim")
            lines.add_option(Option(Content.assemble(head, "\n", safe_text(item.text, multiline=True))))
        if not items:
            lines.add_option(Option(Content("nothing yet: a adds a note, t a task, c logs a call"), disabled=True))
        if self.focused is None:
            self.set_focus(lines)

    async def _fill_form(self, form: RecordForm) -> None:
        label = LABELS[self.entity][0]
        locked = (f"  · read-only: {form.locked}", "dim") if form.locked else ""
        where: Content | str = ""
        if form.stage is not None:
            style = {"won": "$text-success", "lost": "$text-error"}.get(form.stage.kind, "")
            where = Content.assemble("  ", (safe_text(form.stage.where), "not bold"), " ", (safe_text(form.stage.detail), style or "dim"))
        self.query_one("#title", Static).update(Content.assemble(f"{label} · ", safe_text(form.title), where, locked))
        box = self.query_one("#form", VerticalScroll)
        await box.remove_children()
        users = [(user.name, user.id) for user in form.users]
        widgets: list[Widget] = []
        for field in form.fields:
            mark = " *" if field.required else ""
            widgets.append(
                Static(Content(safe_text(field.label) + mark), classes="label -required" if field.required else "label")
            )
            widgets.append(make_editor(field, users, id=_dom_id(field.key)))
            widgets.append(Static("", id=f"{_dom_id(field.key)}-error", classes="error"))
        await box.mount_all(widgets)
        self._loaded = self.values()

    def values(self) -> dict[str, Any]:
        """What every editable field holds now, by form key."""
        if self.form is None:
            return {}
        found: dict[str, Any] = {}
        for field in self.form.fields:
            editors = self.query(f"#{_dom_id(field.key)}")
            if field.editor != "readonly" and editors:  # none while the form is being rebuilt
                found[field.key] = value_of(editors.first())
        return found

    def changed(self) -> dict[str, Any]:
        """The fields the user changed since the form was read."""
        now = self.values()
        return {key: value for key, value in now.items() if self._loaded.get(key) != value}

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        """Leaving a field checks what it holds: the message a save would give shows at once."""
        widget = event.widget
        if self.form is None or not (widget.id or "").startswith("f-") or widget.id.endswith("-error"):
            return
        field = next((f for f in self.form.fields if _dom_id(f.key) == widget.id), None)
        if field is not None and field.editor != "readonly":
            self._check(field.key, value_of(widget))

    @work(group="record-check", exit_on_error=False)
    async def _check(self, key: str, typed: Any) -> None:
        message = await session_of(self).call(record_form.check_field, self.entity, self.record_id, key, typed)
        boxes = self.query(f"#{_dom_id(key)}-error")
        if boxes:
            boxes.first(Static).update(Content(safe_text(message or "")))
            boxes.first(Static).set_class(bool(message), "-shown")

    def on_reference_picker_pick(self, message: ReferencePicker.Pick) -> None:
        """A reference field wants a record: the picker searches the field's record type."""
        picker = message.picker

        def chosen(choice: Choice | None) -> None:
            if choice is not None:
                picker.choose(choice.id, choice.title)
            self.set_focus(picker)

        self.app.push_screen(RecordPickerScreen(picker.entity, message.text), callback=chosen)

    def on_data_changed(self, message: DataChanged) -> None:
        """Someone changed this record or its activity: the side panel follows; the form follows
        too unless the user is editing it (their save will meet the change as a conflict)."""
        self.load(form=not self.changed())

    # -- saving --------------------------------------------------------------------------------
    def action_save(self) -> None:
        """Save the changed fields."""
        self._save()

    @work(group="record-save", exclusive=True, exit_on_error=False)
    async def _save(self, typed: dict[str, Any] | None = None, version: int | None = None) -> None:
        form = self.form
        if form is None:
            return
        typed = self.changed() if typed is None else typed
        if not typed:
            self.notify("Nothing to save")
            return
        session = session_of(self)
        self._show_errors({})
        try:
            saved = await session.call(
                record_form.save_form, session.ctx, self.entity, self.record_id, version or form.version, typed
            )
        except ValidationFailed as failed:
            self._show_errors(failed.errors)
            self.notify(safe_text(failed), title="Not saved", severity="error", markup=False)
            return
        except ConflictError:
            self._resolve_conflict(typed)
            return
        except ServiceError as error:
            self.notify(safe_text(error), title="Not saved", severity="error", markup=False)
            return
        self.notify(f"Saved {safe_text(saved.title)}", markup=False)
        self.load()

    def _show_errors(self, errors: dict[str, str]) -> None:
        if self.form is None:
            return
        for field in self.form.fields:
            message = (
                errors.get(field.key) or errors.get(f"{field.key}_id") or errors.get(field.key.removesuffix("_id"))
            )
            box = self.query_one(f"#{_dom_id(field.key)}-error", Static)
            box.update(Content(safe_text(message or "")))
            box.set_class(bool(message), "-shown")
        whole = errors.get("")
        if whole:
            self.notify(safe_text(whole), severity="error", markup=False)

    @work(group="record-dialog", exclusive=True, exit_on_error=False)
    async def _resolve_conflict(self, mine: dict[str, Any]) -> None:
        """Someone saved first: for each field both changed, show both values and let the user pick;
        fields only they changed are kept; then save again on their version."""
        from crm_tui.screens.choice import ChoiceScreen

        session = session_of(self)
        fresh = await session.call(record_form.read_form, self.entity, self.record_id)
        theirs = {field.key: field.value for field in fresh.fields}
        labels = {field.key: field.label for field in fresh.fields}
        keep: dict[str, Any] = {}
        for key, value in mine.items():
            stored = theirs.get(key)
            if stored == value:
                continue
            if stored == self._loaded.get(key):
                keep[key] = value  # they did not touch it: mine stands
                continue
            question = Content.assemble(
                (f"{safe_text(labels.get(key, key))}", "bold"), " was changed by someone else while you edited it."
            )
            choices = [
                Content(f"Keep yours: {safe_text(value) or '(blank)'}"),
                Content(f"Take theirs: {safe_text(stored) or '(blank)'}"),
            ]
            picked = await self.app.push_screen_wait(ChoiceScreen(question, choices, tone="error"))
            if picked is None:
                self.notify(
                    "Not saved: the record changed meanwhile; your edits are still in the form", severity="warning"
                )
                return
            if picked == 0:
                keep[key] = value
        self.form = fresh
        await self._fill_form(fresh)
        for key, value in keep.items():
            self._put(key, value)
        if keep:
            self._save(keep, fresh.version)
        else:
            self.notify("Took their version; nothing of yours left to save")

    def _put(self, key: str, value: Any) -> None:
        widget = self.query_one(f"#{_dom_id(key)}")
        if isinstance(widget, Input):
            widget.value = str(value or "")

    # -- navigation ----------------------------------------------------------------------------
    def action_edit(self) -> None:
        """Put the cursor in the first field of the form."""
        editors = [w for w in self.query_one("#form").children if w.focusable]
        if editors:
            self.set_focus(editors[0])

    def action_close(self) -> None:
        """Back to where the record was opened from, asking first if there are unsaved changes."""
        self._close()

    @work(group="record-dialog", exclusive=True, exit_on_error=False)
    async def _close(self) -> None:
        from crm_tui.screens.confirm import ConfirmScreen

        if self.changed():
            sure = await self.app.push_screen_wait(
                ConfirmScreen(Content("Drop your unsaved changes?"), yes="Drop", no="Keep editing")
            )
            if not sure:
                return
        self.dismiss()

    @on(OptionList.OptionSelected, "#related")
    def _open_related(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.related_items):
            item = self.related_items[event.option_index]
            self.app.open_record(item.entity, item.id)  # type: ignore[attr-defined]
