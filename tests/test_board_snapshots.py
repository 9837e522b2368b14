"""What the board looks like: SVG snapshots (update with `pytest --snapshot-update`, then look)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

from crm_tui.app import CrmApp
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import fill, make_app, settle


@pytest.fixture
def app(sqlite_workspace: Workspace) -> Iterator[CrmApp]:
    fill(sqlite_workspace.ctx)
    crm = make_app(sqlite_workspace.ctx)
    yield crm
    crm.session.close()


def test_board_at_120_columns(snap_compare, app: CrmApp) -> None:  # noqa: ANN001
    assert snap_compare(app, terminal_size=(120, 35), run_before=settle)


def test_board_at_80_by_24_after_a_move(snap_compare, app: CrmApp) -> None:  # noqa: ANN001
    async def move(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("j", "shift+right")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=move)


def test_lost_reason_question(snap_compare, app: CrmApp) -> None:  # noqa: ANN001
    async def ask(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("l", "l", "l", "l", "l", "shift+right")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)
