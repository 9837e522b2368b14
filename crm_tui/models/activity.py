"""Notes, tasks and appointments, each linked to at most one record of each kind."""

from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, TextField

from crm_tui.models.base import BaseModel, JSONField, VersionedModel
from crm_tui.models.people import User
from crm_tui.models.pipeline import Deal
from crm_tui.models.records import Company, Contact, Lead


class LinkedRecordMixin(VersionedModel):
    """Optional links to the company, contact, lead and deal an activity belongs to."""

    company = ForeignKeyField(Company, null=True, on_delete="CASCADE", index=True)
    contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE", index=True)
    lead = ForeignKeyField(Lead, null=True, on_delete="CASCADE", index=True)
    deal = ForeignKeyField(Deal, null=True, on_delete="CASCADE", index=True)


class Note(LinkedRecordMixin):
    """A free-text note on a record."""

    body = TextField()
    author = ForeignKeyField(User, null=True, on_delete="SET NULL")


class Task(LinkedRecordMixin):
    """Something to do by a due time, with reminders as minutes before `due_at`."""

    title = CharField()
    details = TextField(null=True)
    due_at = DateTimeField(null=True)
    reminders = JSONField(default=list)
    done = BooleanField(default=False)
    done_at = DateTimeField(null=True)
    assignee = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class Meta:
        # (deal, done, due_at): a board window asks which of its deals have overdue tasks.
        # (done, done_at) and (assignee, done, done_at): the Tasks screen's Done section, latest first.
        indexes = (
            (("assignee", "done", "due_at"), False),
            (("done", "due_at"), False),
            (("deal", "done", "due_at"), False),
            (("done", "done_at"), False),
            (("assignee", "done", "done_at"), False),
        )


class Appointment(LinkedRecordMixin):
    """A meeting or call in the calendar."""

    title = CharField()
    starts_at = DateTimeField(index=True)
    ends_at = DateTimeField()
    location = CharField(null=True)
    details = TextField(null=True)
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL")


class AppointmentAttendee(BaseModel):
    """A user or contact invited to an appointment."""

    appointment = ForeignKeyField(Appointment, backref="attendees", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, on_delete="CASCADE")
