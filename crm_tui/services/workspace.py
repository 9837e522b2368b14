"""Opening a workspace: connect, create or upgrade the schema, and identify the user."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from crm_tui import db, locations
from crm_tui.config import Settings
from crm_tui.db import Target
from crm_tui.events import EventBus
from crm_tui.models import Company, Contact, Deal, Event, Lead, Note, Pipeline, Task, User
from crm_tui.services import automation_rules, permissions, schema
from crm_tui.services.context import Context
from crm_tui.services.schema import SchemaReport
from crm_tui.services.users import sign_in


@dataclass(frozen=True)
class Workspace:
    """An open workspace: where it is, what opening it did, and the session context."""

    target: Target
    report: SchemaReport
    ctx: Context


def resolve_target(database: str | None, settings: Settings) -> Target:
    """`--db` if given, else the configured database, else the default SQLite file."""
    chosen = database or settings.database or str(locations.default_database())
    return db.parse_target(chosen)


def is_default_location(target: Target) -> bool:
    """True for the data-directory files crm-tui chooses itself (their directory may be created)."""
    return target.path in (locations.default_database(), locations.demo_database())


def open_workspace(
    target: Target, settings: Settings, *, login: str | None = None, notice: Callable[[str], None] | None = None
) -> Workspace:
    """Connect to `target`, bring its schema to the current version (telling `notice` before an
    upgrade starts), and sign the user in."""
    db.connect(target, busy_timeout=settings.busy_timeout, create_directory=is_default_location(target))
    report = schema.ensure(
        target,
        backup_dir=locations.backups_dir(),
        keep=settings.backups_kept,
        currency=settings.currency,
        notice=notice,
    )
    user_id, user_login = sign_in(login or settings.user, served=os.environ.get(permissions.SERVED_USER_ENV) or None)
    ctx = Context(user_id=user_id, login=user_login, bus=EventBus())
    permissions.set_process_user(user_id)  # a CLI command's reads show what this user may see
    automation_rules.ensure_built_ins(ctx)
    return Workspace(target, report, ctx)


def workspace_stats() -> dict[str, int]:
    """How many records of each main kind the workspace holds (deleted ones excluded)."""
    counts = {"users": User.select().count(), "pipelines": Pipeline.select().where(Pipeline.deleted_at.is_null()).count()}
    for label, model in (("companies", Company), ("contacts", Contact), ("leads", Lead), ("deals", Deal)):
        counts[label] = model.select().where(model.deleted_at.is_null()).count()
    counts |= {"tasks": Task.select().count(), "notes": Note.select().count(), "events": Event.select().count()}
    return counts
