"""Import batches: every import is one batch, and each record it created or changed is an item, so
the whole import can be reverted."""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, ForeignKeyField

from crm_tui import clock
from crm_tui.models.base import BaseModel, JSONField
from crm_tui.models.people import User


class ImportBatch(BaseModel):
    """One import: what file went into which record type, how, by whom, and with what outcome."""

    entity = CharField()
    file_name = CharField()
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=clock.now)
    mode = CharField(default="all")
    on_duplicate = CharField(default="skip")
    counts = JSONField(default=dict)
    """created, updated, skipped, rejected: as the summary showed them."""
    txn = CharField(default="")
    """The event-log token of the import's writes."""
    reverted_at = DateTimeField(null=True)


class ImportItem(BaseModel):
    """One record an import created or updated; `before` holds an update's previous values."""

    batch = ForeignKeyField(ImportBatch, backref="items", on_delete="CASCADE")
    entity = CharField()
    record_id = BigIntegerField()
    action = CharField()  # "created" or "updated"
    before = JSONField(null=True)
    after = JSONField(null=True)

    class Meta:
        indexes = ((("batch", "entity", "record_id"), False),)
