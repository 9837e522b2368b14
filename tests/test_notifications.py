"""Notifications: sending them (a keyed one once per user), reading them, task reminders fired once at
their moment (on both back ends), and the notification centre from the keyboard: F10, enter, space,
A, u, the unread badge, and toasts for notifications another process sends."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from textual.pilot import Pilot
from textual.widgets import OptionList

from crm_tui import app as app_module
from crm_tui import clock
from crm_tui.app import CrmApp
from crm_tui.models import Notification
from crm_tui.screens.notifications import InboxBadge, NotificationsScreen, ago
from crm_tui.screens.record_screen import RecordScreen
from crm_tui.services import notifications, records
from crm_tui.services.context import Context
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, make_app, settle
from tests.conftest import FROZEN_NOW
from tests.helpers import make_deal

SIZE = (120, 35)
NOW = datetime(2026, 11, 20, 9, 0)


def _bob(ctx: Context) -> Context:
    bob = records.create(ctx, "user", {"login": "bob", "name": "Bob Stone"}).id
    return Context(user_id=bob, login="bob")


def _task(ctx: Context, due: datetime, reminders: list[int], **values: object) -> int:
    # created_by_id as timeline.add_task sets it (records.create leaves it empty).
    data = {"title": "Call Acme", "due_at": due, "reminders": reminders, "created_by_id": ctx.user_id, **values}
    return records.create(ctx, "task", data).id


def _titles(user_id: int) -> list[str]:
    return [item.title for item in notifications.listing(user_id)]


# -- the service, on both back ends ------------------------------------------------------------------
def test_send_stores_one_per_user_and_a_keyed_one_once(workspace: Workspace) -> None:
    ctx = workspace.ctx
    bob = _bob(ctx)
    assert notifications.send(ctx, [ctx.user_id, bob.user_id, None, ctx.user_id], "Deal won") == 2
    assert notifications.send(ctx, [ctx.user_id, bob.user_id], "Keyed", key="k1") == 2
    assert notifications.send(ctx, [ctx.user_id, bob.user_id], "Keyed again", key="k1") == 0
    assert notifications.send(ctx, [], "Nobody") == 0
    assert _titles(ctx.user_id) == ["Keyed", "Deal won"]
    assert notifications.unread_count(ctx.user_id) == 2 and notifications.unread_count(bob.user_id) == 2
    assert notifications.latest_id(ctx.user_id) == notifications.listing(ctx.user_id)[0].id
    from crm_tui.services import changes

    kinds = [row.kind for row in changes.changes_since(0)]
    assert kinds.count(notifications.CREATED_KIND) == 4  # one log row per stored notification


def test_mark_read_unread_and_all(workspace: Workspace) -> None:
    ctx = workspace.ctx
    bob = _bob(ctx)
    for title in ("one", "two", "three"):
        notifications.send(ctx, [ctx.user_id, bob.user_id], title)
    mine = notifications.listing(ctx.user_id)
    bobs = notifications.listing(bob.user_id)
    assert notifications.mark_read(ctx, [mine[0].id, bobs[0].id]) == 1  # only the acting user's own
    assert notifications.mark_read(ctx, [mine[0].id]) == 0  # already read
    assert notifications.unread_count(ctx.user_id) == 2 and notifications.unread_count(bob.user_id) == 3
    assert [item.title for item in notifications.listing(ctx.user_id, unread_only=True)] == ["two", "one"]
    assert notifications.newer_than(ctx.user_id, 0) == sorted(
        notifications.listing(ctx.user_id, unread_only=True), key=lambda item: item.id
    )
    assert notifications.mark_read(ctx, [mine[0].id], read=False) == 1
    assert notifications.unread_count(ctx.user_id) == 3
    assert notifications.mark_all_read(ctx) == 3
    assert notifications.unread_count(ctx.user_id) == 0 and notifications.unread_count(bob.user_id) == 3
    assert all(item.read for item in notifications.listing(ctx.user_id))


def test_a_reminder_fires_at_its_moment_and_once(workspace: Workspace) -> None:
    ctx = workspace.ctx
    bob = _bob(ctx)
    task = _task(ctx, NOW + timedelta(hours=1), [60, 15], assignee_id=bob.user_id)
    assert notifications.fire_reminders(ctx, now=NOW - timedelta(minutes=1)) == 0  # not yet
    assert notifications.fire_reminders(ctx, now=NOW) == 1  # an hour before
    assert notifications.fire_reminders(ctx, now=NOW + timedelta(minutes=5)) == 0  # once
    assert notifications.fire_reminders(bob, now=NOW + timedelta(minutes=5)) == 0  # once, whoever checks
    assert _titles(bob.user_id) == ["Reminder: Call Acme is due in 1 hour", f"Task given to you by {ctx.login}: Call Acme"]
    assert _titles(ctx.user_id) == []  # the assignee's, not the creator's
    assert notifications.fire_reminders(ctx, now=NOW + timedelta(minutes=45)) == 1  # 15 minutes before
    assert _titles(bob.user_id)[0] == "Reminder: Call Acme is due in 15 minutes"
    item = notifications.listing(bob.user_id)[0]
    assert (item.entity, item.record_id) == ("task", task)


def test_no_reminder_for_a_done_task_or_one_long_past(workspace: Workspace) -> None:
    ctx = workspace.ctx
    done = _task(ctx, NOW + timedelta(minutes=30), [30])
    records.update(ctx, "task", done, {"done": True}, version=records.get("task", done).version)
    _task(ctx, NOW - timedelta(days=3), [0])  # the app was closed when it came due: not sent late
    _task(ctx, NOW + timedelta(minutes=30), [])  # no reminders
    assert notifications.fire_reminders(ctx, now=NOW) == 0
    assert notifications.unread_count(ctx.user_id) == 0
    _task(ctx, NOW - timedelta(hours=2), [0])  # came due two hours ago: still worth saying
    assert notifications.fire_reminders(ctx, now=NOW) == 1
    assert _titles(ctx.user_id) == ["Reminder: Call Acme was due 2 hours ago"]  # to the creator: no assignee


def test_moments_missed_while_the_app_was_closed_send_one_reminder_that_tells_the_time_left(
    workspace: Workspace,
) -> None:
    ctx = workspace.ctx
    _task(ctx, NOW + timedelta(minutes=20), [1440, 60, 15, 0])  # a day and an hour before passed unseen
    assert notifications.fire_reminders(ctx, now=NOW) == 1
    assert _titles(ctx.user_id) == ["Reminder: Call Acme is due in 20 minutes"]
    assert notifications.fire_reminders(ctx, now=NOW + timedelta(minutes=1)) == 0  # once, however often checked
    assert notifications.fire_reminders(ctx, now=NOW + timedelta(minutes=5)) == 1  # the next one, on time
    assert notifications.fire_reminders(ctx, now=NOW + timedelta(minutes=40)) == 1  # missed its moment: late
    assert _titles(ctx.user_id)[:2] == ["Reminder: Call Acme was due 20 minutes ago", "Reminder: Call Acme is due in 15 minutes"]


def test_a_rescheduled_task_reminds_again(workspace: Workspace) -> None:
    ctx = workspace.ctx
    task = _task(ctx, NOW + timedelta(minutes=5), [5])
    assert notifications.fire_reminders(ctx, now=NOW) == 1
    later = NOW + timedelta(days=1)
    records.update(ctx, "task", task, {"due_at": later}, version=records.get("task", task).version)
    assert notifications.fire_reminders(ctx, now=NOW + timedelta(minutes=10)) == 0
    assert notifications.fire_reminders(ctx, now=later - timedelta(minutes=5)) == 1
    assert notifications.fire_reminders(ctx, now=later) == 0
    assert len(_titles(ctx.user_id)) == 2


def test_the_record_a_notification_opens(workspace: Workspace) -> None:
    ctx = workspace.ctx
    deal = make_deal(ctx, "Acme renewal")
    company = records.create(ctx, "company", {"name": "Acme"})
    on_deal = _task(ctx, NOW, [], deal_id=deal.id, company_id=company.id)
    on_company = _task(ctx, NOW, [], company_id=company.id)
    loose = _task(ctx, NOW, [])
    assert notifications.record_to_open("deal", deal.id) == ("deal", deal.id)
    assert notifications.record_to_open("task", on_deal) == ("deal", deal.id)  # the most specific link
    assert notifications.record_to_open("task", on_company) == ("company", company.id)
    assert notifications.record_to_open("task", loose) is None
    assert notifications.record_to_open("task", 999_999) is None
    assert notifications.record_to_open(None, None) is None
    assert notifications.record_to_open("pipeline", 1) is None
    records.delete(ctx, "deal", deal.id, version=records.get("deal", deal.id).version)
    assert notifications.record_to_open("deal", deal.id) is None
    assert notifications.record_to_open("task", on_deal) == ("company", company.id)


def test_ago_reads_like_a_person() -> None:
    assert ago(NOW, NOW + timedelta(seconds=20)) == "just now"
    assert ago(NOW, NOW + timedelta(minutes=5, seconds=30)) == "5 min ago"
    assert ago(NOW, NOW + timedelta(hours=3)) == "3 h ago"
    assert ago(NOW, NOW + timedelta(days=2)) == "2 d ago"
    assert ago(NOW, NOW + timedelta(days=30))[:4] == "2026"


# -- the notification centre -------------------------------------------------------------------------
def _inbox(pilot: Pilot) -> NotificationsScreen:
    screen = pilot.app.screen
    assert isinstance(screen, NotificationsScreen)
    return screen


def _badge(pilot: Pilot) -> InboxBadge:
    return next(screen for screen in reversed(pilot.app.screen_stack) if not isinstance(screen, NotificationsScreen)).query_one(InboxBadge)


def _read(notification_id: int) -> bool:
    return Notification.get_by_id(notification_id).read_at is not None


def _prompts(pilot: Pilot) -> list[str]:
    box = _inbox(pilot).query_one(OptionList)
    return [str(box.get_option_at_index(i).prompt) for i in range(box.option_count)]


async def _open_inbox(pilot: Pilot) -> NotificationsScreen:
    await settle(pilot)
    await pilot.press("f10")
    await settle(pilot)
    return _inbox(pilot)


async def _until(pilot: Pilot, condition, seconds: float = 4.0) -> float:
    started = time.monotonic()
    while not condition() and time.monotonic() - started < seconds:
        await pilot.pause(0.05)
    assert condition(), "it did not happen in time"
    return time.monotonic() - started


async def test_f10_lists_my_notifications_newest_first(app: CrmApp, sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    ctx = sqlite_workspace.ctx
    me = ctx.user_id
    notifications.send(ctx, [me], "Old news", entity="deal", record_id=ids["acme"])
    notifications.send(ctx, [me], HOSTILE, body="[b]not bold[/b] \x1b[31mred", entity="company", record_id=1)
    notifications.mark_read(ctx, [notifications.listing(me)[1].id])
    async with app.run_test(size=SIZE) as pilot:
        inbox = await _open_inbox(pilot)
        prompts = _prompts(pilot)
        assert prompts[0].startswith("●") and HOSTILE in prompts[0] and "[b]not bold[/b] red" in prompts[0]
        assert prompts[1].startswith("  ") and "Old news" in prompts[1]
        assert "1 unread" in str(inbox.query_one("#inbox-title").render())
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, NotificationsScreen)


async def test_enter_opens_the_record_and_marks_it_read(app: CrmApp, sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    ctx = sqlite_workspace.ctx
    task = _task(ctx, FROZEN_NOW + timedelta(days=1), [], deal_id=ids["globex"])
    notifications.send(ctx, [ctx.user_id], "Acme moved", entity="deal", record_id=ids["acme"])
    notifications.send(ctx, [ctx.user_id], "Reminder: Call Acme", entity="task", record_id=task)
    first, second = (item.id for item in notifications.listing(ctx.user_id))
    async with app.run_test(size=SIZE) as pilot:
        await _open_inbox(pilot)
        await pilot.press("enter")  # the newest: the task's reminder opens the task's deal
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen)
        assert (app.screen.entity, app.screen.record_id) == ("deal", ids["globex"])
        assert _read(first) and not _read(second)
        await pilot.press("escape")  # back to the inbox, where it is read now
        await settle(pilot)
        assert _prompts(pilot)[0].startswith("  ")
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen) and app.screen.record_id == ids["acme"]
        assert _read(second) and app.unread == 0


async def test_space_toggles_a_and_marks_all_u_shows_unread_only(app: CrmApp, sqlite_workspace: Workspace) -> None:
    ctx = sqlite_workspace.ctx
    for title in ("one", "two", "three"):
        notifications.send(ctx, [ctx.user_id], title)
    three, two, one = (item.id for item in notifications.listing(ctx.user_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause(1.2)  # the first poll has counted them
        assert app.unread == 3 and _badge(pilot).count == 3 and app.sub_title == "3 unread"
        await _open_inbox(pilot)
        await pilot.press("space")
        await settle(pilot)
        assert _read(three) and app.unread == 2 and _badge(pilot).count == 2
        await pilot.press("space")  # unread again
        await settle(pilot)
        assert not _read(three) and app.unread == 3
        await pilot.press("down", "space", "space", "space")  # quick presses: read, unread, read
        await settle(pilot)
        assert _read(two) and not _read(three) and not _read(one)
        await pilot.press("u")
        await settle(pilot)
        assert [p.split()[-1] for p in _prompts(pilot)] == ["three", "one"]
        await pilot.press("space")  # "one" (where "two" was), read in the unread-only view: it leaves
        await settle(pilot)
        assert [p.split()[-1] for p in _prompts(pilot)] == ["three"] and _read(one)
        await pilot.press("u", "A")
        await settle(pilot)
        assert all(_read(i) for i in (one, two, three))
        assert app.unread == 0 and not _badge(pilot).has_class("-unread") and app.sub_title == ""
        assert all(p.startswith("  ") for p in _prompts(pilot))


async def test_a_notification_from_another_process_toasts_and_counts(app: CrmApp, sqlite_workspace: Workspace) -> None:
    ctx = sqlite_workspace.ctx
    notifications.send(ctx, [ctx.user_id], "Before start")  # counted, not toasted
    bob = Context(user_id=records.create(ctx, "user", {"login": "carol", "name": "Carol"}).id, login="carol")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _until(pilot, lambda: app.unread == 1)
        assert not any("Before start" in n.title for n in app._notifications)
        notifications.send(bob, [ctx.user_id], HOSTILE, body="[@click=app.quit]x", entity="deal", record_id=1)
        notifications.send(bob, [bob.user_id], "For Carol only")
        took = await _until(pilot, lambda: any(HOSTILE == n.title for n in app._notifications))
        assert took < 2.0  # within a poll
        toast = next(n for n in app._notifications if n.title == HOSTILE)
        assert toast.message == "[@click=app.quit]x" and toast.markup is False
        assert not any("For Carol" in n.title for n in app._notifications)
        await _until(pilot, lambda: app.unread == 2)
        assert _badge(pilot).count == 2 and "2" in str(_badge(pilot).render())
        await pilot.press("f3")  # another mode's screen shows the count too
        await settle(pilot)
        assert _badge(pilot).count == 2 and _badge(pilot).has_class("-unread")
        await pilot.click(InboxBadge)  # a click on the badge opens the centre
        await settle(pilot)
        assert isinstance(app.screen, NotificationsScreen)


async def test_many_at_once_make_one_summary_toast(app: CrmApp, sqlite_workspace: Workspace) -> None:
    ctx = sqlite_workspace.ctx
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _until(pilot, lambda: app._last_notification_id is not None, 15)  # the app has its baseline
        for n in range(6):
            notifications.send(ctx, [ctx.user_id], f"Automation {n}")
        await _until(pilot, lambda: app.unread == 6)
        titles = [n.title for n in app._notifications]
        assert titles.count("") == 1 and sum(t.startswith("Automation") for t in titles) == 2
        assert any("4 more" in n.message for n in app._notifications)


async def test_the_inbox_shows_what_arrives_while_it_is_open(app: CrmApp, sqlite_workspace: Workspace) -> None:
    ctx = sqlite_workspace.ctx
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: app._last_notification_id is not None, 15)  # the app has its baseline
        await _open_inbox(pilot)
        assert "no notifications yet" in _prompts(pilot)[0]
        notifications.send(ctx, [ctx.user_id], "Fresh")
        await _until(pilot, lambda: "Fresh" in _prompts(pilot)[0])
        await pilot.press("f10")  # F10 again closes it
        await settle(pilot)
        assert not isinstance(app.screen, NotificationsScreen)


async def test_reminders_fire_from_the_app(sqlite_workspace: Workspace, ids: dict[str, int], monkeypatch) -> None:
    ctx = sqlite_workspace.ctx
    monkeypatch.setattr(app_module, "REMINDER_DELAY", 0.2)
    _task(ctx, FROZEN_NOW + timedelta(minutes=10), [15], deal_id=ids["acme"])
    clock.freeze(FROZEN_NOW)
    crm = make_app(ctx)
    try:
        async with crm.run_test(size=SIZE) as pilot:
            await _until(pilot, lambda: any(n.title.startswith("Reminder: Call Acme") for n in crm._notifications))
            await _until(pilot, lambda: crm.unread == 1)
            await pilot.press("f10")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(crm.screen, RecordScreen) and crm.screen.record_id == ids["acme"]
    finally:
        crm.session.close()


async def test_the_palette_opens_the_inbox(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"notifications")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, NotificationsScreen)


def test_reminders_stored_as_json_text_by_older_demos_still_fire(workspace: Workspace) -> None:
    from crm_tui.models import Task

    ctx = workspace.ctx
    now = datetime(2026, 5, 4, 12, 0)
    task = records.create(ctx, "task", {"title": "Old demo task", "due_at": now + timedelta(minutes=30), "assignee_id": ctx.user_id})
    Task.update(reminders="[60]").where(Task.id == task.id).execute()  # JSONField stores '"[60]"'
    assert notifications.fire_reminders(ctx, now) == 1
