"""The record lists, driven from the keyboard: switching to them, paging, sorting, filtering,
saved views, selection and bulk actions, new records. Each test checks the database afterwards."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from crm_tui.app import CrmApp
from crm_tui.models import Company, Contact, SavedView
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.record_list import RecordListScreen
from crm_tui.screens.record_screen import RecordScreen
from crm_tui.services import records
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, settle


def _screen(app: CrmApp) -> RecordListScreen:
    return next(s for s in reversed(app.screen_stack) if isinstance(s, RecordListScreen))


def _first_column(app: CrmApp) -> list[str]:
    table = _screen(app).table
    return [table.row_at(i).values[table.columns[0].key] for i in range(table.count) if table.row_at(i)]


async def _choose(pilot, label: str) -> None:  # noqa: ANN001 - a Pilot
    """Pick the option whose text starts with `label` in the open ChoiceScreen."""
    screen = pilot.app.screen
    assert isinstance(screen, ChoiceScreen), screen
    index = next(i for i, c in enumerate(screen.choices) if c.plain.startswith(label))
    for _ in range(index):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)


async def _type(pilot, text: str) -> None:  # noqa: ANN001 - a Pilot
    """Type `text` into whatever has the focus, key by key."""
    await pilot.press(*[{" ": "space", "'": "apostrophe"}.get(ch, ch) for ch in text])


def _people(ctx) -> None:  # noqa: ANN001 - a Context
    for first, last in [("Zoe", "Adams"), ("Ann", "Baker"), ("Bob", "Clark"), (HOSTILE, "Doe")]:
        records.create(ctx, "contact", {"first_name": first, "last_name": last})


async def test_function_keys_switch_between_the_board_and_the_lists(app: CrmApp) -> None:
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        for key, entity in [("f4", "contact"), ("f5", "company"), ("f6", "lead"), ("f3", "deal")]:
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, RecordListScreen) and app.screen.entity == entity
        assert _screen(app).table.count == 5  # every deal of the fixture, in both pipelines
        await pilot.press("f2")
        await settle(pilot)
        assert app.current_mode == "board"


async def test_contacts_page_sort_and_filter_from_the_keyboard(sqlite_workspace: Workspace, app: CrmApp) -> None:
    _people(sqlite_workspace.ctx)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        assert _first_column(app) == ["Zoe Adams", "Ann Baker", "Bob Clark", f"{HOSTILE} Doe"]
        await pilot.press("G")
        assert _screen(app).table.current.values["name"] == f"{HOSTILE} Doe"
        await pilot.press("s")
        await settle(pilot)
        await _choose(pilot, "Name")  # the current sort: reversed
        assert _first_column(app)[0] == f"{HOSTILE} Doe"
        await pilot.press("slash")
        await _type(pilot, "bak")
        await pilot.press("enter")
        await settle(pilot)
        assert _first_column(app) == ["Ann Baker"]
        await pilot.press("escape")
        await settle(pilot)
        assert _screen(app).table.count == 4
        await pilot.press("f")
        await settle(pilot)
        await _choose(pilot, "Name")
        await _choose(pilot, "starts with")
        await _type(pilot, "bob")
        await pilot.press("enter")
        await settle(pilot)
        assert _first_column(app) == ["Bob Clark"]
        assert "Name starts with bob" in str(app.screen.query_one("#summary").render())


async def test_select_and_bulk_delete_then_undo(sqlite_workspace: Workspace, app: CrmApp) -> None:
    _people(sqlite_workspace.ctx)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("space", "space")  # Zoe and Ann
        await pilot.press("b")
        await settle(pilot)
        await _choose(pilot, "Delete")
        await pilot.press("y")  # the confirmation starts on Keep: y deletes
        await settle(pilot)
        live = Contact.select().where(Contact.deleted_at.is_null())
        assert sorted(c.last_name for c in live) == ["Clark", "Doe"]
        assert _first_column(app) == ["Bob Clark", f"{HOSTILE} Doe"]
        await pilot.press("u")
        await settle(pilot)
        assert Contact.select().where(Contact.deleted_at.is_null()).count() == 4


async def test_bulk_set_owner_and_save_a_view(sqlite_workspace: Workspace, app: CrmApp) -> None:
    _people(sqlite_workspace.ctx)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("j", "b")
        await settle(pilot)
        await _choose(pilot, "Set owner")
        await _choose(pilot, "Bob Stone")
        owners = {c.last_name: c.owner_id for c in Contact.select()}
        assert owners["Baker"] is not None and owners["Adams"] is None
        await pilot.press("f")
        await settle(pilot)
        await _choose(pilot, "Owner")
        await _choose(pilot, "is")
        await _choose(pilot, "Bob Stone")
        assert _first_column(app) == ["Ann Baker"]
        await pilot.press("w")
        await settle(pilot)
        await _type(pilot, "Bob's people")
        await pilot.press("enter")
        await settle(pilot)
        view = SavedView.get(SavedView.name == "Bob's people")
        assert view.entity == "contact" and view.filters["conditions"][0]["key"] == "owner"
        views = app.screen.query_one("#views")
        assert any("Bob's people" in str(views.get_option_at_index(i).prompt) for i in range(views.option_count))


async def test_new_company_from_the_list_is_created_and_opened(app: CrmApp, monkeypatch) -> None:  # noqa: ANN001
    opened: list[tuple[str, int]] = []
    monkeypatch.setattr(app, "open_record", lambda entity, record_id: opened.append((entity, record_id)))
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await _type(pilot, "Initech")
        await pilot.press("enter")
        await settle(pilot)
        made = Company.get(Company.name == "Initech")
        assert opened == [("company", made.id)]
        assert _screen(app).table.current.id == made.id


@pytest.mark.parametrize(
    ("key", "entity", "find", "field", "typed", "stored"),
    [
        ("f3", "deal", "globex pilot", "title", "Globex pilot two", "Globex pilot two"),
        ("f4", "contact", "hannah", "title", "CTO", "CTO"),
        ("f5", "company", "globex", "industry", "Retail", "Retail"),
        ("f6", "lead", "walt", "source", "Fair", "Fair"),
    ],
)
async def test_each_list_filters_opens_and_saves_its_record(
    sqlite_workspace: Workspace, app: CrmApp, key: str, entity: str, find: str, field: str, typed: str, stored: str
) -> None:
    ctx = sqlite_workspace.ctx
    records.create(ctx, "contact", {"first_name": "Hannah", "last_name": "Lee", "email": "hannah@globex.com"})
    records.create(ctx, "lead", {"first_name": "Walt", "last_name": "Kim", "company_name": "Kim & Co"})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(key)
        await settle(pilot)
        await pilot.press("slash")
        await _type(pilot, find)
        await pilot.press("enter")
        await settle(pilot)
        assert _screen(app).table.count == 1
        record_id = _screen(app).table.current.id
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RecordScreen) and (screen.entity, screen.record_id) == (entity, record_id)
        editor = screen.query_one(f"#f-{field}", Input)
        screen.set_focus(editor)
        editor.value = ""
        await _type(pilot, typed)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert records.get(entity, record_id).values[field] == stored
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RecordListScreen) and app.screen.entity == entity


async def test_at_80_columns_the_saved_views_give_the_table_room(app: CrmApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        screen = _screen(app)
        views = screen.query_one("#views")
        assert views.outer_size.width == 12 and screen.table.outer_size.width >= 66
        screen.set_focus(views)  # focused, they open to their full width
        await settle(pilot)
        assert views.outer_size.width == 28
