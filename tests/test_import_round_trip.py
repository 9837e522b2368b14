"""Export -> import into an empty workspace gives the same records: every importable field of
companies, contacts, leads, deals, tasks and notes, with custom fields, tags, owners and links."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from crm_tui import db
from crm_tui.config import Settings
from crm_tui.models import Company, Contact, Deal, Lead, Note, Task, User
from crm_tui.services import bulk, custom_field_admin, deals, export, import_columns, records
from crm_tui.services.import_engine import ImportRequest, run_import
from crm_tui.services.import_read import read_table
from crm_tui.services.workspace import Workspace, open_workspace
from tests.helpers import make_deal, stage_named

ORDER = ("company", "contact", "lead", "deal", "task", "note")


def _fill(ctx: Any) -> None:
    for login in ("alice", "bob"):
        if not User.select().where(User.login == login).exists():
            records.create(ctx, "user", {"login": login, "name": login.title()})
    custom_field_admin.add_field(ctx, "company", "Tier", "dropdown", options=["Gold", "Silver"])
    custom_field_admin.add_field(ctx, "contact", "Birthday", "date")
    custom_field_admin.add_field(ctx, "deal", "Regions", "multi_select", options=["EMEA", "APAC", "AMER"])
    bob = User.get(User.login == "bob").id
    acme = records.create(ctx, "company", {"name": "ACME [/] Corp", "domain": "acme.example", "employees": 120,
                                          "owner_id": bob, "custom": {"tier": "Gold"}})  # fmt: skip
    records.create(ctx, "company", {"name": "=HYPERLINK(\"x\")", "address": "1 Main St\nSpringfield"})
    jane = records.create(ctx, "contact", {"first_name": "Jane", "last_name": "Doe-Smith", "email": "jane@acme.example",
                                           "phone": "+1 555 0100", "company_id": acme.id, "custom": {"birthday": "1990-02-03"}})  # fmt: skip
    records.create(ctx, "contact", {"last_name": "-Minus", "title": "@handle", "source": "+web"})
    records.create(ctx, "lead", {"first_name": "Lee", "company_name": "Startup", "status": "working", "email": "lee@s.example"})
    deal = make_deal(ctx, "Big renewal", "Negotiation", company_id=acme.id, contact_id=jane.id, amount=1_234_550,
                     expected_close=date(2027, 1, 15), probability=35, owner_id=bob, custom={"regions": ["EMEA", "APAC"]})  # fmt: skip
    lost = make_deal(ctx, "Lost one", amount=500, currency="EUR")
    deals.move_deal(ctx, lost.id, stage_named("Closed Lost"), from_stage_id=lost["stage_id"], lost_reason="No budget")
    bulk.tag(ctx, "deal", [deal.id], records.create(ctx, "tag", {"name": "vip"}).id)
    bulk.tag(ctx, "company", [acme.id], records.create(ctx, "tag", {"name": "key account"}).id)
    records.create(ctx, "task", {"title": "Send quote", "deal_id": deal.id, "due_at": datetime(2026, 12, 1, 9, 30),
                                 "assignee_id": bob, "details": "Line one\nline two"})  # fmt: skip
    records.create(ctx, "task", {"title": "Done thing", "done": True, "contact_id": jane.id})
    records.create(ctx, "note", {"body": "Met Jane, she says \"maybe\".", "deal_id": deal.id})


def _state() -> dict[str, list[Any]]:
    """Every record's importable content, without ids or timestamps, sorted."""
    def company(company_id: int | None) -> str | None:
        return Company.get_by_id(company_id).name if company_id else None

    def login(user_id: int | None) -> str | None:
        return User.get_by_id(user_id).login if user_id else None

    def custom(entity: str, record_id: int) -> dict[str, Any]:
        return records.get(entity, record_id).custom

    out: dict[str, list[Any]] = {
        "company": [(c.name, c.domain, c.address, c.employees, login(c.owner_id), custom("company", c.id),
                     sorted(link.tag.name for link in c.tag_links)) for c in Company.select()],
        "contact": [(c.first_name, c.last_name, c.email, c.phone, c.title, c.source, company(c.company_id),
                     custom("contact", c.id)) for c in Contact.select()],
        "lead": [(lead.first_name, lead.company_name, lead.status, lead.email) for lead in Lead.select()],
        "deal": [(d.title, d.amount, d.currency, d.stage.name, d.stage.kind, d.lost_reason, d.expected_close,
                  d.probability, company(d.company_id), d.contact.email if d.contact_id else None, login(d.owner_id),
                  custom("deal", d.id), sorted(link.tag.name for link in d.tag_links)) for d in Deal.select()],
        "task": [(t.title, t.details, t.due_at, t.done, login(t.assignee_id), t.deal.title if t.deal_id else None,
                  t.contact.email if t.contact_id else None) for t in Task.select()],
        "note": [(n.body, n.deal.title if n.deal_id else None) for n in Note.select()],
    }  # fmt: skip
    return {entity: sorted(rows, key=repr) for entity, rows in out.items()}


def test_export_then_import_into_an_empty_workspace_gives_the_same_records(
    workspace: Workspace, tmp_path: Path
) -> None:
    _fill(workspace.ctx)
    before = _state()
    files = {}
    for entity in ORDER:
        files[entity] = tmp_path / f"{entity}.csv"
        export.export_file(export.request_for(entity, "csv"), files[entity])

    fresh = open_workspace(db.parse_target(str(tmp_path / "empty.sqlite3")), Settings(), login="alice")
    try:
        for login in ("bob",):
            records.create(fresh.ctx, "user", {"login": login, "name": login.title()})
        custom_field_admin.add_field(fresh.ctx, "company", "Tier", "dropdown", options=["Gold", "Silver"])
        custom_field_admin.add_field(fresh.ctx, "contact", "Birthday", "date")
        custom_field_admin.add_field(fresh.ctx, "deal", "Regions", "multi_select", options=["EMEA", "APAC", "AMER"])
        for entity in ORDER:
            table = read_table(files[entity])
            mapping = import_columns.suggest(entity, table.header)
            assert len(mapping) == len(table.header), (entity, table.header, mapping)  # every column maps itself
            result = run_import(fresh.ctx, table, ImportRequest(entity, mapping, on_duplicate="create"))
            assert result.stored and not result.rejected, result.lines()
            assert not result.related.get("stage"), result.lines()
        assert _state() == before
    finally:
        db.close()
