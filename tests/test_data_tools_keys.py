"""The data tools reached the way a user reaches them: from a record list's keys and from the
palette, on the record type in view; and the list's export writes the list."""

from __future__ import annotations

import csv
from pathlib import Path

from textual.widgets import Input

from crm_tui.app import CrmApp
from crm_tui.models import Contact, Deal
from crm_tui.screens.duplicates import DuplicatesScreen
from crm_tui.screens.export_dialog import ExportDialog
from crm_tui.screens.import_wizard import ImportWizard
from crm_tui.screens.merge_screen import MergeScreen
from crm_tui.screens.normalise_screen import NormaliseScreen
from crm_tui.screens.tag_cleanup import TagCleanupScreen
from crm_tui.services import records
from tests.board_fixtures import settle


async def test_list_keys_open_import_export_duplicates_and_merge(app: CrmApp) -> None:
    ctx = app.session.ctx
    ada = records.create(ctx, "contact", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
    twin = records.create(ctx, "contact", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, ImportWizard) and app.screen.entity == "contact"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        assert isinstance(app.screen, DuplicatesScreen) and app.screen.entity == "contact"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("M")  # nothing selected: a hint, no screen
        await settle(pilot)
        assert not isinstance(app.screen, MergeScreen)
        await pilot.press("space", "down", "space", "M")
        await settle(pilot)
        assert isinstance(app.screen, MergeScreen)
        assert sorted(record.id for record in app.screen.plan.records) == sorted([ada.id, twin.id])


async def test_x_exports_the_list_as_shown(app: CrmApp, tmp_path: Path) -> None:
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "x")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        path = dialog.query_one("#export-path", Input)
        path.value = str(tmp_path / "deals.csv")
        path.focus()
        await pilot.press("enter")
        await settle(pilot)
        for _ in range(50):
            if (tmp_path / "deals.csv").exists():
                break
            await pilot.pause(0.1)
        rows = list(csv.reader((tmp_path / "deals.csv").open(encoding="utf-8")))
    assert rows[0][0] == "Title" and len(rows) - 1 == Deal.select().where(Deal.deleted_at.is_null()).count()


async def test_palette_commands_open_the_tools(app: CrmApp) -> None:
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        for title, kind in [("Find duplicates", DuplicatesScreen), ("Clean up tags", TagCleanupScreen),
                            ("Normalise stored values", NormaliseScreen), ("Import records", ImportWizard)]:  # fmt: skip
            commands[title].callback()
            await settle(pilot)
            assert isinstance(app.screen, kind), title
            await pilot.press("escape")
            await settle(pilot)
    assert Contact.select().count() == 0  # opening and closing the tools changed nothing


async def test_a_served_session_opens_no_file_dialog(app: CrmApp, monkeypatch) -> None:
    monkeypatch.setenv("CRM_SERVED_USER", app.session.ctx.login)  # what `crm serve` sets for its sessions
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("f4", "i")
        await settle(pilot)
        assert not isinstance(app.screen, ImportWizard)  # its file picker would list the server's folders
        await pilot.press("x")
        await settle(pilot)
        assert not isinstance(app.screen, ExportDialog)
        await pilot.press("f8", "e")  # the tasks' calendar export
        await settle(pilot)
        assert not isinstance(app.screen, ExportDialog)
        shown = [str(toast.message) for toast in app._notifications]
        assert len(shown) == 3 and all("served session" in text for text in shown)
