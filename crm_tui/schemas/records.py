"""Input models for every record type. Services validate the whole record (current values plus the
changes) against these, so cross-field rules hold on updates as well as on creation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_tui.schemas.fields import (
    CurrencyCode,
    Domain,
    Email,
    Key,
    Login,
    LongText,
    MinorUnits,
    Name,
    OptionalLongText,
    OptionalStr,
    Percent,
    Phone,
    RecordId,
    Stars,
    Url,
)

StageKind = Literal["open", "won", "lost", "closed"]
LeadStatus = Literal["new", "working", "unqualified"]
Role = Literal["member", "manager", "admin"]
Entity = Literal["company", "contact", "lead", "deal"]
FieldType = Literal[
    "text", "long_text", "number", "currency", "percent", "date", "datetime", "checkbox",
    "dropdown", "multi_select", "email", "phone", "url", "address", "rating", "user",
    "reference", "lookup", "formula", "auto_number",
]  # fmt: skip


class RecordIn(BaseModel):
    """Base of all input models: unknown fields are errors, text is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_default=False)


class LinksIn(RecordIn):
    """The records an activity can belong to."""

    company_id: RecordId | None = None
    contact_id: RecordId | None = None
    lead_id: RecordId | None = None
    deal_id: RecordId | None = None


class UserIn(RecordIn):
    """A workspace user."""

    login: Login
    name: Name
    email: Email = None
    role: Role = "member"
    active: bool = True
    team: OptionalStr = None


class CompanyIn(RecordIn):
    """A company."""

    name: Name
    domain: Domain = None
    website: Url = None
    phone: Phone = None
    address: OptionalLongText = None
    industry: OptionalStr = None
    employees: int | None = Field(default=None, ge=0)
    owner_id: RecordId | None = None


class ContactIn(RecordIn):
    """A person; a first or a last name is required."""

    first_name: OptionalStr = None
    last_name: OptionalStr = None
    email: Email = None
    phone: Phone = None
    title: OptionalStr = None
    address: OptionalLongText = None
    source: OptionalStr = None
    company_id: RecordId | None = None
    owner_id: RecordId | None = None

    @model_validator(mode="after")
    def _has_a_name(self) -> ContactIn:
        if not (self.first_name or self.last_name):
            raise ValueError("a contact needs a first or a last name")
        return self


class LeadIn(RecordIn):
    """A lead; it needs a person's name or a company name."""

    first_name: OptionalStr = None
    last_name: OptionalStr = None
    company_name: OptionalStr = None
    email: Email = None
    phone: Phone = None
    title: OptionalStr = None
    status: LeadStatus = "new"
    source: OptionalStr = None
    owner_id: RecordId | None = None

    @model_validator(mode="after")
    def _has_a_name(self) -> LeadIn:
        if not (self.first_name or self.last_name or self.company_name):
            raise ValueError("a lead needs a person's name or a company name")
        return self


class PipelineIn(RecordIn):
    """A pipeline."""

    name: Name
    position: int = 0


class StageIn(RecordIn):
    """A stage of a pipeline."""

    pipeline_id: RecordId
    name: Name
    position: int = 0
    probability: Percent = 0
    kind: StageKind = "open"
    rot_days: int | None = Field(default=None, ge=1, le=3650)


class DealIn(RecordIn):
    """A deal. Its stage changes only through `move_deal`, which keeps the history."""

    title: Name
    company_id: RecordId | None = None
    contact_id: RecordId | None = None
    pipeline_id: RecordId | None = None
    stage_id: RecordId
    amount: MinorUnits = 0
    cost: MinorUnits | None = None
    currency: CurrencyCode
    probability: Percent | None = None
    confidence: Stars | None = None
    expected_close: date | None = None
    source: OptionalStr = None
    lost_reason: OptionalStr = None
    owner_id: RecordId | None = None


class NoteIn(LinksIn):
    """A note."""

    body: LongText = Field(min_length=1)
    author_id: RecordId | None = None


class TaskIn(LinksIn):
    """A task."""

    title: Name
    details: OptionalLongText = None
    due_at: datetime | None = None
    reminders: list[int] = Field(default_factory=list, max_length=10)
    done: bool = False
    assignee_id: RecordId | None = None
    created_by_id: RecordId | None = None

    @model_validator(mode="after")
    def _reminders_need_due(self) -> TaskIn:
        if self.reminders and self.due_at is None:
            raise ValueError("reminders need a due time")
        if any(minutes < 0 for minutes in self.reminders):
            raise ValueError("reminders are minutes before the due time, 0 or more")
        return self


class AppointmentIn(LinksIn):
    """An appointment; it must end after it starts."""

    title: Name
    starts_at: datetime
    ends_at: datetime
    location: OptionalStr = None
    details: OptionalLongText = None
    owner_id: RecordId | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> AppointmentIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("the end must be after the start")
        return self


class TagIn(RecordIn):
    """A tag."""

    # Annotated[..., Field(...)] adds the limit; `Name = Field(max_length=60)` was overridden by
    # Name's own 200 and never applied.
    name: Annotated[Name, Field(max_length=60)]
    color: OptionalStr = None


class CustomFieldIn(RecordIn):
    """A custom field definition."""

    entity: Entity
    key: Key
    label: Name
    type: FieldType
    required: bool = False
    options: list[Name] = Field(default_factory=list)
    position: int = 0
    formula: OptionalLongText = None
    reference_entity: Entity | None = None
    lookup_path: list[Key] | None = None

    @model_validator(mode="after")
    def _type_needs(self) -> CustomFieldIn:
        if self.type in ("dropdown", "multi_select") and not self.options:
            raise ValueError(f"a {self.type} field needs at least one option")
        if self.type == "formula" and not self.formula:
            raise ValueError("a formula field needs a formula")
        if self.type == "reference" and not self.reference_entity:
            raise ValueError("a reference field needs the entity it refers to")
        if self.type == "lookup" and not self.lookup_path:
            raise ValueError("a lookup field needs a lookup path")
        return self


class SavedViewIn(RecordIn):
    """A saved view."""

    entity: Entity
    name: Name
    owner_id: RecordId | None = None
    filters: dict[str, Any] = Field(default_factory=dict)
    sort: list[Any] = Field(default_factory=list)
    display: Literal["list", "cards"] = "list"
    position: int = 0


class AutomationRuleIn(RecordIn):
    """An automation rule; the shape of trigger, conditions and actions is checked by the engine."""

    name: Name
    enabled: bool = False
    trigger: dict[str, Any]
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list)
    position: int = 0
    created_by_id: RecordId | None = None
