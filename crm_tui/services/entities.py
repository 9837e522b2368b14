"""The record types the generic services know: model, input schema, display title and hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from peewee import Field, ForeignKeyField

from crm_tui.models import (
    Appointment,
    AutomationRule,
    Company,
    Contact,
    CustomField,
    Deal,
    Lead,
    Note,
    Pipeline,
    SavedView,
    SoftDeleteModel,
    Stage,
    Tag,
    Task,
    User,
    VersionedModel,
)
from crm_tui.schemas import records as schemas
from crm_tui.services import custom_field_rules, deal_rules, pipeline_rules

@dataclass(frozen=True)
class EntitySpec:
    """How the generic create / update / delete services treat one record type."""

    name: str
    label: str
    model: type[VersionedModel]
    schema: type[schemas.RecordIn]
    title_fields: tuple[str, ...]
    fixed_on_update: dict[str, str] = field(default_factory=dict)
    """Fields update() refuses, each with the reason shown to the user."""
    defaults: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    before_insert: Callable[..., dict[str, Any]] | None = None
    after_insert: Callable[..., None] | None = None
    before_delete: Callable[..., None] | None = None
    """Called as (tx, record_id) before a delete; raises to refuse it."""
    locked: Callable[[dict[str, Any]], str | None] | None = None
    """Given the stored values, why update() must refuse the record (None: it may change)."""

    @property
    def soft_delete(self) -> bool:
        """Deleted records of this type are hidden, not erased, so a delete can be undone."""
        return issubclass(self.model, SoftDeleteModel)

    @cached_property
    def columns(self) -> dict[str, Field]:
        """Every column by the name services use: foreign keys as `<name>_id`."""
        return {
            (f"{fld.name}_id" if isinstance(fld, ForeignKeyField) else fld.name): fld
            for fld in self.model._meta.sorted_fields
        }

    @cached_property
    def editable(self) -> tuple[str, ...]:
        """The columns the input schema covers."""
        return tuple(name for name in self.schema.model_fields if name in self.columns)

    def title(self, values: dict[str, Any]) -> str:
        """A short human name for a record ("Acme Corp", "Jane Doe")."""
        parts = [str(values[name]) for name in self.title_fields if values.get(name)]
        return " ".join(parts) or f"{self.label} #{values.get('id')}"


def _converted_lead(values: dict[str, Any]) -> str | None:
    if values.get("converted_at") is None:
        return None
    return "was converted and is kept as it was; edit the contact (or deal) it became instead"


_SPECS = [
    EntitySpec("user", "User", User, schemas.UserIn, ("name",)),
    EntitySpec("company", "Company", Company, schemas.CompanyIn, ("name",)),
    EntitySpec("contact", "Contact", Contact, schemas.ContactIn, ("first_name", "last_name")),
    EntitySpec(
        "lead", "Lead", Lead, schemas.LeadIn, ("first_name", "last_name", "company_name"), locked=_converted_lead
    ),
    EntitySpec(
        "pipeline", "Pipeline", Pipeline, schemas.PipelineIn, ("name",), before_delete=pipeline_rules.before_pipeline_delete
    ),
    EntitySpec(
        "stage",
        "Stage",
        Stage,
        schemas.StageIn,
        ("name",),
        fixed_on_update={"pipeline_id": "a stage cannot move to another pipeline"},
        before_delete=pipeline_rules.before_stage_delete,
    ),
    EntitySpec(
        "deal",
        "Deal",
        Deal,
        schemas.DealIn,
        ("title",),
        fixed_on_update={
            "stage_id": "the stage changes only by moving the deal (move_deal keeps the history)",
            "pipeline_id": "the pipeline changes only by moving the deal to one of its stages",
        },
        defaults=deal_rules.defaults,
        before_insert=deal_rules.before_insert,
        after_insert=deal_rules.after_insert,
    ),
    EntitySpec("note", "Note", Note, schemas.NoteIn, ("body",)),
    EntitySpec("task", "Task", Task, schemas.TaskIn, ("title",)),
    EntitySpec("appointment", "Appointment", Appointment, schemas.AppointmentIn, ("title",)),
    EntitySpec("tag", "Tag", Tag, schemas.TagIn, ("name",)),
    EntitySpec(
        "custom_field",
        "Custom field",
        CustomField,
        schemas.CustomFieldIn,
        ("label",),
        fixed_on_update={"entity": "a field cannot move to another record type", "key": "a field's key is fixed"},
        before_insert=custom_field_rules.before_insert,
        after_insert=custom_field_rules.after_insert,
    ),
    EntitySpec("saved_view", "Saved view", SavedView, schemas.SavedViewIn, ("name",)),
    EntitySpec("automation_rule", "Automation rule", AutomationRule, schemas.AutomationRuleIn, ("name",)),
]

ENTITIES: dict[str, EntitySpec] = {spec.name: spec for spec in _SPECS}


def spec_for(entity: str) -> EntitySpec:
    """The spec of `entity`, or a ValueError listing the known ones."""
    try:
        return ENTITIES[entity]
    except KeyError:
        raise ValueError(f"unknown record type {entity!r}; known: {', '.join(ENTITIES)}") from None
