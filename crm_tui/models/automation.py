"""Automation rules, the record of each run, and in-app notifications."""

from __future__ import annotations

from peewee import BigIntegerField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from crm_tui import clock
from crm_tui.models.base import BaseModel, JSONField, VersionedModel
from crm_tui.models.log import Event
from crm_tui.models.people import User


class AutomationRule(VersionedModel):
    """Trigger + conditions + ordered actions, each a JSON document validated by the services."""

    name = CharField()
    enabled = BooleanField(default=False)
    trigger = JSONField()
    conditions = JSONField(default=list)
    actions = JSONField(default=list)
    position = IntegerField(default=0)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    fires_after = BigIntegerField(default=0)
    """The event-log id the rule was last enabled at: it reacts only to later events."""


class AutomationRun(BaseModel):
    """One firing of a rule. The unique (rule, key) makes each (rule, event) run at most once.

    `key` is "event:<event id>" for event triggers and an episode key for time-based ones. `txn` is
    the event-log token of the run's own writes, so an event it caused can be traced back to it
    (chain depth, a rule re-triggering itself); `outcomes` says what each action did.
    """

    rule = ForeignKeyField(AutomationRule, backref="runs", on_delete="CASCADE")
    key = CharField()
    event = ForeignKeyField(Event, null=True, on_delete="SET NULL")
    status = CharField(default="done")
    started_at = DateTimeField(default=clock.now)
    finished_at = DateTimeField(null=True)
    error = TextField(null=True)
    trigger = CharField(default="")
    entity = CharField(null=True)
    record_id = BigIntegerField(null=True)
    txn = CharField(default="", index=True)
    depth = IntegerField(default=1)
    outcomes = JSONField(null=True)

    class Meta:
        indexes = ((("rule", "key"), True),)


class Notification(BaseModel):
    """A message for one user inside the app."""

    user = ForeignKeyField(User, on_delete="CASCADE")
    created_at = DateTimeField(default=clock.now)
    title = CharField()
    body = TextField(null=True)
    entity = CharField(null=True)
    record_id = IntegerField(null=True)
    event = ForeignKeyField(Event, null=True, on_delete="SET NULL")
    read_at = DateTimeField(null=True)
    key = CharField(null=True)
    """Set for notifications that must exist once (a task's reminder): unique per user."""

    class Meta:
        indexes = ((("user", "read_at", "id"), False), (("user", "key"), True))
