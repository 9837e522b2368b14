"""Lead conversion: company matching, the deal, carried-over activities, timelines, events, refusals."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from crm_tui.events import DomainEvent, LeadConverted
from crm_tui.models import Appointment, Company, Contact, Deal, Event, Lead, Note, StageChange, Task, database
from crm_tui.services import leads, record_form, records
from crm_tui.services.errors import ConflictError, ServiceError, ValidationFailed
from crm_tui.services.leads import DealSpec
from crm_tui.services.records import Snapshot
from crm_tui.services.workspace import Workspace
from tests.helpers import sales, stage_named


def make_lead(workspace: Workspace, **values: Any) -> Snapshot:
    data = {"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.com", "company_name": "Acme Corp"}
    return records.create(workspace.ctx, "lead", data | values)


def convert(workspace: Workspace, lead: Snapshot, **options: Any) -> leads.Conversion:
    return leads.convert_lead(workspace.ctx, lead.id, version=lead.version, **options)


def test_matches_a_company_by_email_domain_and_copies_the_person(workspace: Workspace) -> None:
    acme = records.create(workspace.ctx, "company", {"name": "Acme Holdings", "domain": "acme.com"})
    lead = make_lead(workspace, phone="+1 555 0100", title="CTO", source="Web", owner_id=workspace.ctx.user_id)

    shown = leads.preview(lead.id)
    done = convert(workspace, lead)

    assert shown.company == leads.CompanyMatch(acme.id, "Acme Holdings", "domain") and shown.version == lead.version
    assert done.company_id == acme.id and done.company_matched and done.deal_id is None
    contact = records.get("contact", done.contact_id)
    assert {k: contact[k] for k in ("first_name", "last_name", "email", "phone", "title", "source")} == {
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@acme.com",
        "phone": "+1 555 0100",
        "title": "CTO",
        "source": "Web",
    }
    assert contact["company_id"] == acme.id and contact["owner_id"] == workspace.ctx.user_id
    stored = Lead.get_by_id(lead.id)
    assert stored.converted_at is not None and stored.version == lead.version + 1
    assert (stored.converted_contact_id, stored.converted_company_id, stored.converted_deal_id) == (
        done.contact_id,
        acme.id,
        None,
    )
    assert stored.status == "new"  # the status stays; converted_at says it was converted
    assert Company.select().count() == 1


def test_matches_a_company_by_name_in_any_case(workspace: Workspace) -> None:
    acme = records.create(workspace.ctx, "company", {"name": "Acme Corp"})
    lead = make_lead(workspace, company_name="ACME corp", email="jane@gmail.com")
    assert leads.preview(lead.id).company == leads.CompanyMatch(acme.id, "Acme Corp", "name")
    done = convert(workspace, lead)
    assert done.company_id == acme.id and done.company_matched


def test_a_free_mail_domain_matches_no_company(workspace: Workspace) -> None:
    records.create(workspace.ctx, "company", {"name": "Google", "domain": "gmail.com"})
    lead = make_lead(workspace, company_name="Fresh Ltd", email="jane@gmail.com")

    assert leads.preview(lead.id).company == leads.CompanyMatch(None, "Fresh Ltd", None)
    done = convert(workspace, lead)

    created = records.get("company", done.company_id)
    assert not done.company_matched and created["name"] == "Fresh Ltd" and created["domain"] is None


def test_a_created_company_takes_the_email_domain_and_owner(workspace: Workspace) -> None:
    records.create(workspace.ctx, "company", {"name": "Acme Corp"})
    lead = make_lead(workspace, email="jane@newco.io", owner_id=workspace.ctx.user_id)

    done = convert(workspace, lead, company="new")  # "new" creates even though the name matches

    created = records.get("company", done.company_id)
    assert not done.company_matched and Company.select().count() == 2
    assert (created["name"], created["domain"], created["owner_id"]) == ("Acme Corp", "newco.io", workspace.ctx.user_id)


def test_new_company_needs_a_company_name(workspace: Workspace) -> None:
    lead = make_lead(workspace, company_name=None)
    with pytest.raises(ServiceError, match="no company name"):
        convert(workspace, lead, company="new")
    assert Contact.select().count() == 0 and Lead.get_by_id(lead.id).converted_at is None


def test_no_company(workspace: Workspace) -> None:
    records.create(workspace.ctx, "company", {"name": "Acme Corp", "domain": "acme.com"})
    done = convert(workspace, make_lead(workspace), company="none")
    assert done.company_id is None and not done.company_matched
    assert records.get("contact", done.contact_id)["company_id"] is None


def test_with_a_deal_in_the_first_open_stage_and_its_history(workspace: Workspace) -> None:
    lead = make_lead(workspace, source="Referral")
    done = convert(workspace, lead, deal=DealSpec(pipeline_id=sales().id, amount=250_000))

    deal = Deal.get_by_id(done.deal_id)
    assert (deal.title, deal.stage_id, deal.pipeline_id) == ("Acme Corp deal", stage_named("Unqualified"), sales().id)
    assert (deal.amount, deal.currency, deal.source) == (250_000, "USD", "Referral")
    assert (deal.company_id, deal.contact_id, deal.owner_id) == (
        done.company_id,
        done.contact_id,
        workspace.ctx.user_id,
    )
    assert [(c.from_stage_id, c.to_stage_id) for c in StageChange.select().where(StageChange.deal == deal.id)] == [
        (None, stage_named("Unqualified"))
    ]


def test_a_deal_in_a_chosen_stage_titled_by_the_person_without_a_company(workspace: Workspace) -> None:
    spec = DealSpec(pipeline_id=sales().id, stage_id=stage_named("Negotiation"))
    done = convert(workspace, make_lead(workspace, company_name=None), deal=spec)
    deal = Deal.get_by_id(done.deal_id)
    assert (deal.title, deal.stage_id, deal.company_id) == ("Jane Doe deal", stage_named("Negotiation"), None)


def test_notes_tasks_and_appointments_carry_over(workspace: Workspace) -> None:
    ctx = workspace.ctx
    lead = make_lead(workspace)
    other = make_lead(workspace, first_name="Bob", email="bob@other.org", company_name="Other")
    note = records.create(ctx, "note", {"body": "Met at the fair", "lead_id": lead.id})
    task = records.create(ctx, "task", {"title": "Call back", "lead_id": lead.id})
    start = datetime(2026, 12, 1, 10)
    meeting = records.create(
        ctx, "appointment", {"title": "Demo", "starts_at": start, "ends_at": start.replace(hour=11), "lead_id": lead.id}
    )
    untouched = records.create(ctx, "note", {"body": "Not this one", "lead_id": other.id})
    someone = records.create(ctx, "contact", {"first_name": "Sam"})
    shared = records.create(ctx, "note", {"body": "Both", "lead_id": lead.id, "contact_id": someone.id})
    shown = leads.preview(lead.id)
    assert (shown.notes, shown.tasks, shown.appointments) == (2, 1, 1)

    done = convert(workspace, lead, deal=DealSpec(pipeline_id=sales().id))

    for model, row in ((Note, note), (Task, task), (Appointment, meeting)):
        stored = model.get_by_id(row.id)
        assert (stored.contact_id, stored.company_id, stored.deal_id, stored.lead_id) == (
            done.contact_id,
            done.company_id,
            done.deal_id,
            lead.id,
        )
        assert stored.version == 2
    assert Note.get_by_id(untouched.id).contact_id is None
    # A link the note already had stays; only the empty ones are filled.
    kept = Note.get_by_id(shared.id)
    assert (kept.contact_id, kept.deal_id) == (someone.id, done.deal_id)
    carried = Event.select(Event.entity, Event.record_id).where(
        Event.kind == "lead.converted", Event.entity.in_(["note", "task", "appointment"])
    )
    assert {(e.entity, e.record_id) for e in carried} == {
        ("note", note.id),
        ("task", task.id),
        ("appointment", meeting.id),
        ("note", shared.id),
    }


def test_the_conversion_is_on_every_timeline(workspace: Workspace) -> None:
    lead = make_lead(workspace)
    done = convert(workspace, lead, deal=DealSpec(pipeline_id=sales().id))

    rows = list(Event.select().where(Event.kind == "lead.converted").order_by(Event.id))
    expected = {
        "lead_id": lead.id,
        "contact_id": done.contact_id,
        "company_id": done.company_id,
        "deal_id": done.deal_id,
    }
    assert [(r.entity, r.record_id) for r in rows] == [
        ("lead", lead.id),
        ("contact", done.contact_id),
        ("company", done.company_id),
        ("deal", done.deal_id),
    ]
    assert all(json.loads(r.new) == expected | {"lead_name": "Jane Doe"} for r in rows)
    # One transaction: the records' creation rows share the conversion's token.
    created = Event.select().where(Event.txn == rows[0].txn, Event.kind == "record.created")
    assert {r.txn for r in rows} == {rows[0].txn}
    assert {(e.entity, e.record_id) for e in created} == {
        ("company", done.company_id),
        ("contact", done.contact_id),
        ("deal", done.deal_id),
    }


def test_lead_converted_is_published_once_after_commit(workspace: Workspace) -> None:
    seen: list[tuple[DomainEvent, bool]] = []
    workspace.ctx.bus.subscribe(DomainEvent, lambda event: seen.append((event, database.in_transaction())))
    lead = make_lead(workspace)
    seen.clear()

    done = convert(workspace, lead, deal=DealSpec(pipeline_id=sales().id))

    converted = [event for event, _ in seen if isinstance(event, LeadConverted)]
    assert len(converted) == 1 and not any(inside for _, inside in seen)
    event = converted[0]
    assert (event.lead_id, event.contact_id, event.company_id, event.deal_id) == (
        lead.id,
        done.contact_id,
        done.company_id,
        done.deal_id,
    )
    assert event.event_id == Event.get(Event.kind == "lead.converted", Event.entity == "lead").id


def test_a_failed_conversion_stores_and_publishes_nothing(workspace: Workspace) -> None:
    seen: list[DomainEvent] = []
    lead = make_lead(workspace)
    workspace.ctx.bus.subscribe(DomainEvent, seen.append)
    before = Event.select().count()

    with pytest.raises(ValidationFailed):  # the deal fails after the company and contact were made
        convert(workspace, lead, deal=DealSpec(pipeline_id=sales().id, stage_id=999_999))

    assert seen == [] and Event.select().count() == before
    assert Contact.select().count() == 0 and Company.select().count() == 0
    assert Lead.get_by_id(lead.id).converted_at is None and Lead.get_by_id(lead.id).version == lead.version


def test_a_lead_is_converted_only_once(workspace: Workspace) -> None:
    lead = make_lead(workspace)
    convert(workspace, lead)
    again = records.get("lead", lead.id)
    with pytest.raises(ServiceError, match=r"already converted on \d{4}-\d\d-\d\d into Jane Doe"):
        convert(workspace, again)
    with pytest.raises(ServiceError, match="already converted"):
        leads.preview(lead.id)
    assert Contact.select().count() == 1


def test_a_converted_lead_is_kept_as_it_was(workspace: Workspace) -> None:
    lead = make_lead(workspace)
    convert(workspace, lead)
    done = records.get("lead", lead.id)
    with pytest.raises(ServiceError, match="was converted and is kept as it was"):
        records.update(workspace.ctx, "lead", lead.id, {"status": "working"}, version=done.version)
    assert Lead.get_by_id(lead.id).status == "new" and Lead.get_by_id(lead.id).version == done.version
    form = record_form.read_form("lead", lead.id)
    assert form.locked and {field.editor for field in form.fields} == {"readonly"}
    assert next(f.value for f in form.fields if f.key == "first_name") == "Jane"


def test_a_stale_version_is_a_conflict_and_changes_nothing(workspace: Workspace) -> None:
    lead = make_lead(workspace)
    records.update(workspace.ctx, "lead", lead.id, {"status": "working"}, version=lead.version)

    with pytest.raises(ConflictError) as caught:
        convert(workspace, lead)

    assert caught.value.expected_version == lead.version and caught.value.actual_version == lead.version + 1
    assert Contact.select().count() == 0 and Company.select().count() == 0
    assert Lead.get_by_id(lead.id).converted_at is None


def test_a_lead_without_a_persons_name_is_refused(workspace: Workspace) -> None:
    lead = make_lead(workspace, first_name=None, last_name=None)
    message = "has no person's name: add a first or last name"
    with pytest.raises(ServiceError, match=message):
        leads.preview(lead.id)
    with pytest.raises(ServiceError, match=message):
        convert(workspace, lead)
    assert Contact.select().count() == 0


def test_an_unqualified_lead_can_still_be_converted(workspace: Workspace) -> None:
    lead = make_lead(workspace, status="unqualified")
    convert(workspace, lead)
    assert Lead.get_by_id(lead.id).status == "unqualified"
