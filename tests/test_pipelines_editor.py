"""Pilot tests for the pipelines and stages editor (P on the board)."""

from __future__ import annotations



from crm_tui.app import CrmApp
from crm_tui.models import Deal, Event, Pipeline, Stage, StageChange
from crm_tui.screens.pipelines import PipelinesScreen
from crm_tui.screens.stage_form import StageFormScreen
from tests.board_fixtures import board, settle, type_into
from tests.helpers import stage_named

SIZE = (120, 35)




def sales_stages() -> list[tuple[str, int, str, int | None]]:
    query = Stage.select().where(Stage.pipeline == 1, Stage.deleted_at.is_null()).order_by(Stage.position)
    return [(s.name, s.probability, s.kind, s.rot_days) for s in query]


async def open_editor(pilot) -> PipelinesScreen:  # noqa: ANN001
    await pilot.press("P")
    await pilot.pause(0.3)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, PipelinesScreen)
    return screen


async def test_add_edit_and_reorder_stages(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_editor(pilot)
        await pilot.press("tab")  # to the stages
        await pilot.press("a")
        await pilot.pause(0.3)
        assert isinstance(pilot.app.screen, StageFormScreen)
        await type_into(pilot, "#name", "Demo Given")
        await type_into(pilot, "#probability", "60")
        await type_into(pilot, "#rot_days", "7")
        await pilot.press("ctrl+s")
        await settle(pilot)
        names = [row[0] for row in sales_stages()]
        assert names.index("Demo Given") == names.index("Contract Sent for Signature") + 1  # after the last open stage
        assert ("Demo Given", 60, "open", 7) in sales_stages()

        table = pilot.app.screen.query_one("#stages")
        table.move_cursor(row=names.index("Demo Given"))
        await pilot.press("K", "K")  # two places up
        await settle(pilot)
        names = [row[0] for row in sales_stages()]
        assert names[4:7] == ["Demo Given", "Negotiation", "Contract Sent for Signature"]

        await pilot.press("e")
        await pilot.pause(0.3)
        await type_into(pilot, "#probability", "65")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert ("Demo Given", 65, "open", 7) in sales_stages()

        await pilot.press("escape")  # back to the board, which shows the new stage
        await settle(pilot)
        assert "Demo Given" in [c.stage.name for c in board(pilot)._columns()]


async def test_deleting_a_stage_moves_its_deals_first(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_editor(pilot)
        await pilot.press("tab")
        table = pilot.app.screen.query_one("#stages")
        table.move_cursor(row=1)  # Qualification: two deals
        await pilot.press("d")
        await pilot.pause(0.3)
        await pilot.press("down", "enter")  # move them to the second other stage: Writing Proposal
        await pilot.pause(0.3)
        await pilot.press("y")  # confirm
        await settle(pilot)
        stage = Stage.get_by_id(stage_named("Writing Proposal"))
        assert "Qualification" not in [row[0] for row in sales_stages()]
        assert Stage.select().where(Stage.name == "Qualification").get().deleted_at is not None  # archived
        for deal in ("acme", "globex"):
            assert Deal.get_by_id(ids[deal]).stage_id == stage.id
            assert StageChange.select().where(StageChange.deal == ids[deal]).count() == 2  # the move is history
        assert Event.select().where(Event.kind == "deal.stage_changed").count() == 2


async def test_a_new_pipeline_starts_with_new_won_and_lost(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_editor(pilot)
        await pilot.press("a")
        await pilot.pause(0.3)
        await pilot.press(*"Renewals", "enter")
        await settle(pilot)
        pipeline = Pipeline.get(Pipeline.name == "Renewals")
        assert [(s.name, s.kind) for s in Stage.select().where(Stage.pipeline == pipeline).order_by(Stage.position)] == [
            ("New", "open"), ("Won", "won"), ("Lost", "lost"),
        ]
