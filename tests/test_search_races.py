"""The search index under concurrent writers on PostgreSQL: a note another session commits while a
deal's documents are being rebuilt is indexed once, not refused as a duplicate (found by the
8-process team test)."""

from __future__ import annotations

import threading

import pytest

from crm_tui.models import database
from crm_tui.models.search import SearchDoc
from crm_tui.services import records, search_index
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal


def test_a_note_committed_between_delete_and_insert_is_indexed_once(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    if workspace.target.kind != "postgresql":
        pytest.skip("SQLite has one writer at a time: the race cannot happen there")
    deal = make_deal(workspace.ctx, "Raced")
    deleted, committed = threading.Event(), threading.Event()
    main = threading.current_thread()
    run = search_index._run

    def paused(sql: str, *params: object) -> None:
        run(sql, *params)
        if threading.current_thread() is main and sql.startswith("DELETE") and "FROM note" in sql:
            deleted.set()  # the deal's notes are unindexed; let the other session commit its note now
            assert committed.wait(10)

    def other_session() -> None:
        database.connect(reuse_if_open=True)  # this thread's own connection, as another process has
        with database.atomic():
            records.create(workspace.ctx, "note", {"body": "written meanwhile", "deal_id": deal.id})
            assert deleted.wait(10)
        committed.set()
        database.close()

    monkeypatch.setattr(search_index, "_run", paused)
    writer = threading.Thread(target=other_session)
    writer.start()
    with database.atomic():
        search_index.sync("deal", deal.id)  # what saving the deal does
    writer.join(10)
    docs = SearchDoc.select().where(SearchDoc.entity == "note").count()
    assert docs == 1
