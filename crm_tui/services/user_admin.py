"""An admin's work on users: add, rename, role, team, deactivate; the workspace's sign-in policy;
and the fields hidden from or read-only for a role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import JOIN, fn

from crm_tui.models import FIELD_ACCESS, FieldAccess, User, UserKey
from crm_tui.models import ROLES as MODEL_ROLES
from crm_tui.services import custom_fields, hidden_inputs, permissions, record_form, records
from crm_tui.services.context import Context
from crm_tui.services.entities import spec_for
from crm_tui.services.errors import ServiceError
from crm_tui.services.unit import write
from crm_tui.services.users import JOIN_SETTING, SWITCH_SETTING, by_login, display_name
from crm_tui.services.workspace_settings import get_setting, put_setting

ROLES = MODEL_ROLES
"""Every role, least to most (for the screens, which do not import the models)."""
LIMITED_ROLES = tuple(role for role in ROLES if role != "admin")
"""The roles a field can be limited for (admins see and change everything)."""


@dataclass(frozen=True)
class UserRow:
    """One user as the users screen and `crm users list` show them."""

    id: int
    version: int
    login: str
    name: str
    email: str | None
    role: str
    team: str | None
    active: bool
    keys: int


@dataclass(frozen=True)
class FieldLimit:
    """One role's limit on one field."""

    entity: str
    field: str
    role: str
    access: str


@dataclass(frozen=True)
class Policy:
    """How people sign in to the workspace."""

    allow_switch: bool
    join: str


def _rows() -> Any:
    keys = fn.COUNT(UserKey.id)
    return (
        User.select(User.id, User.version, User.login, User.name, User.email, User.role, User.team, User.active, keys)
        .join(UserKey, join_type=JOIN.LEFT_OUTER, on=(UserKey.user == User.id))
        .group_by(User.id)
    )


def users() -> list[UserRow]:
    """Every user, active ones first, by name."""
    query = _rows().order_by(User.active.desc(), fn.LOWER(User.name), User.id)
    return [UserRow(*row) for row in query.tuples()]


def add(ctx: Context, login: str, *, name: str | None = None, role: str = "member", email: str | None = None,
        team: str | None = None) -> UserRow:  # fmt: skip
    """Add a user (an admin's act; the event log names who added them)."""
    if User.get_or_none(User.login == login) is not None:
        raise ServiceError(f"there is already a user {login!r}")
    made = records.create(
        ctx, "user", {"login": login, "name": name or display_name(login), "role": role, "email": email, "team": team}
    )
    return _row(made.id)


def _row(user_id: int) -> UserRow:
    return UserRow(*_rows().where(User.id == user_id).tuples().get())


def change(ctx: Context, login: str, **changes: object) -> UserRow:
    """Change a user's name, email, role, team or active flag; the last active admin stays one."""
    row = by_login(login)
    with write(ctx):
        demoted = changes.get("role", row.role) != "admin" or changes.get("active", row.active) is False
        if row.role == "admin" and row.active and demoted:
            admins = User.select().where(User.role == "admin", User.active == True, User.id != row.id).count()
            if admins == 0:
                raise ServiceError(f"{login!r} is the only admin; make someone else admin first")
        records.update(ctx, "user", row.id, dict(changes), version=row.version)
    permissions.forget()
    return _row(row.id)


def policy() -> Policy:
    """The workspace's sign-in policy."""
    return Policy(bool(get_setting(SWITCH_SETTING, True)), str(get_setting(JOIN_SETTING, "open")))


def set_policy(ctx: Context, *, allow_switch: bool | None = None, join: str | None = None) -> Policy:
    """Change who may use --user and whether newcomers join by themselves (admins only)."""
    if join not in (None, "open", "closed"):
        raise ServiceError("join is open or closed")
    with write(ctx) as tx:
        old = policy()
        for key, value in ((SWITCH_SETTING, allow_switch), (JOIN_SETTING, join)):
            if value is not None:
                put_setting(key, value)
        tx.log("setting.updated", "workspace", 0, field="users", old=old.__dict__, new=policy().__dict__)
    return policy()


def _field_names(entity: str) -> dict[str, str]:
    """The fields of `entity` a limit can name: service name -> label."""
    if entity not in permissions.OWNED:
        raise ServiceError(f"fields can be limited on {', '.join(permissions.OWNED)}, not {entity!r}")
    names = {key: label for key, label, _, _ in record_form.STANDARD_FIELDS[entity]}
    names |= {name: name.removesuffix("_id").replace("_", " ").capitalize() for name in spec_for(entity).editable if name not in names}
    names |= {f"custom.{fd.key}": fd.label for fd in custom_fields.definitions(entity)}
    return names


@dataclass(frozen=True)
class LimitRow:
    """One field a limit can name, with its current limit per role ("" for none)."""

    entity: str
    field: str
    label: str
    hideable: bool
    member: str
    manager: str
    follows: frozenset[str] = frozenset()
    """The roles this formula or lookup is hidden from because it reads a field hidden from them."""


def limit_rows() -> list[LimitRow]:
    """Every field of companies, contacts, leads and deals, with its limits: the field limits table."""
    current = {(x.entity, x.field, x.role): x.access for x in limits()}
    derived = {
        role: hidden_inputs.also_hidden({(e, f) for (e, f, r), how in current.items() if r == role and how == "hidden"})
        for role in LIMITED_ROLES
    }
    return [
        LimitRow(
            entity, name, label, name not in permissions.PROTECTED[entity],
            current.get((entity, name, "member"), ""), current.get((entity, name, "manager"), ""),
            frozenset(role for role in LIMITED_ROLES if (entity, name) in derived[role]),
        )
        for entity in permissions.OWNED
        for name, label in _field_names(entity).items()
    ]


def role_of(user_id: int) -> str:
    """The role of `user_id` (what the screens offer depends on it)."""
    return permissions.load(user_id).role


def limits() -> list[FieldLimit]:
    """Every field limit, by record type, field and role."""
    query = FieldAccess.select().order_by(FieldAccess.entity, FieldAccess.field, FieldAccess.role)
    return [FieldLimit(row.entity, row.field, row.role, row.access) for row in query]


def set_limit(ctx: Context, entity: str, field: str, role: str, access: str | None) -> FieldLimit | None:
    """Hide `field` from `role`, make it read-only for it, or (access None) lift the limit."""
    names = _field_names(entity)
    if field not in names and f"{field}_id" in names:
        field = f"{field}_id"
    if field not in names:
        raise ServiceError(f"{entity} has no field {field!r}; it has {', '.join(sorted(names))}")
    if role not in LIMITED_ROLES:
        raise ServiceError(f"fields are limited for {' or '.join(LIMITED_ROLES)}; admins see everything")
    if access not in (None, *FIELD_ACCESS):
        raise ServiceError(f"a limit is {' or '.join(FIELD_ACCESS)}")
    if access == "hidden" and field in permissions.PROTECTED[entity]:
        raise ServiceError(
            f"{names[field]} cannot be hidden: it names the record, is searched or adds up on the board; "
            "it can be read-only"
        )
    with write(ctx) as tx:
        permissions.require_admin(tx.access, "limit fields")
        row = FieldAccess.get_or_none(FieldAccess.entity == entity, FieldAccess.field == field, FieldAccess.role == role)
        old = row.access if row else None
        if access is None:
            FieldAccess.delete().where(FieldAccess.entity == entity, FieldAccess.field == field, FieldAccess.role == role).execute()
        elif row is None:
            FieldAccess.insert(entity=entity, field=field, role=role, access=access).execute()
        else:
            FieldAccess.update(access=access).where(FieldAccess.id == row.id).execute()
        tx.log("setting.updated", "workspace", 0, field=f"access.{entity}.{field}.{role}", old=old, new=access)
    permissions.forget()
    return FieldLimit(entity, field, role, access) if access else None
