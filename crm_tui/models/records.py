"""The customer records: companies, contacts (people) and leads."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from crm_tui.models.base import SoftDeleteModel
from crm_tui.models.people import User

LEAD_STATUSES = ("new", "working", "unqualified")


class Company(SoftDeleteModel):
    """An organisation the team sells to."""

    name = CharField(index=True)
    domain = CharField(null=True, index=True)
    website = CharField(null=True)
    phone = CharField(null=True)
    address = TextField(null=True)
    industry = CharField(null=True)
    employees = IntegerField(null=True)
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL", index=True)


class Contact(SoftDeleteModel):
    """A person, usually at a company."""

    first_name = CharField(null=True)
    last_name = CharField(null=True)
    email = CharField(null=True, index=True)
    phone = CharField(null=True)
    title = CharField(null=True)
    address = TextField(null=True)
    source = CharField(null=True)
    company = ForeignKeyField(Company, null=True, on_delete="SET NULL", index=True)
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL", index=True)

    class Meta:
        indexes = ((("last_name", "first_name"), False),)


class Lead(SoftDeleteModel):
    """Someone who may become a customer; converting creates a contact (and maybe more)."""

    first_name = CharField(null=True)
    last_name = CharField(null=True)
    company_name = CharField(null=True)
    email = CharField(null=True, index=True)
    phone = CharField(null=True)
    title = CharField(null=True)
    status = CharField(default="new", index=True)
    source = CharField(null=True)
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL", index=True)
    converted_at = DateTimeField(null=True)
    converted_contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    converted_company = ForeignKeyField(Company, null=True, on_delete="SET NULL")
    # The deal a conversion created; declared as an id to avoid a cycle with the pipeline module.
    converted_deal_id = IntegerField(null=True)

    class Meta:
        indexes = ((("last_name", "first_name"), False),)  # the leads list opens sorted by name
