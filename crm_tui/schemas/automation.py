"""The shape of an automation rule: one trigger, conditions on the record, ordered actions.

Rules name things (pipelines, stages, users, tags) by name or login, not by id, so that a rule
exported as TOML from one workspace imports into another. The engine resolves names when it runs
and reports a name it cannot find as the run's error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from crm_tui.schemas.fields import Name

Entity = Literal["deal", "lead", "contact", "company", "task"]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- triggers -------------------------------------------------------------------------------


class RecordCreated(_Part):
    """A record of `entity` was created."""

    type: Literal["record_created"]
    entity: Entity


class RecordUpdated(_Part):
    """Any field of a record of `entity` changed (one firing per save, however many fields)."""

    type: Literal["record_updated"]
    entity: Entity


class FieldChanged(_Part):
    """`field` of a record of `entity` changed; with `to`, only when it became that value."""

    type: Literal["field_changed"]
    entity: Entity
    field: Name
    to: Any = None


class StageChanged(_Part):
    """A deal moved; each of `pipeline`, `from_stage`, `to_stage` (names) and `to_kind` (the new
    stage's kind: a rule "when a deal is won" holds for every pipeline) narrows it."""

    type: Literal["stage_changed"]
    pipeline: Name | None = None
    from_stage: Name | None = None
    to_stage: Name | None = None
    to_kind: Literal["open", "won", "lost", "closed"] | None = None


class Assigned(_Part):
    """A record got an owner (a task an assignee): on creation with one, or when it changes."""

    type: Literal["assigned"]
    entity: Entity


class RecordDeleted(_Part):
    """A record of `entity` was deleted."""

    type: Literal["record_deleted"]
    entity: Entity


class DealIdle(_Part):
    """An open deal has had no change and no activity (note, task, appointment) for `days`."""

    type: Literal["deal_idle"]
    days: Annotated[int, Field(ge=1, le=3650)] = 7


class DealRotting(_Part):
    """An open deal has been in its stage longer than `days`, or than the stage's rot_days."""

    type: Literal["deal_rotting"]
    days: Annotated[int, Field(ge=1, le=3650)] | None = None


class TaskOverdue(_Part):
    """A task not done is past its due time."""

    type: Literal["task_overdue"]


class CloseDatePassed(_Part):
    """An open deal's expected close date has passed."""

    type: Literal["close_date_passed"]


Trigger = Annotated[
    RecordCreated | RecordUpdated | FieldChanged | StageChanged | Assigned | RecordDeleted | DealIdle | DealRotting
    | TaskOverdue | CloseDatePassed,
    Field(discriminator="type"),
]
TIME_TRIGGERS = ("deal_idle", "deal_rotting", "task_overdue", "close_date_passed")
"""Triggers the scheduler checks (every minute in the app, or `crm automations tick`)."""


def trigger_entity(trigger: Any) -> str:
    """The record type a trigger is about."""
    return getattr(trigger, "entity", "task" if trigger.type == "task_overdue" else "deal")


# --- conditions -----------------------------------------------------------------------------

Op = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "empty", "not_empty", "has", "lacks"]


class Condition(_Part):
    """`field` `op` `value`. Fields are the record's (amount, source, status, ...), `custom.<key>`,
    `pipeline` and `stage` (names), `owner` (login) and `tags` (with `has` / `lacks` a tag name)."""

    field: Name
    op: Op = "eq"
    value: Any = None

    @model_validator(mode="after")
    def _value_fits(self) -> Condition:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"{self.op} needs a list of values")
        if self.op in ("has", "lacks") and self.field != "tags":
            raise ValueError(f"{self.op} applies to tags only")
        if self.op not in ("empty", "not_empty") and self.value is None:
            raise ValueError(f"{self.op} needs a value")
        return self


# --- actions --------------------------------------------------------------------------------

Who = Annotated[str, Field(min_length=1, max_length=200)]
""""owner", "assignee", "managers", "user:<login>", or for email also an address."""


class CreateTask(_Part):
    """A task on the record, titled from a template ("Follow up on {title}")."""

    type: Literal["create_task"]
    title: Text
    assignee: Literal["owner", "round_robin", "unassigned"] | str = "owner"
    users: list[Name] = Field(default_factory=list)
    """Logins for round robin."""
    due_days: Annotated[float, Field(ge=-3650, le=3650)] = 1
    due_from: str = "now"
    """ "now" or a date field of the record (expected_close, ...)."""
    reminders: list[Annotated[int, Field(ge=0, le=10080)]] = Field(default_factory=list)


class Assign(_Part):
    """Give the record an owner: a named user, round robin over `users`, or the least loaded."""

    type: Literal["assign"]
    to: Literal["user", "round_robin", "least_loaded"]
    users: list[Name] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs_users(self) -> Assign:
        if self.to != "least_loaded" and not self.users:
            raise ValueError(f"assign to {self.to} needs users")
        return self


class SetField(_Part):
    """Set a field (or `custom.<key>`) of the record."""

    type: Literal["set_field"]
    field: Name
    value: Any = None


class AddTag(_Part):
    """Tag the record (the tag is made if it does not exist)."""

    type: Literal["add_tag"]
    tag: Name


class RemoveTag(_Part):
    """Take a tag off the record."""

    type: Literal["remove_tag"]
    tag: Name


class MoveStage(_Part):
    """Move the deal to the stage named `stage` of its pipeline (or of `pipeline`)."""

    type: Literal["move_stage"]
    stage: Name
    pipeline: Name | None = None
    lost_reason: Name | None = None


class AddNote(_Part):
    """A note on the record, from a template."""

    type: Literal["add_note"]
    body: Text


class Notify(_Part):
    """An in-app notification to `to` ("owner", "assignee", "managers", "user:<login>")."""

    type: Literal["notify"]
    to: list[Who] = Field(default_factory=lambda: ["owner"], min_length=1)
    title: Text
    body: Text | None = None


class Webhook(_Part):
    """POST the event and the record as JSON to `url`, retried with backoff."""

    type: Literal["webhook"]
    url: HttpUrl
    timeout: Annotated[float, Field(gt=0, le=60)] = 10
    retries: Annotated[int, Field(ge=0, le=5)] = 2


class Email(_Part):
    """An email through the SMTP server in config, from templates."""

    type: Literal["email"]
    to: list[Who] = Field(default_factory=lambda: ["owner"], min_length=1)
    subject: Text
    body: Text


Action = Annotated[
    CreateTask | Assign | SetField | AddTag | RemoveTag | MoveStage | AddNote | Notify | Webhook | Email,
    Field(discriminator="type"),
]
OUTBOUND = ("webhook", "email")
"""Actions that reach outside the database: run after the run's transaction commits."""


class Rule(_Part):
    """An automation rule as stored and exported."""

    name: Name
    enabled: bool = False
    trigger: Trigger
    conditions: list[Condition] = Field(default_factory=list, max_length=50)
    actions: list[Action] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _fits_the_record(self) -> Rule:
        entity = trigger_entity(self.trigger)
        for action in self.actions:
            if action.type == "move_stage" and entity != "deal":
                raise ValueError("move_stage works on deals only")
            if action.type == "create_task" and entity == "task":
                raise ValueError("create_task cannot be done on a task")
        return self
