"""Workspace-wide settings stored in the database (shared by everyone on it)."""

from __future__ import annotations

from peewee import CharField

from crm_tui.models.base import BaseModel, JSONField


class WorkspaceSetting(BaseModel):
    """A key/value setting: schema_version, currency, lost_reasons, ..."""

    key = CharField(unique=True)
    value = JSONField(null=True)
