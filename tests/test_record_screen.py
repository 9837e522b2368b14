"""The record screen from the keyboard: every custom field type edited, saved and read back,
inline errors, the conflict dialog, notes, tasks, calls and lead conversion."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from textual.widgets import Checkbox, Input, Select, SelectionList, TextArea

from crm_tui.app import CrmApp
from crm_tui.models import Company, Contact, Lead, Note, Task
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.record_picker import RecordPickerScreen
from crm_tui.screens.record_screen import RecordScreen
from crm_tui.services import records
from crm_tui.services.workspace import Workspace
from crm_tui.widgets.field_editors import Rating, ReferencePicker
from tests.board_fixtures import HOSTILE, settle


async def _type(pilot, text: str) -> None:  # noqa: ANN001 - a Pilot
    await pilot.press(*[{" ": "space", ",": "comma", ".": "full_stop", "-": "minus", "+": "plus"}.get(c, c) for c in text])


async def _field(pilot, key: str, text: str) -> None:  # noqa: ANN001
    """Clear the input of form field `key` and type `text` into it, as a user would."""
    widget = pilot.app.screen.query_one(f"#f-{key.replace('.', '--')}", Input)
    pilot.app.screen.set_focus(widget)
    await pilot.pause()
    widget.value = ""
    await _type(pilot, text)


def _custom_fields(ctx) -> None:  # noqa: ANN001 - a Context
    fields = [
        ("tier", "dropdown", {"options": ["Gold", "Silver"]}), ("vip", "checkbox", {}), ("stars", "rating", {}),
        ("regions", "multi_select", {"options": ["EU", "US", "APAC"]}), ("renewal", "date", {}),
        ("budget", "currency", {}), ("score", "number", {}), ("site", "url", {}), ("notes", "long_text", {}),
        ("margin", "formula", {"formula": "budget - employees"}), ("parent", "reference", {"reference_entity": "company"}),
        ("parent_industry", "lookup", {"lookup_path": ["parent", "industry"]}), ("code", "text", {}),
        ("mail", "email", {}), ("tel", "phone", {}), ("share", "percent", {}), ("meeting", "datetime", {}),
        ("hq", "address", {}), ("rep", "user", {}), ("number", "auto_number", {}),
    ]  # fmt: skip
    for position, (key, kind, extra) in enumerate(fields):
        records.create(ctx, "custom_field", {"entity": "company", "key": key, "label": key.title(), "type": kind, "position": position, **extra})


async def test_every_custom_field_type_is_edited_saved_and_read_back(sqlite_workspace: Workspace, app: CrmApp) -> None:
    ctx = sqlite_workspace.ctx
    _custom_fields(ctx)
    company = records.create(ctx, "company", {"name": "Initech", "employees": 40})
    globex = records.create(ctx, "company", {"name": "Globex Holdings", "industry": "Retail"})
    async with app.run_test(size=(120, 60)) as pilot:
        app.open_record("company", company.id)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RecordScreen)
        await _field(pilot, "custom.budget", "1,250.50")
        await _field(pilot, "custom.renewal", "2026-12-01")
        await _field(pilot, "custom.score", "7.5")
        await _field(pilot, "custom.site", "initech.example")
        await _field(pilot, "custom.code", "IN-7")
        await _field(pilot, "custom.mail", "ops@initech.example")
        await _field(pilot, "custom.tel", "+1 555 0100")
        await _field(pilot, "custom.share", "12.5%")
        await _field(pilot, "custom.meeting", "2026-12-02 14:30")
        screen.query_one("#f-custom--hq", TextArea).text = "1 Main St\nAustin"
        screen.query_one("#f-custom--rep", Select).value = sqlite_workspace.ctx.user_id
        screen.query_one("#f-custom--tier", Select).value = "Gold"
        screen.set_focus(screen.query_one("#f-custom--vip", Checkbox))
        await pilot.press("space")
        screen.set_focus(screen.query_one("#f-custom--stars", Rating))
        await pilot.press("4")
        regions = screen.query_one("#f-custom--regions", SelectionList)
        screen.set_focus(regions)
        await pilot.press("down", "space")  # US
        screen.set_focus(screen.query_one("#f-custom--parent", ReferencePicker))
        await _type(pilot, "hold")  # the picker opens on the first letter and searches as one types
        await settle(pilot)
        assert isinstance(app.screen, RecordPickerScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and screen.query_one("#f-custom--parent", ReferencePicker).record_id == globex.id
        await pilot.press("ctrl+s")
        await settle(pilot)
        await settle(pilot)  # the save's own change event reloads the form once more
        saved = records.get("company", company.id)
        assert saved.custom == {
            "tier": "Gold", "vip": True, "stars": 4, "regions": ["US"], "renewal": date(2026, 12, 1),
            "budget": 125050, "score": Decimal("7.5"), "site": "https://initech.example", "margin": Decimal("1210.5"),
            "parent": globex.id, "parent_industry": "Retail", "code": "IN-7", "mail": "ops@initech.example",
            "tel": "+1 555 0100", "share": Decimal("12.5"), "meeting": datetime(2026, 12, 2, 14, 30),
            "hq": "1 Main St\nAustin", "rep": sqlite_workspace.ctx.user_id, "number": 3,  # the fixture's two companies came first
        }  # fmt: skip
        assert "1210.5" in str(screen.query_one("#f-custom--margin").render())
        assert "Retail" in str(screen.query_one("#f-custom--parent_industry").render())
        assert "Globex Holdings" in str(screen.query_one("#f-custom--parent").render())


async def test_a_field_is_checked_as_the_user_leaves_it(sqlite_workspace: Workspace, app: CrmApp) -> None:
    _custom_fields(sqlite_workspace.ctx)
    company = records.create(sqlite_workspace.ctx, "company", {"name": "Initech"})
    async with app.run_test(size=(120, 60)) as pilot:
        app.open_record("company", company.id)
        await settle(pilot)
        screen = app.screen
        await _field(pilot, "employees", "lots")
        await pilot.press("tab")  # leave it
        await settle(pilot)
        assert "whole number" in str(screen.query_one("#f-employees-error").render())
        await _field(pilot, "custom.budget", "12.345.6")
        await pilot.press("tab")
        await settle(pilot)
        assert screen.query_one("#f-custom--budget-error").has_class("-shown")
        await _field(pilot, "employees", "40")
        await pilot.press("tab")
        await settle(pilot)
        assert not screen.query_one("#f-employees-error").has_class("-shown")
        assert records.get("company", company.id).values["employees"] is None  # checked, not saved


async def test_an_invalid_value_is_shown_beside_its_field_and_nothing_is_saved(sqlite_workspace: Workspace, app: CrmApp) -> None:
    contact = records.create(sqlite_workspace.ctx, "contact", {"first_name": "Ann", "email": "ann@acme.com"})
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_record("contact", contact.id)
        await settle(pilot)
        await _field(pilot, "email", "not an email")
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = app.screen.query_one("#f-email-error")
        assert error.has_class("-shown") and "email" in str(error.render())
        assert Contact.get_by_id(contact.id).email == "ann@acme.com"
        await _field(pilot, "email", "ann@initech.com")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Contact.get_by_id(contact.id).email == "ann@initech.com"
        assert not app.screen.query_one("#f-email-error").has_class("-shown")


async def test_a_conflicting_save_shows_both_values_and_keeps_the_chosen_one(sqlite_workspace: Workspace, app: CrmApp) -> None:
    ctx = sqlite_workspace.ctx
    company = records.create(ctx, "company", {"name": "Initech", "industry": "Software", "phone": "555 0100"})
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_record("company", company.id)
        await settle(pilot)
        await _field(pilot, "industry", "Hardware")
        await _field(pilot, "domain", "initech.com")
        # Meanwhile someone else changes the industry and the phone.
        records.update(ctx, "company", company.id, {"industry": "Consulting", "phone": "555 0199"}, version=1)
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ChoiceScreen)
        assert [c.plain for c in dialog.choices] == ["Keep yours: Hardware", "Take theirs: Consulting"]
        await pilot.press("enter")  # keep mine
        await settle(pilot)
        row = Company.get_by_id(company.id)
        assert (row.industry, row.domain, row.phone) == ("Hardware", "initech.com", "555 0199")  # nothing lost


async def test_notes_calls_and_tasks_go_on_the_timeline(sqlite_workspace: Workspace, app: CrmApp) -> None:
    contact = records.create(sqlite_workspace.ctx, "contact", {"first_name": HOSTILE})
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_record("contact", contact.id)
        await settle(pilot)
        app.screen.set_focus(app.screen.query_one("#timeline"))
        await pilot.press("a")
        await settle(pilot)
        await _type(pilot, "Met at the fair")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("enter")  # a call
        await settle(pilot)
        await _type(pilot, "Wants a demo")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await _type(pilot, "Send the demo")
        for keys in (["enter"], ["enter"], ["enter"], ["down", "down", "enter"]):  # due tomorrow, me, 5 min before
            await settle(pilot)
            await pilot.press(*keys)
        await settle(pilot)
        bodies = sorted(n.body for n in Note.select().where(Note.contact == contact.id))
        assert bodies == ["Call: Wants a demo", "Met at the fair"]
        task = Task.get(Task.contact == contact.id)
        assert task.title == "Send the demo" and task.due_at is not None and task.reminders == [5]
        lines = app.screen.query_one("#timeline")
        texts = [str(lines.get_option_at_index(i).prompt) for i in range(lines.option_count)]
        assert any("Wants a demo" in t for t in texts) and any("Send the demo" in t for t in texts)


async def test_a_task_due_on_a_day_that_does_not_exist_asks_again(sqlite_workspace: Workspace, app: CrmApp) -> None:
    from crm_tui.screens.text_prompt import TextPromptScreen

    contact = records.create(sqlite_workspace.ctx, "contact", {"first_name": "Ada"})
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_record("contact", contact.id)
        await settle(pilot)
        app.screen.set_focus(app.screen.query_one("#timeline"))
        await pilot.press("t")
        await settle(pilot)
        await _type(pilot, "Send proposal")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+u")  # the suggested "tomorrow" goes
        await _type(pilot, "2026-02-30")
        await pilot.press("enter")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, TextPromptScreen) and "Due" in str(prompt.question)
        assert not Task.select().exists()  # nothing lost, nothing stored yet
        await pilot.press("ctrl+u")
        await _type(pilot, "2026-12-01")
        for keys in (["enter"], ["enter"], ["enter"]):  # the date, me, no reminder
            await pilot.press(*keys)
            await settle(pilot)
        task = Task.get(Task.contact == contact.id)
        assert task.title == "Send proposal" and str(task.due_at) == "2026-12-01 09:00:00"
        await pilot.press("t")
        await settle(pilot)
        await _type(pilot, "Someday")
        for keys in (["enter"], ["ctrl+u", "enter"], ["enter"]):  # the title, no due date (empty), me
            await pilot.press(*keys)
            await settle(pilot)
        assert Task.get(Task.title == "Someday").due_at is None  # "empty for none" means it


async def test_converting_a_lead_from_its_screen(sqlite_workspace: Workspace, app: CrmApp) -> None:
    lead = records.create(sqlite_workspace.ctx, "lead", {"first_name": "Jane", "last_name": "Doe", "company_name": "Initech"})
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_record("lead", lead.id)
        await settle(pilot)
        app.screen.set_focus(app.screen.query_one("#timeline"))
        await pilot.press("C")
        await settle(pilot)
        await pilot.press("enter")  # create the company Initech
        await settle(pilot)
        await pilot.press("enter")  # no deal
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        row = Lead.get_by_id(lead.id)
        assert row.converted_at is not None and row.converted_company.name == "Initech"
        assert isinstance(app.screen, RecordScreen) and app.screen.entity == "contact"
        assert app.screen.record_id == row.converted_contact_id


async def test_a_deal_s_page_says_where_it_stands(sqlite_workspace: Workspace, app: CrmApp) -> None:
    from textual.widgets import Static

    from crm_tui.services import deals
    from tests.helpers import make_deal, stage_named

    ctx = sqlite_workspace.ctx
    open_deal = make_deal(ctx, "Open one")
    lost = make_deal(ctx, "Lost one")
    deals.move_deal(ctx, lost.id, stage_named("Closed Lost"), from_stage_id=lost.values["stage_id"], lost_reason="Price")
    async with app.run_test(size=(120, 40)) as pilot:
        for deal, expected in ((open_deal, "Sales › Qualification 20%"), (lost, "Sales › Closed Lost lost 20")):
            app.open_record("deal", deal.id)
            await settle(pilot)
            title = str(app.screen.query_one("#title", Static).render())
            assert expected in title, title
            await pilot.press("escape")
            await settle(pilot)
        assert "lost 20" in title and title.endswith(": Price")
        app.open_record("deal", open_deal.id)  # m moves it from its page: lost, with a reason
        await settle(pilot)
        app.screen.set_focus(app.screen.query_one("#timeline"))
        await pilot.press("m")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, ChoiceScreen)
        labels = [str(picker.query_one("OptionList").get_option_at_index(i).prompt) for i in range(len(picker.choices))]
        lost_at = next(i for i, label in enumerate(labels) if label.startswith("Closed Lost"))
        now = next(i for i, label in enumerate(labels) if "(now)" in label)
        assert labels[now].startswith("Qualification")
        await pilot.press(*["down"] * (lost_at - now), "enter")  # the cursor starts on the current stage
        await settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)  # why was it lost?
        await pilot.press("enter")
        await settle(pilot)
        moved = records.get("deal", open_deal.id).values
        assert moved["stage_id"] == stage_named("Closed Lost") and moved["lost_reason"]
        assert "Closed Lost" in str(app.screen.query_one("#title", Static).render())
