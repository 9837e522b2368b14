"""Who may see and change what: roles, teams and per-role field limits.

- member: edits their own records and unassigned ones; sees everyone else's read-only.
- manager: also edits the records of their team's members (a manager without a team: everyone's).
- admin: edits everything, and alone changes settings (pipelines, custom fields, automations, users,
  field limits).

A field can be `hidden` from a role (absent from forms, lists, exports, timelines, the palette) or
`read` (shown, never changed). Writes check the acting user's rights inside their transaction, so the
CLI, the importer and every screen obey the same rules. Reads that show fields to a person filter
them with the *acting* access: the app's database thread and a CLI command set it (`acting`);
code that runs for nobody in particular (tests, migrations, the automation engine) sees everything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from crm_tui.models import FieldAccess, Note, Task, User, database
from crm_tui.services.custom_field_types import RECORD_MODELS
from crm_tui.services.errors import ServiceError

OWNED = {"company": "owner_id", "contact": "owner_id", "lead": "owner_id", "deal": "owner_id"}
"""Record types whose rows belong to someone, and the column that says who."""
HELD: dict[str, tuple[str, ...]] = {"note": ("author_id",), "task": ("assignee_id", "created_by_id")}
"""Activities that belong to whoever wrote or holds them (a note its author; a task its assignee and
whoever gave it): a member changes or deletes their own and ones nobody holds (a rule's note, an
unassigned task) and only reads the rest; a manager also their team's. Adding one to someone
else's record is anyone's to do."""
ADMIN_ONLY = frozenset({"pipeline", "stage", "custom_field", "automation_rule", "user"})
"""Record types only an admin creates, changes or deletes (the workspace's settings)."""
PROTECTED: dict[str, frozenset[str]] = {
    "company": frozenset({"name", "domain", "phone", "website", "owner_id"}),
    "contact": frozenset({"first_name", "last_name", "email", "phone", "title", "company_id", "owner_id"}),
    "lead": frozenset({"first_name", "last_name", "company_name", "email", "phone", "title", "status", "owner_id"}),
    "deal": frozenset({"title", "company_id", "contact_id", "pipeline_id", "stage_id", "amount", "currency", "owner_id"}),
}
"""Standard fields that cannot be hidden (they may still be read-only): what names a record, what
search matches, and what the board and dashboard add up. Hiding them would leave a record that
search still finds by them, or a board whose totals give them away."""

_TTL = 3.0  # seconds a user's access is reused between calls; writes always read it afresh


class PermissionDenied(ServiceError):
    """The acting user's role does not allow this."""


@dataclass(frozen=True)
class Access:
    """What one user may do: their role, team and the field limits of that role."""

    user_id: int | None
    role: str
    team: str | None = None
    limits: dict[tuple[str, str], str] = field(default_factory=dict)
    """(entity, field) -> "hidden" or "read"; a custom field is `custom.<key>`."""

    @property
    def admin(self) -> bool:
        """Admins are never limited."""
        return self.role == "admin"

    def hidden(self, entity: str) -> frozenset[str]:
        """The fields of `entity` this user must not see (`custom.<key>` for custom ones)."""
        return frozenset(f for (e, f), how in self.limits.items() if e == entity and how == "hidden")

    def read_only(self, entity: str) -> frozenset[str]:
        """The fields of `entity` this user may see but not change (hidden ones included)."""
        return frozenset(f for (e, f) in self.limits if e == entity)

    def can_see(self, entity: str, name: str) -> bool:
        """Whether the field `name` of `entity` is shown to this user."""
        return self.limits.get((entity, name)) != "hidden"


EVERYTHING = Access(user_id=None, role="admin")
"""The access of code acting for nobody in particular."""

_acting: ContextVar[Access | None] = ContextVar("crm_acting", default=None)
_process_user: int | None = None
_cache: dict[tuple[int, str, int], tuple[float, Access]] = {}
"""(database, its name, user id) -> (until when, access); per database, as tests open one after
another (the name too, since a new database object may get a closed one's id)."""
_forgotten = 0
"""How many times `forget` ran: a load that a forget overtook is not kept, else a thread that read
the limits just before an admin's change would keep the old ones for the next few seconds."""


def load(user_id: int, *, derived: bool = True) -> Access:
    """The access of `user_id` as stored now. `derived`: with the formulas and lookups hidden for
    reading a hidden field (what reads obey; a write's checks, which refuse changing any computed
    field anyway, skip the few milliseconds they take)."""
    row = User.get_or_none(User.id == user_id)
    if row is None:
        raise PermissionDenied(f"user #{user_id} does not exist")
    if not row.active:
        raise PermissionDenied(f"user {row.login!r} is deactivated")
    if row.role == "admin":
        return Access(user_id, "admin", row.team)
    query = FieldAccess.select(FieldAccess.entity, FieldAccess.field, FieldAccess.access).where(
        FieldAccess.role == row.role
    )
    limits = {(e, f): how for e, f, how in query.tuples()}
    if not derived:
        return Access(user_id, row.role, row.team, limits)
    from crm_tui.services import hidden_inputs  # (it reads custom fields, whose writes check access)

    for computed in hidden_inputs.also_hidden({key for key, how in limits.items() if how == "hidden"}):
        limits[computed] = "hidden"
    return Access(user_id, row.role, row.team, limits)


def access_of(user_id: int | None) -> Access:
    """The access of `user_id`, reused for a few seconds (None: everything)."""
    if user_id is None:
        return EVERYTHING
    now, key = time.monotonic(), (id(database.obj), str(database.obj.database), user_id)
    cached = _cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    before = _forgotten
    found = load(user_id)
    if before == _forgotten:
        _cache[key] = (now + _TTL, found)
    return found


def forget() -> None:
    """Drop the reused accesses (after a role or a field limit changed)."""
    global _forgotten
    _forgotten += 1
    _cache.clear()


def hidden_from_any_role(entity: str) -> frozenset[str]:
    """The fields of `entity` hidden from at least one role (with the formulas and lookups that
    read them): what text every reader of a record shares (a rule's note, a task's title) leaves out."""
    from crm_tui.services import hidden_inputs

    by_role: dict[str, set[tuple[str, str]]] = {}
    rows = FieldAccess.select(FieldAccess.role, FieldAccess.entity, FieldAccess.field).where(FieldAccess.access == "hidden")
    for role, e, f in rows.tuples():
        by_role.setdefault(role, set()).add((e, f))
    found: set[tuple[str, str]] = set()
    for limits in by_role.values():
        found |= limits | hidden_inputs.also_hidden(limits)
    return frozenset(f for e, f in found if e == entity)


def current() -> Access:
    """The access reads are filtered by: the acting user's, else the process's CLI user's, else
    everything."""
    found = _acting.get()
    if found is not None:
        return found
    return access_of(_process_user) if _process_user is not None else EVERYTHING


@contextmanager
def acting(user_id: int | None) -> Iterator[Access]:
    """Filter the reads inside the block for `user_id`."""
    access = access_of(user_id)
    token = _acting.set(access)
    try:
        yield access
    finally:
        _acting.reset(token)


def set_process_user(user_id: int | None) -> None:
    """Make `user_id` the one reads are filtered for outside any `acting` block (a CLI command)."""
    global _process_user
    _process_user = user_id


# -- checks the services make inside their write transactions --


def _team_of(user_id: int) -> str | None:
    return User.select(User.team).where(User.id == user_id).scalar()


def may_edit(access: Access, entity: str, values: dict[str, Any]) -> bool:
    """Whether `access` may change the record with these stored `values`."""
    if access.admin:
        return True
    if entity in ADMIN_ONLY:
        return False
    column = OWNED.get(entity)
    if column is None:
        return True
    owner = values.get(column)
    if owner is None or owner == access.user_id:
        return True
    if access.role == "manager":
        return access.team is None or _team_of(owner) == access.team
    return False


def _owner(entity: str, record_id: int) -> int | None:
    model = RECORD_MODELS[entity]
    return model.select(model.owner).where(model.id == record_id).scalar()


def check_change(access: Access, kind: str, entity: str, record_id: int, field: str | None, old: Any,
                 judged: dict[tuple[str, int], bool]) -> None:  # fmt: skip
    """Refuse the change an event-log row records unless `access` allows it.

    Every write logs its change, so this one check covers every way of writing: forms, the board,
    bulk actions, merges, imports, automations and scripts. A new record is anyone's to make
    (settings aside); the fields a creation sets are checked where it is made (records.create).
    Each record is judged once per transaction (`judged`, which this fills), by its owner before
    the transaction changed it: the row is logged after it changed.
    """
    if access.admin or (kind == "record.created" and entity == "user" and record_id == access.user_id):
        return  # (the second: someone joining the workspace signs themselves up)
    if entity == "workspace":
        raise PermissionDenied("only an admin can change the workspace's settings")
    if entity in ADMIN_ONLY:
        raise PermissionDenied(f"only an admin can change the workspace's {entity.replace('_', ' ')}s")
    if kind == "record.created":
        return
    if entity in HELD:
        _check_held(access, kind, entity, record_id, field, old, judged)
        return
    if entity not in OWNED:
        return
    key = (entity, record_id)
    if key not in judged:
        owner = old if field == OWNED[entity] else _owner(entity, record_id)
        judged[key] = may_edit(access, entity, {OWNED[entity]: owner})
    if not judged[key]:
        raise PermissionDenied(f"this {entity} belongs to someone else; a {access.role} can only read it")
    if field is not None:
        check_fields(access, entity, [field])


def _check_held(access: Access, kind: str, entity: str, record_id: int, field: str | None, old: Any,
                judged: dict[tuple[str, int], bool]) -> None:  # fmt: skip
    """check_change for a note or task: judged by who held it before the transaction changed it."""
    key = (entity, record_id)
    if key not in judged:
        columns = HELD[entity]
        if kind == "record.deleted" and isinstance(old, dict):  # the row is gone; the log has its values
            values = {column: old.get(column) for column in columns}
        else:
            model: Any = {"note": Note, "task": Task}[entity]
            row = model.select(*(getattr(model, c.removesuffix("_id")) for c in columns)).where(model.id == record_id)
            found = row.tuples().first()
            values = dict(zip(columns, found or (None,) * len(columns), strict=True))
            if field in values:
                values[field] = old
        judged[key] = access.admin or values[columns[0]] is None or _may_change_held(access, values)
    if not judged[key]:
        raise PermissionDenied(f"this {entity} is someone else's; a {access.role} can only read it")


def _may_change_held(access: Access, values: dict[str, Any]) -> bool:
    """Whether `access` may change a held note or task (its author; its assignee or giver)."""
    holders = {holder for holder in values.values() if holder is not None}
    if access.user_id in holders:
        return True
    if access.role == "manager":
        return access.team is None or any(_team_of(holder) == access.team for holder in holders)
    return False


def check_fields(access: Access, entity: str, names: set[str] | list[str]) -> None:
    """Refuse to change any of `names` that is read-only or hidden for `access`."""
    if access.admin:
        return
    barred = sorted(name for name in names if (entity, name) in access.limits)
    if barred:
        shown = ", ".join(name.removeprefix("custom.").removesuffix("_id") for name in barred)
        raise PermissionDenied(f"a {access.role} cannot change {shown} on a {entity}")


SIGNED = {"note": "author_id", "task": "created_by_id"}
"""Who a new note or task says wrote or gave it: the one adding it, unless an admin says otherwise."""


def check_signed(access: Access, entity: str, values: dict[str, Any]) -> None:
    """Refuse a new note or task in someone else's name (which would also make it theirs to change)."""
    column = SIGNED.get(entity)
    if column and not access.admin and values.get(column) not in (None, access.user_id):
        raise PermissionDenied(f"a {access.role} adds a {entity} in their own name only")


def require_admin(access: Access, what: str) -> None:
    """Refuse unless `access` is an admin's."""
    if not access.admin:
        raise PermissionDenied(f"only an admin can {what}")


SERVED_USER_ENV = "CRM_SERVED_USER"
"""Set by `crm serve` for each session it starts: the user the server vouches for."""


def check_server_files() -> None:
    """Refuse reading or writing files in a session `crm serve` started: the files would be the
    server's, read and written as its OS account, not the served person's."""
    if os.environ.get(SERVED_USER_ENV):
        raise PermissionDenied(
            "files on the server are out of reach in a served session (crm serve); "
            "import and export with the crm command on your own machine"
        )


def shows(entity: str, key: str) -> bool:
    """Whether a column or field called `key` (`owner` or `owner_id`, `custom.<key>`) is shown to
    the acting user."""
    access = current()
    return access.can_see(entity, key) and access.can_see(entity, f"{key}_id")


def writable(entity: str, key: str) -> bool:
    """Whether the acting user may fill the field called `key` (as in `shows`)."""
    limits = current().limits
    return (entity, key) not in limits and (entity, f"{key}_id") not in limits
