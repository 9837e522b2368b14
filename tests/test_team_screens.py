"""The users and field limits screens from the keyboard, and what a member's role changes on forms
and lists: others' records open read-only, hidden fields are absent, read-only ones cannot be typed
in. Each test checks the database afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from crm_tui.app import CrmApp
from crm_tui.models import Deal, FieldAccess, User
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.field_limits import FieldLimitsScreen
from crm_tui.screens.record_list import RecordListScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.screens.users import UsersScreen
from crm_tui.services import custom_field_admin, user_admin
from crm_tui.services.context import Context
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, make_app, settle
from tests.helpers import make_deal


async def _press(pilot: Pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def _open_users(pilot: Pilot) -> UsersScreen:
    await settle(pilot)
    pilot.app.action_users()  # type: ignore[attr-defined]  # palette → "Users"
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, UsersScreen)
    return screen


async def _to_row(pilot: Pilot, table: DataTable, key: str) -> None:
    target = table.get_row_index(key)
    while table.cursor_row != target:
        await _press(pilot, "down" if table.cursor_row < target else "up")


@pytest.fixture
def member_app(sqlite_workspace: Workspace) -> Iterator[tuple[CrmApp, dict[str, int]]]:
    """The app as mia, a member, with her deal, max's deal, a hidden and a read-only field."""
    admin = sqlite_workspace.ctx
    mia, max_ = user_admin.add(admin, "mia"), user_admin.add(admin, "max")
    custom_field_admin.add_field(admin, "deal", "Margin", "currency")
    ids = {
        "mine": make_deal(admin, "Mia's deal", owner_id=mia.id, amount=1000, cost=400).id,
        "theirs": make_deal(admin, f"Max's {HOSTILE}", owner_id=max_.id, amount=2000).id,
    }
    user_admin.set_limit(admin, "deal", "custom.margin", "member", "hidden")
    user_admin.set_limit(admin, "deal", "cost", "member", "hidden")
    user_admin.set_limit(admin, "deal", "probability", "member", "read")
    app = make_app(Context(mia.id, mia.login))
    yield app, ids
    app.session.close()


async def test_an_admin_adds_a_user_sets_role_and_team_and_deactivates(app: CrmApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_users(pilot)
        await _press(pilot, "a")
        assert isinstance(app.screen, TextPromptScreen)
        await _press(pilot, *"ben", "enter")
        ben = User.get(User.login == "ben")
        assert (ben.role, ben.active) == ("member", True)
        table = screen.query_one("#users", DataTable)
        assert table.get_row_index(str(ben.id)) == table.cursor_row  # the cursor follows the new user

        await _press(pilot, "r")
        assert isinstance(app.screen, ChoiceScreen)
        await _press(pilot, "down", "enter")
        await _press(pilot, "t", *"north", "enter")
        assert User.get_by_id(ben.id).role == "manager" and User.get_by_id(ben.id).team == "north"

        await _press(pilot, "d")
        assert isinstance(app.screen, ConfirmScreen)
        await _press(pilot, "y")
        assert User.get_by_id(ben.id).active is False
        assert "no" in [cell.plain for cell in table.get_row(str(ben.id))]


async def test_field_limits_step_from_the_keyboard_and_names_are_never_hidden(app: CrmApp) -> None:
    custom_field_admin.add_field(app.session.ctx, "deal", "Profit", "formula", formula="amount - cost")
    async with app.run_test(size=(100, 40)) as pilot:
        await _open_users(pilot)
        await _press(pilot, "f")
        screen = app.screen
        assert isinstance(screen, FieldLimitsScreen)
        table = screen.query_one("#limits", DataTable)
        await _to_row(pilot, table, "deal.cost")
        await _press(pilot, "m")
        await _press(pilot, "m")
        await _press(pilot, "g")
        limits = {(x.role, x.access) for x in FieldAccess.select().where(FieldAccess.field == "cost")}
        assert limits == {("member", "hidden"), ("manager", "read")}
        profit = table.get_row("deal.custom.profit")
        assert (str(profit[2]), str(profit[3])) == ("hidden*", "editable")  # reads the cost members may not see
        await _press(pilot, "m")  # hidden → editable again
        assert FieldAccess.select().where(FieldAccess.role == "member").count() == 0

        await _to_row(pilot, table, "deal.amount")
        await _press(pilot, "m", "m")  # read-only, then straight back: amount is never hidden
        assert FieldAccess.select().where(FieldAccess.field == "amount").count() == 0


async def test_a_member_sees_the_users_but_changes_nothing(
    member_app: tuple[CrmApp, dict[str, int]],
) -> None:
    app, _ = member_app
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_users(pilot)
        assert len(screen.users) == 3
        await _press(pilot, "a", "r", "d")
        assert app.screen is screen  # no prompt opened
        assert User.select().count() == 3 and User.get(User.login == "max").role == "member"


async def test_a_member_s_forms_and_lists_follow_the_role(member_app: tuple[CrmApp, dict[str, int]]) -> None:
    app, ids = member_app
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        app.open_record("deal", ids["theirs"])
        await settle(pilot)
        assert not app.screen.query(Input)  # someone else's: shown, not editable
        assert app.screen.query_one("#f-amount").has_class("readonly")
        assert "read-only" in str(app.screen.query_one("#title").render())
        assert app.screen.query_one("#f-title").has_class("readonly")
        await _press(pilot, "escape")

        app.open_record("deal", ids["mine"])
        await settle(pilot)
        form = app.screen
        assert not form.query("#f-cost") and not form.query("#f-custom--margin")  # hidden: absent
        assert form.query_one("#f-probability").has_class("readonly")
        amount = form.query_one("#f-amount", Input)
        form.set_focus(amount)
        amount.value = ""
        await _press(pilot, *"1500", "ctrl+s")
        stored = Deal.get_by_id(ids["mine"])
        assert (stored.amount, stored.cost) == (150_000, 400)
        await _press(pilot, "escape")

        await _press(pilot, "f3")
        listing = app.screen
        assert isinstance(listing, RecordListScreen)
        keys = [column.key for column in listing.table.columns]
        assert "custom.margin" not in keys and "amount" in keys


async def test_the_board_s_quick_form_greys_what_a_member_may_not_change(
    member_app: tuple[CrmApp, dict[str, int]], sqlite_workspace: Workspace
) -> None:
    from textual.widgets import Select

    from crm_tui.screens.deal_form import DealFormScreen
    from tests.board_fixtures import board
    from tests.helpers import stage_named

    app, ids = member_app
    user_admin.set_limit(sqlite_workspace.ctx, "deal", "amount", "member", "read")
    user_admin.set_limit(sqlite_workspace.ctx, "deal", "owner_id", "member", "read")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        qualification = stage_named("Qualification")
        board(pilot)._focus_stage(qualification)
        await settle(pilot)
        while board(pilot).selected().id != ids["mine"]:
            await _press(pilot, "j")
        await _press(pilot, "e")
        form = app.screen
        assert isinstance(form, DealFormScreen)
        assert form.query_one("#amount", Input).disabled and form.query_one("#probability", Input).disabled
        assert form.query_one("#owner", Select).disabled and not form.query_one("#title", Input).disabled
        form.query_one("#expected_close", Input).value = ""
        form.set_focus(form.query_one("#expected_close", Input))
        await _press(pilot, *"2027-01-15", "ctrl+s")
        stored = Deal.get_by_id(ids["mine"])
        assert str(stored.expected_close) == "2027-01-15" and stored.amount == 1000  # as it was
        await _press(pilot, "n")  # a new deal: the amount is not sent, so a member may still add one
        assert isinstance(app.screen, DealFormScreen) and app.screen.query_one("#amount", Input).disabled
        await _press(pilot, *"Fresh lead", "enter")
        fresh = Deal.get(Deal.title == "Fresh lead")
        assert fresh.amount == 0 and fresh.stage_id == qualification


async def test_the_palette_opens_the_field_limits_by_name(app: CrmApp) -> None:
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await _press(pilot, "ctrl+p")
        await _press(pilot, *"field limits")
        await _press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, FieldLimitsScreen) and screen.editable  # alice is the admin
        table = screen.query_one("#limits", DataTable)
        assert str(table.get_row("deal.lost_reason")[1]) == "Lost reason"  # a label, not the column's name
        assert str(table.get_row("deal.stage_id")[1]).startswith("Stage ")
        await _to_row(pilot, screen.query_one("#limits", DataTable), "deal.cost")
        await _press(pilot, "m")
        assert FieldAccess.get(FieldAccess.field == "cost").access == "read"
