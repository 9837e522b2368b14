"""Tags (e.g. a service line) and their links to companies, contacts, leads and deals."""

from __future__ import annotations

from peewee import CharField, ForeignKeyField

from crm_tui.models.base import BaseModel, VersionedModel
from crm_tui.models.pipeline import Deal
from crm_tui.models.records import Company, Contact, Lead


class Tag(VersionedModel):
    """A label; names are unique case-sensitively as typed."""

    name = CharField(unique=True)
    color = CharField(null=True)


class CompanyTag(BaseModel):
    """A tag on a company."""

    tag = ForeignKeyField(Tag, on_delete="CASCADE")
    company = ForeignKeyField(Company, backref="tag_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("company", "tag"), True),)


class ContactTag(BaseModel):
    """A tag on a contact."""

    tag = ForeignKeyField(Tag, on_delete="CASCADE")
    contact = ForeignKeyField(Contact, backref="tag_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("contact", "tag"), True),)


class LeadTag(BaseModel):
    """A tag on a lead."""

    tag = ForeignKeyField(Tag, on_delete="CASCADE")
    lead = ForeignKeyField(Lead, backref="tag_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("lead", "tag"), True),)


class DealTag(BaseModel):
    """A tag on a deal."""

    tag = ForeignKeyField(Tag, on_delete="CASCADE")
    deal = ForeignKeyField(Deal, backref="tag_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("deal", "tag"), True),)


TAG_LINKS: dict[str, tuple[type[BaseModel], str]] = {
    "company": (CompanyTag, "company"),
    "contact": (ContactTag, "contact"),
    "lead": (LeadTag, "lead"),
    "deal": (DealTag, "deal"),
}
"""Per taggable record type: its link model and the name of the link's field for the record."""
