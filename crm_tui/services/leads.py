"""Converting a lead: one transaction that creates a contact, maybe a company and a deal, carries the
lead's notes, tasks and appointments over, and writes "lead.converted" on every record's timeline.

A conversion cannot be undone: the lead keeps links to what it became and refuses a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from peewee import Value, fn
from pydantic import TypeAdapter, ValidationError

from crm_tui.events import LeadConverted
from crm_tui.models import Appointment, Company, Contact, Event, Lead, Note, Pipeline, Task
from crm_tui.schemas.fields import Domain
from crm_tui.services import pipelines, records, search_index
from crm_tui.services.context import Context
from crm_tui.services.errors import ConflictError, NotFound, ServiceError, ValidationFailed
from crm_tui.services.lookups import company_named
from crm_tui.services.unit import Txn, to_json, write

FREE_MAIL_DOMAINS = (
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
    "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "web.de",
)  # fmt: skip
"""Mail domains shared by many people: they say nothing about which company a lead works for."""

CompanyChoice = Literal["match", "new", "none"]
_ACTIVITIES = (("note", Note), ("task", Task), ("appointment", Appointment))
_PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "title", "source")
_domain_adapter: TypeAdapter[str | None] = TypeAdapter(Domain)


@dataclass(frozen=True)
class DealSpec:
    """The deal a conversion creates: in `stage_id`, or the pipeline's first open stage."""

    pipeline_id: int
    title: str | None = None
    """Default: "<company or person> deal"."""
    stage_id: int | None = None
    amount: int = 0
    """Integer minor units of the workspace currency."""
    expected_close: date | None = None


@dataclass(frozen=True)
class Conversion:
    """What a conversion made; `company_matched` is True when an existing company was linked."""

    contact_id: int
    company_id: int | None
    deal_id: int | None
    company_matched: bool


@dataclass(frozen=True)
class CompanyMatch:
    """The company "match" would link: an existing one (`id`, `matched_by`) or a new one (`id` None)."""

    id: int | None
    name: str
    matched_by: Literal["domain", "name"] | None


@dataclass(frozen=True)
class ConversionPreview:
    """What converting the lead at `version` would do, for the confirmation dialog."""

    lead_id: int
    version: int
    lead_name: str
    company: CompanyMatch | None
    """With company="match"; None when nothing matches and the lead has no company name."""
    notes: int
    tasks: int
    appointments: int


def _lead_name(lead: Lead) -> str:
    return " ".join(part for part in (lead.first_name, lead.last_name) if part)


def _load_convertible(lead_id: int) -> Lead:
    """The live lead, or the error that explains why it cannot be converted."""
    lead = Lead.get_or_none(Lead.id == lead_id, Lead.deleted_at.is_null())
    if lead is None:
        raise NotFound("Lead", lead_id)
    if lead.converted_at is not None:
        contact = Contact.get_or_none(Contact.id == lead.converted_contact_id)
        names = (contact.first_name, contact.last_name) if contact else ("a deleted contact",)
        into = " ".join(part for part in names if part)
        raise ServiceError(
            f"lead {_lead_name(lead) or lead.company_name!r} was already converted on "
            f"{lead.converted_at:%Y-%m-%d} into {into}; a conversion cannot be undone"
        )
    if not _lead_name(lead):
        raise ServiceError(
            f"lead {lead.company_name!r} has no person's name: add a first or last name before "
            "converting it (a contact is a person)"
        )
    return lead


def _email_domain(lead: Lead) -> str | None:
    """The company domain the lead's email suggests; None for free-mail and odd domains."""
    if not lead.email or "@" not in lead.email:
        return None
    try:
        domain = _domain_adapter.validate_python(lead.email.rpartition("@")[2])
    except ValidationError:  # one the company form would reject (e.g. "a_b.com")
        return None
    return None if domain in FREE_MAIL_DOMAINS else domain


def _match_company(lead: Lead) -> CompanyMatch | None:
    """An existing live company by email domain (the stronger sign), then by name; else a new one."""
    domain = _email_domain(lead)
    if domain:
        row = (
            Company.select(Company.id, Company.name)
            .where(Company.deleted_at.is_null(), Company.domain == domain)
            .order_by(Company.id)
            .first()
        )
        if row is not None:
            return CompanyMatch(row.id, row.name, "domain")
    if lead.company_name:
        company_id = company_named(lead.company_name)
        if company_id is not None:
            return CompanyMatch(company_id, Company.get_by_id(company_id).name, "name")
        return CompanyMatch(None, lead.company_name, None)
    return None


def preview(lead_id: int) -> ConversionPreview:
    """What `convert_lead(..., company="match")` would do; raises what it would raise."""
    lead = _load_convertible(lead_id)
    counts = [model.select().where(model.lead == lead_id).count() for _, model in _ACTIVITIES]
    return ConversionPreview(lead.id, lead.version, _lead_name(lead), _match_company(lead), *counts)


def _first_open_stage(pipeline_id: int) -> int:
    live = Pipeline.select().where(Pipeline.id == pipeline_id, Pipeline.deleted_at.is_null())
    if not live.exists():
        raise ValidationFailed("Deal", {"pipeline_id": f"no pipeline #{pipeline_id}"})
    stage_id = pipelines.first_open_stage(pipeline_id)
    if stage_id is None:
        raise ValidationFailed("Deal", {"stage_id": "the pipeline has no open stage to start the deal in"})
    return stage_id


def _claim(tx: Txn, lead: Lead, version: int) -> None:
    """Mark the lead converted at `version`, first, so a concurrent conversion waits and then fails."""
    claimed = (
        Lead.update(converted_at=tx.now, updated_at=tx.now, version=Lead.version + 1)
        .where(Lead.id == lead.id, Lead.version == version, Lead.converted_at.is_null(), Lead.deleted_at.is_null())
        .execute()
    )
    if claimed == 1:
        return
    _load_convertible(lead.id)  # converted or deleted meanwhile: say so
    theirs = records.get("lead", lead.id)
    raise ConflictError(
        "lead",
        lead.id,
        theirs.title,
        expected_version=version,
        actual_version=theirs.version,
        mine={},
        theirs=theirs.values,
    )


def _carry_over(tx: Txn, lead_id: int, links: dict[str, int | None], payload: str | None) -> None:
    """Link the lead's activities to the new records, set-based, with one log row per activity.

    Only empty links are filled (an activity already on another contact keeps it), and the lead link
    stays, so the converted lead still shows its history.
    """
    for entity, model in _ACTIVITIES:
        of_lead = model.lead == lead_id
        columns = {
            Event.at: Value(tx.now),
            Event.user: Value(tx.ctx.user_id),
            Event.kind: Value("lead.converted"),
            Event.entity: Value(entity),
            Event.record_id: model.id,
            Event.new: Value(payload),
            Event.txn: Value(tx.token),
        }
        logged = model.select(*columns.values()).where(of_lead)
        Event.insert_from(logged, fields=list(columns)).execute()
        filled = {
            getattr(model, name): fn.COALESCE(getattr(model, name), value) for name, value in links.items() if value
        }
        stamp = {model.updated_at: tx.now, model.version: model.version + 1}
        model.update(filled | stamp).where(of_lead).execute()


def _company_for(ctx: Context, lead: Lead, choice: CompanyChoice) -> tuple[int | None, bool]:
    """The company to link, created if needed, and whether it already existed."""
    if choice == "none":
        return None, False
    if choice == "match" and (found := _match_company(lead)) and found.id is not None:
        return found.id, True
    if not lead.company_name:
        if choice == "new":
            raise ServiceError("the lead has no company name: add one, or convert it without a company")
        return None, False
    values = {"name": lead.company_name, "domain": _email_domain(lead), "owner_id": lead.owner_id}
    return records.create(ctx, "company", values).id, False


def _create_deal(ctx: Context, lead: Lead, spec: DealSpec, company_id: int | None, contact_id: int) -> int:
    """The deal, through records.create so the deal rules (currency, stage history) apply."""
    company_name = Company.get_by_id(company_id).name if company_id else lead.company_name
    values = {
        "title": spec.title or f"{company_name or _lead_name(lead)} deal",
        "pipeline_id": spec.pipeline_id,
        "stage_id": spec.stage_id or _first_open_stage(spec.pipeline_id),
        "amount": spec.amount,
        "expected_close": spec.expected_close,
        "company_id": company_id,
        "contact_id": contact_id,
        "source": lead.source,
        # Like a rep's new deal on the board: theirs unless the lead has an owner.
        "owner_id": lead.owner_id or ctx.user_id,
    }
    return records.create(ctx, "deal", values).id


def convert_lead(
    ctx: Context, lead_id: int, *, version: int, company: CompanyChoice = "match", deal: DealSpec | None = None
) -> Conversion:
    """Convert the lead the caller read at `version` into a contact, and maybe a company and a deal.

    company: "match" links an existing company (by email domain, then name) or creates one from the
    lead's company name; "new" always creates one; "none" links none. Everything commits together;
    LeadConverted is published once, after commit. A second conversion raises ServiceError, a stale
    `version` ConflictError, and then nothing is stored.
    """
    with write(ctx) as tx:
        lead = _load_convertible(lead_id)
        _claim(tx, lead, version)
        company_id, matched = _company_for(ctx, lead, company)
        person = {name: getattr(lead, name) for name in _PERSON_FIELDS}
        person |= {"company_id": company_id, "owner_id": lead.owner_id}
        contact_id = records.create(ctx, "contact", person).id
        deal_id = _create_deal(ctx, lead, deal, company_id, contact_id) if deal else None
        Lead.update(converted_contact=contact_id, converted_company=company_id, converted_deal_id=deal_id).where(
            Lead.id == lead_id
        ).execute()
        # Every timeline names all the records, and the lead by name, so it can say "Converted
        # from lead Jane Doe" without a join.
        links = {"contact": contact_id, "company": company_id, "deal": deal_id}
        made: dict[str, object] = {f"{name}_id": value for name, value in links.items()}
        made |= {"lead_id": lead_id, "lead_name": _lead_name(lead)}
        event_id = tx.log("lead.converted", "lead", lead_id, new=made)
        for entity, record_id in links.items():
            if record_id is not None:
                tx.log("lead.converted", entity, record_id, new=made)
        _carry_over(tx, lead_id, links, to_json(made))
        search_index.sync("lead", lead_id)  # carried notes now open the new records
        tx.emit(
            LeadConverted(
                event_id=event_id,
                user_id=ctx.user_id,
                at=tx.now,
                lead_id=lead_id,
                contact_id=contact_id,
                company_id=company_id,
                deal_id=deal_id,
            )
        )
        return Conversion(contact_id, company_id, deal_id, matched)
