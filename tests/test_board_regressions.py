"""Regressions found by people driving the board: each test replays what went wrong."""

from __future__ import annotations

import time
from datetime import timedelta

from crm_tui import clock
from crm_tui.app import CrmApp
from crm_tui.models import Deal, Stage, StageChange
from crm_tui.screens.board.screen import BoardScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.filters import FilterScreen
from crm_tui.screens.record_screen import RecordScreen
from crm_tui.services import deals, pipelines, records
from crm_tui.services.board import ColumnWindow, DealCard, StageInfo
from crm_tui.services.context import Context
from crm_tui.services.workspace import Workspace
from crm_tui.widgets.card_list import CardList
from tests.board_fixtures import board, burst, focus, settle, titles, type_into
from tests.helpers import stage_named

SIZE = (120, 35)


def elsewhere(workspace: Workspace) -> Context:
    """Another user's session: its events are not on this app's bus."""
    return Context(user_id=workspace.ctx.user_id, login="teammate")


async def test_the_focus_survives_a_column_going_empty(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause(0.3)
        await type_into(pilot, "#amount_min", "1M")  # nothing matches: every column empties
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("j", "question_mark", "escape", "j")
        await settle(pilot)
        assert board(pilot).filter.text == ""  # the keys did not land in the hidden search box
        assert focus(pilot)[0] == "Qualification"
        await pilot.press("escape")
        await settle(pilot)
        assert focus(pilot) == ("Qualification", "Globex pilot")


def test_a_refresh_read_before_a_cursor_move_does_not_undo_it() -> None:
    stage = StageInfo(1, "S", 0, 10, "open", None)
    cards = tuple(DealCard(i, 1, 1, f"deal {i}", None, None, 0, "USD", None, clock.now()) for i in range(1, 6))
    widget = CardList(stage, count=5, window=ColumnWindow(1, 0, cards, None))
    seen = widget.moves
    widget.cursor = 3  # the user moves while the refresh is being read
    fresh = ColumnWindow(1, 0, cards, anchor_index=0)  # read when the cursor was still on deal 1
    widget.show(5, fresh, moves_seen=seen)
    assert widget.current is not None and widget.current.id == 4


async def test_d_and_m_act_on_the_deal_selected_at_the_key(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot, "dj")
        await pilot.pause(0.4)
        screen = pilot.app.screen
        assert isinstance(screen, ConfirmScreen)
        assert "Globex pilot" in screen.question.plain  # not Acme renewal, selected by the j after it


async def test_the_opened_deal_stays_open_while_the_board_moves_under_it(
    app: CrmApp, ids: dict[str, int], sqlite_workspace: Workspace
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        deals.move_deal(elsewhere(sqlite_workspace), ids["globex"], stage_named("Negotiation"), from_stage_id=stage_named("Qualification"))
        await pilot.pause(1.6)  # the board refreshes under the record screen
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, RecordScreen) and screen.record_id == ids["globex"]
        assert screen.query_one("#f-title").value == "Globex pilot"
        timeline = "\n".join(str(option.prompt) for option in screen.query_one("#timeline").options)
        assert "moved Qualification → Negotiation" in timeline


async def test_stages_changed_by_someone_else_rebuild_the_board(app: CrmApp, sqlite_workspace: Workspace) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        stage = records.get("stage", stage_named("Writing Proposal"))
        records.update(elsewhere(sqlite_workspace), "stage", stage.id, {"name": "Proposal Drafting"}, version=stage.version)
        await pilot.pause(1.8)
        await settle(pilot)
        assert "Proposal Drafting" in [c.stage.name for c in board(pilot)._columns()]
        assert any("rebuilt" in str(n.message) for n in pilot.app._notifications)


async def test_undo_of_an_edit_still_works_after_a_later_move(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause(0.3)
        await type_into(pilot, "#amount", "77000")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        await pilot.press("u", "u")  # the move, then the edit
        await settle(pilot)
        deal = Deal.get_by_id(ids["globex"])
        assert (deal.stage_id, deal.amount) == (stage_named("Qualification"), 500_000)


async def test_undo_of_a_move_keeps_the_days_in_stage(app: CrmApp, ids: dict[str, int]) -> None:
    before = Deal.get_by_id(ids["globex"]).stage_entered_at
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
    deal = Deal.get_by_id(ids["globex"])
    assert (deal.stage_id, deal.stage_entered_at) == (stage_named("Qualification"), before)
    # The undone move leaves the stage history (the event log keeps it): the stay runs on.
    stays = list(StageChange.select().where(StageChange.deal == deal.id))
    assert [(s.to_stage_id, s.left_at) for s in stays] == [(stage_named("Qualification"), None)]


async def test_editing_a_deal_in_another_currency_keeps_its_amount(app: CrmApp, sqlite_workspace: Workspace) -> None:
    yen = records.create(sqlite_workspace.ctx, "deal", {"title": "Tokyo deal", "stage_id": stage_named("Unqualified"), "amount": 1_240_000, "currency": "JPY"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1", "e")
        await pilot.pause(0.4)
        assert pilot.app.screen.query_one("#amount").value == "1,240,000"
        await type_into(pilot, "#title", "Tokyo deal 2")
        await pilot.press("ctrl+s")
        await settle(pilot)
    deal = Deal.get_by_id(yen.id)
    assert (deal.title, deal.amount, deal.currency) == ("Tokyo deal 2", 1_240_000, "JPY")


async def test_delete_does_not_throw_away_a_teammates_change(app: CrmApp, ids: dict[str, int], sqlite_workspace: Workspace) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause(0.3)
        deals.move_deal(elsewhere(sqlite_workspace), ids["globex"], stage_named("Closed Won"), from_stage_id=stage_named("Qualification"))
        await pilot.press("y")
        await settle(pilot)
        assert Deal.get_by_id(ids["globex"]).deleted_at is None
        assert any("changed by someone else" in str(n.message) for n in pilot.app._notifications)


async def test_a_form_typed_in_one_burst_saves_what_was_typed(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot, "nTest\r")  # the key, the title and enter arrive before the form has the focus
        await settle(pilot)
        assert Deal.select().where(Deal.title == "Test").count() == 1
        await pilot.press("Z")  # and the board is back: a later key is no title
        await settle(pilot)
        assert Deal.select().where(Deal.title == "TestZ").count() == 0


async def test_a_resize_keeps_the_focused_column_in_view(app: CrmApp) -> None:
    async with app.run_test(size=(240, 35)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        focused = board(pilot).focused_column()
        assert focused is not None and focused.stage.name == "Contract Sent for Signature"
        assert board(pilot).query_one("#columns").region.contains_region(focused.region)


async def test_a_change_right_after_start_up_is_not_missed(app: CrmApp, ids: dict[str, int], sqlite_workspace: Workspace) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)  # the board is on screen, the first poll has not run yet
        deals.move_deal(elsewhere(sqlite_workspace), ids["globex"], stage_named("Negotiation"), from_stage_id=stage_named("Qualification"))
        started = time.monotonic()
        while "Globex pilot" not in titles(pilot, stage_named("Negotiation")) and time.monotonic() - started < 4:
            await pilot.pause(0.1)
        assert "Globex pilot" in titles(pilot, stage_named("Negotiation"))


async def test_a_new_deal_is_the_reps_and_lost_columns_take_none(app: CrmApp, sqlite_workspace: Workspace) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        burst(pilot, "nMine\r")
        await settle(pilot)
        assert Deal.get(Deal.title == "Mine").owner_id == sqlite_workspace.ctx.user_id
        await pilot.press("8", "n")  # Closed Lost
        await pilot.pause(0.3)
        assert isinstance(pilot.app.screen, BoardScreen)
        assert any("starts in an open stage" in str(n.message) for n in pilot.app._notifications)


async def test_filters_refuse_reversed_ranges(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause(0.3)
        await type_into(pilot, "#amount_min", "50k")
        await type_into(pilot, "#amount_max", "10k")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert isinstance(pilot.app.screen, FilterScreen)
        assert "above the highest" in pilot.app.screen.query_one("#error").render().plain


def test_a_big_stage_is_emptied_in_one_quick_transaction(sqlite_workspace: Workspace) -> None:
    ctx = sqlite_workspace.ctx
    source, target = stage_named("Negotiation"), stage_named("Writing Proposal")
    rows = [{"title": f"d{i}", "stage": source, "pipeline": 1, "currency": "USD", "amount": 100, "stage_entered_at": clock.now()} for i in range(3000)]
    Deal.insert_many(rows).execute()
    started = time.perf_counter()
    moved = pipelines.move_all_deals(ctx, source, target)
    assert moved == 3000
    assert time.perf_counter() - started < 5  # was one row at a time: about a second per thousand
    assert Deal.select().where(Deal.stage == target).count() == 3000
    assert StageChange.select().where(StageChange.to_stage == target).count() == 3000


def test_card_and_filter_agree_on_stale(sqlite_workspace: Workspace) -> None:
    from crm_tui.services import board as board_service
    from crm_tui.services.board import BoardQuery
    from crm_tui.services.board_filter import BoardFilter
    from crm_tui.widgets.deal_card import is_stale

    stage = Stage.get_by_id(stage_named("Qualification"))
    records.update(sqlite_workspace.ctx, "stage", stage.id, {"rot_days": 14}, version=stage.version)
    clock.freeze(clock.now() - timedelta(days=14, hours=7))
    records.create(sqlite_workspace.ctx, "deal", {"title": "Fourteen and a bit", "stage_id": stage.id})
    clock.freeze(None)
    pipeline = board_service.list_pipelines()[0]
    card = board_service.card_window(BoardQuery(pipeline), stage.id, 0)[0]
    stale = board_service.card_window(BoardQuery(pipeline, BoardFilter(stale_only=True)), stage.id, 0)
    assert is_stale(card, pipeline.stage(stage.id), clock.now()) == (card in stale) == True  # noqa: E712
