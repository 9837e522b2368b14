"""Pilot tests for narrowing the board: / search, f filters, saved views, Esc. A filter must show
exactly the matching deals, and the counts must follow."""

from __future__ import annotations


import pytest

from crm_tui.app import CrmApp
from crm_tui.models import SavedView, Stage
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.filters import FilterScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import records
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import board, fill, header, settle, titles, type_into
from tests.helpers import stage_named

SIZE = (120, 35)


@pytest.fixture
def ids(sqlite_workspace: Workspace) -> dict[str, int]:
    ctx = sqlite_workspace.ctx
    found = fill(ctx)
    contact = records.create(ctx, "contact", {"first_name": "Zoe", "last_name": "Quinn"}).id
    records.update(ctx, "deal", found["acme"], {"contact_id": contact}, version=1)
    tag = records.create(ctx, "tag", {"name": "Consulting"}).id
    found["mine"] = records.create(
        ctx, "deal", {"title": "Zeta audit", "stage_id": stage_named("Negotiation"), "amount": 5_000_000, "owner_id": ctx.user_id}
    ).id
    from crm_tui.models import DealTag

    DealTag.create(deal=found["mine"], tag=tag)
    found["tag"] = tag
    qualification = Stage.get_by_id(stage_named("Qualification"))
    records.update(ctx, "stage", qualification.id, {"rot_days": 10}, version=qualification.version)
    return found




def visible(pilot) -> dict[str, list[str]]:  # noqa: ANN001
    """Stage name -> loaded card titles, for the non-empty columns."""
    return {c.stage.name: titles(pilot, c.stage.id) for c in board(pilot)._columns() if c.cards.count}


def summary(pilot) -> str:  # noqa: ANN001
    return board(pilot).query_one("#filter-summary").render().plain


async def test_slash_searches_titles_companies_and_contacts(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"globex")
        await pilot.pause(0.4)
        await settle(pilot)
        assert visible(pilot) == {"Qualification": ["Globex pilot"], "Closed Won": ["Umbrella licences"]}
        assert "1 deal" in header(pilot, stage_named("Qualification"))
        assert summary(pilot).startswith("Filtered: “globex”")
        await type_into(pilot, "#board-search", "quinn")  # a contact's name
        await pilot.pause(0.4)
        await settle(pilot)
        assert visible(pilot) == {"Qualification": ["Acme renewal"]}
        await pilot.press("escape")
        await settle(pilot)
        assert visible(pilot)["Qualification"] == ["Globex pilot", "Acme renewal"]
        assert not board(pilot).query_one("#filter-summary").has_class("-shown")


async def test_f_filters_by_owner_then_stale(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause(0.3)
        assert isinstance(pilot.app.screen, FilterScreen)
        await pilot.press("space")  # the first owner, Alice (me)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert visible(pilot) == {"Negotiation": ["Zeta audit"]}
        assert "owner Alice" in summary(pilot)

        await pilot.press("f")
        await pilot.pause(0.3)
        await pilot.press("space")  # untick Alice
        await pilot.click("#stale_only")
        await pilot.press("ctrl+s")
        await settle(pilot)
        # Qualification rots after 10 days; its deals entered 28 and 29 days ago. Nothing else rots.
        assert visible(pilot) == {"Qualification": ["Globex pilot", "Acme renewal"]}
        assert "stale only" in summary(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert sum(c.cards.count for c in board(pilot)._columns()) == 5


async def test_filters_combine_with_search(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause(0.3)
        await type_into(pilot, "#amount_min", "10k")
        await pilot.press("enter")
        await settle(pilot)
        assert visible(pilot) == {"Qualification": ["Acme renewal"], "Negotiation": ["Zeta audit", "Initech expansion"]}
        await pilot.press("slash")
        await pilot.press(*"zeta", "enter")
        await pilot.pause(0.4)
        await settle(pilot)
        assert visible(pilot) == {"Negotiation": ["Zeta audit"]}
        assert "“zeta”" in summary(pilot) and "amount $10k–any" in summary(pilot)


async def test_a_filter_saved_as_a_view_comes_back(app: CrmApp, ids: dict[str, int], sqlite_workspace: Workspace) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"globex", "enter")
        await pilot.pause(0.4)
        await settle(pilot)
        await pilot.press("v")
        await pilot.pause(0.3)
        assert isinstance(pilot.app.screen, ChoiceScreen)
        await pilot.press("end", "enter")  # "Save the current filters as a view…"
        await pilot.pause(0.3)
        assert isinstance(pilot.app.screen, TextPromptScreen)
        await pilot.press(*"Globex deals", "enter")
        await settle(pilot)
        view = SavedView.get(SavedView.name == "Globex deals")
        assert (view.entity, view.owner_id, view.filters) == ("deal", sqlite_workspace.ctx.user_id, {"text": "globex"})

        await pilot.press("escape")
        await settle(pilot)
        assert len(visible(pilot)["Qualification"]) == 2
        await pilot.press("v")
        await pilot.pause(0.3)
        await pilot.press("enter")  # the view
        await settle(pilot)
        assert visible(pilot) == {"Qualification": ["Globex pilot"], "Closed Won": ["Umbrella licences"]}
