"""The tasks screen: my (or everyone's) tasks under Overdue, Today, Upcoming and Done; `x` completes
or reopens one, `s` snoozes it, `n` adds one, enter opens the record it belongs to. `a` shows the
agenda instead: the appointments of the coming week (or day), moved with `[` and `]`. Times are UTC,
like the days the sections are cut at."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from crm_tui import clock
from crm_tui.screens.base import ReloadSoonOnChange, ReportsWorkerErrors, server_files_refused, session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import preferences, tasks
from crm_tui.services.errors import ConflictError, ServiceError
from crm_tui.services.tasks import AgendaDay, AgendaItem, TaskRow, TaskSections
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter
from crm_tui.widgets.mode_tabs import ModeTabs

PREFERENCE = "tasks.scope"
"""The user's choice of "mine" or "everyone", kept between sessions."""
SPANS = {"week": 7, "day": 1}
"""Days the agenda shows at a time."""
_TASK_ONLY = {"toggle_done", "snooze"}
_AGENDA_ONLY = {"span", "shift"}
T = TypeVar("T")


class TasksScreen(ReloadSoonOnChange, ReportsWorkerErrors, Screen[None]):
    """Tasks by urgency, and the agenda of appointments."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding: the list's own enter would hide "Open" from the footer.
        Binding("enter", "open", "Open", priority=True, tooltip="Open the record it belongs to", id="tasks.open"),
        Binding("x", "toggle_done", "Done", tooltip="Complete the task (or reopen a done one)", id="tasks.done"),
        Binding("s", "snooze", "Snooze", tooltip="Due later: in an hour, tomorrow or next week", id="tasks.snooze"),
        Binding("n", "new", "New", tooltip="Add a task due tomorrow 9:00, assigned to you", id="tasks.new"),
        Binding("m", "toggle_scope", "Mine/all", tooltip="My tasks and appointments, or everyone's", id="tasks.scope"),
        Binding(
            "a", "toggle_agenda", "Agenda", tooltip="The appointments by day, or back to the tasks", id="tasks.agenda"
        ),
        Binding("w", "span('week')", "Week", tooltip="The agenda a week at a time", id="tasks.week"),
        Binding("d", "span('day')", "Day", tooltip="The agenda a day at a time", id="tasks.day"),
        Binding("left_square_bracket", "shift(-1)", "Back", key_display="[", tooltip="Earlier days", id="tasks.back"),
        Binding(
            "right_square_bracket", "shift(1)", "Forward", key_display="]", tooltip="Later days", id="tasks.forward"
        ),
        Binding("e", "export", "Export", show=False, tooltip="Tasks and appointments as an iCalendar file", id="tasks.export"),
        Binding("r", "refresh", "Refresh", show=False, tooltip="Read the tasks again", id="tasks.refresh"),
    ]
    DEFAULT_CSS = """
    TasksScreen #heading { height: 1; padding: 0 1; background: $boost; }
    TasksScreen OptionList, TasksScreen OptionList:focus {
        height: 1fr; border: none; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    TasksScreen #agenda { display: none; }
    TasksScreen.-agenda #agenda { display: block; }
    TasksScreen.-agenda #tasks { display: none; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.mine = True
        """Only the user's own tasks (else everyone's); saved as the user's preference."""
        self.agenda_view = False
        self.span = "week"
        self.start: date = clock.now().date()
        """The first day the agenda shows."""
        self.rows: dict[str, TaskRow] = {}
        """The task behind each option id of the task list."""
        self.appointments: dict[str, AgendaItem] = {}
        self._scope_read = False
        self._busy: set[int] = set()
        self._asking = False

    def compose(self) -> ComposeResult:
        """Tabs, a heading, the task list and the (hidden) agenda."""
        yield ModeTabs("tasks")
        yield Static("", id="heading")
        yield OptionList(id="tasks")
        yield OptionList(id="agenda")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Start on the task list (ScreenResume, which follows, reads it)."""
        self.set_focus(self._list())

    def on_screen_resume(self) -> None:
        """Shown (first, or again after another mode or a record screen): read what is in view.
        (Changes missed while another mode was shown also arrive, as DataChanged, from the app.)"""
        if self._asking:  # a dialog of ours closed: its action reads the list itself
            self._asking = False
            return
        self.load()

    async def _ask(self, dialog: ModalScreen[T]) -> T:
        """The answer of a dialog; closing it does not read the list again (the action does)."""
        self._asking = True
        return await self.app.push_screen_wait(dialog)

    def _list(self) -> OptionList:
        return self.query_one("#agenda" if self.agenda_view else "#tasks", OptionList)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Task keys only on the task list, the agenda's own keys only on the agenda (and so in the footer)."""
        if action in _TASK_ONLY:
            return not self.agenda_view
        if action in _AGENDA_ONLY:
            return self.agenda_view
        return True

    # -- reading ---------------------------------------------------------------------------------
    @work(group="tasks-read", exclusive=True, exit_on_error=False)
    async def load(self, *, follow: int | None = None, keep_place: bool = False) -> None:
        """Read what is in view and draw it. `follow`: highlight that task; `keep_place`: stay at the
        same line (the task there just moved to another section) rather than follow the task."""
        session = session_of(self)
        if not self._scope_read:
            scope = await session.call(preferences.get_preference, session.ctx.user_id, PREFERENCE, "mine")
            self.mine, self._scope_read = scope != "everyone", True
        user_id = session.ctx.user_id if self.mine else None
        if self.agenda_view:
            days = await session.call(tasks.agenda, user_id, self.start, SPANS[self.span])
            self._draw_agenda(days)
        else:
            sections = await session.call(tasks.task_sections, user_id, now=clock.now())
            self._draw_tasks(sections, follow, keep_place)
        self._draw_heading()

    def _draw_heading(self) -> None:
        scope = "mine" if self.mine else "everyone"
        if self.agenda_view:
            last = self.start + timedelta(days=SPANS[self.span] - 1)
            span = f"{self.start:%a %Y-%m-%d}" + (f" – {last:%a %Y-%m-%d}" if last != self.start else "")
            parts = [("Agenda", "bold"), f" · {span} · {scope}", (" · times in UTC · a tasks", "dim")]
        else:
            parts = [("Tasks", "bold"), f" · {scope}", (" · times in UTC · m mine/everyone · a agenda", "dim")]
        self.query_one("#heading", Static).update(Content.assemble(*parts))

    def _draw_tasks(self, sections: TaskSections, follow: int | None, keep_place: bool) -> None:
        box = self.query_one("#tasks", OptionList)
        current = self._current_task()
        place = box.highlighted
        options: list[Option] = []
        self.rows = {}
        if not any(section.tasks for section in sections if section.key != "done"):
            options.append(Option(Content.styled("No tasks due. Press n to add one.", "dim"), disabled=True))
        for section in sections:
            if not section.tasks:
                continue
            count = f"the first {len(section.tasks)}" if section.more else str(len(section.tasks))
            style = "bold $text-error" if section.key == "overdue" else "bold $text-accent"
            options.append(Option(Content.styled(f"{section.label} ({count})", style), disabled=True))
            for row in section.tasks:
                option_id = f"task-{row.id}"
                self.rows[option_id] = row
                options.append(Option(self._task_line(section.key, row), id=option_id))
        box.set_options(options)
        wanted = follow if follow is not None else (None if keep_place or current is None else current.id)
        self._highlight(box, f"task-{wanted}" if wanted is not None else None, place)

    def _task_line(self, section: str, row: TaskRow) -> Content:
        if section == "done":
            due = f"done {row.done_at:%Y-%m-%d %H:%M}" if row.done_at else "done"
        elif row.due_at is None:
            due = "no due date"
        else:
            due = f"{row.due_at:%H:%M}" if section == "today" else f"{row.due_at:%a %Y-%m-%d %H:%M}"
        parts: list[tuple[str, str] | str] = [
            ("☑ " if row.done else "☐ ", "dim"),
            (f"{due:<21} ", "$text-error" if section == "overdue" else "dim"),
            (safe_text(row.title), "dim strike") if row.done else safe_text(row.title),
        ]
        if row.record is not None:
            parts.append((f"  · {safe_text(row.record.title)}", "dim"))
        if not self.mine:
            parts.append((f"  · {safe_text(row.assignee) or 'unassigned'}", "$text-accent"))
        return Content.assemble(*parts)

    def _draw_agenda(self, days: list[AgendaDay]) -> None:
        box = self.query_one("#agenda", OptionList)
        place = box.highlighted
        options: list[Option] = []
        self.appointments = {}
        today = clock.now().date()
        if not any(day.appointments for day in days):
            options.append(Option(Content.styled("No appointments on these days. Press ] for later days, [ for earlier ones.", "dim"), disabled=True))  # fmt: skip
        for day in days:
            options.append(Option(Content.styled(f"{day.day:%a %d %b %Y}" + ("  today" if day.day == today else ""), "bold $text-accent"), disabled=True))  # fmt: skip
            if not day.appointments:
                options.append(Option(Content.styled("  nothing planned", "dim"), disabled=True))
            for item in day.appointments:
                option_id = f"appointment-{item.id}"
                self.appointments[option_id] = item
                options.append(Option(self._appointment_line(item), id=option_id))
            if day.cut:
                options.append(Option(Content.styled("  … too many appointments to list: press d for one day", "$text-warning"), disabled=True))  # fmt: skip
                break
        box.set_options(options)
        self._highlight(box, None, place)

    @staticmethod
    def _appointment_line(item: AgendaItem) -> Content:
        ends = (
            f"{item.ends_at:%H:%M}" if item.ends_at.date() == item.starts_at.date() else f"{item.ends_at:%d %b %H:%M}"
        )
        parts: list[tuple[str, str] | str] = [(f"  {item.starts_at:%H:%M}–{ends}  ", "bold"), safe_text(item.title)]
        if item.location:
            parts.append((f"  @ {safe_text(item.location)}", "dim"))
        if item.record is not None:
            parts.append((f"  · {safe_text(item.record.title)}", "dim"))
        return Content.assemble(*parts)

    @staticmethod
    def _highlight(box: OptionList, option_id: str | None, place: int | None) -> None:
        """Highlight `option_id` if it is listed, else the first enabled line from `place` on."""
        options = box.options
        enabled = [index for index, option in enumerate(options) if not option.disabled]
        if not enabled:
            box.highlighted = None
            return
        by_id = next((i for i in enabled if option_id is not None and options[i].id == option_id), None)
        if by_id is None:
            start = place or 0
            by_id = next((i for i in enabled if i >= start), enabled[-1])
        box.highlighted = by_id

    # -- what is highlighted ---------------------------------------------------------------------
    def _current_option(self) -> str | None:
        box = self._list()
        if box.highlighted is None or box.highlighted >= box.option_count:
            return None
        return box.get_option_at_index(box.highlighted).id

    def _current_task(self) -> TaskRow | None:
        box = self.query_one("#tasks", OptionList)
        if box.highlighted is None or box.highlighted >= box.option_count:
            return None
        return self.rows.get(box.get_option_at_index(box.highlighted).id or "")

    # -- actions ---------------------------------------------------------------------------------
    def action_open(self) -> None:
        """Open the record the highlighted task or appointment belongs to."""
        option_id = self._current_option() or ""
        item = self.appointments.get(option_id) if self.agenda_view else self.rows.get(option_id)
        if item is None:
            return
        if item.record is None:
            what = "appointment" if self.agenda_view else "task"
            self.notify(f"This {what} does not belong to a record.", severity="warning")
            return
        self.app.open_record(item.record.entity, item.record.id)  # type: ignore[attr-defined]

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        # Enter is the screen's (priority) binding; this is the mouse.
        self.action_open()

    @work(group="tasks-write", exit_on_error=False)
    async def action_toggle_done(self) -> None:
        """Complete the highlighted task, or reopen it if it is done."""
        row = self._current_task()
        if row is None or row.id in self._busy:
            return  # a second x before the first was saved would only meet a conflict
        session = session_of(self)
        self._busy.add(row.id)
        try:
            change = tasks.reopen if row.done else tasks.complete
            await session.call(change, session.ctx, row.id, version=row.version)
        except ServiceError as error:
            self._failed(error, "Not changed")
            return
        finally:
            self._busy.discard(row.id)
        self.notify(f"{'Reopened' if row.done else 'Done'}: {safe_text(row.title)}", markup=False)
        self.load(keep_place=True)

    @work(group="tasks-dialog", exclusive=True, exit_on_error=False)
    async def action_snooze(self) -> None:
        """Move the highlighted task's due time: in an hour, tomorrow 9:00 or next Monday 9:00."""
        row = self._current_task()
        if row is None:
            return
        if row.done:
            self.notify("This task is done: press x to reopen it first.", severity="warning")
            return
        choices = tasks.snooze_choices(clock.now())
        question = Content.assemble("Snooze “", safe_text(row.title), "” until…")
        labels = [Content.assemble(label, (f"  {at:%a %Y-%m-%d %H:%M} UTC", "dim")) for label, at in choices]
        picked = await self._ask(ChoiceScreen(question, labels))
        if picked is None:
            return
        session = session_of(self)
        try:
            await session.call(tasks.snooze, session.ctx, row.id, version=row.version, until=choices[picked][1])
        except ServiceError as error:
            self._failed(error, "Not snoozed")
            return
        self.load(follow=row.id)

    @work(group="tasks-dialog", exclusive=True, exit_on_error=False)
    async def action_new(self) -> None:
        """Add a task: only its title is asked; it is due tomorrow 9:00 and assigned to me."""
        due = tasks.default_due(clock.now())
        title = await self._ask(
            TextPromptScreen(Content(f"New task, due {due:%a %Y-%m-%d %H:%M} UTC, for you"), placeholder="Call Jane about the renewal")
        )  # fmt: skip
        if not title:
            return
        session = session_of(self)
        try:
            made = await session.call(tasks.create_task, session.ctx, title, due, session.ctx.user_id)
        except ServiceError as error:
            self._failed(error, "Not added")
            return
        self.load(follow=made.id)

    def action_toggle_scope(self) -> None:
        """Show my tasks or everyone's, and remember the choice."""
        self.mine, self._scope_read = not self.mine, True
        session = session_of(self)
        scope = "mine" if self.mine else "everyone"
        self.run_worker(session.call(preferences.set_preference, session.ctx.user_id, PREFERENCE, scope),
                        group="tasks-save", exit_on_error=False)  # fmt: skip
        self.load()

    def action_toggle_agenda(self) -> None:
        """Show the agenda instead of the tasks, or the tasks again."""
        self.agenda_view = not self.agenda_view
        self.set_class(self.agenda_view, "-agenda")
        self.set_focus(self._list())
        self.refresh_bindings()
        self.load()

    def action_span(self, span: str) -> None:
        """Show the agenda a week or a day at a time."""
        self.span = span
        self.load()

    def action_shift(self, direction: int) -> None:
        """Move the agenda one span earlier (-1) or later (1)."""
        self.start += timedelta(days=SPANS[self.span] * direction)
        self.load()

    def action_export(self) -> None:
        """Write the tasks and appointments as an iCalendar (.ics) file for a calendar app."""
        from crm_tui.screens.export_dialog import ExportDialog, toast_result

        if not server_files_refused(self):
            self.app.push_screen(ExportDialog("calendar"), toast_result(self))

    def action_refresh(self) -> None:
        """Read everything again."""
        self.load()

    def _failed(self, error: ServiceError, title: str) -> None:
        if isinstance(error, ConflictError):
            self.notify("Someone else changed this task meanwhile; it was read again, try again.", severity="warning")
            self.load()
            return
        self.notify(safe_text(error), title=title, severity="error", markup=False)

    # -- refreshing ------------------------------------------------------------------------------
    def reload_after_change(self) -> None:
        """The workspace changed (a moment ago): read again."""
        self.load()
