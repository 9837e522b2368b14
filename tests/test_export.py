"""Exports on both back ends: list and saved-view CSV/JSON, CSV injection, vCard, iCalendar, the full
export of each record type, the `crm export` command, all-or-nothing files and a big export."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm_tui import cli_export, clock
from crm_tui.models import Contact, Deal
from crm_tui.services import bulk, export, export_rows, list_views, records, tasks
from crm_tui.services import custom_field_admin as admin
from crm_tui.services.context import Context
from crm_tui.services.export import ExportCancelled, ExportError, ExportRequest
from crm_tui.services.export_cards import LINE_OCTETS, unfold
from crm_tui.services.record_lists import Condition, ListQuery
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal

MOMENT = datetime(2026, 3, 1, 14, 30)


def _text(request: ExportRequest) -> str:
    out = io.StringIO(newline="")
    export.write_export(request, out)
    return out.getvalue()


def _csv(request: ExportRequest) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_text(request), newline="")))


def _json(request: ExportRequest) -> list[dict[str, Any]]:
    return json.loads(_text(request), parse_float=Decimal)


def _user(ctx: Context, login: str, name: str) -> int:
    return records.create(ctx, "user", {"login": login, "name": name}).id


@pytest.fixture
def people(workspace: Workspace) -> dict[str, int]:
    """Contacts with custom fields (a dropdown, a number, money), one of them deleted."""
    ctx = workspace.ctx
    admin.add_field(ctx, "contact", "Tier", "dropdown", options=["Gold", "Silver"])
    admin.add_field(ctx, "contact", "Score", "number")
    admin.add_field(ctx, "contact", "Bonus", "currency")
    acme = records.create(ctx, "company", {"name": "Acme, Inc."}).id
    ids = {"acme": acme}
    for first, last, tier, score, bonus in [("Zoe", "Adams", "Gold", "7.5", "42.50"), ("Ann", "Baker", "Silver", "-3", None),
                                            ("Bob", "Clark", "Gold", None, "1000")]:  # fmt: skip
        ids[first] = records.create(
            ctx, "contact",
            {"first_name": first, "last_name": last, "email": f"{first.lower()}@acme.com", "company_id": acme,
             "owner_id": ctx.user_id if first != "Bob" else None, "custom": {"tier": tier, "score": score, "bonus": bonus}},
        ).id  # fmt: skip
    gone = records.create(ctx, "contact", {"first_name": "Gone", "last_name": "Away"})
    records.delete(ctx, "contact", gone.id, version=gone.version)
    return ids


# -- lists and views ------------------------------------------------------------------------------
def test_contacts_list_csv_has_the_shown_columns_custom_fields_included(
    workspace: Workspace, people: dict[str, int]
) -> None:
    rows = _csv(ExportRequest("contact", "csv", columns="shown"))
    assert [column.label for column in export.shown_columns("contact")] == rows[0]
    assert rows == [
        ["Name", "Email", "Phone", "Company", "Owner", "Tier", "Score", "Bonus"],
        ["Zoe Adams", "zoe@acme.com", "", "Acme, Inc.", "Alice", "Gold", "7.5", "42.50"],
        ["Ann Baker", "ann@acme.com", "", "Acme, Inc.", "Alice", "Silver", "-3", ""],
        ["Bob Clark", "bob@acme.com", "", "Acme, Inc.", "", "Gold", "", "1000.00"],
    ]  # sorted by last name like the list; the deleted contact is not there


def test_a_saved_view_exports_its_filter_and_sort_as_csv_and_json(workspace: Workspace, people: dict[str, int]) -> None:
    ctx = workspace.ctx
    gold = ListQuery("contact", conditions=(Condition("custom.tier", "is", "Gold"),), sort="email", descending=True)
    list_views.save_view(ctx, "Gold tier", gold)
    request = export.request_for("contacts", "csv", view="GOLD TIER", user_id=ctx.user_id)
    assert request.query == gold and request.columns == "shown"
    rows = _csv(request)
    assert [row[0] for row in rows[1:]] == ["Zoe Adams", "Bob Clark"]  # e-mail descending
    as_json = _json(export.request_for("contacts", "json", view="gold tier", user_id=ctx.user_id))
    assert [list(item) for item in as_json] == [rows[0]] * 2
    assert [["" if value is None else str(value) for value in item.values()] for item in as_json] == rows[1:]
    assert as_json[0]["Score"] == Decimal("7.5") and as_json[0]["Bonus"] == Decimal("42.50")  # numbers, not text
    assert as_json[1]["Owner"] is None and as_json[1]["Score"] is None
    mine = _csv(export.request_for("contacts", "csv", view="My contacts", user_id=ctx.user_id))
    assert [row[0] for row in mine[1:]] == ["Zoe Adams", "Ann Baker"]


def test_an_unknown_view_or_a_wrong_format_is_refused_with_the_choices(
    workspace: Workspace, people: dict[str, int]
) -> None:
    with pytest.raises(ExportError, match="All contacts, My contacts"):
        export.request_for("contacts", "csv", view="nope", user_id=workspace.ctx.user_id)
    with pytest.raises(ExportError, match="deals cannot be exported as vcf"):
        export.request_for("deals", "vcf")
    with pytest.raises(ExportError, match="choose one of"):
        export.request_for("widgets", "csv")
    with pytest.raises(ExportError, match="no list"):
        ExportRequest("task", "csv", columns="shown").check()


def test_json_of_every_field_keeps_numbers_numeric(workspace: Workspace, people: dict[str, int]) -> None:
    items = _json(ExportRequest("contact", "json"))
    assert [item["first_name"] for item in items] == ["Zoe", "Ann", "Bob"]  # in the order they were made
    assert items[0]["custom.score"] == Decimal("7.5") and items[0]["custom.bonus"] == Decimal("42.50")
    assert items[1]["custom.score"] == Decimal(-3) and items[1]["custom.bonus"] is None
    raw = _text(ExportRequest("contact", "json"))
    assert '"custom.bonus": 42.50' in raw and raw.count("\n") == 5  # one object per line


# -- CSV injection --------------------------------------------------------------------------------
HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"]


def test_formulas_in_text_are_neutralised_but_numbers_are_not(workspace: Workspace) -> None:
    ctx = workspace.ctx
    for name in HOSTILE:
        records.create(ctx, "contact", {"first_name": name, "last_name": "X"})
    for address in ["\tTab", "\rReturn", "\nLine"]:  # forms strip them; an import or another client may not
        made = records.create(ctx, "contact", {"first_name": "Plain", "last_name": "-5"})
        Contact.update(address=address).where(Contact.id == made.id).execute()
    deal = make_deal(ctx, "-2+3 deal")
    Deal.update(amount=-4250).where(Deal.id == deal.id).execute()  # forms refuse it; an import may not
    rows = _csv(ExportRequest("contact", "csv"))
    assert [row[0] for row in rows[1:5]] == ["'" + name for name in HOSTILE]
    assert [row[5] for row in rows[5:]] == ["'\tTab", "'\rReturn", "'\nLine"]  # embedded line breaks kept
    assert [row[1] for row in rows[5:]] == ["-5"] * 3  # a plain number is not a formula
    deals = _csv(ExportRequest("deal", "csv"))
    assert deals[1][:2] == ["'-2+3 deal", "-42.50"]  # the text title is neutralised, the money is not
    shown = _csv(ExportRequest("deal", "csv", columns="shown"))
    assert shown[0][3] == "Amount" and shown[1][3] == "-42.50"
    assert _json(ExportRequest("deal", "json"))[0]["amount"] == Decimal("-42.50")
    assert _json(ExportRequest("contact", "json"))[0]["first_name"] == HOSTILE[0]  # JSON is untouched


def test_restore_gives_back_exactly_what_neutralise_changed() -> None:
    for text in [*HOSTILE, "'=x", "''+1", "'", "'abc", "-5", "+15551234567", "-1.5", "plain", "", "\tx", "'-5"]:
        assert export.restore(export.neutralise(text)) == text
    assert export.neutralise("+15551234567") == "+15551234567" and export.neutralise("'=x") == "''=x"


# -- vCard ----------------------------------------------------------------------------------------
def test_vcards_escape_fold_and_use_crlf(workspace: Workspace) -> None:
    ctx = workspace.ctx
    acme = records.create(ctx, "company", {"name": "Acme; Widgets, Inc."}).id
    title = "Head of " + "é" * 60 + ", EMEA; " + "x" * 124  # 200 characters, some of them two octets
    assert len(title) == 200
    jane = records.create(
        ctx, "contact",
        {"first_name": "Jane", "last_name": "O'Neil, Jr.", "email": "jane@acme.com", "phone": "+1 555 0100",
         "title": title, "address": "1 Main St\nSuite 5", "company_id": acme},
    )  # fmt: skip
    text = _text(ExportRequest("contact", "vcf"))
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    physical = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= LINE_OCTETS for line in physical)
    assert sum(line.startswith(" ") for line in physical) >= 3  # the title was folded
    lines = unfold(text)
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:3.0"] and lines[-1] == "END:VCARD"
    assert f"UID:urn:crm-tui:contact:{jane.id}" in lines
    assert "FN:Jane O'Neil\\, Jr." in lines and "N:O'Neil\\, Jr.;Jane;;;" in lines
    assert "ORG:Acme\\; Widgets\\, Inc." in lines
    assert "TITLE:" + title.replace(",", "\\,").replace(";", "\\;") in lines
    assert "EMAIL;TYPE=INTERNET:jane@acme.com" in lines and "TEL;TYPE=WORK,VOICE:+1 555 0100" in lines
    assert "ADR;TYPE=WORK:;;1 Main St\\nSuite 5;;;;" in lines


# -- iCalendar ------------------------------------------------------------------------------------
def _components(text: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for line in unfold(text):
        name, _, value = line.partition(":")
        if line in ("BEGIN:VTODO", "BEGIN:VEVENT"):
            found.append({"kind": value})
        elif found and not line.startswith("END:"):
            found[-1][name] = value
    return found


def test_ical_has_tasks_and_appointments_escaped_and_folded(workspace: Workspace) -> None:
    ctx = workspace.ctx
    clock.freeze(MOMENT)
    due = tasks.create_task(
        ctx, "Call Jane, then; write", MOMENT.replace(hour=16), ctx.user_id, details="Line one\nLine two"
    )
    done = tasks.create_task(ctx, "Sent the offer", None, ctx.user_id)
    tasks.complete(ctx, done.id, version=done.version)
    meeting = records.create(
        ctx, "appointment",
        {"title": "Demo " + "long " * 30, "starts_at": datetime(2026, 3, 2, 9), "ends_at": datetime(2026, 3, 2, 10, 30),
         "location": "Room 1, 2nd floor; east", "details": "Bring \\ the slides"},
    )  # fmt: skip
    text = _text(ExportRequest("calendar", "ics"))
    assert all(len(line.encode("utf-8")) <= LINE_OCTETS for line in text.split("\r\n"))
    lines = unfold(text)
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"] and lines[-1] == "END:VCALENDAR"
    assert any(line.startswith("PRODID:-//crm-tui//") for line in lines)
    first, second, event = _components(text)
    assert first == {
        "kind": "VTODO", "UID": f"task-{due.id}@crm-tui", "DTSTAMP": "20260301T143000Z",
        "SUMMARY": "Call Jane\\, then\\; write", "DESCRIPTION": "Line one\\nLine two", "DUE": "20260301T163000Z",
        "STATUS": "NEEDS-ACTION",
    }  # fmt: skip
    assert second["STATUS"] == "COMPLETED" and second["COMPLETED"] == "20260301T143000Z" and "DUE" not in second
    assert event["kind"] == "VEVENT" and event["UID"] == f"appointment-{meeting.id}@crm-tui"
    assert (event["DTSTART"], event["DTEND"]) == ("20260302T090000Z", "20260302T103000Z")
    assert event["LOCATION"] == "Room 1\\, 2nd floor\\; east" and event["DESCRIPTION"] == "Bring \\\\ the slides"
    assert event["SUMMARY"] == "Demo " + "long " * 29 + "long"  # stored stripped, folded and unfolded whole
    only_tasks = _components(_text(ExportRequest("task", "ics")))
    assert [c["kind"] for c in only_tasks] == ["VTODO", "VTODO"]
    assert [c["kind"] for c in _components(_text(ExportRequest("appointment", "ics")))] == ["VEVENT"]


# -- the full export ------------------------------------------------------------------------------
def test_full_export_of_every_type_has_the_importer_header_and_values(workspace: Workspace) -> None:
    ctx = workspace.ctx
    bob = _user(ctx, "bob", "Bob Stone")
    region = admin.add_field(ctx, "company", "Regions", "multi_select", options=["EU", "US", "APAC"])
    admin.add_field(ctx, "company", "Number", "auto_number")  # computed: not exported
    admin.add_field(ctx, "company", "Since", "date")
    admin.add_field(ctx, "company", "Manager", "user")
    admin.add_field(ctx, "company", "Partner", "reference", reference_entity="company")
    admin.add_field(ctx, "company", "Active", "checkbox")
    globex = records.create(ctx, "company", {"name": "Globex"}).id
    acme = records.create(
        ctx, "company",
        {"name": "Acme", "domain": "acme.com", "employees": 40, "owner_id": bob,
         "custom": {"regions": ["US", "EU"], "since": "2025-01-31", "manager": bob, "partner": globex, "active": True}},
    ).id  # fmt: skip
    gone = records.create(ctx, "company", {"name": "Gone Ltd"})
    jane = records.create(
        ctx,
        "contact",
        {"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.com", "company_id": acme, "owner_id": bob},
    ).id
    records.create(ctx, "contact", {"first_name": "Max", "company_id": gone.id})
    records.delete(ctx, "company", gone.id, version=gone.version)
    records.create(ctx, "lead", {"first_name": "Lou", "company_name": "Initech", "status": "working", "owner_id": bob})
    deal = make_deal(ctx, "Acme renewal", "Closed Won", amount=123450, company_id=acme, contact_id=jane, owner_id=bob,
                     expected_close="2026-04-30", probability=80, source="Referral")  # fmt: skip
    jpy = make_deal(ctx, "Tokyo", currency="JPY", amount=5000)
    for name in ("Zeta", "Alpha"):
        tag = records.create(ctx, "tag", {"name": name}).id
        bulk.tag(ctx, "deal", [deal.id], tag)
        bulk.tag(ctx, "company", [acme], tag)
    tasks.create_task(ctx, "Call Jane", MOMENT, bob, deal_id=deal.id, contact_id=jane)
    records.create(ctx, "note", {"body": "Met at the fair,\nliked it", "company_id": acme, "author_id": ctx.user_id})
    records.create(ctx, "appointment", {"title": "Demo", "starts_at": MOMENT, "ends_at": MOMENT.replace(hour=15),
                                        "location": "HQ", "deal_id": deal.id, "owner_id": bob})  # fmt: skip

    companies = _csv(ExportRequest("company", "csv"))
    assert companies[0] == ["name", "domain", "website", "phone", "address", "industry", "employees", "owner", "tags",
                            "custom.regions", "custom.since", "custom.manager", "custom.partner", "custom.active"]  # fmt: skip
    assert companies[1:] == [
        ["Globex", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        [
            "Acme",
            "acme.com",
            "",
            "",
            "",
            "",
            "40",
            "bob",
            "Alpha; Zeta",
            "EU; US",
            "2025-01-31",
            "bob",
            "Globex",
            "true",
        ],
    ]  # the deleted company is left out; multi-select in the field's order
    assert region.options == ("EU", "US", "APAC")
    contacts = _csv(ExportRequest("contact", "csv"))
    assert contacts == [
        ["first_name", "last_name", "email", "phone", "title", "address", "source", "company", "owner", "tags"],
        ["Jane", "Doe", "jane@acme.com", "", "", "", "", "Acme", "bob", ""],
        ["Max", "", "", "", "", "", "", "", "", ""],  # its company was deleted
    ]
    leads = _csv(ExportRequest("lead", "csv"))
    assert leads == [
        ["first_name", "last_name", "company_name", "email", "phone", "title", "status", "source", "owner", "tags"],
        ["Lou", "", "Initech", "", "", "", "working", "", "bob", ""],
    ]
    deals = _csv(ExportRequest("deal", "csv"))
    assert deals == [
        ["title", "amount", "currency", "pipeline", "stage", "status", "lost_reason", "expected_close", "probability",
         "source", "company", "contact", "contact_email", "owner", "tags"],
        ["Acme renewal", "1234.50", "USD", "Sales", "Closed Won", "won", "", "2026-04-30", "80", "Referral", "Acme",
         "Jane Doe", "jane@acme.com", "bob", "Alpha; Zeta"],
        ["Tokyo", "5000", "JPY", "Sales", "Qualification", "open", "", "", "", "", "", "", "", "", ""],
    ]  # fmt: skip
    assert jpy.values["amount"] == 5000
    assert _csv(ExportRequest("task", "csv")) == [
        ["title", "details", "due_at", "done", "assignee", "deal", "company", "contact_email"],
        ["Call Jane", "", "2026-03-01 14:30", "false", "bob", "Acme renewal", "", "jane@acme.com"],
    ]
    assert _csv(ExportRequest("note", "csv")) == [
        ["body", "deal", "company", "contact_email", "author"],
        ["Met at the fair,\nliked it", "", "Acme", "", "alice"],
    ]
    assert _csv(ExportRequest("appointment", "csv")) == [
        ["title", "starts_at", "ends_at", "location", "details", "owner", "deal", "company", "contact_email"],
        ["Demo", "2026-03-01 14:30", "2026-03-01 15:30", "HQ", "", "bob", "Acme renewal", "", ""],
    ]
    task_json = _json(ExportRequest("task", "json"))[0]
    assert task_json["done"] is False and task_json["details"] is None
    records.delete(ctx, "deal", deal.id, version=records.get("deal", deal.id).version)
    assert len(_csv(ExportRequest("task", "csv"))) == 1  # tasks on a deleted deal are hidden, as in the app
    assert _csv(ExportRequest("note", "csv"))[1][0].startswith("Met")


# -- the command line -----------------------------------------------------------------------------
def _run(workspace: Workspace, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="crm")
    cli_export.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export", *argv])
    assert args.command == "export"
    return cli_export.run(args, workspace)


def test_cli_writes_a_file_or_stdout_and_refuses_wrong_formats(
    workspace: Workspace, people: dict[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path = tmp_path / "out"  # the database lives in tmp_path itself
    tmp_path.mkdir()
    path = tmp_path / "people.csv"
    assert _run(workspace, "contacts", "--format", "csv", "--output", str(path)) == 0
    assert capsys.readouterr().err.strip() == f"wrote 3 contacts to {path}"
    content = path.read_bytes().decode("utf-8")
    assert content.startswith("first_name,last_name,") and content.count("\r\n") == 4
    assert list(tmp_path.iterdir()) == [path]  # no .tmp left behind
    assert _run(workspace, "contact", "-o", str(tmp_path / "people.vcf")) == 0  # the suffix picks vCard
    assert (tmp_path / "people.vcf").read_text(encoding="utf-8").count("BEGIN:VCARD") == 3
    capsys.readouterr()
    assert _run(workspace, "contacts", "--format", "json", "--view", "my contacts") == 0
    assert [item["Name"] for item in json.loads(capsys.readouterr().out)] == ["Zoe Adams", "Ann Baker"]
    assert _run(workspace, "deals", "--format", "vcf", "--output", str(tmp_path / "deals.vcf")) == 2
    assert "deals cannot be exported as vcf" in capsys.readouterr().err
    assert _run(workspace, "contacts", "--view", "nope") == 2
    assert "no contacts view called 'nope'" in capsys.readouterr().err
    assert _run(workspace, "contacts", "-o", str(tmp_path / "missing" / "x.csv")) == 2
    assert "cannot write" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv", "people.vcf"]
    with pytest.raises(SystemExit) as exit_info:
        _run(workspace, "contacts", "--format", "xlsx")
    assert exit_info.value.code == 2


def test_a_failing_export_leaves_no_partial_file(
    workspace: Workspace, people: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = tmp_path / "out"  # the database lives in tmp_path itself
    tmp_path.mkdir()
    path = tmp_path / "people.csv"
    path.write_text("the previous export\n", encoding="utf-8")
    real = export.csv_cell
    calls = {"n": 0}

    def failing(value: Any) -> str:
        calls["n"] += 1
        if calls["n"] > 15:
            raise ExportError("the disk is on fire")
        return real(value)

    monkeypatch.setattr(export, "csv_cell", failing)
    monkeypatch.setattr(export_rows, "CHUNK", 1)  # one record per chunk: the first chunks are written first
    assert _run(workspace, "contacts", "--output", str(path)) == 2
    assert path.read_text(encoding="utf-8") == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv"]
    monkeypatch.setattr(export, "csv_cell", real)
    seen: list[tuple[int, int]] = []

    def cancel_after_two(done: int, total: int) -> None:
        seen.append((done, total))
        if done >= 2:
            raise ExportCancelled()

    with pytest.raises(ExportCancelled):
        export.export_file(ExportRequest("contact", "csv"), tmp_path / "new.csv", cancel_after_two)
    assert seen == [(0, 3), (1, 3), (2, 3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv"]


def test_twenty_thousand_contacts_export_in_chunks(workspace: Workspace, tmp_path: Path) -> None:
    now = clock.now()
    rows = [(f"First{i}", f"Last{i}", f"p{i}@example.com", now, now) for i in range(20_000)]
    fields = [Contact.first_name, Contact.last_name, Contact.email, Contact.created_at, Contact.updated_at]
    for start in range(0, len(rows), 2_000):
        Contact.insert_many(rows[start : start + 2_000], fields=fields).execute()
    seen: list[int] = []
    count = export.export_file(
        ExportRequest("contact", "csv"), tmp_path / "all.csv", lambda done, total: seen.append(done)
    )
    assert count == 20_000 and seen[-1] == 20_000 and len(seen) == 21  # the start, then every 1,000
    with open(tmp_path / "all.csv", encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    assert (
        len(lines) == 20_001 and lines[1][:3] == ["First0", "Last0", "p0@example.com"] and lines[-1][0] == "First19999"
    )
    shown = export.export_file(ExportRequest("contact", "json", columns="shown"), tmp_path / "all.json")
    items = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    assert shown == len(items) == 20_000 and items[0]["Name"] == "First0 Last0"
