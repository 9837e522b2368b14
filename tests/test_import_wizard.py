"""The import wizard from the keyboard: reading a file (and an unreadable one), the suggested
mapping and changing it, saved mappings, the preview, a dry run that stores nothing, importing,
partial mode's file of rejected rows, reverting, a deal file's unknown stage mapped to a stage of
the pipeline, and headers and cells with markup characters."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Select, Static

from crm_tui.app import CrmApp
from crm_tui.models import Company, Contact, CustomField, Deal, Event, ImportBatch, Stage
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.import_files import FileTree, complete_path
from crm_tui.screens.import_mapping import ColumnsPanel, TargetPicker
from crm_tui.screens.import_steps import OptionsPanel
from crm_tui.screens.import_wizard import ImportWizard
from crm_tui.screens.record_list import RecordListScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import import_mappings, pipelines, records
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, settle

DATA = Path(__file__).parent / "data" / "import"
SIZE = (120, 35)
BAD_ROWS = (
    "First name,Last name,Email\n"
    "Ada,Lovelace,ada@analytical.example\n"
    "Bad,Address,not-an-email\n"
    "Grace,Hopper,grace@cobol.example\n"
)


async def _press(pilot: Pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def _open(pilot: Pilot, entity: str = "contact") -> ImportWizard:
    await settle(pilot)
    pilot.app.push_screen(ImportWizard(entity))
    await settle(pilot)
    wizard = pilot.app.screen
    assert isinstance(wizard, ImportWizard)
    assert wizard.focused is wizard.query_one("#path", Input)
    return wizard


async def _read(pilot: Pilot, wizard: ImportWizard, path: Path) -> None:
    """Put `path` in the path field and press enter (typing it all would only be slower)."""
    field = wizard.query_one("#path", Input)
    field.value = str(path)
    field.focus()
    await _press(pilot, "enter")


def _target(wizard: ImportWizard, header: str) -> str:
    """What the column `header` becomes (a target key, "" for not imported, "+new")."""
    assert wizard.table is not None
    return wizard.query_one(ColumnsPanel).chosen[wizard.table.header.index(header)]


async def _map(pilot: Pilot, wizard: ImportWizard, header: str, search: str) -> None:
    """Arrow down to the column `header`, press enter, type `search` and take the first match."""
    assert wizard.table is not None
    assert wizard.focused is wizard.query_one("#column-table", DataTable)
    await _press(pilot, "home")
    for _ in range(wizard.table.header.index(header)):
        await pilot.press("down")
    await _press(pilot, "enter")
    assert isinstance(pilot.app.screen, TargetPicker)
    await _press(pilot, *search)
    await _press(pilot, "enter")
    assert pilot.app.screen is wizard


async def _choose(pilot: Pilot, select: Select, search: str) -> None:
    """Open `select` with enter, type to find `search`, and take it with enter."""
    select.focus()
    await _press(pilot, "enter")
    await _press(pilot, *search)
    await _press(pilot, "enter")


def _options(wizard: ImportWizard, selector: str) -> list[str]:
    box = wizard.query_one(selector, OptionList)
    return [box.get_option_at_index(i).prompt.plain for i in range(box.option_count)]


def _text(wizard: ImportWizard, selector: str) -> str:
    return str(wizard.query_one(selector, Static).render())


def _live(model) -> int:
    return model.select().where(model.deleted_at.is_null()).count()


async def _list_shows(pilot: Pilot, screen: RecordListScreen, count: int) -> None:
    """Wait until the list under the wizard shows `count` rows (it reads again after a change)."""
    for _ in range(250):
        await pilot.pause()
        if screen.table.count == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the list shows {screen.table.count} rows, not {count}")


async def test_contacts_are_mapped_checked_imported_and_reverted(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.switch_mode("contacts")
        contacts = app.screen
        assert isinstance(contacts, RecordListScreen)
        wizard = await _open(pilot)
        await _read(pilot, wizard, DATA / "hubspot-contacts.csv")
        assert wizard.step == "columns"
        assert "8 rows · 10 columns · utf-8" in _text(wizard, "#columns-file")
        grid = wizard.query_one("#column-table", DataTable)
        assert [grid.get_cell_at(Coordinate(row, 2)).plain for row in range(3)] == [
            "(not imported)", "First name", "Last name",
        ]  # fmt: skip
        assert _target(wizard, "First Name") == "first_name"  # suggested
        assert _target(wizard, "Email") == "email"
        assert _target(wizard, "Lifecycle Stage") == ""  # not imported
        await _map(pilot, wizard, "Lifecycle Stage", "sour")
        assert _target(wizard, "Lifecycle Stage") == "source"

        await _press(pilot, "ctrl+n")
        assert wizard.step == "options"  # contacts have no stages step
        await _press(pilot, "ctrl+n")
        assert wizard.step == "check"
        preview = _options(wizard, "#preview")
        assert len(preview) == 8
        assert preview[0].startswith("line 2") and "create" in preview[0]
        assert "First name: Sarah" in preview[0] and "Source: customer" in preview[0]

        await _press(pilot, "ctrl+d")
        summary = _text(wizard, "#dry-summary")
        assert "nothing was stored" in summary and "8 create" in summary and "0 reject" in summary
        assert _live(Contact) == 0 and ImportBatch.select().count() == 0

        await _press(pilot, "ctrl+n")
        assert wizard.step == "import"
        await _press(pilot, "ctrl+n")
        assert wizard.result is not None and wizard.result.stored
        assert _live(Contact) == 8
        sarah = Contact.get(Contact.email == "sarah.connor@cyberdyne.example")
        assert (sarah.first_name, sarah.title, sarah.source) == ("Sarah", "Head of Security", "customer")
        assert wizard.query_one("#import-lines").display
        assert any("were created" in line for line in _options(wizard, "#import-lines"))
        await _list_shows(pilot, contacts, 8)  # the open list heard of the change

        await pilot.press("ctrl+z")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await _press(pilot, "y")
        assert _live(Contact) == 0
        assert ImportBatch.get().reverted_at is not None
        await _list_shows(pilot, contacts, 0)
        assert any("reverted" in line for line in _options(wizard, "#import-lines"))
        await _press(pilot, "escape")  # after an import, escape closes the wizard
        assert not isinstance(app.screen, ImportWizard)


async def test_all_or_nothing_stores_nothing_and_partial_writes_the_rejected_rows(app: CrmApp, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(BAD_ROWS, encoding="utf-8")
    async with app.run_test(size=SIZE) as pilot:
        wizard = await _open(pilot)
        await _read(pilot, wizard, source)
        await _press(pilot, "ctrl+n", "ctrl+n")
        await _press(pilot, "ctrl+d")
        assert "1 reject" in _text(wizard, "#dry-summary")
        rejected = _options(wizard, "#dry-rejected")
        assert len(rejected) == 1 and rejected[0].startswith("line 3") and "Email" in rejected[0]
        assert "not an email address" in rejected[0]

        await _press(pilot, "ctrl+n", "ctrl+n")  # all or nothing: one bad row stores nothing
        assert wizard.result is not None and not wizard.result.stored
        assert _live(Contact) == 0
        assert not (tmp_path / "people.csv.rejected.csv").exists()

        await _press(pilot, "escape", "escape")
        assert wizard.step == "options"
        assert wizard.focused is wizard.query_one("#mode")
        await _press(pilot, "down", "enter")  # partial
        await _press(pilot, "ctrl+n", "ctrl+n", "ctrl+n")
        assert wizard.result is not None and wizard.result.stored
    assert sorted(contact.first_name for contact in Contact.select()) == ["Ada", "Grace"]
    rows = list(csv.reader((tmp_path / "people.csv.rejected.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["First name", "Last name", "Email", "Reason"]
    assert rows[1][:3] == ["Bad", "Address", "not-an-email"] and rows[1][3].startswith("line 3: Email")


async def test_a_missing_deal_stage_goes_to_the_stage_chosen(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        wizard = await _open(pilot, "deal")
        await _read(pilot, wizard, DATA / "pipedrive-deals.csv")
        assert _target(wizard, "Deal - Stage") == "stage"
        await _press(pilot, "ctrl+n")
        assert wizard.step == "stages" and [item.name for item in wizard.missing] == ["Proposal"]
        select = wizard.query_one("#stage-0", Select)
        assert select.value == ""  # added as a new stage unless chosen otherwise
        await _choose(pilot, select, "nego")
        assert select.value == "Negotiation"
        await _press(pilot, "ctrl+n")
        assert wizard.step == "options"
        assert not wizard.query_one("#duplicate").display  # deals are never matched
        await _press(pilot, "ctrl+n")
        assert "Stage: Negotiation" in _options(wizard, "#preview")[0]
        await _press(pilot, "ctrl+n", "ctrl+n")
        assert wizard.result is not None and wizard.result.stored
    deal = Deal.get(Deal.title == "Müller Maschinenbau – Wartungsvertrag")
    assert deal.stage.name == "Negotiation"
    assert not Stage.select().where(Stage.name == "Proposal").exists()


async def test_each_pipeline_s_missing_stage_maps_to_a_stage_of_that_pipeline(
    app: CrmApp, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ctx = sqlite_workspace.ctx
    partners = pipelines.add_pipeline(ctx, "Partners").id
    contract = pipelines.add_stage(ctx, partners, {"name": "Contract", "probability": 60}).id
    source = tmp_path / "two-pipelines.csv"
    source.write_text(
        "Title,Pipeline,Stage\nDirect deal,Sales,Proposal\nPartner deal,Partners,Proposal\nPartner two,Partners,Signing\n",
        encoding="utf-8",
    )
    async with app.run_test(size=SIZE) as pilot:
        wizard = await _open(pilot, "deal")
        await _read(pilot, wizard, source)
        assert (_target(wizard, "Pipeline"), _target(wizard, "Stage")) == ("pipeline", "stage")
        await _press(pilot, "ctrl+n")
        assert wizard.step == "stages"
        assert [(item.pipeline, item.name) for item in wizard.missing] == [
            ("Sales", "Proposal"), ("Partners", "Proposal"), ("Partners", "Signing"),
        ]  # fmt: skip
        assert "Contract" in wizard.missing[1].choices and "Contract" not in wizard.missing[0].choices
        assert "Partners" in str(wizard.query(".stage-name")[1].render())
        await _choose(pilot, wizard.query_one("#stage-1", Select), "contr")
        await _choose(pilot, wizard.query_one("#stage-0", Select), "nego")
        await _press(pilot, "ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n")
        assert wizard.result is not None and wizard.result.stored
    assert Deal.get(Deal.title == "Partner deal").stage_id == contract
    assert Deal.get(Deal.title == "Direct deal").stage.name == "Negotiation"
    signing = Deal.get(Deal.title == "Partner two").stage
    assert (signing.name, signing.pipeline_id, signing.kind) == ("Signing", partners, "open")  # added, as chosen
    assert not Stage.select().where(Stage.name == "Proposal").exists()


async def test_an_unreadable_file_is_explained_where_it_was_chosen(app: CrmApp, tmp_path: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        wizard = await _open(pilot)
        await _read(pilot, wizard, DATA / "unterminated-quote.csv")
        assert wizard.step == "file"
        assert "line 5: a quoted field is never closed" in _text(wizard, "#file-status")
        await _read(pilot, wizard, tmp_path / "nowhere.csv")
        assert "cannot read" in _text(wizard, "#file-status") and wizard.step == "file"
        await _press(pilot, "escape")  # on the first step, escape closes
        assert not isinstance(app.screen, ImportWizard)


async def test_markup_in_headers_and_cells_is_text_and_a_new_field_is_made(app: CrmApp, tmp_path: Path) -> None:
    source = tmp_path / "ACME [b]Corp [@click=app.quit]x.csv"
    source.write_text(f"First name,Last name,ACME [/] Corp\nAda,Lovelace,{HOSTILE}\n", encoding="utf-8")
    async with app.run_test(size=SIZE) as pilot:
        wizard = await _open(pilot)
        await _read(pilot, wizard, source)
        assert wizard.step == "columns"
        assert _target(wizard, "ACME [/] Corp") == ""
        await _map(pilot, wizard, "ACME [/] Corp", "new text")
        assert _target(wizard, "ACME [/] Corp") == "+new"
        await _press(pilot, "ctrl+n", "ctrl+n")
        assert "Ada" in _options(wizard, "#preview")[0]
        await _press(pilot, "ctrl+n")
        assert source.name in _text(wizard, "#import-ready")
        await _press(pilot, "ctrl+n")
        assert wizard.result is not None and wizard.result.stored
        assert app.is_running
    field = CustomField.get(CustomField.label == "ACME [/] Corp")
    ada = Contact.get(Contact.first_name == "Ada")
    assert records.get("contact", ada.id).custom[field.key] == HOSTILE


async def test_the_record_type_is_chosen_with_keys(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        wizard = await _open(pilot)
        await _choose(pilot, wizard.query_one("#entity", Select), "compan")
        assert wizard.entity == "company"
        before = _live(Company)
        await _read(pilot, wizard, DATA / "bom-utf8.csv")
        assert _target(wizard, "Domain") == "domain"
        await _press(pilot, "ctrl+n")
        assert wizard.query_one("#match-domain").value  # companies match on domain and name by default
        await _press(pilot, "ctrl+n", "ctrl+n", "ctrl+n")
        assert wizard.result is not None and wizard.result.stored
    assert _live(Company) == before + wizard.result.created > before
    assert Company.get(Company.domain == "acme.example").name == "Acme Corp"


async def test_a_mapping_is_saved_by_name_and_loaded_again(app: CrmApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        wizard = await _open(pilot)
        await _read(pilot, wizard, DATA / "hubspot-contacts.csv")
        await _map(pilot, wizard, "Lifecycle Stage", "sour")
        await _press(pilot, "ctrl+s")
        assert isinstance(app.screen, TextPromptScreen)
        await _press(pilot, *"HubSpot", "enter")
        assert import_mappings.mapping_names("contact") == ["HubSpot"]
        await _press(pilot, "escape", "escape")
        assert not isinstance(app.screen, ImportWizard)

        wizard = await _open(pilot)
        await _read(pilot, wizard, DATA / "hubspot-contacts.csv")
        assert _target(wizard, "Lifecycle Stage") == ""
        await _choose(pilot, wizard.query_one("#saved-mappings", Select), "hub")
        assert _target(wizard, "Lifecycle Stage") == "source"
        assert _target(wizard, "Email") == "email"


async def test_tab_completes_the_path(app: CrmApp, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "contacts-2026.csv").write_text(BAD_ROWS, encoding="utf-8")
    (folder / "notes.pdf").write_text("not importable", encoding="utf-8")
    assert complete_path(f"{tmp_path}/exp") == f"{folder}/"
    assert complete_path(f"{folder}/") == f"{folder}/contacts-2026.csv"  # the PDF is not offered
    assert complete_path(f"{folder}/x") is None
    async with app.run_test(size=SIZE) as pilot:
        wizard = await _open(pilot)
        wizard.query_one("#path", Input).value = f"{tmp_path}/ex"
        await _press(pilot, "end", "tab", "tab", "enter")
        assert wizard.step == "columns"
        assert wizard.path == folder / "contacts-2026.csv"


async def test_the_file_browser_shows_importable_files_and_picks_one(app: CrmApp, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "ACME [b] Corp [@click=app.quit]x.csv").write_text(BAD_ROWS, encoding="utf-8")
    (folder / "contract.pdf").write_text("not importable", encoding="utf-8")
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await _open(pilot)
        wizard.query_one("#path", Input).value = f"{folder}/"
        await pilot.press("ctrl+o")
        tree = wizard.query_one(FileTree)
        for _ in range(200):  # the tree reads the folder on a thread of its own (it never settles)
            await pilot.pause()
            if tree.root.children:
                break
        assert [node.label.plain for node in tree.root.children] == ["ACME [b] Corp [@click=app.quit]x.csv"]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert not wizard.query(FileTree)  # closed again
        assert wizard.step == "columns" and app.is_running
        assert wizard.path == folder / "ACME [b] Corp [@click=app.quit]x.csv"


async def test_a_file_read_again_after_fixing_it_keeps_the_choices(app: CrmApp, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(BAD_ROWS.replace("First name", "Given"), encoding="utf-8")
    async with app.run_test(size=SIZE) as pilot:
        wizard = await _open(pilot)
        await _read(pilot, wizard, source)
        assert _target(wizard, "Given") == ""  # not a name the importer knows
        await _map(pilot, wizard, "Given", "first n")
        await _press(pilot, "ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n")
        assert wizard.result is not None and not wizard.result.stored  # the bad address
        assert "Nothing was stored" in _text(wizard, "#import-ready")

        source.write_text(BAD_ROWS.replace("First name", "Given").replace("not-an-email", "bad@row.example"))
        await _press(pilot, "escape", "escape", "escape", "escape")
        assert wizard.step == "file"
        wizard.query_one("#path", Input).focus()
        await _press(pilot, "enter")
        assert _target(wizard, "Given") == "first_name"  # kept
        await _press(pilot, "ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n")
        assert wizard.result is not None and wizard.result.stored
    assert sorted(contact.first_name for contact in Contact.select()) == ["Ada", "Bad", "Grace"]


async def test_a_duplicate_is_overwritten_when_chosen(app: CrmApp, sqlite_workspace: Workspace) -> None:
    ctx = sqlite_workspace.ctx
    sarah = records.create(
        ctx, "contact", {"first_name": "Sarah", "last_name": "C", "email": "SARAH.CONNOR@cyberdyne.example"}
    )
    async with app.run_test(size=SIZE) as pilot:
        wizard = await _open(pilot)
        await _read(pilot, wizard, DATA / "hubspot-contacts.csv")
        await _press(pilot, "ctrl+n")
        await _press(pilot, "tab", "down", "down", "enter")  # on duplicate: overwrite
        assert wizard.query_one(OptionsPanel).on_duplicate == "overwrite"
        assert wizard.query_one(OptionsPanel).match_on == ("email",)
        assert not wizard.request().automations  # an import fires no rules unless asked
        wizard.query_one("#automations").focus()
        await _press(pilot, "space")
        assert wizard.request().automations and wizard.query_one(OptionsPanel).match_on == ("email",)
        await _press(pilot, "ctrl+n")
        assert _options(wizard, "#preview")[0].startswith("line 2") and "update" in _options(wizard, "#preview")[0]
        await _press(pilot, "ctrl+n", "ctrl+n")
        assert wizard.result is not None and (wizard.result.created, wizard.result.updated) == (7, 1)
    assert _live(Contact) == 8
    assert Event.select().where(Event.kind == "import.automations").count() == 1  # asked: the rules will run
    updated = Contact.get(Contact.id == sarah.id)
    assert (updated.last_name, updated.title) == ("Connor", "Head of Security")
