"""The custom fields settings screen from the keyboard: add (dropdown, formula, lookup), a bad formula,
edit, rename, reorder, remove with the values kept in the event log, switching record type, and labels
with markup characters."""

from __future__ import annotations

import json

from textual.widgets import Input, OptionList, Static

from crm_tui.app import CrmApp
from crm_tui.models import FIELD_TYPES, CustomField, Event
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.custom_field_form import TYPES, CustomFieldFormScreen
from crm_tui.screens.custom_fields import CustomFieldsScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import custom_field_admin as admin
from crm_tui.services import records
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, settle
from tests.helpers import make_deal

SIZE = (100, 30)
KEYS = {
    " ": "space", ".": "full_stop", "-": "minus", ",": "comma", "(": "left_parenthesis", ")": "right_parenthesis",
    "_": "underscore", "*": "asterisk", "+": "plus", "[": "left_square_bracket", "]": "right_square_bracket",
    "/": "slash", "@": "at", "=": "equals_sign",
}  # fmt: skip


async def _type(pilot, text: str) -> None:
    await pilot.press(*[KEYS.get(c, c) for c in text])


async def _open(pilot, entity: str = "deal") -> CustomFieldsScreen:
    await settle(pilot)
    pilot.app.push_screen(CustomFieldsScreen(entity))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CustomFieldsScreen)
    return screen


async def _form(pilot, key: str = "n") -> CustomFieldFormScreen:
    await pilot.press(key)
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, CustomFieldFormScreen)
    return form


async def _pick_type(pilot, name: str) -> None:
    """From the label, tab to the type select, open it, type the start of `name`, choose it."""
    await pilot.press("tab", "enter")
    await _type(pilot, name)
    await pilot.press("enter")
    await pilot.pause()


def _lines(screen: CustomFieldsScreen) -> list[str]:
    option_list = screen.query_one("#fields", OptionList)
    return [option_list.get_option_at_index(i).prompt.plain for i in range(option_list.option_count)]


def _deal_fields() -> list[tuple[str, str, int]]:
    query = CustomField.select().where(CustomField.entity == "deal").order_by(CustomField.position)
    return [(f.key, f.label, f.position) for f in query]


def test_the_form_offers_every_field_type() -> None:
    assert set(TYPES) == set(FIELD_TYPES)


async def test_add_a_dropdown_with_two_options_by_keys(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen.query_one("#empty", Static).display
        await _form(pilot)
        await _type(pilot, "Tier")
        await _pick_type(pilot, "Dropdown")
        await pilot.press("tab", "tab")  # required, then the options
        await _type(pilot, "Gold")
        await pilot.press("enter")
        await _type(pilot, "Silver")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is screen
        field = CustomField.get(CustomField.entity == "deal")
        assert (field.key, field.label, field.type, field.options, field.required) == (
            "tier",
            "Tier",
            "dropdown",
            ["Gold", "Silver"],
            False,
        )
        assert not screen.query_one("#empty", Static).display
        assert "Tier" in _lines(screen)[0] and "0 values" in _lines(screen)[0]


async def test_a_formula_field_is_computed_for_existing_deals(sqlite_workspace: Workspace, app: CrmApp) -> None:
    deal = make_deal(sqlite_workspace.ctx, "Big", amount=100_000)
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        form = await _form(pilot)
        await _type(pilot, "Double")
        await _pick_type(pilot, "Formula")
        assert form.query_one("#part-formula").display and not form.query_one("#part-options").display
        form.set_focus(form.query_one("#formula", Input))
        await _type(pilot, "amount * 2")
        await settle(pilot)
        assert "reads" in str(form.query_one("#formula-error", Static).render())
        await pilot.press("enter")
        await settle(pilot)
        assert CustomField.get(CustomField.key == "double").formula == "amount * 2"
        assert records.get("deal", deal.id).custom["double"] == 2000


async def test_a_bad_formula_is_shown_under_it_and_nothing_is_stored(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        form = await _form(pilot)
        await _type(pilot, "Huge")
        await _pick_type(pilot, "Formula")
        form.set_focus(form.query_one("#formula", Input))
        await _type(pilot, "9**9**9")
        await settle(pilot)
        assert "'**' is not allowed" in str(form.query_one("#formula-error", Static).render())  # as it is typed
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is form
        assert "'**' is not allowed" in str(form.query_one("#formula-error", Static).render())
        form.query_one("#formula", Input).value = ""
        await _type(pilot, "amount +")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "could not be read" in str(form.query_one("#formula-error", Static).render())
        assert CustomField.select().count() == 0
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, CustomFieldsScreen) and CustomField.select().count() == 0


async def test_a_lookup_field_shows_the_deal_company_name(app: CrmApp, ids: dict[str, int]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot)
        form = await _form(pilot)
        await _type(pilot, "Company name")
        await _pick_type(pilot, "Lookup")
        assert "company, contact" in str(form.query("#part-lookup .hint").first().render())
        form.set_focus(form.query_one("#lookup_path", Input))
        await _type(pilot, "company.nmae")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "names no field 'nmae'" in str(form.query_one("#lookup_path-error", Static).render())
        form.query_one("#lookup_path", Input).value = ""
        await _type(pilot, "company.name")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert CustomField.get(CustomField.key == "company_name").lookup_path == ["company", "name"]
        assert records.get("deal", ids["acme"]).custom["company_name"] == HOSTILE


async def test_edit_passes_only_what_changed_and_rename(sqlite_workspace: Workspace, app: CrmApp) -> None:
    ctx = sqlite_workspace.ctx
    tier = admin.add_field(ctx, "deal", "Tier", "dropdown", options=["Gold", "Silver"])
    make_deal(ctx, "Big", custom={"tier": "Gold"})
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        form = await _form(pilot, "e")
        assert form.query_one("#type-fixed") and not form.query("#type")
        form.set_focus(form.query_one("#options"))
        await pilot.press("enter")  # the cursor starts after the last option
        await _type(pilot, "Bronze")
        await pilot.press("ctrl+s")
        await settle(pilot)
        field = CustomField.get_by_id(tier.id)
        assert (field.label, field.options, field.version) == ("Tier", ["Gold", "Silver", "Bronze"], 2)

        await _form(pilot, "enter")  # enter edits too; dropping an option records hold is refused
        pilot.app.screen.query_one("#options").text = "Silver"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "records still hold 'Gold' (1)" in str(pilot.app.screen.query_one("#options-error", Static).render())
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("r")
        await settle(pilot)
        assert isinstance(pilot.app.screen, TextPromptScreen)
        pilot.app.screen.query_one(Input).value = ""
        await _type(pilot, "Level")
        await pilot.press("enter")
        await settle(pilot)
        field = CustomField.get_by_id(tier.id)
        assert (field.key, field.label, field.options) == ("tier", "Level", ["Gold", "Silver", "Bronze"])
        assert _lines(screen)[0].startswith("Level")


async def test_move_down_then_up_keeps_the_cursor_on_the_field(sqlite_workspace: Workspace, app: CrmApp) -> None:
    ctx = sqlite_workspace.ctx
    for label in ("Alpha", "Beta", "Gamma"):
        admin.add_field(ctx, "deal", label, "text")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("J")
        await settle(pilot)
        assert _deal_fields() == [("beta", "Beta", 0), ("alpha", "Alpha", 1), ("gamma", "Gamma", 2)]
        assert screen.current is not None and screen.current.field.key == "alpha"
        await pilot.press("shift+down")
        await settle(pilot)
        assert [key for key, _, _ in _deal_fields()] == ["beta", "gamma", "alpha"]
        await pilot.press("K", "shift+up")
        await settle(pilot)
        assert _deal_fields() == [("alpha", "Alpha", 0), ("beta", "Beta", 1), ("gamma", "Gamma", 2)]
        assert screen.current is not None and screen.current.field.key == "alpha"
        assert [line.split()[0] for line in _lines(screen)] == ["Alpha", "Beta", "Gamma"]


async def test_remove_a_field_with_a_value_keeps_it_in_the_event_log(sqlite_workspace: Workspace, app: CrmApp) -> None:
    ctx = sqlite_workspace.ctx
    admin.add_field(ctx, "deal", "Empty", "text")
    cost = admin.add_field(ctx, "deal", "Cost price", "currency")
    admin.add_field(ctx, "deal", "Profit", "formula", formula="amount - cost_price")
    deal = make_deal(ctx, "Big", amount=100_000, custom={"cost_price": "400"})
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert "used by Profit" in _lines(screen)[1] and "1 value" in _lines(screen)[1]
        await pilot.press("d")  # Empty: still asked, briefly
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmScreen)
        assert "No deal holds a value" in str(pilot.app.screen.question)
        await pilot.press("n")
        await settle(pilot)
        assert len(_deal_fields()) == 3
        await pilot.press("down", "delete")
        await settle(pilot)
        question = str(pilot.app.screen.question)
        assert "1 deal will be removed" in question and "event log" in question and "Profit reads it" in question
        await pilot.press("y")
        await settle(pilot)
        assert [key for key, _, _ in _deal_fields()] == ["empty", "profit"]  # the cursor stays at the same place
        kept = json.loads(Event.get(Event.kind == "custom_field.removed").old)
        assert kept["values"] == {str(deal.id): 40000} and kept["definition"]["label"] == "Cost price"
        assert "profit" not in records.get("deal", deal.id).custom
        assert screen.current is not None and screen.current.field.key == "profit"
        assert cost.id not in [row.field.id for row in screen.rows]


async def test_keys_switch_the_record_type(sqlite_workspace: Workspace, app: CrmApp) -> None:
    admin.add_field(sqlite_workspace.ctx, "contact", "Birthday", "date")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen.rows == []
        await pilot.press("2")
        await settle(pilot)
        assert screen.entity == "contact" and _lines(screen)[0].startswith("Birthday")
        assert "2 Contacts" in str(screen.query_one("#types", Static).render())
        await pilot.press("tab")
        await settle(pilot)
        assert screen.entity == "lead" and screen.rows == []
        assert "No custom fields on leads yet" in str(screen.query_one("#empty", Static).render())
        # deal, company (round), deal, lead, contact
        await pilot.press(
            "right_square_bracket", "right_square_bracket", "shift+tab", "left_square_bracket", "left_square_bracket"
        )
        await settle(pilot)
        assert screen.entity == "contact"
        await _form(pilot)
        await _type(pilot, "Shoe size")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert CustomField.get(CustomField.key == "shoe_size").entity == "contact"
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, CustomFieldsScreen)


async def test_labels_with_markup_characters_do_not_break_the_list(sqlite_workspace: Workspace, app: CrmApp) -> None:
    admin.add_field(sqlite_workspace.ctx, "deal", HOSTILE, "text")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await _form(pilot)
        await _type(pilot, "ACME [/] Corp")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [line.split("  ")[0] for line in _lines(screen)] == [HOSTILE, "ACME [/] Corp"]
        await pilot.press("d")
        await settle(pilot)
        assert "ACME [/] Corp" in str(pilot.app.screen.question)
        await pilot.press("escape", "r")
        await settle(pilot)
        assert isinstance(pilot.app.screen, TextPromptScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is screen


async def test_the_form_hands_the_service_only_what_changed(sqlite_workspace: Workspace, app: CrmApp) -> None:
    fd = admin.add_field(sqlite_workspace.ctx, "deal", "Partner", "lookup", lookup_path=["company", "name"])
    seen: list[dict] = []

    async def save(values: dict) -> dict[str, str] | None:
        seen.append(dict(values))
        return {"": "refused for the test"} if len(seen) == 1 else None

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        form = CustomFieldFormScreen("deal", save, field=fd)
        pilot.app.push_screen(form)
        await settle(pilot)
        assert not form.query_one("#required").display  # computed fields are never required
        form.set_focus(form.query_one("#lookup_path", Input))
        form.query_one("#lookup_path", Input).value = ""
        await _type(pilot, "company / industry")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert seen == [{"lookup_path": ["company", "industry"]}]
        assert "refused for the test" in str(form.query_one("#form-error", Static).render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is not form and len(seen) == 2
