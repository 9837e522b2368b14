"""Import targets and the column mapping suggested from a file's header: CRM exports, seven
languages, crm-tui's own export labels and keys, and custom fields; never a fuzzy guess."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_tui.services import custom_field_admin as admin
from crm_tui.services import list_fields
from crm_tui.services.errors import ServiceError
from crm_tui.services.import_columns import (
    ENTITIES,
    PLURALS,
    entity_of,
    normalise_header,
    suggest,
    synonym_clashes,
    targets,
)
from crm_tui.services.import_read import read_table
from crm_tui.services.workspace import Workspace

DATA = Path(__file__).parent / "data" / "import"

STANDARD_KEYS = {
    "company": "name domain website phone address industry employees owner tags",
    "contact": "first_name last_name full_name email phone title address source company company_domain owner tags",
    "lead": "first_name last_name full_name company_name email phone title status source owner tags",
    "deal": "title amount currency pipeline stage status lost_reason expected_close probability source company "
    "company_domain contact contact_email owner tags created_at closed_at",
    "task": "title details due_at done assignee deal company contact_email",
    "note": "body deal company contact_email author",
}


def _named(entity: str, header: list[str]) -> dict[str, str]:
    """The suggestion keyed by column name, which reads better in a failing assertion."""
    mapping = suggest(entity, header)
    assert len(set(mapping.values())) == len(mapping), "a target was suggested twice"
    return {header[index]: key for index, key in mapping.items()}


def test_the_targets_are_the_keys_the_engine_expects(sqlite_workspace: Workspace) -> None:
    for entity in ENTITIES:
        found = targets(entity)
        assert [t.key for t in found] == STANDARD_KEYS[entity].split()
        assert all(t.label and t.help for t in found)
        assert {t.key for t in found if t.required} == {
            "company": {"name"}, "deal": {"title"}, "task": {"title"}, "note": {"body"}
        }.get(entity, set())  # fmt: skip
    assert [entity_of(word) for word in PLURALS] == list(ENTITIES)
    assert entity_of("Contact") == "contact"
    with pytest.raises(ServiceError, match="cannot import 'pipelines'"):
        targets("pipelines")


def test_no_header_name_means_two_targets() -> None:
    assert synonym_clashes() == []


def test_hubspot_exports(sqlite_workspace: Workspace) -> None:
    contacts = read_table(DATA / "hubspot-contacts.csv").header
    # Record ID, Lifecycle Stage and Create Date have no target.
    assert _named("contact", contacts) == {
        "First Name": "first_name", "Last Name": "last_name", "Email": "email", "Phone Number": "phone",
        "Job Title": "title", "Company Name": "company", "Contact owner": "owner",
    }  # fmt: skip
    deals = read_table(DATA / "hubspot-deals.csv").header
    assert _named("deal", deals) == {
        "Deal Name": "title", "Amount": "amount", "Deal Stage": "stage", "Pipeline": "pipeline",
        "Close Date": "expected_close", "Deal owner": "owner", "Associated Company": "company",
        "Create Date": "created_at",
    }  # fmt: skip


def test_pipedrive_exports_strip_the_prefix_of_the_imported_type_only(sqlite_workspace: Workspace) -> None:
    deals = read_table(DATA / "pipedrive-deals.csv").header
    assert _named("deal", deals) == {
        "Deal - Title": "title", "Deal - Value": "amount", "Deal - Currency": "currency",
        "Organization - Name": "company", "Person - Name": "contact", "Person - Email": "contact_email",
        "Deal - Stage": "stage", "Deal - Status": "status", "Deal - Lost reason": "lost_reason",
        "Deal - Owner": "owner", "Deal - Expected close date": "expected_close",
    }  # fmt: skip
    people = [
        "Person - Name",
        "Person - Email",
        "Person - Phone",
        "Organization - Name",
        "Person - Owner",
        "Deal - Title",
    ]
    assert _named("contact", people) == {
        "Person - Name": "full_name", "Person - Email": "email", "Person - Phone": "phone",
        "Organization - Name": "company", "Person - Owner": "owner",
    }  # fmt: skip
    organizations = ["Organization - Name", "Organization - Address", "Organization - Owner", "Person - Email"]
    assert _named("company", organizations) == {
        "Organization - Name": "name", "Organization - Address": "address", "Organization - Owner": "owner",
    }  # fmt: skip
    assert _named("deal", ["Person - Phone", "Organization - Address"]) == {}


def test_a_german_excel_file(sqlite_workspace: Workspace) -> None:
    header = read_table(DATA / "excel-semicolon-cp1252.csv").header
    # "Umsatz 2025" (revenue) is not a contact field: it is left for the user.
    assert _named("contact", header) == {
        "Vorname": "first_name", "Nachname": "last_name", "Firma": "company", "E-Mail": "email",
        "Telefon": "phone", "Position": "title", "Anschrift": "address",
    }  # fmt: skip
    assert _named("contact", read_table(DATA / "utf16-excel.txt").header) == {
        "Name": "full_name", "E-mail": "email", "Telefon": "phone", "Firma": "company"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("entity", "name", "key"),
    [
        ("contact", "E-Mail Adresse", "email"), ("contact", "Courriel", "email"),
        ("contact", "Correo electrónico", "email"), ("contact", "Indirizzo email", "email"),
        ("contact", "Vorname", "first_name"), ("contact", "Prénom", "first_name"), ("contact", "Nombre", "first_name"),
        ("contact", "Voornaam", "first_name"), ("contact", "Nachname", "last_name"), ("contact", "Nom", "last_name"),
        ("contact", "Apellido(s)", "last_name"), ("contact", "Cognome", "last_name"),
        ("contact", "Sobrenome", "last_name"), ("contact", "Telefon", "phone"), ("contact", "Téléphone", "phone"),
        ("contact", "Teléfono", "phone"), ("contact", "Firma", "company"), ("contact", "Société", "company"),
        ("contact", "Empresa", "company"), ("contact", "Unternehmen", "company"), ("lead", "Société", "company_name"),
        ("deal", "Betrag", "amount"), ("deal", "Montant", "amount"), ("deal", "Importe", "amount"),
        ("deal", "Valor", "amount"), ("deal", "Bedrag", "amount"), ("deal", "Value", "amount"),
        ("deal", "Phase", "stage"), ("deal", "Étape", "stage"), ("deal", "Etapa", "stage"),
        ("contact", "Besitzer", "owner"), ("deal", "Propriétaire", "owner"), ("lead", "Responsable", "owner"),
        ("task", "Responsable", "assignee"), ("company", "Firma", "name"),
        ("deal", "Opportunity Name", "title"), ("deal", "Account Name", "company"), ("company", "Account Name", "name"),
        ("deal", "Opportunity Owner", "owner"), ("contact", "Mailing Street", "address"),
        ("lead", "Lead Source", "source"), ("lead", "Lead Status", "status"), ("deal", "Probability (%)", "probability"),
        ("contact", "Given Name", "first_name"), ("contact", "Family Name", "last_name"),
        ("contact", "E-mail 1 - Value", "email"), ("contact", "Phone 1 - Value", "phone"),
        ("contact", "Organization 1 - Name", "company"), ("contact", "Mobile", "phone"),
        ("contact", "Name", "full_name"), ("lead", "Full name", "full_name"), ("company", "Name", "name"),
        ("deal", "Name", "title"), ("task", "Name", "title"), ("task", "Due date", "due_at"),
        ("task", "Erledigt", "done"), ("note", "Notiz", "body"), ("note", "Created by", "author"),
        ("contact", "FirstName", "first_name"), ("contact", "first_name", "first_name"),
    ],
)  # fmt: skip
def test_names_in_seven_languages_and_crm_exports(
    sqlite_workspace: Workspace, entity: str, name: str, key: str
) -> None:
    assert suggest(entity, ["Unrelated", name]) == {1: key}


def test_nothing_is_guessed_from_a_near_miss(sqlite_workspace: Workspace) -> None:
    header = ["Emial", "Record ID", "Lifecycle Stage", "Create Date", "Umsatz 2025", "Phone (work)", "Deal - Title"]
    assert suggest("contact", header) == {}
    assert suggest("contact", []) == {}


def test_each_target_is_suggested_once_and_the_better_name_wins(sqlite_workspace: Workspace) -> None:
    assert _named("contact", ["Mobile", "Email", "E-mail", "Phone"]) == {"Email": "email", "Phone": "phone"}
    # Google Contacts: the parts of the name are a better source than the whole.
    assert _named("contact", ["Name", "Given Name", "Family Name"]) == {
        "Given Name": "first_name", "Family Name": "last_name"
    }  # fmt: skip


def _export_header(columns: list[list_fields.Column]) -> list[str]:
    """Column labels as crm-tui's list export writes them: a repeated label gets its key."""
    seen: set[str] = set()
    header = []
    for column in columns:
        header.append(f"{column.label} ({column.key})" if column.label.casefold() in seen else column.label)
        seen.add(column.label.casefold())
    return header


def test_crm_tui_exports_map_back_to_their_fields(workspace: Workspace) -> None:
    admin.add_field(workspace.ctx, "deal", "Region", "dropdown", options=["EU", "US"])
    second_phone = admin.add_field(workspace.ctx, "contact", "Phone", "phone")  # the same label as a standard column
    renamed = {("contact", "name"): "full_name", ("lead", "name"): "full_name"}
    for entity in ("company", "contact", "lead", "deal"):
        keys = {t.key for t in targets(entity)}
        columns = list(list_fields.entity_list(entity).columns)
        wanted = {
            index: renamed.get((entity, column.key), column.key)
            for index, column in enumerate(columns)
            if renamed.get((entity, column.key), column.key) in keys
        }
        assert suggest(entity, _export_header(columns)) == wanted, entity
        assert len(wanted) >= len(columns) - 2  # all but Created and Updated
        full_export = [t.key for t in targets(entity) if t.key != "full_name"]
        assert suggest(entity, full_export) == dict(enumerate(full_export))
    assert f"custom.{second_phone.key}" in {t.key for t in targets("contact")}
    assert _named("deal", ["Title", "Value", "Prob.", "Close", "Created", "Region"]) == {
        "Title": "title", "Value": "amount", "Prob.": "probability", "Close": "expected_close",
        "Created": "created_at", "Region": "custom.region",  # a deal list's own export keeps its creation dates
    }  # fmt: skip


def test_custom_fields_are_targets_and_suggested_by_label_or_key(workspace: Workspace) -> None:
    ctx = workspace.ctx
    admin.add_field(ctx, "contact", "Industry code", "text")
    admin.add_field(ctx, "contact", "Tier", "dropdown", options=["Gold", "Silver"], required=True)
    admin.add_field(ctx, "contact", "Mobile", "phone")
    admin.add_field(ctx, "deal", "Cost price", "currency")
    admin.add_field(ctx, "deal", "Profit", "formula", formula="amount - cost_price")
    admin.add_field(ctx, "deal", "Number", "auto_number")

    contact = {t.key: t for t in targets("contact")}
    assert list(contact)[-3:] == ["custom.industry_code", "custom.tier", "custom.mobile"]
    assert contact["custom.industry_code"].label == "Industry code" and not contact["custom.industry_code"].required
    assert contact["custom.tier"].help == "one of Gold, Silver (required)"
    deal_keys = [t.key for t in targets("deal")]
    assert "custom.cost_price" in deal_keys
    assert "custom.profit" not in deal_keys and "custom.number" not in deal_keys

    assert _named("contact", ["E-Mail", "industry_code", "TIER", "Mobile"]) == {
        "E-Mail": "email", "industry_code": "custom.industry_code", "TIER": "custom.tier",
        "Mobile": "custom.mobile",  # the user's own field, not a second phone
    }  # fmt: skip
    assert _named("deal", ["Profit", "Number", "Cost price"]) == {"Cost price": "custom.cost_price"}


def test_normalise_header() -> None:
    assert normalise_header("E-Mail Adresse") == "e mail adresse"
    assert normalise_header("  Correo   electrónico ") == "correo electronico"
    assert normalise_header("first_name") == "first name" == normalise_header("FirstName")
    assert normalise_header("Straße / Nº") == "strasse no"
    assert normalise_header("Apellido(s)") == "apellido s"
    assert normalise_header("名前") == "名前"
    assert normalise_header("---") == ""
