"""Peewee models only: tables, indexes, tiny query helpers; no business rules."""

from crm_tui.models.access import FIELD_ACCESS, FieldAccess, UserKey
from crm_tui.models.activity import Appointment, AppointmentAttendee, Note, Task
from crm_tui.models.automation import AutomationRule, AutomationRun, Notification
from crm_tui.models.base import BaseModel, JSONField, SoftDeleteModel, VersionedModel, database
from crm_tui.models.custom import FIELD_TYPES, CustomField, CustomValue
from crm_tui.models.imports import ImportBatch, ImportItem
from crm_tui.models.log import Event
from crm_tui.models.meta import WorkspaceSetting
from crm_tui.models.people import ROLES, User, UserPreference
from crm_tui.models.pipeline import STAGE_KINDS, Deal, Pipeline, Stage, StageChange
from crm_tui.models.records import LEAD_STATUSES, Company, Contact, Lead
from crm_tui.models.tags import TAG_LINKS, CompanyTag, ContactTag, DealTag, LeadTag, Tag
from crm_tui.models.views import SavedView

ALL_MODELS: tuple[type[BaseModel], ...] = (
    WorkspaceSetting,
    User,
    UserPreference,
    Company,
    Contact,
    Lead,
    Pipeline,
    Stage,
    Deal,
    StageChange,
    Note,
    Task,
    Appointment,
    AppointmentAttendee,
    Tag,
    CompanyTag,
    ContactTag,
    LeadTag,
    DealTag,
    CustomField,
    CustomValue,
    SavedView,
    Event,
    AutomationRule,
    AutomationRun,
    Notification,
    ImportBatch,
    ImportItem,
    UserKey,
    FieldAccess,
)
"""Every table, parents before children (the order tables are created in)."""

__all__ = [
    "ALL_MODELS", "FIELD_ACCESS", "FIELD_TYPES", "TAG_LINKS", "LEAD_STATUSES", "ROLES", "STAGE_KINDS",
    "Appointment", "AppointmentAttendee", "AutomationRule", "AutomationRun", "BaseModel",
    "Company", "CompanyTag", "Contact", "ContactTag", "CustomField", "CustomValue", "Deal",
    "DealTag", "Event", "FieldAccess", "ImportBatch", "ImportItem", "JSONField", "Lead", "LeadTag", "Note", "Notification", "Pipeline",
    "SavedView", "SoftDeleteModel", "Stage", "StageChange", "Tag", "Task", "User", "UserKey", "UserPreference",
    "VersionedModel", "WorkspaceSetting", "database",
]  # fmt: skip
