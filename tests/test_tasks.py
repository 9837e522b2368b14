"""Tasks and the agenda: the sections (on both back ends, with an injected `now`), completing,
reopening and snoozing; then the screen from the keyboard, checked against the database."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from crm_tui import clock
from crm_tui.app import CrmApp
from crm_tui.models import AppointmentAttendee, Event, Task
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.record_screen import RecordScreen
from crm_tui.screens.tasks import PREFERENCE, TasksScreen
from crm_tui.services import preferences, records, tasks
from crm_tui.services.context import Context
from crm_tui.services.errors import ConflictError
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE
from tests.conftest import FROZEN_NOW
from tests.helpers import make_deal

NOW = datetime(2026, 11, 20, 9, 30)
"""A Friday morning (UTC)."""


def _user(ctx: Context, login: str = "bob", name: str = "Bob Stone") -> int:
    return records.create(ctx, "user", {"login": login, "name": name}).id


def _task(ctx: Context, title: str, due: datetime | None, assignee: int | None, **links: int) -> int:
    return tasks.create_task(ctx, title, due, assignee, **links).id


def _ids(section: tasks.TaskSection) -> list[str]:
    return [row.title for row in section.tasks]


# -- the service, on SQLite and PostgreSQL ---------------------------------------------------------
def test_sections_split_by_due_time_and_owner(workspace: Workspace) -> None:
    ctx, me = workspace.ctx, workspace.ctx.user_id
    bob = _user(ctx)
    deal = make_deal(ctx, "Acme renewal").id
    gone = make_deal(ctx, "Deleted deal")
    company = records.create(ctx, "company", {"name": "Globex"}).id
    contact = records.create(ctx, "contact", {"first_name": "Jane", "last_name": "Doe", "company_id": company}).id
    _task(ctx, "late two", NOW - timedelta(hours=1), me)
    _task(ctx, "late one", NOW - timedelta(days=2), me, deal_id=deal, company_id=company)
    _task(ctx, "later today", NOW + timedelta(hours=3), me, contact_id=contact, company_id=company)
    _task(ctx, "just now", NOW, me)
    _task(ctx, "next week", NOW + timedelta(days=7), me, company_id=company)
    _task(ctx, "tomorrow", datetime(2026, 11, 21, 0, 0), me)
    _task(ctx, "someday", None, me)
    _task(ctx, "bob's", NOW - timedelta(hours=5), bob)
    _task(ctx, "on a deleted deal", NOW - timedelta(hours=2), me, deal_id=gone.id)
    records.delete(ctx, "deal", gone.id, version=gone.version)
    finished = tasks.create_task(ctx, "finished", NOW - timedelta(days=1), me)
    clock.freeze(NOW - timedelta(minutes=5))
    tasks.complete(ctx, finished.id, version=finished.version)

    mine = tasks.task_sections(me, now=NOW)
    assert _ids(mine.overdue) == ["late one", "late two"]
    assert _ids(mine.today) == ["just now", "later today"]
    assert _ids(mine.upcoming) == ["tomorrow", "next week", "someday"]
    assert _ids(mine.done) == ["finished"]
    late_one = mine.overdue.tasks[0]
    assert late_one.record == tasks.LinkedRecord("deal", deal, "Acme renewal")  # the deal before the company
    assert late_one.assignee == "Alice" and late_one.assignee_id == me and not late_one.done
    assert mine.today.tasks[1].record == tasks.LinkedRecord("contact", contact, "Jane Doe")
    assert mine.upcoming.tasks[1].record == tasks.LinkedRecord("company", company, "Globex")
    assert mine.done.tasks[0].done_at == NOW - timedelta(minutes=5) and mine.done.tasks[0].done

    everyone = tasks.task_sections(None, now=NOW)
    assert _ids(everyone.overdue) == ["late one", "bob's", "late two"]
    assert everyone.overdue.tasks[1].assignee == "Bob Stone"
    assert _ids(tasks.task_sections(bob, now=NOW).overdue) == ["bob's"]


def test_sections_are_limited(workspace: Workspace) -> None:
    ctx, me = workspace.ctx, workspace.ctx.user_id
    for hours in range(1, 5):
        _task(ctx, f"late {hours}", NOW - timedelta(hours=hours), me)
        _task(ctx, f"later {hours}", NOW + timedelta(days=hours), me)
    _task(ctx, "undated", None, me)
    for minutes in range(3):
        clock.freeze(NOW + timedelta(minutes=minutes))
        made = tasks.create_task(ctx, f"done {minutes}", None, me)
        tasks.complete(ctx, made.id, version=made.version)
    sections = tasks.task_sections(me, now=NOW, limit=3, done_limit=2)
    assert _ids(sections.overdue) == ["late 4", "late 3", "late 2"] and sections.overdue.more
    assert _ids(sections.upcoming) == ["later 1", "later 2", "later 3"] and sections.upcoming.more
    assert _ids(sections.done) == ["done 2", "done 1"] and sections.done.more
    assert not sections.today.more and not sections.today.tasks
    roomy = tasks.task_sections(me, now=NOW, limit=5)
    assert _ids(roomy.upcoming) == ["later 1", "later 2", "later 3", "later 4", "undated"]
    assert not roomy.upcoming.more


def test_complete_and_reopen_are_logged_and_versioned(workspace: Workspace) -> None:
    ctx = workspace.ctx
    made = tasks.create_task(ctx, "Send the quote", NOW, ctx.user_id)
    clock.freeze(NOW)
    done = tasks.complete(ctx, made.id, version=made.version)
    row = Task.get_by_id(made.id)
    assert row.done and row.done_at == NOW and row.version == made.version + 1 == done.version
    logged = Event.select().where(Event.entity == "task", Event.record_id == made.id, Event.kind == "record.updated")
    assert {event.field for event in logged} == {"done", "done_at"}
    with pytest.raises(ConflictError):
        tasks.reopen(ctx, made.id, version=made.version)  # read before it was completed
    tasks.reopen(ctx, made.id, version=done.version)
    row = Task.get_by_id(made.id)
    assert not row.done and row.done_at is None


def test_snooze_moves_the_due_time(workspace: Workspace) -> None:
    ctx = workspace.ctx
    choices = dict(tasks.snooze_choices(datetime(2026, 11, 20, 9, 30, 42)))
    assert choices == {
        "+1 hour": datetime(2026, 11, 20, 10, 30),
        "tomorrow 9:00": datetime(2026, 11, 21, 9, 0),
        "next week (Monday 9:00)": datetime(2026, 11, 23, 9, 0),
    }
    assert tasks.snooze_choices(datetime(2026, 11, 23, 8, 0))[2][1] == datetime(2026, 11, 30, 9, 0)  # a Monday
    made = tasks.create_task(ctx, "Follow up", NOW, ctx.user_id, reminders=[60])
    tasks.snooze(ctx, made.id, version=made.version, until=datetime(2026, 11, 21, 9, 0))
    assert Task.get_by_id(made.id).due_at == datetime(2026, 11, 21, 9, 0)
    with pytest.raises(ConflictError):
        tasks.snooze(ctx, made.id, version=made.version, until=datetime(2026, 11, 22, 9, 0))
    assert Task.get_by_id(made.id).due_at == datetime(2026, 11, 21, 9, 0)


def _meeting(ctx: Context, title: str, start: datetime, owner: int | None, **links: int) -> int:
    data = {"title": title, "starts_at": start, "ends_at": start + timedelta(hours=1), "owner_id": owner}
    return records.create(ctx, "appointment", data | links).id


def test_agenda_by_day_for_owner_and_attendee(workspace: Workspace) -> None:
    ctx, me = workspace.ctx, workspace.ctx.user_id
    bob = _user(ctx)
    deal = make_deal(ctx, "Acme renewal").id
    gone = make_deal(ctx, "Deleted deal")
    _meeting(ctx, "Kickoff", datetime(2026, 11, 20, 14, 0), me, deal_id=deal)
    _meeting(ctx, "Breakfast", datetime(2026, 11, 20, 8, 0), me)
    invited = _meeting(ctx, "Bob's review", datetime(2026, 11, 22, 10, 0), bob)
    AppointmentAttendee.insert(appointment=invited, user=me).execute()
    _meeting(ctx, "Bob alone", datetime(2026, 11, 21, 10, 0), bob)
    _meeting(ctx, "Too late", datetime(2026, 11, 23, 0, 0), me)
    _meeting(ctx, "Cancelled deal", datetime(2026, 11, 21, 9, 0), me, deal_id=gone.id)
    records.delete(ctx, "deal", gone.id, version=gone.version)

    days = tasks.agenda(me, date(2026, 11, 20), 3)
    assert [day.day for day in days] == [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]
    assert [[item.title for item in day.appointments] for day in days] == [
        ["Breakfast", "Kickoff"],
        [],
        ["Bob's review"],
    ]
    kickoff = days[0].appointments[1]
    assert kickoff.record == tasks.LinkedRecord("deal", deal, "Acme renewal")
    assert kickoff.starts_at == datetime(2026, 11, 20, 14, 0) and kickoff.ends_at == datetime(2026, 11, 20, 15, 0)
    everyone = tasks.agenda(None, date(2026, 11, 20), 3)
    assert [item.title for item in everyone[1].appointments] == ["Bob alone"]


# -- the screen ------------------------------------------------------------------------------------
_DIALOGS = ("tasks-dialog", "board-form", "list-dialog", "record-dialog", "dashboard-dialog", "app-poll")


async def _settle(pilot: Pilot) -> None:
    """Wait for background work, not for dialogs waiting on the user (like board_fixtures.settle)."""
    for _ in range(400):
        await pilot.pause()
        if all(worker.is_finished or worker.group in _DIALOGS for worker in pilot.app.workers):
            await pilot.pause()
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the app did not settle")


async def _open(pilot: Pilot) -> TasksScreen:
    await _settle(pilot)
    await pilot.app.push_screen(TasksScreen())
    await _settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TasksScreen)
    return screen


def _shown(screen: TasksScreen, list_id: str = "#tasks") -> list[str]:
    """Every line the list draws, as the terminal shows it."""
    box = screen.query_one(list_id, OptionList)
    return [box.render_line(y).text for y in range(box.size.height)]


async def _highlight(pilot: Pilot, screen: TasksScreen, option_id: str, list_id: str = "#tasks") -> None:
    box = screen.query_one(list_id, OptionList)
    box.highlighted = box.get_option_index(option_id)
    await pilot.pause()


async def _type(pilot: Pilot, text: str) -> None:
    names = {" ": "space", "/": "slash", "[": "left_square_bracket", "]": "right_square_bracket", "@": "at",
             "=": "equals_sign", ".": "full_stop"}  # fmt: skip
    await pilot.press(*[names.get(ch, ch) for ch in text])


async def test_x_completes_and_reopens(app: CrmApp, sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    ctx = sqlite_workspace.ctx
    task_id = _task(ctx, "Call about the renewal", FROZEN_NOW - timedelta(hours=2), ctx.user_id, deal_id=ids["acme"])
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await _open(pilot)
        assert screen._current_task() is not None and screen._current_task().id == task_id
        await pilot.press("x")
        await _settle(pilot)
        row = Task.get_by_id(task_id)
        assert row.done and row.done_at == FROZEN_NOW
        assert screen.rows[f"task-{task_id}"].done  # now listed under Done
        assert any("No tasks due. Press n to add one." in line for line in _shown(screen))
        await _highlight(pilot, screen, f"task-{task_id}")
        await pilot.press("x")
        await _settle(pilot)
        assert not Task.get_by_id(task_id).done and Task.get_by_id(task_id).done_at is None


async def test_s_snoozes_to_the_chosen_time(app: CrmApp, sqlite_workspace: Workspace) -> None:
    ctx = sqlite_workspace.ctx
    task_id = _task(ctx, "Chase the invoice", FROZEN_NOW - timedelta(days=1), ctx.user_id)
    async with app.run_test(size=(120, 30)) as pilot:
        await _open(pilot)
        await pilot.press("s")
        await _settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("down", "enter")  # tomorrow 9:00
        await _settle(pilot)
        assert Task.get_by_id(task_id).due_at == datetime(2026, 11, 21, 9, 0)
        assert isinstance(app.screen, TasksScreen) and app.screen._current_task().id == task_id


async def test_n_adds_a_task_due_tomorrow_for_me(app: CrmApp, sqlite_workspace: Workspace) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await _open(pilot)
        assert any("No tasks due. Press n to add one." in line for line in _shown(screen))
        await pilot.press("n")
        await _settle(pilot)
        await _type(pilot, "Ring ACME [/] Corp")
        await pilot.press("enter")
        await _settle(pilot)
        made = Task.get(Task.title == "Ring ACME [/] Corp")
        assert made.due_at == datetime(2026, 11, 21, 9, 0)
        assert made.assignee_id == made.created_by_id == sqlite_workspace.ctx.user_id and not made.done
        assert screen._current_task().id == made.id
        assert any("Ring ACME [/] Corp" in line for line in _shown(screen))


async def test_m_shows_everyone_and_is_remembered(app: CrmApp, sqlite_workspace: Workspace) -> None:
    ctx = sqlite_workspace.ctx
    bob = _user(ctx, "carol", "Carol Vance")
    theirs = _task(ctx, "Carol's call", FROZEN_NOW + timedelta(hours=1), bob)
    mine = _task(ctx, "My call", FROZEN_NOW + timedelta(hours=2), ctx.user_id)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await _open(pilot)
        assert set(screen.rows) == {f"task-{mine}"}
        await pilot.press("m")
        await _settle(pilot)
        assert set(screen.rows) == {f"task-{mine}", f"task-{theirs}"}
        assert any("Carol Vance" in line for line in _shown(screen))
        assert preferences.get_preference(ctx.user_id, PREFERENCE) == "everyone"
        await app.pop_screen()
        again = await _open(pilot)  # a new screen starts from the saved choice
        assert not again.mine and f"task-{theirs}" in again.rows


async def test_enter_opens_the_linked_record(app: CrmApp, sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    ctx = sqlite_workspace.ctx
    _task(ctx, "Loose end", FROZEN_NOW - timedelta(hours=3), ctx.user_id)
    linked = _task(ctx, "Send contract", FROZEN_NOW - timedelta(hours=1), ctx.user_id, deal_id=ids["globex"])
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await _open(pilot)
        await pilot.press("enter")  # the loose end belongs to no record: nothing opens
        await _settle(pilot)
        assert app.screen is screen
        await _highlight(pilot, screen, f"task-{linked}")
        await pilot.press("enter")
        await _settle(pilot)
        assert isinstance(app.screen, RecordScreen)
        assert (app.screen.entity, app.screen.record_id) == ("deal", ids["globex"])


async def test_hostile_titles_render_as_text(app: CrmApp, sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    ctx = sqlite_workspace.ctx
    _task(ctx, "ACME [/] Corp", FROZEN_NOW + timedelta(hours=1), ctx.user_id)
    _task(ctx, HOSTILE, FROZEN_NOW - timedelta(hours=1), ctx.user_id, deal_id=ids["acme"])
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await _open(pilot)
        shown = _shown(screen)
        assert any("ACME [/] Corp" in line and "[@click=app.quit]x" not in line for line in shown)
        assert any(HOSTILE in line and "Acme renewal" in line for line in shown)


async def test_agenda_shows_appointments_by_day(app: CrmApp, sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    ctx = sqlite_workspace.ctx
    meeting = _meeting(ctx, "Demo for [b]Acme[/b]", datetime(2026, 11, 22, 14, 0), ctx.user_id, deal_id=ids["acme"])
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await _open(pilot)
        await pilot.press("a")
        await _settle(pilot)
        assert f"appointment-{meeting}" in screen.appointments
        shown = _shown(screen, "#agenda")
        assert any("Sun 22 Nov 2026" in line for line in shown)
        assert any(
            "14:00–15:00" in line and "Demo for [b]Acme[/b]" in line and "Acme renewal" in line for line in shown
        )
        await pilot.press("right_square_bracket")  # the next week has nothing
        await _settle(pilot)
        assert not screen.appointments and screen.start == date(2026, 11, 27)
        await pilot.press("left_square_bracket", "d")  # back, one day at a time: today has nothing
        await _settle(pilot)
        assert not screen.appointments and screen.start == date(2026, 11, 20)
        await pilot.press("right_square_bracket", "right_square_bracket")
        await _settle(pilot)
        assert list(screen.appointments) == [f"appointment-{meeting}"]
        await _highlight(pilot, screen, f"appointment-{meeting}", "#agenda")
        await pilot.press("enter")
        await _settle(pilot)
        assert isinstance(app.screen, RecordScreen) and app.screen.record_id == ids["acme"]


async def test_changes_made_elsewhere_show_up(app: CrmApp, sqlite_workspace: Workspace) -> None:
    me = sqlite_workspace.ctx.user_id
    elsewhere = Context(me, "alice")  # another process: its events reach the app only through the event log
    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(pilot)
        await app.switch_mode("tasks")
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, TasksScreen) and not screen.rows
        first = _task(elsewhere, "Written while shown", FROZEN_NOW + timedelta(hours=1), me)
        await pilot.pause(1.5)  # the app reads the event log every second
        await _settle(pilot)
        assert set(screen.rows) == {f"task-{first}"}
        await app.switch_mode("board")
        await _settle(pilot)
        second = _task(elsewhere, "Written while away", FROZEN_NOW + timedelta(hours=2), me)
        await pilot.pause(1.5)  # the board hears of it; the tasks screen is not in its stack
        await app.switch_mode("tasks")
        await _settle(pilot)
        assert set(screen.rows) == {f"task-{first}", f"task-{second}"}
