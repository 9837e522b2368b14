"""Generic record services: create / update / delete / restore, each change in the event log."""

from __future__ import annotations

import json

import pytest

from crm_tui.events import DomainEvent, RecordCreated, RecordDeleted, RecordUpdated
from crm_tui.models import Deal, Event
from crm_tui.services import records
from crm_tui.services.errors import NotFound, ServiceError, ValidationFailed
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, sales, stage_named


def test_create_logs_and_publishes_once(workspace: Workspace) -> None:
    seen: list[DomainEvent] = []
    workspace.ctx.bus.subscribe(DomainEvent, seen.append)

    company = records.create(workspace.ctx, "company", {"name": "Acme Corp", "domain": "WWW.Acme.COM"})

    assert company.values["domain"] == "acme.com" and company.version == 1
    rows = list(Event.select().where(Event.entity == "company", Event.record_id == company.id))
    assert [(r.kind, r.user_id) for r in rows] == [("record.created", workspace.ctx.user_id)]
    assert json.loads(rows[0].new)["name"] == "Acme Corp"
    assert [type(e) for e in seen] == [RecordCreated] and seen[0].event_id == rows[0].id


def test_update_writes_one_log_row_per_changed_field(workspace: Workspace) -> None:
    company = records.create(workspace.ctx, "company", {"name": "Acme", "industry": "Retail"})
    seen: list[RecordUpdated] = []
    workspace.ctx.bus.subscribe(RecordUpdated, seen.append)

    updated = records.update(
        workspace.ctx, "company", company.id, {"name": "Acme Corp", "industry": "Retail", "employees": 40}, version=1
    )

    assert updated.version == 2 and updated["name"] == "Acme Corp" and updated["employees"] == 40
    rows = Event.select().where(Event.kind == "record.updated", Event.record_id == company.id).order_by(Event.id)
    assert [(r.field, json.loads(r.old) if r.old else None, json.loads(r.new)) for r in rows] == [
        ("name", "Acme", "Acme Corp"),
        ("employees", None, 40),
    ]
    assert len({r.txn for r in rows}) == 1  # one service call, one transaction token
    assert seen[0].changes == {"name": ("Acme", "Acme Corp"), "employees": (None, 40)}


def test_an_update_that_changes_nothing_writes_nothing(workspace: Workspace) -> None:
    company = records.create(workspace.ctx, "company", {"name": "Acme"})
    before = Event.select().count()
    same = records.update(workspace.ctx, "company", company.id, {"name": " Acme "}, version=1)
    assert same.version == 1 and Event.select().count() == before


def test_update_validates_the_whole_record(workspace: Workspace) -> None:
    contact = records.create(workspace.ctx, "contact", {"first_name": "Ann"})
    with pytest.raises(ValidationFailed) as caught:
        records.update(workspace.ctx, "contact", contact.id, {"first_name": ""}, version=1)
    assert caught.value.errors == {"": "a contact needs a first or a last name"}
    assert records.get("contact", contact.id)["first_name"] == "Ann"


def test_a_deal_stage_is_not_edited_directly(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx)
    with pytest.raises(ValidationFailed) as caught:
        records.update(workspace.ctx, "deal", deal.id, {"stage_id": stage_named("Negotiation")}, version=1)
    assert "move_deal" in caught.value.errors["stage_id"]


def test_a_new_deal_starts_its_history_and_takes_the_workspace_currency(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx, stage="Closed Won", amount=125_000)
    stored = Deal.get_by_id(deal.id)
    assert stored.currency == "USD" and stored.pipeline_id == 1
    assert stored.closed_at is not None  # created already won
    assert [(c.from_stage_id, c.to_stage_id) for c in stored.stage_changes] == [(None, stage_named("Closed Won"))]


def test_a_lost_deal_needs_a_reason_even_when_created_lost(workspace: Workspace) -> None:
    with pytest.raises(ValidationFailed) as caught:
        make_deal(workspace.ctx, stage="Closed Lost")
    assert caught.value.errors == {"lost_reason": "is required for a lost deal"}


def test_delete_hides_a_deal_and_restore_brings_it_back(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx)
    seen: list[RecordDeleted] = []
    workspace.ctx.bus.subscribe(RecordDeleted, seen.append)

    records.delete(workspace.ctx, "deal", deal.id, version=1)

    with pytest.raises(NotFound):
        records.get("deal", deal.id)
    assert Deal.get_by_id(deal.id).deleted_at is not None  # nothing erased
    assert json.loads(Event.get(Event.kind == "record.deleted").old)["title"] == "Acme renewal"
    assert seen[0].record_id == deal.id
    restored = records.restore(workspace.ctx, "deal", deal.id)
    assert restored["title"] == "Acme renewal" and restored.version == 3


def test_a_stage_that_holds_deals_cannot_be_deleted(workspace: Workspace) -> None:
    make_deal(workspace.ctx, stage="Negotiation")
    stage = records.get("stage", stage_named("Negotiation"))
    with pytest.raises(ServiceError, match="still holds 1 deal; move them"):
        records.delete(workspace.ctx, "stage", stage.id, version=stage.version)
    assert records.get("stage", stage.id)["name"] == "Negotiation"
    pipeline = records.get("pipeline", stage["pipeline_id"])
    with pytest.raises(ServiceError, match="pipeline still holds 1 deal"):
        records.delete(workspace.ctx, "pipeline", pipeline.id, version=pipeline.version)


def test_an_empty_stage_is_archived_and_its_name_can_be_reused(workspace: Workspace) -> None:
    stage = records.get("stage", stage_named("N/A"))
    records.delete(workspace.ctx, "stage", stage.id, version=stage.version)
    assert "N/A" not in [s.name for s in sales().stages]
    with pytest.raises(NotFound):
        records.get("stage", stage.id)
    again = records.create(workspace.ctx, "stage", {"pipeline_id": stage["pipeline_id"], "name": "N/A", "kind": "closed"})
    assert again.id != stage.id


@pytest.mark.parametrize(
    ("entity", "data"),
    [
        ("lead", {"company_name": "Globex", "status": "working"}),
        ("note", {"body": "Line one\nline two"}),
        ("task", {"title": "Call back", "due_at": "2026-12-01T09:00:00", "reminders": [15]}),
        ("appointment", {"title": "Demo", "starts_at": "2026-12-01T09:00", "ends_at": "2026-12-01T10:00"}),
        ("tag", {"name": "Consulting"}),
        ("pipeline", {"name": "Renewals"}),
        ("custom_field", {"entity": "deal", "key": "region", "label": "Region", "type": "dropdown", "options": ["EMEA"]}),
        ("saved_view", {"entity": "deal", "name": "Closing this month", "filters": {"expected_close": "this_month"}}),
        ("automation_rule", {"name": "Follow up", "trigger": {"type": "deal.stage_changed"}}),
        ("user", {"login": "bob", "name": "Bob"}),
    ],
)
def test_every_record_type_round_trips(workspace: Workspace, entity: str, data: dict) -> None:
    created = records.create(workspace.ctx, entity, data)
    assert records.get(entity, created.id).values == created.values
    first_field = next(iter(data))
    assert Event.select().where(Event.entity == entity, Event.record_id == created.id).count() == 1
    records.delete(workspace.ctx, entity, created.id, version=created.version)
    with pytest.raises(NotFound):
        records.get(entity, created.id)
    assert first_field
