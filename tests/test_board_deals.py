"""Pilot tests for deals on the board: n new (with company type-ahead), enter detail, e edit
(including a version conflict), d delete and undo."""

from __future__ import annotations

from datetime import timedelta


from crm_tui import clock
from crm_tui.app import CrmApp
from crm_tui.models import Company, Deal, Event
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.record_screen import RecordScreen
from crm_tui.screens.deal_form import DealFormScreen
from crm_tui.services import records
from crm_tui.services.context import Context
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, focus, settle, titles, type_into
from tests.helpers import stage_named

SIZE = (120, 35)




def error_text(pilot, name: str) -> str:  # noqa: ANN001
    return pilot.app.screen.query_one(f"#{name}-error").render().plain


async def test_n_adds_a_deal_with_an_existing_company_by_type_ahead(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert isinstance(pilot.app.screen, DealFormScreen)
        await type_into(pilot, "#title", "Globex expansion")
        await type_into(pilot, "#company", "glo")
        await pilot.pause(0.3)
        await pilot.press("right")  # take the suggestion
        assert pilot.app.screen.query_one("#company").value == "Globex"
        await type_into(pilot, "#amount", "12.5k")
        await type_into(pilot, "#expected_close", "+30d")
        await pilot.press("ctrl+s")
        await settle(pilot)

        deal = Deal.get(Deal.title == "Globex expansion")
        assert (deal.stage_id, deal.amount, deal.company.name) == (stage_named("Qualification"), 1_250_000, "Globex")
        assert deal.expected_close == (clock.now() + timedelta(days=30)).date()
        assert Company.select().where(Company.name == "Globex").count() == 1  # no duplicate company
        assert Event.select().where(Event.kind == "record.created", Event.entity == "deal", Event.record_id == deal.id).count() == 1
        assert focus(pilot) == ("Qualification", "Globex expansion")


async def test_a_new_company_name_creates_the_company(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "n")
        await pilot.pause(0.2)
        await type_into(pilot, "#title", "Hooli pilot")
        await type_into(pilot, "#company", "Hooli")
        await pilot.press("enter")
        await settle(pilot)
        deal = Deal.get(Deal.title == "Hooli pilot")
        assert deal.stage_id == stage_named("Negotiation") and deal.company.name == "Hooli"


async def test_the_form_shows_errors_and_stores_nothing(app: CrmApp) -> None:
    before = Deal.select().count()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause(0.2)
        await type_into(pilot, "#amount", "lots")
        await type_into(pilot, "#expected_close", "someday")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert isinstance(pilot.app.screen, DealFormScreen)
        assert error_text(pilot, "title") == "A deal needs a title."
        assert "not an amount" in error_text(pilot, "amount")
        assert "is not a date" in error_text(pilot, "expected_close")
        pilot.app.screen.query_one("#title").value = "Bad\x1b[2J"  # pasted: the services refuse control characters
        await type_into(pilot, "#amount", "5")
        await type_into(pilot, "#expected_close", "")
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert "control character" in error_text(pilot, "title")
        await pilot.press("escape")
        await settle(pilot)
    assert Deal.select().count() == before


async def test_enter_opens_the_deal_record_with_its_history(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, RecordScreen) and screen.entity == "deal"
        deal = Deal.get_by_id(screen.record_id)
        assert deal.title == "Acme renewal"
        title = screen.query_one("#title").render().plain
        timeline = "\n".join(str(option.prompt) for option in screen.query_one("#timeline").options)
        assert "Acme renewal" in title and "created" in timeline
        assert screen.query_one("#f-title").value == "Acme renewal"
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, RecordScreen)


async def test_e_edits_the_deal_and_u_undoes_the_edit(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause(0.3)
        await type_into(pilot, "#amount", "8000")
        await type_into(pilot, "#confidence", "4")
        await pilot.press("ctrl+s")
        await settle(pilot)
        deal = Deal.get_by_id(ids["globex"])
        assert (deal.amount, deal.confidence, deal.version) == (800_000, 4, 2)
        fields = {e.field for e in Event.select().where(Event.kind == "record.updated", Event.record_id == deal.id)}
        assert fields == {"amount", "confidence"}
        await pilot.press("u")
        await settle(pilot)
        deal = Deal.get_by_id(ids["globex"])
        assert (deal.amount, deal.confidence) == (500_000, None)


async def test_an_edit_that_someone_else_overtook_shows_both_values(app: CrmApp, ids: dict[str, int], sqlite_workspace: Workspace) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause(0.3)
        other = Context(user_id=sqlite_workspace.ctx.user_id, login="elsewhere")
        records.update(other, "deal", ids["globex"], {"amount": 700_000}, version=1)
        await type_into(pilot, "#amount", "9000")
        await pilot.press("ctrl+s")
        await pilot.pause(0.4)
        assert isinstance(pilot.app.screen, DealFormScreen)  # still open: nothing lost
        message = error_text(pilot, "title")
        assert message.startswith("Someone else saved this deal meanwhile: amount $7,000 (yours $9,000).")
        assert Deal.get_by_id(ids["globex"]).amount == 700_000  # theirs stands until the rep chooses
        await pilot.press("ctrl+s")  # saving again is choosing mine
        await settle(pilot)
        assert not isinstance(pilot.app.screen, DealFormScreen)
        assert Deal.get_by_id(ids["globex"]).amount == 900_000


async def test_d_deletes_after_asking_and_u_brings_it_back(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause(0.2)
        assert isinstance(pilot.app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing happens
        await settle(pilot)
        assert Deal.get_by_id(ids["globex"]).deleted_at is None
        await pilot.press("d")
        await pilot.pause(0.2)
        await pilot.press("y")
        await settle(pilot)
        assert Deal.get_by_id(ids["globex"]).deleted_at is not None
        assert titles(pilot, stage_named("Qualification")) == ["Acme renewal"]
        await pilot.press("u")
        await settle(pilot)
        assert Deal.get_by_id(ids["globex"]).deleted_at is None
        assert titles(pilot, stage_named("Qualification")) == ["Globex pilot", "Acme renewal"]


async def test_esc_on_a_filled_new_deal_form_asks_before_dropping_it(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = Deal.select().count()
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("escape")  # nothing typed: closes at once
        await settle(pilot)
        assert not isinstance(pilot.app.screen, DealFormScreen)
        await pilot.press("n", *"Big one")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmScreen)
        await pilot.press("n")  # keep editing
        await settle(pilot)
        form = pilot.app.screen
        assert isinstance(form, DealFormScreen) and form.query_one("#title").value == "Big one"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, (DealFormScreen, ConfirmScreen))
        assert Deal.select().count() == before


async def test_tab_out_of_the_company_takes_the_company_offered(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        companies = Company.select().count()
        await pilot.press("n")
        await pilot.pause(0.2)
        await type_into(pilot, "#title", "Globex add-on")
        await type_into(pilot, "#company", "glo")
        await pilot.pause(0.3)
        await pilot.press("tab")
        form = pilot.app.screen
        assert isinstance(form, DealFormScreen) and form.query_one("#company").value == "Globex"
        assert form.focused is form.query_one("#amount")  # and tab still moves on
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Deal.get(Deal.title == "Globex add-on").company.name == "Globex"
        assert Company.select().count() == companies  # no company "glo"
