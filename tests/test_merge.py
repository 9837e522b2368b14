"""Merging duplicates: the plan's defaults, every link moved to the survivor, conflicts, and an undo
that puts the workspace back exactly as it was."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from peewee import ForeignKeyField

from crm_tui import clock
from crm_tui.models import (
    ALL_MODELS,
    Appointment,
    AppointmentAttendee,
    Company,
    CompanyTag,
    Contact,
    ContactTag,
    CustomValue,
    Deal,
    Event,
    Lead,
    LeadTag,
    Note,
    Task,
)
from crm_tui.models.search import SearchDoc
from crm_tui.services import leads, merge, records, search
from crm_tui.services.errors import ConflictError, ServiceError
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal

T0 = datetime(2026, 3, 1, 9, 0)


def at(minutes: int) -> None:
    clock.freeze(T0 + timedelta(minutes=minutes))


def snapshot() -> dict[str, Any]:
    """Every row of every table but the event log, without versions and update times (they only
    move forward), custom values without their row ids, and the search documents by content."""
    tables: dict[str, Any] = {}
    for model in ALL_MODELS:
        if model is Event:
            continue
        rows = []
        for row in model.select().dicts():
            row = {k: v for k, v in row.items() if k not in ("version", "updated_at")}
            if model is CustomValue:
                del row["id"]
            rows.append(row)
        tables[model._meta.table_name] = sorted(rows, key=repr)
    fields = (SearchDoc.entity, SearchDoc.record_id, SearchDoc.target_entity, SearchDoc.target_id, SearchDoc.title,
              SearchDoc.detail, SearchDoc.body)  # fmt: skip
    tables["search_doc"] = sorted(SearchDoc.select(*fields).tuples())
    return tables


def field(plan: merge.MergePlan, key: str) -> merge.MergeField:
    return next(f for f in plan.fields if f.key == key)


def test_every_foreign_key_to_a_mergeable_record_is_handled() -> None:
    targets = {"company": Company, "contact": Contact, "lead": Lead}
    for entity, target in targets.items():
        handled = {(link.model, link.field) for link in merge.RELINKS[entity]}
        found = {
            (model, fk.name)
            for model in ALL_MODELS
            for fk in model._meta.sorted_fields
            if isinstance(fk, ForeignKeyField) and fk.rel_model is target
        }
        assert found == handled, f"{entity}: not re-linked {found - handled}, not a foreign key {handled - found}"


def test_the_plan_proposes_the_oldest_record_and_the_newest_values(workspace: Workspace) -> None:
    ctx = workspace.ctx
    at(0)
    old = records.create(ctx, "contact", {"first_name": "Jon", "last_name": "Smith", "email": "jon@acme.com", "title": "CTO"})
    at(5)
    new = records.create(ctx, "contact", {"first_name": "John", "last_name": "Smith", "phone": "+1 202 555 0143"})
    at(10)

    plan = merge.plan("contact", [new.id, old.id])

    assert plan.survivor_id == old.id and [r.id for r in plan.records] == [old.id, new.id]
    assert field(plan, "first_name").values == ["Jon", "John"] and field(plan, "first_name").chosen == 1
    assert field(plan, "email").chosen == 0  # the only record that has one
    assert field(plan, "title").chosen == 0 and field(plan, "phone").chosen == 1
    assert field(plan, "first_name").label == "First name"


def test_refusals(workspace: Workspace) -> None:
    ctx = workspace.ctx
    a = records.create(ctx, "contact", {"first_name": "Ann"})
    b = records.create(ctx, "contact", {"first_name": "Anne"})
    for entity, ids in (("contact", [a.id]), ("contact", [a.id, a.id]), ("deal", [a.id, b.id]), ("tag", [a.id, b.id])):
        with pytest.raises(ServiceError):
            merge.plan(entity, ids)
    plan = merge.plan("contact", [a.id, b.id])
    with pytest.raises(ServiceError, match="must be one of those merged"):
        merge.merge(ctx, plan, None, b.id + 100)
    with pytest.raises(ServiceError, match="no choice"):
        merge.merge(ctx, plan, {"email": 7}, a.id)
    assert Contact.select().where(Contact.deleted_at.is_null(False)).count() == 0


def _contact_world(workspace: Workspace) -> dict[str, int]:
    """Two contacts (A older, B newer) and everything that can point at B."""
    ctx = workspace.ctx
    at(0)
    acme = records.create(ctx, "company", {"name": "Acme"})
    records.create(ctx, "custom_field", {"entity": "contact", "key": "nickname", "label": "Nickname", "type": "text"})
    records.create(ctx, "custom_field", {"entity": "deal", "key": "referrer", "label": "Referrer", "type": "reference",
                                         "reference_entity": "contact"})  # fmt: skip
    a = records.create(ctx, "contact", {"first_name": "Jon", "last_name": "Smith", "company_id": acme.id, "email": "jon@acme.com"})
    at(5)
    lead = records.create(ctx, "lead", {"first_name": "John", "last_name": "Smith", "email": "john.smith@acme.com"})
    b = leads.convert_lead(ctx, lead.id, version=lead.version, company="none").contact_id
    records.update(ctx, "contact", b, {"title": "CTO", "custom": {"nickname": "Johnny"}}, version=1)
    deal = make_deal(ctx, "Smith deal", contact_id=b, custom={"referrer": b})
    other_deal = make_deal(ctx, "Other deal", contact_id=a.id)
    note = records.create(ctx, "note", {"body": "Met John at the fair", "contact_id": b})
    task = records.create(ctx, "task", {"title": "Call John", "contact_id": b})
    start = T0 + timedelta(days=1)
    meeting = records.create(ctx, "appointment", {"title": "Demo", "starts_at": start, "ends_at": start + timedelta(hours=1), "contact_id": b})
    both = records.create(ctx, "appointment", {"title": "Lunch", "starts_at": start, "ends_at": start + timedelta(hours=1)})
    AppointmentAttendee.insert_many([(meeting.id, b), (both.id, a.id), (both.id, b)], fields=["appointment", "contact"]).execute()
    vip = records.create(ctx, "tag", {"name": "VIP"}).id
    cold = records.create(ctx, "tag", {"name": "Cold"}).id
    ContactTag.insert_many([(vip, a.id), (vip, b), (cold, b)], fields=["tag", "contact"]).execute()
    at(10)
    return {"a": a.id, "b": b, "deal": deal.id, "other_deal": other_deal.id, "note": note.id, "task": task.id,
            "meeting": meeting.id, "both": both.id, "vip": vip, "cold": cold, "lead": lead.id, "company": acme.id}  # fmt: skip


def test_merging_contacts_moves_every_link_and_undo_restores_exactly(workspace: Workspace) -> None:
    ctx = workspace.ctx
    w = _contact_world(workspace)
    before = snapshot()
    plan = merge.plan("contact", [w["a"], w["b"]])
    assert field(plan, "custom.nickname").chosen == 1 and field(plan, "company_id").shown == ["Acme", ""]

    done = merge.merge(ctx, plan, {"email": 0}, w["a"])

    a = records.get("contact", w["a"])
    assert (a["first_name"], a["title"], a["email"], a["company_id"]) == ("John", "CTO", "jon@acme.com", w["company"])
    assert a.custom == {"nickname": "Johnny"}
    assert records.get("contact", w["b"], include_deleted=True).deleted_at is not None
    assert Deal.get_by_id(w["deal"]).contact_id == w["a"] and Deal.get_by_id(w["deal"]).version == 2
    for model, key in ((Note, "note"), (Task, "task"), (Appointment, "meeting")):
        assert model.get_by_id(w[key]).contact_id == w["a"]
    attendees = AppointmentAttendee.select(AppointmentAttendee.appointment, AppointmentAttendee.contact).tuples()
    assert sorted(attendees) == sorted([(w["meeting"], w["a"]), (w["both"], w["a"]), (w["both"], w["b"])])
    tags = sorted(ContactTag.select(ContactTag.tag, ContactTag.contact).tuples())
    assert tags == sorted([(w["vip"], w["a"]), (w["cold"], w["a"]), (w["vip"], w["b"])])  # VIP stays with B
    assert Lead.get_by_id(w["lead"]).converted_contact_id == w["a"]
    assert records.get("deal", w["deal"]).custom["referrer"] == w["a"]
    event = Event.get_by_id(done.event_id)
    assert (event.kind, event.record_id, json.loads(event.new)["merged"]) == ("record.merged", w["a"], [w["b"]])
    assert done.relinked == len(json.loads(event.old)["relinked"]) == 8
    assert [(hit.parent_entity, hit.parent_id) for hit in search.search("fair")] == [("contact", w["a"])]
    assert [hit.record_id for hit in search.search("smith") if hit.entity == "contact"] == [w["a"]]
    assert merge.last_merge("contact", w["a"]) == done.event_id == merge.last_merge("contact", w["b"])

    undone = merge.undo(ctx, done.event_id)

    assert undone.restored == [w["b"]] and undone.kept == 0
    assert snapshot() == before
    assert merge.last_merge("contact", w["a"]) is None
    assert Event.select().where(Event.kind == "record.unmerged").count() == 1
    with pytest.raises(ServiceError, match="undone already"):
        merge.undo(ctx, done.event_id)


def test_merging_companies_moves_contacts_deals_tags_and_conversions(workspace: Workspace) -> None:
    ctx = workspace.ctx
    at(0)
    acme = records.create(ctx, "company", {"name": "Acme Corp", "domain": "acme.com"})
    at(5)
    dup = records.create(ctx, "company", {"name": "ACME Corporation", "website": "https://acme.com", "phone": "+1 202 555 0143"})
    person = records.create(ctx, "contact", {"first_name": "Ann", "company_id": dup.id})
    deal = make_deal(ctx, "Acme renewal", company_id=dup.id)
    lead = records.create(ctx, "lead", {"first_name": "Bo", "company_name": "ACME Corporation"})
    converted = leads.convert_lead(ctx, lead.id, version=lead.version, company="match")
    assert converted.company_id == dup.id
    tag = records.create(ctx, "tag", {"name": "Partner"}).id
    CompanyTag.insert(tag=tag, company=dup.id).execute()
    records.create(ctx, "note", {"body": "renewal call", "company_id": dup.id})
    records.create(ctx, "task", {"title": "renewal", "company_id": dup.id})
    records.create(ctx, "custom_field", {"entity": "deal", "key": "partner", "label": "Partner", "type": "reference",
                                         "reference_entity": "company"})  # fmt: skip
    other = make_deal(ctx, "Channel deal", custom={"partner": dup.id})
    at(10)
    before = snapshot()

    done = merge.merge(ctx, merge.plan("company", [acme.id, dup.id]), None, acme.id)

    kept = records.get("company", acme.id)
    assert (kept["name"], kept["domain"], kept["website"], kept["phone"]) == (
        "ACME Corporation", "acme.com", "https://acme.com", "+1 202 555 0143",
    )  # fmt: skip
    assert Contact.get_by_id(person.id).company_id == acme.id
    assert Contact.get_by_id(converted.contact_id).company_id == acme.id
    assert Deal.get_by_id(deal.id).company_id == acme.id
    assert Lead.get_by_id(lead.id).converted_company_id == acme.id
    assert [row.company_id for row in CompanyTag.select()] == [acme.id]
    assert {n.company_id for n in Note.select()} | {t.company_id for t in Task.select()} == {acme.id}
    assert records.get("deal", other.id).custom["partner"] == acme.id
    detail = SearchDoc.get(SearchDoc.entity == "deal", SearchDoc.record_id == deal.id).detail
    assert detail.startswith("ACME Corporation")
    assert not SearchDoc.select().where(SearchDoc.entity == "company", SearchDoc.record_id == dup.id).exists()

    merge.undo(ctx, done.event_id)
    assert snapshot() == before


def test_merging_leads_moves_activities_and_tags(workspace: Workspace) -> None:
    ctx = workspace.ctx
    one = records.create(ctx, "lead", {"first_name": "Ana", "last_name": "Müller", "email": "ana@x.org"})
    two = records.create(ctx, "lead", {"first_name": "Ana", "last_name": "Mueller", "status": "working"})
    note = records.create(ctx, "note", {"body": "asked for pricing", "lead_id": two.id})
    task = records.create(ctx, "task", {"title": "send pricing", "lead_id": two.id})
    tag = records.create(ctx, "tag", {"name": "Webinar"}).id
    LeadTag.insert(tag=tag, lead=two.id).execute()
    before = snapshot()

    done = merge.merge(ctx, merge.plan("lead", [one.id, two.id]), None, one.id)

    assert records.get("lead", one.id)["status"] == "working"
    assert Note.get_by_id(note.id).lead_id == Task.get_by_id(task.id).lead_id == one.id
    assert LeadTag.get().lead_id == one.id
    merge.undo(ctx, done.event_id)
    assert snapshot() == before


def test_a_record_changed_after_the_plan_was_read_is_a_conflict(workspace: Workspace) -> None:
    ctx = workspace.ctx
    a = records.create(ctx, "contact", {"first_name": "Ann", "last_name": "Lee"})
    b = records.create(ctx, "contact", {"first_name": "Anne", "last_name": "Lee"})
    note = records.create(ctx, "note", {"body": "hello", "contact_id": b.id})
    plan = merge.plan("contact", [a.id, b.id])
    records.update(ctx, "contact", b.id, {"title": "CEO"}, version=b.version)
    events = Event.select().count()

    with pytest.raises(ConflictError):
        merge.merge(ctx, plan, None, a.id)

    assert records.get("contact", b.id).deleted_at is None and Note.get_by_id(note.id).contact_id == b.id
    assert records.get("contact", a.id).values["first_name"] == "Ann" and Event.select().count() == events


def test_undo_is_refused_once_the_survivor_changed(workspace: Workspace) -> None:
    ctx = workspace.ctx
    a = records.create(ctx, "contact", {"first_name": "Ann", "last_name": "Lee"})
    b = records.create(ctx, "contact", {"first_name": "Anne", "last_name": "Lee", "email": "anne@lee.org"})
    done = merge.merge(ctx, merge.plan("contact", [a.id, b.id]), None, a.id)
    kept = records.get("contact", a.id)
    records.update(ctx, "contact", a.id, {"title": "CEO"}, version=kept.version)

    with pytest.raises(ServiceError, match="changed after the merge"):
        merge.undo(ctx, done.event_id)

    assert records.get("contact", b.id, include_deleted=True).deleted_at is not None
    assert merge.last_merge("contact", a.id) == done.event_id
    with pytest.raises(ServiceError, match="no merge"):
        merge.undo(ctx, done.event_id + 1000)


def test_a_converted_lead_survives_unchanged(workspace: Workspace) -> None:
    ctx = workspace.ctx
    at(0)
    fresh = records.create(ctx, "lead", {"first_name": "Bo", "last_name": "Li", "phone": "+1 202 555 0143"})
    old = records.create(ctx, "lead", {"first_name": "Bo", "last_name": "Lee"})
    leads.convert_lead(ctx, old.id, version=old.version, company="none")
    at(5)
    records.update(ctx, "lead", fresh.id, {"title": "CFO"}, version=fresh.version)

    plan = merge.plan("lead", [fresh.id, old.id])

    assert plan.survivor_id == old.id and all(plan.records[f.chosen].id == old.id for f in plan.fields)
    merge.merge(ctx, plan, None, old.id)
    assert records.get("lead", old.id)["last_name"] == "Lee"
    with pytest.raises(ServiceError, match="converted"):
        merge.merge(ctx, merge.plan("lead", [old.id, records.create(ctx, "lead", {"first_name": "X"}).id]),
                    {"first_name": 1}, old.id)  # fmt: skip


def test_undo_leaves_a_row_moved_elsewhere_since(workspace: Workspace) -> None:
    ctx = workspace.ctx
    a = records.create(ctx, "contact", {"first_name": "Ann", "last_name": "Lee"})
    b = records.create(ctx, "contact", {"first_name": "Ann", "last_name": "Lee"})
    c = records.create(ctx, "contact", {"first_name": "Cy", "last_name": "Fox"})
    first, second = make_deal(ctx, "One", contact_id=b.id), make_deal(ctx, "Two", contact_id=b.id)
    done = merge.merge(ctx, merge.plan("contact", [a.id, b.id]), None, a.id)
    records.update(ctx, "deal", second.id, {"contact_id": c.id}, version=Deal.get_by_id(second.id).version)

    undone = merge.undo(ctx, done.event_id)

    assert undone.kept == 1
    assert Deal.get_by_id(first.id).contact_id == b.id and Deal.get_by_id(second.id).contact_id == c.id
    assert records.get("contact", b.id).deleted_at is None


def test_the_timelines_tell_of_a_merge_and_its_undo(workspace: Workspace) -> None:
    from crm_tui.services import timeline

    ctx = workspace.ctx
    keep = records.create(ctx, "contact", {"first_name": "Ada", "last_name": "Lovelace"})
    gone = records.create(ctx, "contact", {"first_name": "Ada", "last_name": "Lovelace"})
    result = merge.merge(ctx, merge.plan("contact", [keep.id, gone.id]), None, keep.id)
    assert f"merged #{gone.id} into this record" in [item.text for item in timeline.timeline("contact", keep.id)]
    assert f"merged into #{keep.id}" in [item.text for item in timeline.timeline("contact", gone.id)]
    merge.undo(ctx, result.event_id)
    assert "merge undone" in [item.text for item in timeline.timeline("contact", keep.id)]
