"""A record's timeline tells changes as people read them: money in the deal's currency, people by
name and times to the minute, not the event log's minor units, user ids and ISO stamps."""

from __future__ import annotations

from crm_tui.services import deals, records, timeline, user_admin
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named


def test_changes_read_as_money_names_and_minutes(workspace: Workspace) -> None:
    ctx = workspace.ctx
    ben = user_admin.add(ctx, "ben", name="Ben Okafor")
    deal = make_deal(ctx, "Acme renewal", amount=1_230_000)
    saved = records.update(ctx, "deal", deal.id, {"amount": 1_240_000, "owner_id": ben.id}, version=deal.version)
    deals.move_deal(ctx, deal.id, stage_named("Closed Won"), from_stage_id=saved.values["stage_id"])
    text = " | ".join(item.text for item in timeline.timeline("deal", deal.id))
    assert "amount: $12,300 → $12,400" in text
    assert "owner: — → Ben Okafor" in text
    assert "T" not in text.split("closed at: — → ")[1][:16] and "closed at: — → 20" in text
