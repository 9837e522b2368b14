"""Users of the workspace."""

from __future__ import annotations

from peewee import BooleanField, CharField, ForeignKeyField

from crm_tui.models.base import BaseModel, JSONField, VersionedModel

ROLES = ("member", "manager", "admin")


class User(VersionedModel):
    """A person who signs in; `login` is the OS user name by default."""

    login = CharField(unique=True)
    name = CharField()
    email = CharField(null=True)
    role = CharField(default="member")
    active = BooleanField(default=True)
    # A manager sees and edits the records of their team's members (no team: everyone's).
    team = CharField(null=True)

    class Meta:
        table_name = "crm_user"  # "user" is reserved in PostgreSQL


class UserPreference(BaseModel):
    """Something one user's screens remember (the board's pipeline, collapsed columns, ...)."""

    user = ForeignKeyField(User, on_delete="CASCADE")
    key = CharField()
    value = JSONField(null=True)

    class Meta:
        indexes = ((("user", "key"), True),)
