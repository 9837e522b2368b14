"""Optimistic concurrency: a stale write is refused with both versions shown; nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from crm_tui import db
from crm_tui.services import deals, records
from crm_tui.services.context import Context
from crm_tui.services.errors import ConflictError
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named


def on_another_connection(fn: Callable[[], Any]) -> Any:
    """Run `fn` in another thread, which has its own database connection (as another user would)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as error:  # handed back to the test
            result["error"] = error
        finally:
            db.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_a_stale_update_is_refused_and_shows_both_versions(workspace: Workspace) -> None:
    mine = make_deal(workspace.ctx, amount=100_000)  # read at version 1
    bob = Context(user_id=records.create(workspace.ctx, "user", {"login": "bob", "name": "Bob"}).id, login="bob")
    theirs = on_another_connection(
        lambda: records.update(bob, "deal", mine.id, {"amount": 150_000, "title": "Acme renewal 2027"}, version=1)
    )
    assert theirs.version == 2

    with pytest.raises(ConflictError) as caught:
        records.update(workspace.ctx, "deal", mine.id, {"amount": 120_000}, version=1)

    conflict = caught.value
    assert (conflict.expected_version, conflict.actual_version) == (1, 2)
    assert [(d.field, d.mine, d.theirs) for d in conflict.differences] == [("amount", 120_000, 150_000)]
    assert conflict.theirs["title"] == "Acme renewal 2027"
    assert "Acme renewal 2027" in str(conflict) and "nothing was overwritten" in str(conflict)
    stored = records.get("deal", mine.id)
    assert (stored["amount"], stored.version) == (150_000, 2)  # their save stands, ours wrote nothing


def test_a_deal_moved_by_someone_else_is_not_moved_again(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx, stage="Qualification")
    seen_stage = stage_named("Qualification")
    on_another_connection(
        lambda: deals.move_deal(workspace.ctx, deal.id, stage_named("Negotiation"), from_stage_id=seen_stage)
    )

    with pytest.raises(ConflictError, match="someone moved it to 'Negotiation'"):
        deals.move_deal(workspace.ctx, deal.id, stage_named("Writing Proposal"), from_stage_id=seen_stage)

    assert records.get("deal", deal.id)["stage_id"] == stage_named("Negotiation")


def test_a_stale_delete_is_refused(workspace: Workspace) -> None:
    company = records.create(workspace.ctx, "company", {"name": "Acme"})
    records.update(workspace.ctx, "company", company.id, {"name": "Acme Corp"}, version=1)
    with pytest.raises(ConflictError):
        records.delete(workspace.ctx, "company", company.id, version=1)
    assert records.get("company", company.id)["name"] == "Acme Corp"
