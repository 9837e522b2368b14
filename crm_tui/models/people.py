"""Users of the workspace."""

from __future__ import annotations

from peewee import BooleanField, CharField

from crm_tui.models.base import VersionedModel

ROLES = ("member", "manager", "admin")


class User(VersionedModel):
    """A person who signs in; `login` is the OS user name by default."""

    login = CharField(unique=True)
    name = CharField()
    email = CharField(null=True)
    role = CharField(default="member")
    active = BooleanField(default=True)

    class Meta:
        table_name = "crm_user"  # "user" is reserved in PostgreSQL
