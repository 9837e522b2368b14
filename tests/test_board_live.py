"""The board stays true without a key press: changes from another process appear within two
seconds without losing the focus; a busy database is a message, not a crash."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crm_tui.app import CrmApp
from crm_tui.models import Deal
from crm_tui.services.workspace import Workspace
from tests.board_fixtures import focus, settle, titles
from tests.helpers import stage_named

SIZE = (120, 35)




def in_another_process(path: Path, code: str) -> None:
    """Run `code` as another crm process would, on the same database file."""
    script = textwrap.dedent(
        f"""
        from crm_tui.config import Settings
        from crm_tui.db import parse_target
        from crm_tui.services import deals, records
        from crm_tui.services.workspace import open_workspace
        ws = open_workspace(parse_target({str(path)!r}), Settings(), login="bob")
        ctx = ws.ctx
        """
    ) + textwrap.dedent(code)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


async def test_changes_from_another_process_appear_within_two_seconds(app: CrmApp, sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    path = sqlite_workspace.target.path
    assert path is not None
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j")  # the focus is on Acme renewal, second in Qualification
        await pilot.pause(1.2)  # the app has read where the event log ends
        in_another_process(
            path,
            f"""
            records.create(ctx, "deal", {{"title": "Hooli upsell", "stage_id": {stage_named("Qualification")}}})
            deals.move_deal(ctx, {ids["initech"]}, {stage_named("Contract Sent for Signature")}, from_stage_id={stage_named("Negotiation")})
            """,
        )
        started = time.monotonic()
        while "Hooli upsell" not in titles(pilot, stage_named("Qualification")) and time.monotonic() - started < 5:
            await pilot.pause(0.1)
        assert time.monotonic() - started < 2.0  # one poll (1 s), one debounce (0.3 s), one read
        await settle(pilot)
        assert titles(pilot, stage_named("Qualification")) == ["Hooli upsell", "Globex pilot", "Acme renewal"]
        assert titles(pilot, stage_named("Contract Sent for Signature")) == ["Initech expansion"]
        assert focus(pilot) == ("Qualification", "Acme renewal")  # the same deal, though it moved down a row


async def test_a_locked_database_is_a_message_not_a_crash(sqlite_workspace: Workspace, ids: dict[str, int]) -> None:
    path = sqlite_workspace.target.path
    assert path is not None
    from crm_tui import db
    from crm_tui.services.session import Session

    db.close()
    db.connect(sqlite_workspace.target, busy_timeout=0.3)  # the app's thread will use this short timeout
    app = CrmApp(Session(sqlite_workspace.ctx, where="team.sqlite3"))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        blocker = sqlite3.connect(path, timeout=0)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        await pilot.press("L")
        await settle(pilot)
        blocker.rollback()
        blocker.close()
        assert pilot.app.is_running
        assert any("database is busy" in str(n.message) for n in pilot.app._notifications)
        assert Deal.get_by_id(ids["globex"]).stage_id == stage_named("Qualification")
        await pilot.press("L")  # and once the lock is free, it works
        await settle(pilot)
        assert Deal.get_by_id(ids["globex"]).stage_id == stage_named("Writing Proposal")
    app.session.close()


async def test_an_unexpected_failure_is_shown_and_the_app_keeps_running(app: CrmApp, monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_tui.services import board as board_service

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire [b]")

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        monkeypatch.setattr(board_service, "load_board", broken)  # r reads the whole board again
        await pilot.press("r")
        await settle(pilot)
        assert pilot.app.is_running
        assert any("disk on fire [b]" in str(n.message) for n in pilot.app._notifications)  # shown literally


async def test_a_change_made_while_another_mode_is_shown_is_on_the_board_when_it_is_shown(
    app: CrmApp, sqlite_workspace: Workspace
) -> None:
    from tests.helpers import make_deal

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")  # the deal list: the board is out of view
        await settle(pilot)
        make_deal(sqlite_workspace.ctx, "Made while away", stage="Negotiation")
        await pilot.pause(0.5)
        await pilot.press("f2")
        await pilot.pause(0.5)
        await settle(pilot)
        assert "Made while away" in titles(pilot, stage_named("Negotiation"))
