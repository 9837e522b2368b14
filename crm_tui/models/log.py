"""The event log: the append-only record of everything that changed.

One row per changed field (or one per creation, deletion or stage move); the rows written by one
service call share a `txn` token. It serves the timeline and audit trail, the automations' trigger
source, live refresh across processes, and the history reports.
"""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, ForeignKeyField, TextField

from crm_tui import clock
from crm_tui.models.base import BaseModel
from crm_tui.models.people import User


class Event(BaseModel):
    """One change: who, when, which record, which field, the old and the new value (JSON text)."""

    at = DateTimeField(default=clock.now, index=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    kind = CharField()
    entity = CharField()
    record_id = BigIntegerField()
    field = CharField(null=True)
    old = TextField(null=True)
    new = TextField(null=True)
    txn = CharField(default="")

    class Meta:
        indexes = ((("entity", "record_id", "id"), False), (("kind", "id"), False))
