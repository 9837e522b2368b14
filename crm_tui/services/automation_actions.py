"""What rules do to records. Each action goes through the services (validation, event log,
events), inside the run's transaction, and returns a one-line outcome; a refusal raises
ServiceError, which rolls the whole run back and is recorded as its error.

Webhooks and email are not done here: `outbound_request` turns them into a request the engine
sends after the run's transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from peewee import fn

from crm_tui.models import Deal, Lead, Pipeline, Stage, Tag, Task, User
from crm_tui.services import bulk, deals, notifications, permissions, records
from crm_tui.services.automation_match import OWNER_FIELD, render
from crm_tui.services.context import Context
from crm_tui.services.errors import ServiceError
from crm_tui.services.workspace_settings import get_setting, put_setting

_LINK = {"deal": "deal_id", "lead": "lead_id", "contact": "contact_id", "company": "company_id"}
WORK_HOUR = 9
"""Tasks due on a date field (not a time) fall due at this hour (UTC) of that day."""


@dataclass(frozen=True)
class Outbound:
    """A webhook or email to send once the run has committed."""

    kind: str
    action: Any
    to: list[str]
    subject: str = ""
    body: str = ""


def _user_id(login: str) -> int:
    found = User.select(User.id).where(fn.LOWER(User.login) == login.casefold(), User.active == True).scalar()
    if found is None:
        raise ServiceError(f"no active user {login!r}")
    return found


def _users(who: list[str], view: dict[str, Any]) -> list[int]:
    """User ids for "owner", "assignee", "managers" and "user:<login>" (others are skipped)."""
    found: list[int] = []
    for name in who:
        if name == "owner" and view.get("owner_user_id"):
            found.append(view["owner_user_id"])
        elif name == "assignee" and view.get("assignee_id"):
            found.append(view["assignee_id"])
        elif name == "managers":
            found += [uid for (uid,) in User.select(User.id).where(User.role == "manager", User.active == True).tuples()]
        elif name.startswith("user:"):
            found.append(_user_id(name[5:]))
    return list(dict.fromkeys(found))


def _by_hidden(entity: str, user_ids: list[int]) -> dict[frozenset[str], list[int]]:
    """The users grouped by the fields of `entity` hidden from them (a user who cannot sign in is left out)."""
    groups: dict[frozenset[str], list[int]] = {}
    for user_id in dict.fromkeys(user_ids):
        try:
            hidden = permissions.load(user_id).hidden(entity)
        except permissions.PermissionDenied:
            continue
        groups.setdefault(hidden, []).append(user_id)
    return groups


def _without(view: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """The record's view without the `hidden` fields (and their `_text` forms)."""
    return {key: value for key, value in view.items() if key.removesuffix("_text") not in hidden}


def _shared(entity: str, view: dict[str, Any]) -> dict[str, Any]:
    """The view a text every reader of the record sees is filled from: no field any role hides
    ({cost} in a note would show members what their role hides)."""
    return _without(view, permissions.hidden_from_any_role(entity))


def _next_in_turn(rule_id: int, logins: list[str]) -> int:
    """Round robin: the next of `logins` for this rule (the turn is kept in the workspace)."""
    key = f"automation.turn.{rule_id}"
    turn = int(get_setting(key, 0) or 0)
    put_setting(key, turn + 1)
    return _user_id(logins[turn % len(logins)])


def _least_loaded(entity: str, logins: list[str]) -> int:
    """The user (of `logins`, else every active user) with the fewest open records of `entity`."""
    users = User.select(User.id).where(User.active == True)
    if logins:
        users = users.where(fn.LOWER(User.login).in_([login.casefold() for login in logins]))
    candidates = [uid for (uid,) in users.order_by(User.id).tuples()]
    if not candidates:
        raise ServiceError("no active user to assign to")
    if entity == "deal":
        load = Deal.select(Deal.owner, fn.COUNT(Deal.id)).join(Stage, on=(Deal.stage == Stage.id)).where(
            Deal.deleted_at.is_null(), Stage.kind == "open"
        )
        load = load.group_by(Deal.owner)
    elif entity == "lead":
        load = Lead.select(Lead.owner, fn.COUNT(Lead.id)).where(Lead.deleted_at.is_null(), Lead.status.in_(["new", "working"]))
        load = load.group_by(Lead.owner)
    else:
        load = Task.select(Task.assignee, fn.COUNT(Task.id)).where(Task.done == False).group_by(Task.assignee)
    counts = dict(load.tuples())
    return min(candidates, key=lambda uid: (counts.get(uid, 0), uid))


def _due(action: Any, view: dict[str, Any], now: datetime) -> datetime:
    base: Any = now
    if action.due_from != "now":
        base = view.get(action.due_from)
        if base is None:
            raise ServiceError(f"the record has no {action.due_from} to count the due date from")
        if isinstance(base, str):
            base = datetime.fromisoformat(base)
        if isinstance(base, date) and not isinstance(base, datetime):
            base = datetime.combine(base, time(WORK_HOUR))
    return (base + timedelta(days=action.due_days)).replace(microsecond=0)


def _tag_id(ctx: Context, name: str, *, make: bool) -> int | None:
    found = Tag.select(Tag.id).where(fn.LOWER(Tag.name) == name.casefold()).scalar()
    if found is None and make:
        found = records.create(ctx, "tag", {"name": name}).id
    return found


def _stage_for(action: Any, view: dict[str, Any]) -> int:
    pipeline_id = Stage.select(Stage.pipeline).where(Stage.id == view.get("stage_id")).scalar()
    if action.pipeline:
        pipeline_id = Pipeline.select(Pipeline.id).where(
            fn.LOWER(Pipeline.name) == action.pipeline.casefold(), Pipeline.deleted_at.is_null()
        ).scalar()
        if pipeline_id is None:
            raise ServiceError(f"no pipeline {action.pipeline!r}")
    stage_id = Stage.select(Stage.id).where(
        Stage.pipeline == pipeline_id, fn.LOWER(Stage.name) == action.stage.casefold(), Stage.deleted_at.is_null()
    ).scalar()
    if stage_id is None:
        raise ServiceError(f"no stage {action.stage!r} in the deal's pipeline")
    return stage_id


def apply(ctx: Context, action: Any, view: dict[str, Any], *, rule_id: int, now: datetime, event_id: int | None) -> str:
    """Do one record action on the record `view` shows; returns what was done."""
    entity, record_id = view["entity"], view["id"]
    kind = action.type
    if kind == "create_task":
        assignee: int | None
        if action.assignee == "owner":
            assignee = view.get("owner_user_id")
        elif action.assignee == "round_robin":
            assignee = _next_in_turn(rule_id, action.users) if action.users else None
        elif action.assignee == "unassigned":
            assignee = None
        else:
            assignee = _user_id(action.assignee.removeprefix("user:"))
        due = _due(action, view, now)
        task = records.create(
            ctx,
            "task",
            {
                "title": render(action.title, _shared(entity, view))[:200] or "Follow up",
                _LINK[entity]: record_id,
                "due_at": due,
                "reminders": action.reminders,
                "assignee_id": assignee,
                "created_by_id": ctx.user_id,
            },
        )
        return f"created task #{task.id} {task.title!r} due {due:%Y-%m-%d %H:%M}"
    if kind == "assign":
        if action.to == "user":
            user_id = _user_id(action.users[0])
        elif action.to == "round_robin":
            user_id = _next_in_turn(rule_id, action.users)
        else:
            user_id = _least_loaded(entity, action.users)
        field = OWNER_FIELD.get(entity, "owner_id")
        records.update(ctx, entity, record_id, {field: user_id}, version=view["version"])
        login = User.select(User.login).where(User.id == user_id).scalar()
        return f"assigned to {login}"
    if kind == "set_field":
        if action.field.startswith("custom."):
            change: dict[str, Any] = {"custom": {action.field[7:]: action.value}}
        else:
            change = {action.field: action.value}
        records.update(ctx, entity, record_id, change, version=view["version"])
        return f"set {action.field} to {action.value!r}"
    if kind in ("add_tag", "remove_tag"):
        if entity not in _LINK:
            raise ServiceError(f"a {entity} has no tags")
        tag_id = _tag_id(ctx, action.tag, make=kind == "add_tag")
        changed = bulk.tag(ctx, entity, [record_id], tag_id, add=kind == "add_tag") if tag_id else 0
        verb = "tagged" if kind == "add_tag" else "untagged"
        return f"{verb} {action.tag!r}" if changed else f"already {verb} {action.tag!r}"
    if kind == "move_stage":
        stage_id = _stage_for(action, view)
        if stage_id == view.get("stage_id"):
            return f"already in {action.stage!r}"
        deals.move_deal(ctx, record_id, stage_id, from_stage_id=view["stage_id"], lost_reason=action.lost_reason)
        return f"moved to {action.stage!r}"
    if kind == "add_note":
        if entity not in _LINK:
            raise ServiceError(f"a note cannot be added to a {entity}")
        body = render(action.body, _shared(entity, view))
        note = records.create(ctx, "note", {"body": body, _LINK[entity]: record_id, "author_id": ctx.user_id})
        return f"added note #{note.id}"
    if kind == "notify":
        sent = 0
        # Each reader's text leaves out the fields their role may not see ({cost} for a member).
        for hidden, users in _by_hidden(entity, _users(action.to, view)).items():
            seen = _without(view, hidden)
            sent += notifications.send(
                ctx,
                users,
                render(action.title, seen),
                body=render(action.body, seen) if action.body else None,
                entity=entity,
                record_id=record_id,
                event_id=event_id,
            )
        return f"notified {sent} user{'s' if sent != 1 else ''}"
    raise ServiceError(f"unknown action {kind!r}")


def outbound_request(action: Any, view: dict[str, Any]) -> Outbound:
    """The webhook or email `action` will send for the record `view` shows."""
    if action.type == "webhook":
        return Outbound("webhook", action, [str(action.url)])
    addresses: list[str] = []
    readers: list[int] = []
    for who in action.to:
        if "@" in who and not who.startswith("user:"):
            addresses.append(who)  # an address the admin wrote into the rule: sent as written
            continue
        for user_id in _users([who], view):
            email = User.select(User.email).where(User.id == user_id).scalar()
            if email:
                addresses.append(email)
                readers.append(user_id)
    # One e-mail for every reader: it leaves out what any of their roles hides ({cost} for a member).
    hidden = frozenset().union(*_by_hidden(view.get("entity", ""), readers)) if readers else frozenset()
    seen = _without(view, hidden)
    return Outbound("email", action, list(dict.fromkeys(addresses)), render(action.subject, seen), render(action.body, seen))
