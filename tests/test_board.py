"""Pilot tests for the pipeline board: real key presses, then the database and the widgets."""

from __future__ import annotations



from crm_tui import db
from crm_tui.app import CrmApp
from crm_tui.models import Deal, Event, StageChange, database
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.services import deals, records
from crm_tui.services.board import WINDOW
from crm_tui.services.context import Context
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, board, column, focus, header, make_app, settle, titles
from tests.helpers import stage_named

SIZE = (120, 35)




async def test_the_board_shows_each_stage_with_its_deals_and_totals(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = board(pilot)
        assert [c.stage.name for c in screen._columns()][:3] == ["Unqualified", "Qualification", "Writing Proposal"]
        assert titles(pilot, stage_named("Qualification")) == ["Globex pilot", "Acme renewal"]  # newest arrival first
        assert header(pilot, stage_named("Qualification")).split("\n") == [
            "Qualification 20%", "2 deals · $17.4k", "weighted $3.48k"
        ]
        summary = screen.query_one("#board-summary").render().plain
        # open: 12,400 + 5,000 + 20,000 = $37.4k; weighted: 20% and 20% and 70% of them = 2,480 + 1,000 + 14,000
        assert summary == "Sales  3 open · $37.4k · weighted $17.5k"
        assert focus(pilot) == ("Qualification", "Globex pilot")  # the first stage that has deals


async def test_shift_right_moves_the_deal_and_the_focus_follows(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("shift+right")
        await settle(pilot)

        assert Deal.get_by_id(ids["globex"]).stage_id == stage_named("Writing Proposal")
        assert StageChange.select().where(StageChange.deal == ids["globex"]).count() == 2
        assert Event.select().where(Event.kind == "deal.stage_changed", Event.record_id == ids["globex"]).count() == 1
        assert focus(pilot) == ("Writing Proposal", "Globex pilot")
        assert titles(pilot, stage_named("Qualification")) == ["Acme renewal"]
        assert "1 deal · $5k" in header(pilot, stage_named("Writing Proposal"))


async def test_L_and_H_move_on_and_back(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "L", "L")  # the second card, two stages on
        await settle(pilot)
        assert Deal.get_by_id(ids["acme"]).stage_id == stage_named("Proposal Sent")
        await pilot.press("H")
        await settle(pilot)
        assert Deal.get_by_id(ids["acme"]).stage_id == stage_named("Writing Proposal")
        assert focus(pilot) == ("Writing Proposal", "Acme renewal")
        assert StageChange.select().where(StageChange.deal == ids["acme"]).count() == 4


async def test_arrows_and_hjkl_move_the_focus(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j")
        assert focus(pilot) == ("Qualification", "Acme renewal")
        await pilot.press("l", "l", "l")
        assert focus(pilot) == ("Negotiation", "Initech expansion")
        await pilot.press("left")
        assert focus(pilot) == ("Proposal Sent", None)
        await pilot.press("h", "k")
        assert focus(pilot) == ("Writing Proposal", None)


async def test_moving_into_lost_asks_why_and_esc_changes_nothing(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l", "l", "l", "l", "l")  # from Qualification to Closed Won
        assert focus(pilot) == ("Closed Won", "Umbrella licences")
        await pilot.press("shift+right")
        await pilot.pause(0.2)
        assert isinstance(pilot.app.screen, ChoiceScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert Deal.get_by_id(ids["umbrella"]).stage_id == stage_named("Closed Won")
        assert StageChange.select().where(StageChange.deal == ids["umbrella"]).count() == 1

        await pilot.press("shift+right")
        await pilot.pause(0.2)
        await pilot.press("down", "down", "enter")  # the third reason
        await settle(pilot)
        deal = Deal.get_by_id(ids["umbrella"])
        assert (deal.stage_id, deal.lost_reason) == (stage_named("Closed Lost"), "No budget")
        assert focus(pilot) == ("Closed Lost", "Umbrella licences")


async def test_record_text_is_shown_literally_and_never_runs(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        acme = next(card for card in column(pilot, stage_named("Qualification")).cards.loaded_cards() if card.id == ids["acme"])
        assert acme.company == HOSTILE
        board(pilot).show_pipeline(ids["partners"])
        await settle(pilot)
        assert board(pilot).query_one("#board-summary").render().plain.startswith(f"{HOSTILE} partners")
        intro = column(pilot, board(pilot).pipeline.stages[0].id)
        rendered = [intro.cards.render_line(y).text for y in range(intro.cards.size.height)]
        assert any(HOSTILE in line for line in rendered), rendered  # drawn, character for character
        await pilot.click(intro.cards, offset=(10, 1))  # on the company line: a live [@click] would quit
        await settle(pilot)
        assert pilot.app.is_running


async def test_p_picks_another_pipeline(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause(0.2)
        assert isinstance(pilot.app.screen, ChoiceScreen)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert board(pilot).pipeline.id == ids["partners"]
        assert [c.stage.name for c in board(pilot)._columns()] == ["Intro", "Signed"]
        assert focus(pilot) == ("Intro", "Reseller deal")


async def test_the_command_palette_switches_pipelines(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"partners")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert board(pilot).pipeline.id == ids["partners"]


async def test_a_move_survives_a_restart(sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    first = make_app(sqlite_workspace.ctx)
    async with first.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("shift+right")
        await settle(pilot)
    first.session.close()
    db.close()
    database.connect()

    second = make_app(sqlite_workspace.ctx)
    async with second.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert titles(pilot, stage_named("Writing Proposal")) == ["Globex pilot"]
    second.session.close()


async def test_a_deal_moved_by_someone_else_meanwhile_is_not_moved(app: CrmApp, ids: dict[str, int], sqlite_workspace: Workspace) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        other = Context(user_id=sqlite_workspace.ctx.user_id, login="alice-elsewhere")  # its own bus: unseen here
        deals.move_deal(other, ids["globex"], stage_named("Negotiation"), from_stage_id=stage_named("Qualification"))
        await pilot.press("shift+right")
        await settle(pilot)
        assert Deal.get_by_id(ids["globex"]).stage_id == stage_named("Negotiation")
        assert any("someone moved it to 'Negotiation'" in str(n.message) for n in pilot.app._notifications)
        assert focus(pilot) == ("Negotiation", "Globex pilot")  # the board shows the truth, focus follows


async def test_changes_published_in_this_session_refresh_the_board(app: CrmApp, sqlite_workspace: Workspace) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        records.create(sqlite_workspace.ctx, "deal", {"title": "Hooli upsell", "stage_id": stage_named("Negotiation")})
        await pilot.pause(0.5)
        await settle(pilot)
        assert titles(pilot, stage_named("Negotiation")) == ["Hooli upsell", "Initech expansion"]


async def test_long_columns_are_virtual(app: CrmApp, sqlite_workspace: Workspace) -> None:
    stage = stage_named("Unqualified")
    for number in range(95):
        records.create(sqlite_workspace.ctx, "deal", {"title": f"Lead deal {number:03}", "stage_id": stage})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        cards = column(pilot, stage).cards
        assert cards.count == 95 and len(cards.loaded_cards()) == WINDOW  # the count from SQL, a window of cards
        await pilot.press("h")  # into Unqualified
        await pilot.press("end")  # straight to the last card, however long the column
        await settle(pilot)
        assert cards.cursor == 94 and cards.current is not None and cards.current.title == "Lead deal 000"
        await pilot.press("pageup")
        await settle(pilot)
        assert cards.current is not None and cards.current.title == f"Lead deal {94 - cards.cursor:03}"
        assert "95 deals" in header(pilot, stage)


async def test_keys_can_be_remapped_by_binding_id(sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    app = CrmApp(make_app(sqlite_workspace.ctx).session, keymap={"board.move_next": "ctrl+right"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("L")  # no longer bound
        await settle(pilot)
        assert Deal.get_by_id(ids["globex"]).stage_id == stage_named("Qualification")
        await pilot.press("ctrl+right")
        await settle(pilot)
        assert Deal.get_by_id(ids["globex"]).stage_id == stage_named("Writing Proposal")
    app.session.close()


async def test_an_empty_workspace_says_what_to_do(tmp_path) -> None:  # noqa: ANN001
    from crm_tui.config import Settings
    from crm_tui.db import parse_target
    from crm_tui.services.workspace import open_workspace

    empty = open_workspace(parse_target(str(tmp_path / "empty.sqlite3")), Settings(), login="zoe")
    app = make_app(empty.ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "no deals yet · press n to add one, or run crm demo" in board(pilot).query_one("#board-summary").render().plain
        assert len(board(pilot)._columns()) == 9
    app.session.close()
    db.close()
