"""Automation rules as stored: list, read, save (validated), enable and disable, delete; the
built-in rules every workspace starts with (disabled, ready to enable); TOML export and import.

A rule enabled reacts only to events after the moment it was enabled (`fires_after`, the newest
event-log id then), so enabling a rule never replays months of history at once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import tomli_w
from peewee import fn
from pydantic import ValidationError

from crm_tui.models import AutomationRule, AutomationRun
from crm_tui.schemas.automation import Rule
from crm_tui.services import records
from crm_tui.services.changes import latest_event_id
from crm_tui.services.context import Context
from crm_tui.services.errors import NotFound, ServiceError, ValidationFailed
from crm_tui.services.unit import write
from crm_tui.services.workspace_settings import get_setting, put_setting

BUILT_INS: list[dict[str, Any]] = [
    {
        "name": "Assign new leads round robin",
        "trigger": {"type": "record_created", "entity": "lead"},
        "conditions": [{"field": "owner", "op": "empty"}],
        "actions": [{"type": "assign", "to": "least_loaded"}],
    },
    {
        "name": "Follow up when a proposal is sent",
        "trigger": {"type": "stage_changed", "to_stage": "Proposal Sent"},
        "actions": [{"type": "create_task", "title": "Follow up on the proposal for {title}", "due_days": 3, "reminders": [60]}],
    },
    {
        "name": "Tell the owner and managers when a deal is won",
        "trigger": {"type": "stage_changed", "to_kind": "won"},
        "actions": [{"type": "notify", "to": ["owner", "managers"], "title": "Won: {title} ({amount})"}],
    },
    {
        "name": "Warn the owner about a deal idle for 7 days",
        "trigger": {"type": "deal_idle", "days": 7},
        "actions": [{"type": "notify", "to": ["owner"], "title": "{title} has been quiet for 7 days"}],
    },
    {
        "name": "Alert when a deal rots in its stage",
        "trigger": {"type": "deal_rotting"},
        "actions": [{"type": "notify", "to": ["owner"], "title": "{title} has been in {stage} too long"}],
    },
    {
        "name": "Kickoff tasks when a deal is won",
        "trigger": {"type": "stage_changed", "to_kind": "won"},
        "actions": [
            {"type": "create_task", "title": "Kickoff call for {title}", "due_days": 2},
            {"type": "create_task", "title": "Send the welcome pack for {title}", "due_days": 1},
            {"type": "create_task", "title": "Hand {title} over to delivery", "due_days": 7},
        ],
    },
]
"""The rules the sales playbooks describe, installed disabled in every workspace."""

_BUILT_INS_KEY = "automation.built_ins"


@dataclass(frozen=True)
class RuleRow:
    """A rule as the automations screen lists it."""

    id: int
    version: int
    name: str
    enabled: bool
    rule: Rule
    runs: int
    last_run: datetime | None


def parse(data: dict[str, Any]) -> Rule:
    """A rule from plain data, or ValidationFailed naming each wrong part."""
    try:
        return Rule.model_validate(data)
    except ValidationError as error:
        problems = {
            ".".join(str(p) for p in item["loc"]) or "rule": item["msg"].removeprefix("Value error, ")
            for item in error.errors()
        }
        raise ValidationFailed("Automation rule", problems) from None


def as_data(rule: Rule) -> dict[str, Any]:
    """A rule as plain data (what TOML and the database hold), defaults left out."""
    return {"name": rule.name, "enabled": rule.enabled} | rule.model_dump(mode="json", exclude_defaults=True)


def _stored(row: AutomationRule) -> Rule:
    return parse(
        {"name": row.name, "enabled": row.enabled, "trigger": row.trigger, "conditions": row.conditions, "actions": row.actions}
    )


def _rows(query) -> list[RuleRow]:
    runs = {
        rule_id: (count, last)
        for rule_id, count, last in AutomationRun.select(
            AutomationRun.rule, fn.COUNT(AutomationRun.id), fn.MAX(AutomationRun.started_at)
        )
        .where(AutomationRun.rule.in_(query.select(AutomationRule.id)))
        .group_by(AutomationRun.rule)
        .tuples()
    }
    result = []
    for row in query:
        count, last = runs.get(row.id, (0, None))
        last = AutomationRun.started_at.python_value(last) if isinstance(last, str) else last
        result.append(RuleRow(row.id, row.version, row.name, row.enabled, _stored(row), count, last))
    return result


def list_rules() -> list[RuleRow]:
    """Every rule in order, with how often it ran and when last."""
    return _rows(AutomationRule.select().order_by(AutomationRule.position, AutomationRule.id))


def get_rule(rule_id: int) -> RuleRow:
    """One rule; NotFound if there is none with that id."""
    found = _rows(AutomationRule.select().where(AutomationRule.id == rule_id))
    if not found:
        raise NotFound("Automation rule", rule_id)
    return found[0]


def enabled_rules() -> list[tuple[int, Rule, int]]:
    """(id, rule, fires_after) of every enabled rule, in order."""
    rows = AutomationRule.select().where(AutomationRule.enabled == True).order_by(AutomationRule.position, AutomationRule.id)
    return [(row.id, _stored(row), row.fires_after) for row in rows]


def save_rule(ctx: Context, data: dict[str, Any] | Rule, *, rule_id: int | None = None, version: int | None = None) -> int:
    """Create a rule (no `rule_id`) or replace the one read at `version`; returns its id.

    The whole rule is validated first; a name another rule has is refused.
    """
    rule = data if isinstance(data, Rule) else parse(data)
    clash = AutomationRule.select(AutomationRule.id).where(AutomationRule.name == rule.name)
    if rule_id is not None:
        clash = clash.where(AutomationRule.id != rule_id)
    if clash.exists():
        raise ValidationFailed("Automation rule", {"name": f"another rule is called {rule.name!r}"})
    stored = as_data(rule)
    values = {key: stored.get(key, default) for key, default in (("trigger", {}), ("conditions", []), ("actions", []))}
    with write(ctx):
        if rule_id is None:
            position = (AutomationRule.select(AutomationRule.position).order_by(AutomationRule.position.desc()).scalar() or 0) + 1
            snap = records.create(
                ctx,
                "automation_rule",
                {"name": rule.name, "enabled": rule.enabled, **values, "position": position, "created_by_id": ctx.user_id},
            )
            was_enabled = False
        else:
            was_enabled = bool(AutomationRule.select(AutomationRule.enabled).where(AutomationRule.id == rule_id).scalar())
            snap = records.update(
                ctx, "automation_rule", rule_id, {"name": rule.name, "enabled": rule.enabled, **values}, version=version or 0
            )
        if rule.enabled and not was_enabled:
            AutomationRule.update(fires_after=latest_event_id()).where(AutomationRule.id == snap.id).execute()
        return snap.id


def set_enabled(ctx: Context, rule_id: int, enabled: bool, *, version: int) -> None:
    """Switch a rule on (it reacts to events from now on) or off."""
    row = get_rule(rule_id)
    save_rule(ctx, row.rule.model_copy(update={"enabled": enabled}), rule_id=rule_id, version=version)


def delete_rule(ctx: Context, rule_id: int, *, version: int) -> None:
    """Delete a rule and its run log."""
    records.delete(ctx, "automation_rule", rule_id, version=version)


def ensure_built_ins(ctx: Context) -> int:
    """Install the built-in rules (disabled) once per workspace; returns how many were added.

    They are part of the product, not anyone's change, so they are not in the event log. A
    built-in the team deleted stays deleted: the workspace remembers it was given them.
    """
    if get_setting(_BUILT_INS_KEY):
        return 0
    added = 0
    with write(ctx):
        names = {name for (name,) in AutomationRule.select(AutomationRule.name).tuples()}
        position = AutomationRule.select(AutomationRule.position).order_by(AutomationRule.position.desc()).scalar() or 0
        for data in BUILT_INS:
            if data["name"] in names:
                continue
            stored = as_data(parse(data))
            position += 1
            AutomationRule.insert(
                name=data["name"], enabled=False, trigger=stored["trigger"], conditions=stored.get("conditions", []),
                actions=stored["actions"], position=position,
            ).execute()  # fmt: skip
            added += 1
        put_setting(_BUILT_INS_KEY, True)
    return added


def export_toml(rule_ids: list[int] | None = None) -> str:
    """The rules (all, or `rule_ids`) as a TOML document of [[rule]] tables."""
    rows = [row for row in list_rules() if rule_ids is None or row.id in rule_ids]
    header = "# crm-tui automation rules: `crm automations import FILE` loads them (matched by name).\n"
    return header + tomli_w.dumps({"rule": [as_data(row.rule) for row in rows]})


@dataclass(frozen=True)
class ImportReport:
    """What `import_toml` did."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]


def import_toml(ctx: Context, text: str) -> ImportReport:
    """Load [[rule]] tables: a rule whose name exists replaces it, others are added.

    All or nothing: every rule is validated before any is stored, and one transaction stores them.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ServiceError(f"not valid TOML: {error}") from None
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not tables:
        raise ServiceError("no [[rule]] tables in the file")
    rules: list[Rule] = []
    for index, table in enumerate(tables, 1):
        try:
            rules.append(parse(table))
        except ValidationFailed as error:
            raise ServiceError(f"rule {index} ({table.get('name', '?')}): {error}") from None
    names = [rule.name for rule in rules]
    if len(set(names)) != len(names):
        raise ServiceError("two rules in the file have the same name")
    created, updated, unchanged = [], [], []
    with write(ctx):
        existing = {row.name: row for row in list_rules()}
        for rule in rules:
            old = existing.get(rule.name)
            if old is None:
                save_rule(ctx, rule)
                created.append(rule.name)
            elif as_data(old.rule) == as_data(rule):
                unchanged.append(rule.name)
            else:
                save_rule(ctx, rule, rule_id=old.id, version=old.version)
                updated.append(rule.name)
    return ImportReport(created, updated, unchanged)
