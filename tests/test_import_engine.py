"""The importer on both back ends: real-looking exports in, records (and nothing else) out."""

from __future__ import annotations

from pathlib import Path

from crm_tui.models import Company, Contact, Deal, Event, ImportBatch, Note, Stage, Tag, Task
from crm_tui.services import custom_field_admin, import_columns, records
from crm_tui.services.import_engine import ImportRequest, run_import, write_rejected
from crm_tui.services.import_read import read_bytes, read_table
from crm_tui.services.import_rows import StageChoices
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named

DATA = Path(__file__).parent / "data" / "import"


def _run(workspace: Workspace, entity: str, source: Path | bytes, **options):
    table = read_table(source) if isinstance(source, Path) else read_bytes(source)
    mapping = options.pop("mapping", None) or import_columns.suggest(entity, table.header)
    dry_run = options.pop("dry_run", False)
    request = ImportRequest(entity, mapping, file_name="test.csv", **options)
    return run_import(workspace.ctx, table, request, dry_run=dry_run)


def _live(model) -> int:
    return model.select().where(model.deleted_at.is_null()).count()


def test_hubspot_contacts_make_contacts_and_their_companies(workspace: Workspace) -> None:
    result = _run(workspace, "contact", DATA / "hubspot-contacts.csv")
    assert result.stored and not result.rejected
    assert result.created == _live(Contact) == 8
    sarah = Contact.get(Contact.email == "sarah.connor@cyberdyne.example")
    assert (sarah.first_name, sarah.last_name, sarah.title) == ("Sarah", "Connor", "Head of Security")
    assert sarah.company.name == "Cyberdyne Systems"
    assert result.related["company"] == _live(Company)
    assert any("'Alice Martin' is not a user" in text for text in result.warnings)
    batch = ImportBatch.get(ImportBatch.id == result.batch_id)
    assert batch.counts["created"] == 8 and batch.entity == "contact"
    assert Event.select().where(Event.kind == "record.created", Event.entity == "contact").count() == 8


def test_pipedrive_deals_keep_status_lost_reason_and_add_missing_stages(workspace: Workspace) -> None:
    result = _run(workspace, "deal", DATA / "pipedrive-deals.csv")
    assert result.stored and result.created == 7, result.lines()
    deals = {deal.title: deal for deal in Deal.select()}
    won = deals["Nordlicht Energie – Pilot"]
    assert won.stage.kind == "won" and won.amount == 1_500_000 and won.currency == "EUR"
    lost = deals["Fjord Shipping tracking"]
    assert lost.stage.kind == "lost" and lost.lost_reason == "Chose a competitor (price)" and lost.currency == "NOK"
    assert deals["Rossi & Figli website"].lost_reason == "No budget, maybe next year"
    assert deals["Tanaka Foods distribution"].amount == 68000  # yen have no minor unit
    proposal = deals["Müller Maschinenbau – Wartungsvertrag"].stage
    assert proposal.name == "Proposal" and proposal.kind == "open"  # added to the pipeline
    assert any("no stage 'Proposal'" in text for text in result.warnings)
    assert deals["Café Zoë espresso machines"].stage.name == "Negotiation"
    assert deals["Café Zoë espresso machines"].contact.email == "zoe@cafe-zoe.example"
    assert deals["Café Zoë espresso machines"].company.name == "Café Zoë"


def test_strict_stages_reject_instead_of_adding(workspace: Workspace) -> None:
    stages_before = Stage.select().count()
    result = _run(workspace, "deal", DATA / "pipedrive-deals.csv", stages=StageChoices(strict=True))
    assert not result.stored and Deal.select().count() == 0 and Stage.select().count() == stages_before
    assert [item.line for item in result.rejected] == [2, 6]
    assert all("Deal - Stage" in item.reason and "Proposal" in item.reason for item in result.rejected)


def test_wizard_stage_choice_maps_a_stage_name(workspace: Workspace) -> None:
    stages = StageChoices(mapped={"proposal": "Proposal Sent"})
    result = _run(workspace, "deal", DATA / "pipedrive-deals.csv", stages=stages)
    assert result.stored and not result.warnings or all("no stage" not in text for text in result.warnings)
    deal = Deal.get(Deal.title == "Acme Corp – annual licence")
    assert deal.stage_id == stage_named("Proposal Sent")


def test_all_or_nothing_stores_nothing_and_lists_every_rejected_row(workspace: Workspace) -> None:
    data = b"Name,Email,Phone\nAda Lovelace,ada@example.com,+44 20 1234 5678\nNo Mail,not-an-email,\n,,\nBob,bob@x.io,12\n"
    result = _run(workspace, "contact", data)
    assert not result.stored and Contact.select().count() == 0 and ImportBatch.select().count() == 0
    reasons = {item.line: item.reason for item in result.rejected}
    assert set(reasons) == {3, 5}
    assert reasons[3].startswith("Email:") and reasons[5].startswith("Phone:")
    assert any("All or nothing" in line for line in result.lines())


def test_partial_mode_stores_the_valid_rows_and_writes_the_rejected_ones(workspace: Workspace, tmp_path: Path) -> None:
    data = b"First name;Last name;E-Mail\nAda;Lovelace;ada@example.com\nNo;Mail;not-an-email\nGrace;Hopper;grace@navy.example\n"
    result = _run(workspace, "contact", data, mode="partial")
    assert result.stored and result.created == 2 and Contact.select().count() == 2
    out = write_rejected(tmp_path / "in.csv.rejected.csv", ["First name", "Last name", "E-Mail"], result.rejected)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "First name,Last name,E-Mail,Reason"
    assert lines[1].startswith("No,Mail,not-an-email,line 3: E-Mail: is not an email address")


def test_dry_run_counts_exactly_and_stores_nothing(workspace: Workspace) -> None:
    events = Event.select().count()
    result = _run(workspace, "deal", DATA / "pipedrive-deals.csv", dry_run=True)
    assert result.dry_run and not result.stored and result.created == 7
    assert result.related == {"company": 7, "contact": 7, "stage": 1}
    assert Deal.select().count() == 0 and Company.select().count() == 0 and Event.select().count() == events


def _existing(workspace: Workspace) -> int:
    return records.create(
        workspace.ctx, "contact", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "title": "Countess"}
    ).id


_DUPE = b"First name,Last name,Email,Phone,Title\nAda,King,ADA@example.com,+44 20 1234 5678,Analyst\n"


def test_duplicate_skip_leaves_the_record_alone(workspace: Workspace) -> None:
    ada = _existing(workspace)
    result = _run(workspace, "contact", _DUPE, on_duplicate="skip")
    assert result.created == 0 and len(result.skipped) == 1 and f"#{ada} (same email)" in result.skipped[0].reason
    assert records.get("contact", ada).values["title"] == "Countess"


def test_duplicate_fill_only_fills_empty_fields(workspace: Workspace) -> None:
    ada = _existing(workspace)
    result = _run(workspace, "contact", _DUPE, on_duplicate="fill")
    assert result.updated == 1 and Contact.select().count() == 1
    after = records.get("contact", ada).values
    assert (after["last_name"], after["title"], after["phone"]) == ("Lovelace", "Countess", "+44 20 1234 5678")


def test_duplicate_overwrite_replaces_given_values(workspace: Workspace) -> None:
    ada = _existing(workspace)
    _run(workspace, "contact", _DUPE, on_duplicate="overwrite")
    after = records.get("contact", ada).values
    assert (after["first_name"], after["last_name"], after["title"]) == ("Ada", "King", "Analyst")


def test_duplicate_create_makes_a_second_record(workspace: Workspace) -> None:
    _existing(workspace)
    result = _run(workspace, "contact", _DUPE, on_duplicate="create")
    assert result.created == 1 and Contact.select().count() == 2


def test_duplicates_by_phone_and_within_the_file(workspace: Workspace) -> None:
    records.create(workspace.ctx, "contact", {"last_name": "Known", "phone": "+1 (555) 010-2030"})
    data = b"Name,Phone,Email\nSame Phone,555-010-2030,a@x.io\nNew Person,+1 555 999 0000,n@x.io\nAgain,+1 555 999 0000,m@x.io\n"
    result = _run(workspace, "contact", data, match_on=("phone",))
    assert result.created == 1
    assert [item.line for item in result.skipped] == [2, 4]
    assert "same phone as line 3" in result.skipped[1].reason


def test_custom_fields_tags_and_a_new_field_for_an_unmapped_column(workspace: Workspace) -> None:
    custom_field_admin.add_field(workspace.ctx, "company", "Tier", "dropdown", options=["Gold", "Silver"])
    data = b"Company,Tier,Tags,Favourite colour\nAcme,gold,vip; east,Red\nGlobex,Bronze,,Blue\n"
    table = read_bytes(data)
    mapping = import_columns.suggest("company", table.header)
    assert mapping[1] == "custom.tier"
    request = ImportRequest("company", mapping, mode="partial", new_fields={3: "Favourite colour"})
    result = run_import(workspace.ctx, table, request)
    assert result.created == 1 and result.rejected[0].reason.startswith("Tier:")
    acme = records.get("company", Company.get(Company.name == "Acme").id)
    assert acme.custom["tier"] == "Gold" and acme.custom["favourite_colour"] == "Red"
    assert sorted(tag.name for tag in Tag.select()) == ["east", "vip"]


def test_tasks_and_notes_link_to_existing_records(workspace: Workspace) -> None:
    deal = make_deal(workspace.ctx, "Big renewal")
    records.create(workspace.ctx, "contact", {"last_name": "Doe", "email": "jane@doe.example"})
    tasks = b"Subject,Due date,Deal,Contact email,Done\nCall back,2026-12-01 10:30,Big renewal,jane@doe.example,no\nGhost,,Nope,,\n"
    result = _run(workspace, "task", tasks, mode="partial")
    assert result.created == 1 and "no deal titled 'Nope'" in result.rejected[0].reason
    task = Task.get(Task.title == "Call back")
    assert task.deal_id == deal.id and task.contact.email == "jane@doe.example" and str(task.due_at) == "2026-12-01 10:30:00"
    notes = b"Note,Deal\n\"Spoke to Jane.\nShe wants a quote.\",Big renewal\n"
    assert _run(workspace, "note", notes).created == 1
    assert Note.get().body == "Spoke to Jane.\nShe wants a quote." and Note.get().deal_id == deal.id


def test_files_in_other_encodings_and_delimiters_import(workspace: Workspace) -> None:
    result = _run(workspace, "contact", DATA / "excel-semicolon-cp1252.csv")
    assert result.stored and result.created > 0, result.lines()
    assert any("1252" in text for text in result.warnings)
    names = {f"{c.first_name} {c.last_name}" for c in Contact.select()}
    assert "Jürgen Müller" in names


def test_neutralised_cells_from_an_export_come_back_as_typed(workspace: Workspace) -> None:
    data = b"First name,Last name\n'=Cmd,'-Minus\n"
    assert _run(workspace, "contact", data).created == 1
    contact = Contact.get()
    assert (contact.first_name, contact.last_name) == ("=Cmd", "-Minus")


def test_rows_with_the_wrong_number_of_cells_are_rejected(workspace: Workspace) -> None:
    result = _run(workspace, "company", b"Name,Domain\nAcme,acme.com\nToo,many,cells\n", mode="partial")
    assert result.created == 1 and result.rejected[0].reason == "has 3 cells where the header has 2"


def test_a_new_field_is_made_only_when_the_import_stores(workspace: Workspace) -> None:
    from crm_tui.models import CustomField

    table = read_bytes(b"Company,Notes\nAcme,fine\nGlobex,\"two\nlines\"\n")
    request = ImportRequest("company", {0: "name"}, new_fields={1: "Notes"})
    dry = run_import(workspace.ctx, table, request, dry_run=True)
    assert dry.created == 1 and dry.rejected[0].reason.startswith("Notes: does not fit a text field")
    assert not CustomField.select().exists()
    refused = run_import(workspace.ctx, table, request)
    assert not refused.stored and not CustomField.select().exists() and Company.select().count() == 0
