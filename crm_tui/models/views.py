"""Saved views: a named filter and sort over an entity, shown as a list or as cards."""

from __future__ import annotations

from peewee import CharField, ForeignKeyField, IntegerField

from crm_tui.models.base import JSONField, VersionedModel
from crm_tui.models.people import User


class SavedView(VersionedModel):
    """A saved filter set; `owner` None means shared with the whole workspace."""

    entity = CharField()
    name = CharField()
    owner = ForeignKeyField(User, null=True, on_delete="CASCADE")
    filters = JSONField(default=dict)
    sort = JSONField(default=list)
    display = CharField(default="list")
    position = IntegerField(default=0)

    class Meta:
        indexes = ((("entity", "owner", "name"), True),)
