"""The data-quality screens from the keyboard: the duplicate scan (with progress, stopped by esc),
the merge screen (choosing values and the record kept, merging, undoing, a conflict), the tag
clean-up (rename, merge, delete unused) and the normalise dialog. Each test checks the database
afterwards; a company, a tag and a contact named with markup characters go through every screen."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, ProgressBar, Static

from crm_tui import clock
from crm_tui.app import CrmApp
from crm_tui.models import Company, Contact, ContactTag, Deal, DealTag, Tag
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.duplicates import DuplicatesScreen
from crm_tui.screens.merge_screen import MergeScreen
from crm_tui.screens.normalise_screen import NormaliseScreen
from crm_tui.screens.record_screen import RecordScreen
from crm_tui.screens.tag_cleanup import TagCleanupScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import dedupe, normalise, records
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, make_app, settle
from tests.helpers import make_deal

T0 = datetime(2026, 3, 1, 9, 0)


def at(minutes: int) -> None:
    clock.freeze(T0 + timedelta(minutes=minutes))


@pytest.fixture
def world(sqlite_workspace: Workspace) -> dict[str, int]:
    """Jon Smith (older, at a company named with markup) and John Smith (newer, same email, a
    phone and a deal); Ann Baker (no duplicate); two companies sharing a domain."""
    ctx = sqlite_workspace.ctx
    at(0)
    acme = records.create(ctx, "company", {"name": HOSTILE, "domain": "acme.com"}).id
    jon = records.create(
        ctx,
        "contact",
        {"first_name": "Jon", "last_name": "Smith", "email": "jon@acme.com", "title": "CTO", "company_id": acme},
    ).id
    at(5)
    john = records.create(
        ctx,
        "contact",
        {"first_name": "John", "last_name": "Smith", "email": "JON@acme.com", "phone": "+1 202 555 0143"},
    ).id
    deal = make_deal(ctx, "Smith deal", contact_id=john).id
    records.create(ctx, "contact", {"first_name": "Ann", "last_name": "Baker", "email": "ann@globex.com"})
    acme_inc = records.create(ctx, "company", {"name": "Acme Inc", "website": "https://www.acme.com"}).id
    clock.freeze(None)
    return {"acme": acme, "acme_inc": acme_inc, "jon": jon, "john": john, "deal": deal}


@pytest.fixture
def crm(sqlite_workspace: Workspace, world: dict[str, int]) -> Iterator[CrmApp]:
    """The app on that workspace."""
    app = make_app(sqlite_workspace.ctx)
    yield app
    app.session.close()


async def _press(pilot: Pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def _push(pilot: Pilot, screen: Any) -> Any:
    await settle(pilot)
    pilot.app.push_screen(screen)
    await settle(pilot)
    assert pilot.app.screen is screen
    return screen


def _lines(screen: Any) -> list[str]:
    box = screen.query_one("#groups", OptionList)
    return [box.get_option_at_index(i).prompt.plain for i in range(box.option_count)]


def _toasts(pilot: Pilot) -> list[str]:
    return [str(n.message) for n in pilot.app._notifications]


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def _to_field(pilot: Pilot, screen: MergeScreen, key: str) -> None:
    """Move the merge screen's cursor to the row of field `key` with the arrow keys."""
    assert screen.plan is not None
    table = screen.query_one("#fields", DataTable)
    target = [field.key for field in screen.plan.fields].index(key)
    while table.cursor_row != target:
        await _press(pilot, "down" if table.cursor_row < target else "up")


def _field(screen: MergeScreen, key: str) -> Any:
    assert screen.plan is not None
    return next(field for field in screen.plan.fields if field.key == key)


async def test_scan_merge_undo_and_merge_again_from_the_keyboard(crm: CrmApp, world: dict[str, int]) -> None:
    async with crm.run_test(size=(100, 30)) as pilot:
        dupes = await _push(pilot, DuplicatesScreen("contact"))
        assert [[r.id for r in g.records] for g in dupes.groups] == [[world["jon"], world["john"]]]
        lines = _lines(dupes)
        assert "same email" in lines[0] and "2 contacts" in lines[0]
        assert "Jon Smith" in lines[1] and f"jon@acme.com · {HOSTILE}" in lines[1] and "John Smith" in lines[2]
        assert not any("Ann Baker" in line for line in lines)

        await _press(pilot, "enter")
        merging = pilot.app.screen
        assert isinstance(merging, MergeScreen) and merging.ids == [world["jon"], world["john"]]
        assert merging.survivor_id == world["jon"]  # the oldest is kept
        assert _field(merging, "first_name").chosen == 1  # the newest value by default
        await _to_field(pilot, merging, "first_name")
        await _press(pilot, "left")
        assert _field(merging, "first_name").chosen == 0
        await _press(pilot, "right", "1")  # and back, then record 1 by its number
        assert _field(merging, "first_name").chosen == 0
        await _to_field(pilot, merging, "title")
        await _press(pilot, "2")  # John has no job title: choosing his empty value drops it
        assert _field(merging, "title").chosen == 1
        assert merging.query_one("#fields", DataTable).cursor_column == 2  # the cursor sits on the winner

        await _press(pilot, "ctrl+s")
        assert isinstance(pilot.app.screen, ConfirmScreen)
        await _press(pilot, "y")
        jon, john = Contact.get_by_id(world["jon"]), Contact.get_by_id(world["john"])
        assert john.deleted_at is not None and jon.deleted_at is None
        assert (jon.first_name, jon.title, jon.phone) == ("Jon", None, "+1 202 555 0143")
        assert Deal.get_by_id(world["deal"]).contact_id == world["jon"]
        assert merging.result is not None and "Merged." in _text(merging, "#merge-status")

        await _press(pilot, "u")
        assert Contact.get_by_id(world["john"]).deleted_at is None
        assert Deal.get_by_id(world["deal"]).contact_id == world["john"]
        assert Contact.get_by_id(world["jon"]).title == "CTO"
        assert any(toast.startswith("Merge undone: 1 contact restored") for toast in _toasts(pilot))
        assert merging.result is None and _field(merging, "first_name").chosen == 0  # choices survive the re-read

        await _press(pilot, "escape")  # undone: the group is still there
        assert pilot.app.screen is dupes and len(dupes.groups) == 1
        await _press(pilot, "enter")
        await _press(pilot, "ctrl+s")
        await _press(pilot, "y")
        assert Contact.get_by_id(world["john"]).deleted_at is not None
        await _press(pilot, "escape")
        assert pilot.app.screen is dupes and dupes.groups == []
        assert _lines(dupes) == ["Every group of likely duplicate contacts found is merged."]


async def test_keep_chooses_the_survivor_and_a_conflict_reads_again(
    crm: CrmApp, world: dict[str, int], sqlite_workspace: Workspace
) -> None:
    async with crm.run_test(size=(80, 24)) as pilot:
        merging = await _push(pilot, MergeScreen("contact", [world["john"], world["jon"]]))
        await _press(pilot, "k")
        assert isinstance(pilot.app.screen, ChoiceScreen)
        await _press(pilot, "down", "enter")  # record 2: John
        assert merging.survivor_id == world["john"]
        assert "★ kept" in merging.query_one("#fields", DataTable).columns["r1"].label.plain

        john = records.get("contact", world["john"])
        records.update(sqlite_workspace.ctx, "contact", world["john"], {"title": "VP"}, version=john.version)
        await _press(pilot, "ctrl+s", "y")
        assert Contact.get_by_id(world["jon"]).deleted_at is None  # nothing merged
        assert any("changed by someone else" in toast for toast in _toasts(pilot))
        assert _field(merging, "title").shown == ["CTO", "VP"]  # read again

        await _press(pilot, "ctrl+s", "y")
        assert Contact.get_by_id(world["jon"]).deleted_at is not None
        assert Contact.get_by_id(world["john"]).company_id == world["acme"]  # Jon's company came along
        assert Deal.get_by_id(world["deal"]).contact_id == world["john"]


@pytest.mark.parametrize(("size", "count"), [((80, 24), 2), ((120, 35), 4)])
async def test_the_merge_screen_fits_its_columns(
    sqlite_workspace: Workspace, size: tuple[int, int], count: int
) -> None:
    ctx = sqlite_workspace.ctx
    ids = [
        records.create(ctx, "company", {"name": f"{HOSTILE} {n}", "industry": "Anvils " * 12}).id for n in range(count)
    ]
    app = make_app(ctx)
    async with app.run_test(size=size) as pilot:
        merging = await _push(pilot, MergeScreen("company", ids))
        table = merging.query_one("#fields", DataTable)
        assert len(table.columns) == count + 1
        assert (
            sum(column.get_render_width(table) for column in table.columns.values())
            <= table.scrollable_content_region.width
        )
        assert table.columns["r0"].label.plain.startswith("1 ACME [/] Corp [@click")  # as typed, not markup
        assert HOSTILE in _text(merging, "#merge-status")
    app.session.close()


async def test_other_record_types_open_records_and_scan_again(
    crm: CrmApp, world: dict[str, int], sqlite_workspace: Workspace
) -> None:
    async with crm.run_test(size=(100, 30)) as pilot:
        dupes = await _push(pilot, DuplicatesScreen("contact"))
        await _press(pilot, "o")
        assert isinstance(pilot.app.screen, RecordScreen) and pilot.app.screen.record_id == world["jon"]
        await _press(pilot, "escape")

        await _press(pilot, "2")
        assert dupes.entity == "company"
        assert [[r.id for r in g.records] for g in dupes.groups] == [[world["acme"], world["acme_inc"]]]
        assert HOSTILE in _lines(dupes)[1] and "same domain" in _lines(dupes)[0]
        await _press(pilot, "enter")
        merging = pilot.app.screen
        assert isinstance(merging, MergeScreen) and merging.entity == "company"
        assert _field(merging, "name").shown == [HOSTILE, "Acme Inc"]
        await _press(pilot, "escape")

        await _press(pilot, "3")
        assert dupes.groups == [] and "No likely duplicates among the leads" in _text(dupes, "#dupes-status")
        records.create(sqlite_workspace.ctx, "lead", {"first_name": "Bo", "email": "bo@initech.com"})
        records.create(sqlite_workspace.ctx, "lead", {"first_name": "Bo", "last_name": "Ek", "email": "BO@initech.com"})
        await _press(pilot, "r")
        assert len(dupes.groups) == 1 and len(dupes.groups[0].records) == 2


async def test_esc_stops_a_running_scan(crm: CrmApp, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_scan(entity: str, *, progress: Any, threshold: int, cancel: Any) -> list:
        for step in range(2000):  # at most 20 seconds
            if cancel():
                raise dedupe.Cancelled
            progress(step, 2000)
            time.sleep(0.01)
        return []

    monkeypatch.setattr(dedupe, "scan", slow_scan)
    async with crm.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        dupes = DuplicatesScreen("contact")
        pilot.app.push_screen(dupes)
        bar = None
        for _ in range(500):
            await pilot.pause(0.02)
            bar = dupes.query_one(ProgressBar)
            if dupes.scanning and (bar.progress or 0) > 0:
                break
        assert bar is not None and bar.display and (bar.progress or 0) > 0  # progress is shown while it runs
        await _press(pilot, "escape")
        assert not dupes.scanning and "stopped" in _text(dupes, "#dupes-status")
        assert pilot.app.screen is dupes  # the first esc only stops the scan
        await _press(pilot, "escape")
        assert pilot.app.screen is not dupes


def _tags(ctx: Any, world: dict[str, int]) -> dict[str, int]:
    ids = {
        name: records.create(ctx, "tag", {"name": name}).id for name in ["VIP", "vip customers", "cold", "old", HOSTILE]
    }
    ContactTag.insert_many([(ids["VIP"], world["jon"]), (ids["vip customers"], world["john"]),
                            (ids["vip customers"], world["jon"])], fields=["tag", "contact"]).execute()  # fmt: skip
    DealTag.insert(tag=ids[HOSTILE], deal=world["deal"]).execute()
    return ids


async def _to_tag(pilot: Pilot, screen: TagCleanupScreen, name: str) -> None:
    table = screen.query_one("#tags", DataTable)
    target = [tag.name for tag in screen.tags].index(name)
    while table.cursor_row != target:
        await _press(pilot, "down" if table.cursor_row < target else "up")


async def test_tag_cleanup_renames_merges_and_deletes_unused(
    crm: CrmApp, world: dict[str, int], sqlite_workspace: Workspace
) -> None:
    ids = _tags(sqlite_workspace.ctx, world)
    async with crm.run_test(size=(80, 24)) as pilot:
        screen = await _push(pilot, TagCleanupScreen())
        assert [tag.name for tag in screen.tags] == [HOSTILE, "cold", "old", "VIP", "vip customers"]
        table = screen.query_one("#tags", DataTable)
        name, *counts = (cell.plain.strip() for cell in table.get_row_at(0))
        assert name.startswith("ACME [/] Corp [@c") and counts == ["0", "0", "0", "1", "1"]  # cut to fit 80 columns

        await _to_tag(pilot, screen, "cold")
        await _press(pilot, "e")
        assert isinstance(pilot.app.screen, TextPromptScreen)
        await _press(pilot, *["backspace"] * 4, *"Cold", "space", *"leads", "enter")
        assert Tag.get_by_id(ids["cold"]).name == "Cold leads"

        await _to_tag(pilot, screen, "old")
        await _press(pilot, "e", *["backspace"] * 3, *"vip", "enter")
        assert Tag.get_by_id(ids["old"]).name == "old"
        assert any("merge" in toast for toast in _toasts(pilot))

        await _to_tag(pilot, screen, "vip customers")
        await _press(pilot, "m")
        choice = pilot.app.screen
        assert isinstance(choice, ChoiceScreen)
        index = next(i for i, label in enumerate(choice.choices) if label.plain.strip().startswith("VIP"))
        assert choice.choices[index].plain.strip() == "VIP  1 contact"
        await _press(pilot, *["down"] * index, "enter")
        assert isinstance(pilot.app.screen, ConfirmScreen)
        await _press(pilot, "y")
        assert Tag.get_or_none(Tag.id == ids["vip customers"]) is None
        linked = sorted(ContactTag.select(ContactTag.contact).where(ContactTag.tag == ids["VIP"]).tuples())
        assert linked == sorted([(world["jon"],), (world["john"],)])

        await _press(pilot, "d")
        confirm = pilot.app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert "“Cold leads”, “old”" in confirm.question.plain
        await _press(pilot, "y")
        assert sorted(name for (name,) in Tag.select(Tag.name).tuples()) == sorted([HOSTILE, "VIP"])
        assert [tag.name for tag in screen.tags] == [HOSTILE, "VIP"]


async def test_normalise_sets_the_country_checks_and_applies(
    crm: CrmApp, world: dict[str, int], sqlite_workspace: Workspace
) -> None:
    records.update(sqlite_workspace.ctx, "contact", world["jon"], {"phone": "(202) 555-0143"}, version=1)
    Company.update(name=f"  {HOSTILE} ").where(Company.id == world["acme"]).execute()  # as an old import left it
    async with crm.run_test(size=(100, 30)) as pilot:
        dialog = await _push(pilot, NormaliseScreen())
        assert dialog.query_one("#country", Input).has_focus
        await _press(pilot, "u", "s", "enter")
        assert normalise.default_country() == "US"

        await _press(pilot, "ctrl+r")
        report = _text(dialog, "#report")
        assert "Would change" in report and "Contacts · phone" in report and f"“{HOSTILE}”" in report
        assert Contact.get_by_id(world["jon"]).phone == "(202) 555-0143"

        await _press(pilot, "ctrl+s")
        assert isinstance(pilot.app.screen, ConfirmScreen)
        await _press(pilot, "y")
        assert Contact.get_by_id(world["jon"]).phone == "+12025550143"
        assert Company.get_by_id(world["acme"]).name == HOSTILE
        assert "Changed" in _text(dialog, "#report")
        await _press(pilot, "escape")
        assert pilot.app.screen is not dialog


async def test_normalise_refuses_an_unknown_country(crm: CrmApp) -> None:
    async with crm.run_test(size=(100, 30)) as pilot:
        dialog = await _push(pilot, NormaliseScreen())
        await _press(pilot, "x", "x", "enter")
        assert normalise.default_country() is None
        assert "not a country code" in _text(dialog, "#country-note")
