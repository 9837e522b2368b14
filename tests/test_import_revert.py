"""Reverting an import: what it created goes, what it updated comes back, later edits stay."""

from __future__ import annotations

import pytest

from crm_tui.models import Company, Contact, ContactTag, Deal, Event, Stage, Tag
from crm_tui.models.search import SearchDoc
from crm_tui.services import import_batches, import_columns, records, search
from crm_tui.services.errors import ServiceError
from crm_tui.services.import_engine import ImportRequest, run_import
from crm_tui.services.import_read import read_bytes
from crm_tui.services.workspace import Workspace


def _import(workspace: Workspace, entity: str, data: bytes, **options):
    table = read_bytes(data)
    request = ImportRequest(entity, import_columns.suggest(entity, table.header), **options)
    result = run_import(workspace.ctx, table, request)
    assert result.stored, result.lines()
    return result


def _live(model) -> int:
    return model.select().where(model.deleted_at.is_null()).count()


def test_revert_removes_created_records_and_restores_updated_ones(workspace: Workspace) -> None:
    ada = records.create(workspace.ctx, "contact", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
    data = (
        b"Name,Email,Title,Company,Tags\n"
        b"Ada Lovelace,ada@example.com,Countess,Analytical Engines,math\n"
        b"Grace Hopper,grace@navy.example,Admiral,US Navy,navy; math\n"
    )
    result = _import(workspace, "contact", data, on_duplicate="fill")
    assert (result.created, result.updated) == (1, 1)
    assert records.get("contact", ada.id).values["title"] == "Countess"
    assert search.search("Hopper")
    report = import_batches.revert(workspace.ctx, result.batch_id)
    assert report.removed == {"contacts": 1, "companies": 2, "tags": 2} and report.restored == 1
    assert _live(Contact) == 1 and _live(Company) == 0 and Tag.select().count() == 0
    back = records.get("contact", ada.id)
    assert back.values["title"] is None and back.values["company_id"] is None
    assert ContactTag.select().where(ContactTag.contact == ada.id).count() == 0
    assert not search.search("Hopper")
    assert Event.select().where(Event.kind == "import.reverted").count() == 1
    with pytest.raises(ServiceError, match="already reverted"):
        import_batches.revert(workspace.ctx, result.batch_id)


def test_revert_keeps_what_was_changed_after_the_import(workspace: Workspace) -> None:
    ada = records.create(workspace.ctx, "contact", {"last_name": "Lovelace", "email": "ada@example.com"})
    result = _import(workspace, "contact", b"Last name,Email,Title,Phone\nLovelace,ada@example.com,Countess,+44 1234 567\n",
                     on_duplicate="overwrite")  # fmt: skip
    now = records.get("contact", ada.id)
    records.update(workspace.ctx, "contact", ada.id, {"title": "Mathematician"}, version=now.version)
    report = import_batches.revert(workspace.ctx, result.batch_id)
    after = records.get("contact", ada.id).values
    assert after["title"] == "Mathematician" and after["phone"] is None
    assert any("title was changed after the import" in text for text in report.kept)


def test_revert_of_a_deal_import_removes_its_deals_and_its_added_stage(workspace: Workspace) -> None:
    stages = Stage.select().where(Stage.deleted_at.is_null()).count()
    data = b"Title,Value,Stage,Company\nRocket,1000,Launch Pad,Acme\nSled,50,Qualification,Acme\n"
    result = _import(workspace, "deal", data)
    assert Stage.select().where(Stage.deleted_at.is_null()).count() == stages + 1
    report = import_batches.revert(workspace.ctx, result.batch_id)
    assert report.removed["deals"] == 2 and _live(Deal) == 0 and _live(Company) == 0
    assert Stage.select().where(Stage.deleted_at.is_null()).count() == stages
    assert SearchDoc.select().where(SearchDoc.entity == "deal").count() == 0


def test_a_tag_another_record_uses_is_kept(workspace: Workspace) -> None:
    result = _import(workspace, "company", b"Name,Tags\nAcme,shared\n")
    other = records.create(workspace.ctx, "company", {"name": "Globex"})
    from crm_tui.services import bulk

    bulk.tag(workspace.ctx, "company", [other.id], Tag.get(Tag.name == "shared").id)
    report = import_batches.revert(workspace.ctx, result.batch_id)
    assert Tag.select().where(Tag.name == "shared").exists()
    assert any("in use" in text for text in report.kept)


def test_batches_lists_imports_newest_first(workspace: Workspace) -> None:
    first = _import(workspace, "company", b"Name\nAcme\n")
    second = _import(workspace, "company", b"Name\nGlobex\nInitech\n")
    rows = import_batches.batches()
    assert [row.id for row in rows] == [second.batch_id, first.batch_id]
    assert rows[0].counts["created"] == 2 and rows[0].user == workspace.ctx.login


def test_revert_blanks_the_lookups_of_later_records_that_read_what_it_removes(workspace: Workspace) -> None:
    ctx = workspace.ctx
    records.create(ctx, "custom_field", {"entity": "contact", "key": "industry", "label": "Industry", "type": "lookup",
                                        "lookup_path": ["company", "industry"]})  # fmt: skip
    result = _import(workspace, "company", b"Name,Industry\nGlobex,Energy\n")
    globex = Company.get(Company.name == "Globex")
    hank = records.create(ctx, "contact", {"first_name": "Hank", "company_id": globex.id})  # made after the import
    assert records.get("contact", hank.id).custom == {"industry": "Energy"}
    import_batches.revert(ctx, result.batch_id)
    assert records.get("contact", hank.id).custom == {}  # as deleting Globex by hand would leave it
