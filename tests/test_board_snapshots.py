"""What the board looks like: SVG snapshots on the demo data (a fixed seed and a frozen clock).

Update with `pytest tests/test_board_snapshots.py --snapshot-update`, then look at the pictures.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

from crm_tui.app import CrmApp
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import fill, make_app, settle


@pytest.fixture
def small_app(sqlite_workspace: Workspace) -> Iterator[CrmApp]:
    fill(sqlite_workspace.ctx)
    crm = make_app(sqlite_workspace.ctx)
    yield crm
    crm.session.close()


def test_demo_board_at_120_by_35(snap_compare, demo_app: CrmApp) -> None:
    assert snap_compare(demo_app, terminal_size=(120, 35), run_before=settle)


def test_demo_board_at_80_by_24_after_a_move(snap_compare, demo_app: CrmApp) -> None:
    async def move(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("j", "L")
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=move)


def test_demo_board_folded_and_filtered(snap_compare, demo_app: CrmApp) -> None:
    async def fold_and_search(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("c", "slash", *"analytics", "enter")
        await pilot.pause(0.4)
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=(120, 35), run_before=fold_and_search)


def test_lost_reason_question(snap_compare, small_app: CrmApp) -> None:
    async def ask(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("l", "l", "l", "l", "l", "shift+right")
        await pilot.pause(0.3)

    assert snap_compare(small_app, terminal_size=(100, 30), run_before=ask)


def test_new_deal_form(snap_compare, small_app: CrmApp) -> None:
    async def open_form(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("n", *"Globex expansion", "tab", *"glo")
        await pilot.pause(0.4)

    assert snap_compare(small_app, terminal_size=(100, 30), run_before=open_form)
