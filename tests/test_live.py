"""Changes reach other sessions: on PostgreSQL a committed write wakes every listener through
LISTEN/NOTIFY (a rolled-back one does not); on SQLite there is nothing to listen to (the app polls)."""

from __future__ import annotations

import threading

import pytest

from crm_tui.services import live, records
from crm_tui.services.errors import ValidationFailed
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal


def test_a_commit_wakes_a_listener_and_a_rollback_does_not(workspace: Workspace) -> None:
    woke = threading.Event()
    listener = live.Listener(woke.set)
    if workspace.target.kind == "sqlite":
        assert listener.start() is False
        return
    assert listener.start() is True
    try:
        assert woke.wait(5)  # the first wake comes on connecting: anything missed is read then
        woke.clear()
        with pytest.raises(ValidationFailed):
            records.create(workspace.ctx, "deal", {"title": ""})  # refused: rolled back
        assert not woke.wait(1.5)
        make_deal(workspace.ctx, "Wakes everyone")
        assert woke.wait(2)
    finally:
        listener.stop()
