"""The export dialog, driven from the keyboard: the default path, exporting a list as shown or with
every field, switching to vCard, an unwritable path, an existing file, and Esc."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, ProgressBar, RadioSet, Static

from crm_tui import clock
from crm_tui.app import CrmApp
from crm_tui.screens.export_dialog import ExportDialog
from crm_tui.services import export, records
from crm_tui.services.export import ExportRequest
from crm_tui.services.record_lists import Condition, ListQuery
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import HOSTILE, make_app, settle
from tests.conftest import FROZEN_NOW


@pytest.fixture
def crm(sqlite_workspace: Workspace) -> Iterator[CrmApp]:
    """The app on a workspace with three contacts (one with a hostile name) and the clock frozen."""
    ctx = sqlite_workspace.ctx
    for first, last in [("Zoe", "Adams"), ("Ann", "Baker"), (HOSTILE, "Clark")]:
        records.create(ctx, "contact", {"first_name": first, "last_name": last, "email": f"{last.lower()}@x.org"})
    clock.freeze(FROZEN_NOW)
    app = make_app(ctx)
    yield app
    app.session.close()


async def _open(pilot: Pilot, dialog: ExportDialog) -> list[str | None]:
    results: list[str | None] = []
    pilot.app.push_screen(dialog, results.append)
    await settle(pilot)
    assert pilot.app.screen is dialog
    return results


async def _type_path(pilot: Pilot, text: str) -> None:
    field = pilot.app.screen.query_one("#export-path", Input)
    assert pilot.app.screen.focused is field  # the dialog starts in the path
    field.value = ""
    await pilot.press(*text)


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


async def test_enter_exports_the_list_as_shown_and_says_what_it_wrote(
    crm: CrmApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative path is typed quickly
    target = tmp_path / "out.csv"
    query = ListQuery("contact", conditions=(Condition("email", "contains", "x.org"),), sort="name", descending=True)
    async with crm.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        results = await _open(pilot, ExportDialog("contact", query, "Mine"))
        field = crm.screen.query_one("#export-path", Input)
        assert field.value == "~/contacts-2026-11-20.csv"
        assert crm.screen.query_one("#export-columns", RadioSet).display
        await _type_path(pilot, "out.csv")
        await pilot.press("enter")
        await settle(pilot)
        assert results == ["Exported 3 contacts to out.csv"]
        assert not isinstance(crm.screen, ExportDialog)
    rows = _rows(target)
    assert rows[0] == ["Name", "Email", "Phone", "Company", "Owner"]
    assert [row[0] for row in rows[1:]] == [f"{HOSTILE} Clark", "Ann Baker", "Zoe Adams"]  # the list's order
    assert not (tmp_path / "out.csv.tmp").exists()


async def test_every_field_and_vcard_are_chosen_from_the_keyboard(crm: CrmApp, tmp_path: Path) -> None:
    async with crm.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        results = await _open(pilot, ExportDialog("contact"))
        await pilot.press("shift+tab")  # back from the path to the columns
        assert isinstance(crm.screen.focused, RadioSet) and crm.screen.focused.id == "export-columns"
        await pilot.press("down", "enter")  # every field
        await _path_after_tab(pilot, tmp_path / "all.csv")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert results == [f"Exported 3 contacts to {tmp_path / 'all.csv'}"]
        assert _rows(tmp_path / "all.csv")[0][:3] == ["first_name", "last_name", "email"]

        results = await _open(pilot, ExportDialog("contact"))
        crm.screen.query_one("#export-format", RadioSet).focus()
        await pilot.press("down", "down", "enter")  # CSV, JSON, vCard
        field = crm.screen.query_one("#export-path", Input)
        assert field.value == "~/contacts-2026-11-20.vcf"  # the suffix follows the format
        assert not crm.screen.query_one("#export-columns", RadioSet).display  # columns are for CSV and JSON
        field.value = str(tmp_path / "people.vcf")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert results == [f"Exported 3 contacts to {tmp_path / 'people.vcf'}"]
    text = (tmp_path / "people.vcf").read_bytes().decode("utf-8")
    assert text.count("BEGIN:VCARD") == 3 and "\r\n" in text


async def _path_after_tab(pilot: Pilot, path: Path) -> None:
    await pilot.press("tab")
    field = pilot.app.screen.query_one("#export-path", Input)
    assert pilot.app.screen.focused is field
    field.value = str(path)


async def test_an_unwritable_path_shows_the_error_and_an_existing_file_asks_first(crm: CrmApp, tmp_path: Path) -> None:
    existing = tmp_path / "old.csv"
    existing.write_text("keep me\n", encoding="utf-8")
    async with crm.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        results = await _open(pilot, ExportDialog("contact"))
        dialog = crm.screen
        dialog.query_one("#export-path", Input).value = str(tmp_path / "missing" / "x.csv")
        await pilot.press("enter")
        await settle(pilot)
        assert crm.screen is dialog and results == []
        assert "cannot write" in str(dialog.query_one("#export-error", Static).render())
        assert not (tmp_path / "missing").exists()
        dialog.query_one("#export-path", Input).value = str(existing)
        await pilot.press("enter")
        await settle(pilot)
        assert "exists" in str(dialog.query_one("#export-error", Static).render())
        assert existing.read_text(encoding="utf-8") == "keep me\n"
        await pilot.press("enter")  # again: replace it
        await settle(pilot)
        assert results == [f"Exported 3 contacts to {existing}"]
    assert len(_rows(existing)) == 4


async def test_escape_cancels_and_tasks_offer_icalendar(
    crm: CrmApp, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ctx = sqlite_workspace.ctx
    records.create(ctx, "task", {"title": "Call Zoe", "due_at": FROZEN_NOW, "assignee_id": ctx.user_id})
    async with crm.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        results = await _open(pilot, ExportDialog("contact"))
        await pilot.press("escape")
        await settle(pilot)
        assert results == [None] and not isinstance(crm.screen, ExportDialog)

        results = await _open(pilot, ExportDialog("task"))
        formats = crm.screen.query_one("#export-format", RadioSet)
        assert [button.id for button in formats.query("RadioButton")] == ["format-csv", "format-json", "format-ics"]
        assert not crm.screen.query_one("#export-columns", RadioSet).display  # tasks have no list columns
        formats.focus()
        await pilot.press("down", "down", "enter")
        crm.screen.query_one("#export-path", Input).value = str(tmp_path / "tasks.ics")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert results == [f"Exported 1 task to {tmp_path / 'tasks.ics'}"]
    text = (tmp_path / "tasks.ics").read_bytes().decode("utf-8")
    assert "BEGIN:VTODO\r\n" in text and "SUMMARY:Call Zoe\r\n" in text


async def test_escape_during_an_export_stops_it_and_leaves_no_file(
    crm: CrmApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reached, released = threading.Event(), threading.Event()
    real = export.export_file

    def held(request: ExportRequest, path: Path, progress: Any) -> int:
        def report(done: int, total: int) -> None:
            reached.set()
            released.wait(5)  # the export stays at its first chunk until the test has pressed Esc
            progress(done, total)

        return real(request, path, report)

    monkeypatch.setattr(export, "export_file", held)
    target = tmp_path / "stopped.csv"
    async with crm.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        results = await _open(pilot, ExportDialog("contact"))
        dialog = crm.screen
        dialog.query_one("#export-path", Input).value = str(target)
        await pilot.press("ctrl+s")
        for _ in range(200):
            if reached.is_set():
                break
            await pilot.pause(0.01)
        assert reached.is_set() and dialog.has_class("-running")
        assert dialog.query_one("#export-progress", ProgressBar).display
        await pilot.press("escape")
        assert crm.screen is dialog  # it closes once the export has stopped
        released.set()
        await settle(pilot)
        assert results == [None] and crm.screen is not dialog
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".csv", ".tmp")) == []
