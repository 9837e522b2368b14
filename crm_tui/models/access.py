"""Who may see what: users' SSH keys and the fields hidden from or read-only for a role."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, TextField

from crm_tui import clock
from crm_tui.models.base import BaseModel
from crm_tui.models.people import User

FIELD_ACCESS = ("hidden", "read")
"""A field a role may not see at all, or may see but not change."""


class UserKey(BaseModel):
    """A public key that signs its user in through `crm serve --ssh`."""

    user = ForeignKeyField(User, backref="keys", on_delete="CASCADE")
    name = CharField(default="")
    key = TextField()
    fingerprint = CharField(unique=True)
    created_at = DateTimeField(default=clock.now)


class FieldAccess(BaseModel):
    """One role's limit on one field of one record type: `hidden` or `read` (read-only).

    `field` is a standard field name (`amount`) or a custom field's key (`cf.cost`); admins are
    never limited.
    """

    entity = CharField()
    field = CharField()
    role = CharField()
    access = CharField()

    class Meta:
        indexes = ((("entity", "field", "role"), True),)
