"""Consistent formats: E.164 phones on save when a default country is set, and the one-off
normalise action over stored records (dry run, event log, versions, search index)."""

from __future__ import annotations

import json

import pytest

from crm_tui.models import Company, Contact, CustomValue, Event, Lead
from crm_tui.models.search import SearchDoc
from crm_tui.services import custom_fields, leads, normalise, records
from crm_tui.services.errors import ServiceError, ValidationFailed
from crm_tui.services.workspace import Workspace


def test_default_country_is_checked_and_logged(workspace: Workspace) -> None:
    ctx = workspace.ctx
    assert normalise.default_country() is None
    with pytest.raises(ServiceError, match="not a country code"):
        normalise.set_default_country(ctx, "XX")
    assert normalise.set_default_country(ctx, " us ") == "US" == normalise.default_country()
    assert normalise.set_default_country(ctx, "") is None and normalise.default_country() is None
    logged = Event.select().where(Event.kind == "setting.updated").order_by(Event.id)
    assert [(json.loads(e.old or "null"), json.loads(e.new or "null")) for e in logged] == [(None, "US"), ("US", None)]


def test_phones_are_kept_as_typed_without_a_default_country(workspace: Workspace) -> None:
    made = records.create(workspace.ctx, "contact", {"first_name": "Ann", "phone": "(202) 555-0143", "email": "Ann.Lee@Example.COM"})
    assert made["phone"] == "(202) 555-0143" and made["email"] == "ann.lee@example.com"


def test_phones_become_e164_on_save_with_a_default_country(workspace: Workspace) -> None:
    ctx = workspace.ctx
    normalise.set_default_country(ctx, "US")

    ann = records.create(ctx, "contact", {"first_name": "Ann", "phone": "(202) 555-0143 ext 12"})
    acme = records.create(ctx, "company", {"name": "Acme", "phone": "+44 20 7946 0958"})
    odd = records.create(ctx, "lead", {"first_name": "Bo", "phone": "555-0100"})  # plausible, not a valid US number
    changed = records.update(ctx, "contact", ann.id, {"phone": "202.555.0199"}, version=ann.version)

    assert ann["phone"] == "+12025550143 ext. 12"
    assert acme["phone"] == "+442079460958"
    assert odd["phone"] == "555-0100"
    assert changed["phone"] == "+12025550199" and Contact.get_by_id(ann.id).phone == "+12025550199"
    with pytest.raises(ValidationFailed):
        records.create(ctx, "contact", {"first_name": "Cy", "phone": "call me"})


def _messy(workspace: Workspace) -> dict[str, int]:
    """Rows as an import that bypassed the services could leave them."""
    ctx = workspace.ctx
    for key, kind in (("work_email", "email"), ("mobile", "phone"), ("blog", "url")):
        records.create(ctx, "custom_field", {"entity": "contact", "key": key, "label": key, "type": kind})
    ann = Contact.insert(first_name="  Ann ", last_name="Lee", email="Ann.Lee@Example.COM", phone="(202) 555-0143").execute()
    tidy = records.create(ctx, "contact", {"first_name": "Tidy", "email": "tidy@x.org"}).id
    defs = {fd.key: fd.id for fd in custom_fields.definitions("contact")}
    CustomValue.insert_many(
        [(defs["work_email"], ann, "ANN@WORK.ORG"), (defs["mobile"], ann, "202 555 0177"), (defs["blog"], ann, "ann.blog")],
        fields=["field", "record_id", "text"],
    ).execute()
    acme = Company.insert(name="Acme ", domain="WWW.ACME.COM", website="acme.com", phone="not a phone").execute()
    lead = Lead.insert(first_name="Bo", email=" BO@X.ORG ").execute()
    return {"ann": ann, "tidy": tidy, "acme": acme, "lead": lead}


def _state() -> list:
    rows = [Contact.select().tuples(), Company.select().tuples(), Lead.select().tuples(), CustomValue.select().tuples()]
    return [sorted(query) for query in rows] + [Event.select().count()]


def test_a_dry_run_reports_and_changes_nothing(workspace: Workspace) -> None:
    ids = _messy(workspace)
    before = _state()
    seen: list[tuple[int, int]] = []

    report = normalise.normalise(workspace.ctx, dry_run=True, progress=lambda done, total: seen.append((done, total)))

    assert _state() == before
    assert report.dry_run and report.records == 3 and report.skipped == 0
    assert report.changes == {
        "company.name": 1, "company.domain": 1, "company.website": 1, "contact.first_name": 1, "contact.email": 1,
        "contact.custom.work_email": 1, "contact.custom.blog": 1, "lead.email": 1,
    }  # fmt: skip
    assert normalise.Change("contact", ids["ann"], "email", "Ann.Lee@Example.COM", "ann.lee@example.com") in report.examples
    assert seen[-1] == (4, 4)


def test_normalise_writes_changes_with_events_and_versions(workspace: Workspace) -> None:
    ctx = workspace.ctx
    ids = _messy(workspace)

    report = normalise.normalise(ctx)

    ann = records.get("contact", ids["ann"])
    assert (ann["first_name"], ann["email"], ann["phone"], ann.version) == ("Ann", "ann.lee@example.com", "(202) 555-0143", 2)
    assert ann.custom == {"work_email": "ann@work.org", "mobile": "202 555 0177", "blog": "https://ann.blog"}
    acme = records.get("company", ids["acme"])
    assert (acme["name"], acme["domain"], acme["website"], acme["phone"]) == ("Acme", "acme.com", "https://acme.com", "not a phone")
    assert records.get("lead", ids["lead"])["email"] == "bo@x.org"
    assert records.get("contact", ids["tidy"]).version == 1  # nothing to change: not written
    logged = Event.select().where(Event.entity == "contact", Event.record_id == ids["ann"], Event.kind == "record.updated")
    assert {(e.field, json.loads(e.old), json.loads(e.new)) for e in logged} >= {
        ("email", "Ann.Lee@Example.COM", "ann.lee@example.com"), ("custom.blog", "ann.blog", "https://ann.blog"),
    }  # fmt: skip
    assert "ann.lee@example.com" in SearchDoc.get(SearchDoc.entity == "contact", SearchDoc.record_id == ids["ann"]).detail
    assert report.records == 3 and not report.dry_run

    normalise.set_default_country(ctx, "US")
    phones = normalise.normalise(ctx, "contact")

    assert phones.changes == {"contact.phone": 1, "contact.custom.mobile": 1}
    ann = records.get("contact", ids["ann"])
    assert (ann["phone"], ann.custom["mobile"]) == ("+12025550143", "+12025550177")
    assert normalise.normalise(ctx).records == 0  # a second run finds nothing left to do


def test_converted_leads_are_left_as_they_were(workspace: Workspace) -> None:
    ctx = workspace.ctx
    lead = records.create(ctx, "lead", {"first_name": "Bo", "last_name": "Li"})
    leads.convert_lead(ctx, lead.id, version=lead.version, company="none")
    Lead.update(email="BO@X.ORG").where(Lead.id == lead.id).execute()

    assert normalise.normalise(ctx, "lead").records == 0
    assert Lead.get_by_id(lead.id).email == "BO@X.ORG"
    with pytest.raises(ServiceError):
        normalise.normalise(ctx, "deal")


def test_custom_phone_fields_become_e164_on_save_too(workspace: Workspace) -> None:
    from crm_tui.services import custom_field_admin

    custom_field_admin.add_field(workspace.ctx, "contact", "Mobile", "phone")
    kept = records.create(workspace.ctx, "contact", {"last_name": "Before", "custom": {"mobile": "(202) 555-0199"}})
    assert kept.custom["mobile"] == "(202) 555-0199"
    normalise.set_default_country(workspace.ctx, "US")
    made = records.create(workspace.ctx, "contact", {"last_name": "After", "custom": {"mobile": "(202) 555-0199"}})
    assert made.custom["mobile"] == "+12025550199"
