"""move_deal: one transaction, one history row, one event, published once after commit."""

from __future__ import annotations

import threading

import pytest

from crm_tui import db
from crm_tui.events import DealStageChanged, DomainEvent, RecordUpdated
from crm_tui.models import Deal, Event, StageChange
from crm_tui.services import deals, records
from crm_tui.services.errors import ValidationFailed
from crm_tui.services.unit import write
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named


def test_a_move_is_stored_recorded_once_and_published_once(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx, stage="Qualification")
    published: list[DealStageChanged] = []
    workspace.ctx.bus.subscribe(DealStageChanged, published.append)
    qualification, proposal = stage_named("Qualification"), stage_named("Writing Proposal")

    moved = deals.move_deal(workspace.ctx, deal.id, proposal, from_stage_id=qualification)

    assert moved["stage_id"] == proposal and moved.version == 2
    history = list(StageChange.select().where(StageChange.deal == deal.id).order_by(StageChange.id))
    assert [(c.from_stage_id, c.to_stage_id, c.user_id) for c in history] == [
        (None, qualification, workspace.ctx.user_id),
        (qualification, proposal, workspace.ctx.user_id),
    ]
    logged = list(Event.select().where(Event.kind == "deal.stage_changed"))
    assert [(e.record_id, e.field, e.old, e.new) for e in logged] == [(deal.id, "stage_id", str(qualification), str(proposal))]
    assert len(published) == 1
    event = published[0]
    assert (event.deal_id, event.from_stage_id, event.to_stage_id, event.event_id) == (deal.id, qualification, proposal, logged[0].id)
    assert event.stage_change_id == history[-1].id
    assert Deal.get_by_id(deal.id).stage_entered_at == history[-1].at


def test_subscribers_see_the_committed_move(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx, stage="Qualification")
    seen_from_elsewhere: list[int] = []

    def read_on_another_connection(event: DealStageChanged) -> None:
        def read() -> None:
            seen_from_elsewhere.append(Deal.get_by_id(event.deal_id).stage_id)
            db.close()

        thread = threading.Thread(target=read)
        thread.start()
        thread.join()

    workspace.ctx.bus.subscribe(DealStageChanged, read_on_another_connection)
    deals.move_deal(workspace.ctx, deal.id, stage_named("Negotiation"), from_stage_id=stage_named("Qualification"))
    assert seen_from_elsewhere == [stage_named("Negotiation")]


def test_nothing_is_published_when_the_transaction_rolls_back(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx, stage="Qualification")
    published: list[DomainEvent] = []
    workspace.ctx.bus.subscribe(DomainEvent, published.append)
    with pytest.raises(RuntimeError), write(workspace.ctx):
        deals.move_deal(workspace.ctx, deal.id, stage_named("Negotiation"), from_stage_id=stage_named("Qualification"))
        raise RuntimeError("something later in the same transaction failed")
    assert published == []
    assert Deal.get_by_id(deal.id).stage_id == stage_named("Qualification")
    assert StageChange.select().where(StageChange.deal == deal.id).count() == 1


def test_won_sets_the_closed_date_and_reopening_clears_it(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx, stage="Contract Sent for Signature")
    won = deals.move_deal(workspace.ctx, deal.id, stage_named("Closed Won"), from_stage_id=stage_named("Contract Sent for Signature"))
    assert won["closed_at"] is not None
    reopened = deals.move_deal(workspace.ctx, deal.id, stage_named("Negotiation"), from_stage_id=stage_named("Closed Won"))
    assert reopened["closed_at"] is None


def test_lost_needs_a_reason_and_keeps_it(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx, stage="Negotiation")
    negotiation, lost = stage_named("Negotiation"), stage_named("Closed Lost")
    with pytest.raises(ValidationFailed, match="Lost reason: is required") as refused:
        deals.move_deal(workspace.ctx, deal.id, lost, from_stage_id=negotiation)
    assert "lost_reason" in refused.value.errors  # the field, for the form; the message names it for people
    assert Deal.get_by_id(deal.id).stage_id == negotiation and StageChange.select().count() == 1

    side_changes: list[RecordUpdated] = []
    workspace.ctx.bus.subscribe(RecordUpdated, side_changes.append)
    moved = deals.move_deal(workspace.ctx, deal.id, lost, from_stage_id=negotiation, lost_reason="Chose a competitor")
    assert (moved["lost_reason"], moved["closed_at"] is not None) == ("Chose a competitor", True)
    assert side_changes[0].changes["lost_reason"] == (None, "Chose a competitor")
    assert side_changes[0].changes["closed_at"][0] is None  # closing is in the log too


def test_moving_to_the_same_stage_changes_nothing(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx, stage="Negotiation")
    again = deals.move_deal(workspace.ctx, deal.id, stage_named("Negotiation"), from_stage_id=stage_named("Negotiation"))
    assert again.version == 1 and StageChange.select().count() == 1


def test_a_deleted_deal_cannot_be_moved(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx, stage="Negotiation")
    records.delete(workspace.ctx, "deal", deal.id, version=1)
    with pytest.raises(Exception, match="does not exist or was deleted"):
        deals.move_deal(workspace.ctx, deal.id, stage_named("Closed Won"), from_stage_id=stage_named("Negotiation"))
