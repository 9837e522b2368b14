"""Pilot tests for the board's keys beyond one-step moves: number keys, the stage picker, undo,
typed-ahead moves, folding closed columns, remembering the pipeline, the keys screen."""

from __future__ import annotations



from crm_tui import db
from crm_tui.app import CrmApp
from crm_tui.models import Deal, Event, StageChange, database
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.keys import KeysScreen
from crm_tui.services.workspace import Workspace
from crm_tui.widgets.stage_column import StageColumn
from tests.board_fixtures import board, burst, column, focus, make_app, settle
from tests.helpers import stage_named

SIZE = (120, 35)




def history(deal_id: int) -> list[tuple[int | None, int]]:
    return [(c.from_stage_id, c.to_stage_id) for c in StageChange.select().where(StageChange.deal == deal_id).order_by(StageChange.id)]


async def test_number_keys_jump_to_a_column(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        assert focus(pilot) == ("Negotiation", "Initech expansion")
        await pilot.press("1")
        assert focus(pilot) == ("Unqualified", None)


async def test_m_moves_a_deal_several_stages_in_one_history_row(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await pilot.pause(0.2)
        assert isinstance(pilot.app.screen, ChoiceScreen)
        await pilot.press("down", "down", "down", "enter")  # Qualification + 3 = Negotiation
        await settle(pilot)
        assert history(ids["globex"]) == [(None, stage_named("Qualification")), (stage_named("Qualification"), stage_named("Negotiation"))]
        assert Event.select().where(Event.kind == "deal.stage_changed", Event.record_id == ids["globex"]).count() == 1
        assert focus(pilot) == ("Negotiation", "Globex pilot")


async def test_u_undoes_a_move_and_takes_it_out_of_the_stage_history(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        qualification, proposal = stage_named("Qualification"), stage_named("Writing Proposal")
        assert Deal.get_by_id(ids["globex"]).stage_id == qualification
        assert history(ids["globex"]) == [(None, qualification)]  # the stay in Qualification runs on
        assert StageChange.get(StageChange.deal == ids["globex"]).left_at is None
        moves = Event.select().where(Event.kind == "deal.stage_changed", Event.record_id == ids["globex"])
        assert [(e.old, e.new) for e in moves.order_by(Event.id)] == [  # the event log keeps both
            (str(qualification), str(proposal)), (str(proposal), str(qualification))
        ]
        assert focus(pilot) == ("Qualification", "Globex pilot")
        await pilot.press("u")
        await settle(pilot)
        assert any("Nothing to undo" in str(n.message) for n in pilot.app._notifications)


async def test_undo_of_a_lost_move_brings_the_deal_back_open(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "L", "L")  # Negotiation -> Contract Sent -> Closed Won
        await settle(pilot)
        await pilot.press("L")  # -> Closed Lost asks why
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert Deal.get_by_id(ids["initech"]).lost_reason == "Price too high"
        await pilot.press("u")
        await settle(pilot)
        deal = Deal.get_by_id(ids["initech"])
        assert (deal.stage_id, deal.lost_reason, deal.closed_at is not None) == (stage_named("Closed Won"), None, True)


async def test_keys_typed_ahead_act_on_what_was_selected(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot, "LLL")  # a burst over a slow link
        await settle(pilot)
        assert Deal.get_by_id(ids["globex"]).stage_id == stage_named("Negotiation")
        assert len(history(ids["globex"])) == 4
        await pilot.press("1", "2", "L", "j")  # the move belongs to the deal selected when L was pressed
        await settle(pilot)
        assert Deal.get_by_id(ids["acme"]).stage_id == stage_named("Writing Proposal")


async def test_h_and_l_presses_in_a_burst_all_count(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l", "l", "l")
        assert focus(pilot)[0] == "Negotiation"
        await pilot.press("h", "h", "h")
        assert focus(pilot)[0] == "Qualification"


async def test_c_folds_closed_columns_and_the_choice_is_remembered(sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    first = make_app(sqlite_workspace.ctx)
    async with first.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        won = column(pilot, stage_named("Closed Won"))
        assert won.collapsed and won.outer_size.width == StageColumn.COLLAPSED_WIDTH
        assert won.query_one(".stage-header").render().plain.split("\n") == ["Closed Won", "1", "$9.9k"]
        await pilot.press("9")  # a folded column cannot take the focus
        assert focus(pilot)[0] == "Qualification"
        await pilot.press("5", "L", "L")  # into folded Closed Won: the deal leaves the view, focus stays
        await settle(pilot)
        assert Deal.get_by_id(ids["initech"]).stage_id == stage_named("Closed Won")
        assert focus(pilot)[0] == "Contract Sent for Signature"
        assert "2" in won.query_one(".stage-header").render().plain.split("\n")
    first.session.close()
    second = make_app(sqlite_workspace.ctx)
    async with second.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert column(pilot, stage_named("Closed Lost")).collapsed
    second.session.close()


async def test_the_board_opens_on_the_pipeline_seen_last(sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    first = make_app(sqlite_workspace.ctx)
    async with first.run_test(size=SIZE) as pilot:
        await settle(pilot)
        board(pilot).show_pipeline(ids["partners"])
        await settle(pilot)
    first.session.close()
    db.close()
    database.connect()
    second = make_app(sqlite_workspace.ctx)
    async with second.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert board(pilot).pipeline.id == ids["partners"]
    second.session.close()


async def test_question_mark_lists_every_key_in_groups(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        screen = pilot.app.screen
        assert isinstance(screen, KeysScreen)
        text = screen.query_one("Static").render().plain
        for expected in ("Move deals", "shift+right / L", "Jump to column 1 … 9", "Search", "Undo", "ctrl+p"):
            assert expected in text
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, KeysScreen)


async def test_a_burst_after_slash_is_the_search_not_board_keys(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot, "/renewal\r")  # r and e would be refresh and edit on the board
        await pilot.pause(0.4)
        await settle(pilot)
        assert board(pilot).filter.text == "renewal"
        assert [c.stage.name for c in board(pilot)._columns() if c.cards.count] == ["Qualification"]


async def test_a_burst_after_n_is_the_new_deals_title(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(pilot, "nAcme cleanup\r")  # c would fold columns, m and e open dialogs
        await settle(pilot)
        deal = Deal.get(Deal.title == "Acme cleanup")
        assert deal.stage_id == stage_named("Qualification")
        assert not column(pilot, stage_named("Closed Won")).collapsed
