"""What a rule sees and asks: the event-log rows of one save grouped into a Happening, whether a
trigger matches it, the record as a flat view (names instead of ids), conditions on that view, and
the `{field}` templates of titles and bodies."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm_tui.models import (
    TAG_LINKS,
    Company,
    Event,
    ImportBatch,
    Pipeline,
    Stage,
    Tag,
    User,
)
from crm_tui.money import format_money
from crm_tui.schemas.automation import Condition
from crm_tui.services import records
from crm_tui.services.entities import spec_for
from crm_tui.services.errors import NotFound

OWNER_FIELD = {"task": "assignee_id"}
"""The field that says who a record belongs to (owner_id unless named here)."""


@dataclass
class Happening:
    """One save of one record, from its event-log rows (they share a transaction token)."""

    event_id: int
    """The first row's id: with the rule, the key that makes a run happen once."""
    entity: str
    record_id: int
    txn: str
    at: datetime
    user_id: int | None
    kinds: set[str] = field(default_factory=set)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    """What a created record was created with, or what a deleted one held."""


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def happenings(after_id: int, limit: int) -> tuple[list[Happening], int]:
    """Saves whose event-log rows come after `after_id` (at most `limit` rows read), and the id of
    the last row they cover. A save whose rows the limit cut in two is left for the next read."""
    rows = list(
        Event.select(Event.id, Event.at, Event.user, Event.kind, Event.entity, Event.record_id, Event.field, Event.old, Event.new, Event.txn)
        .where(Event.id > after_id)
        .order_by(Event.id)
        .limit(limit)
        .tuples()
    )
    if len(rows) == limit and rows[0][9] != rows[-1][9]:
        last_txn = rows[-1][9]
        while rows and rows[-1][9] == last_txn:
            rows.pop()
    grouped: dict[tuple[str, str, int], Happening] = {}
    for event_id, at, user_id, kind, entity, record_id, name, old, new, txn in rows:
        key = (txn or f"#{event_id}", entity, record_id)
        item = grouped.get(key)
        if item is None:
            item = grouped[key] = Happening(event_id, entity, record_id, txn, at, user_id)
        item.kinds.add(kind)
        if kind in ("record.created", "record.deleted"):
            item.values = _json(new if kind == "record.created" else old) or {}
        elif name is not None:
            item.changes[name] = (_json(old), _json(new))
    return list(grouped.values()), (rows[-1][0] if rows else after_id)


IMPORT_RULES_ON = "import.automations"
"""The event an import logs in its own transaction when it asked for the rules to run on its records."""


def prompted(items: list[Happening]) -> list[Happening]:
    """The happenings rules react to: an import's are left out, unless it asked for the rules."""
    txns = list({item.txn for item in items if item.txn})
    if not txns:
        return items
    imports = {txn for (txn,) in ImportBatch.select(ImportBatch.txn).where(ImportBatch.txn.in_(txns)).tuples()}
    if imports:
        asked = Event.select(Event.txn).where(Event.kind == IMPORT_RULES_ON, Event.txn.in_(list(imports)))
        imports -= {txn for (txn,) in asked.tuples()}
    return [item for item in items if item.txn not in imports] if imports else items


def _stage_name(stage_id: Any) -> str | None:
    return Stage.select(Stage.name).where(Stage.id == stage_id).scalar() if stage_id else None


def trigger_matches(trigger: Any, event: Happening) -> bool:
    """Whether `event` fires an event trigger (time-based triggers never match an event)."""
    kind = trigger.type
    if kind == "stage_changed":
        if event.entity != "deal" or "deal.stage_changed" not in event.kinds:
            return False
        old, new = event.changes.get("stage_id", (None, None))
        stage = Stage.get_or_none(Stage.id == new)
        if stage is None:
            return False
        if trigger.to_kind and stage.kind != trigger.to_kind:
            return False
        if trigger.to_stage and stage.name.casefold() != trigger.to_stage.casefold():
            return False
        if trigger.from_stage and (_stage_name(old) or "").casefold() != trigger.from_stage.casefold():
            return False
        if trigger.pipeline:
            name = Pipeline.select(Pipeline.name).where(Pipeline.id == stage.pipeline_id).scalar() or ""
            return name.casefold() == trigger.pipeline.casefold()
        return True
    if getattr(trigger, "entity", None) != event.entity:
        return False
    created, deleted = "record.created" in event.kinds, "record.deleted" in event.kinds
    if kind == "record_created":
        return created
    if kind == "record_deleted":
        return deleted
    if created or deleted:
        if kind == "assigned" and created:
            return event.values.get(OWNER_FIELD.get(event.entity, "owner_id")) is not None
        return False
    if kind == "record_updated":
        return bool(event.changes)
    if kind == "assigned":
        owner = OWNER_FIELD.get(event.entity, "owner_id")
        return owner in event.changes and event.changes[owner][1] is not None
    if kind == "field_changed":
        name = {"stage": "stage_id", "owner": "owner_id", "pipeline": "pipeline_id"}.get(trigger.field, trigger.field)
        if name not in event.changes:
            return False
        if trigger.to is None:
            return True
        new = event.changes[name][1]
        shown = {"stage_id": _stage_name, "owner_id": _login, "tags": _tag_name}.get(name, lambda v: v)(new)
        return _same(shown, trigger.to)
    return False


def _tag_name(tag_id: Any) -> str | None:
    return Tag.select(Tag.name).where(Tag.id == tag_id).scalar() if tag_id else None


def _login(user_id: Any) -> str | None:
    return User.select(User.login).where(User.id == user_id).scalar() if user_id else None


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) and isinstance(wanted, str):
        return value.casefold() == wanted.casefold()
    if isinstance(value, (int, float)) and isinstance(wanted, (int, float)) and not isinstance(value, bool):
        return value == wanted
    return str(value) == str(wanted)


def record_view(entity: str, record_id: int, fallback: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The record as rules see it: its fields, `custom.<key>`, and `owner` (login), `owner_name`,
    `pipeline`, `stage`, `stage_kind`, `company`, `tags` (names), `amount_text` and `cost_text`, `record`
    (its title). `fallback` (a deleted record's last values) is used when it no longer exists;
    None when neither is there."""
    try:
        snap = records.get(entity, record_id)
        values, title, version = dict(snap.values), snap.title, snap.version
        values.update({f"custom.{key}": value for key, value in snap.custom.items()})
    except NotFound:
        if fallback is None:
            return None
        values, title, version = dict(fallback), spec_for(entity).title(fallback), None
    view: dict[str, Any] = {**values, "id": record_id, "entity": entity, "record": title, "version": version}
    view.setdefault("title", title)
    owner_id = values.get(OWNER_FIELD.get(entity, "owner_id"))
    owner = User.get_or_none(User.id == owner_id) if owner_id else None
    view["owner_user_id"] = owner_id
    view["owner"] = owner.login if owner else None
    view["owner_name"] = owner.name if owner else ""
    if values.get("stage_id"):
        stage = Stage.get_or_none(Stage.id == values["stage_id"])
        if stage is not None:
            view["stage"], view["stage_kind"] = stage.name, stage.kind
            view["pipeline"] = Pipeline.select(Pipeline.name).where(Pipeline.id == stage.pipeline_id).scalar()
    if values.get("company_id"):
        view["company"] = Company.select(Company.name).where(Company.id == values["company_id"]).scalar()
    view.setdefault("company", "")
    if entity == "contact" or entity == "lead":
        view["name"] = title
    for money in ("amount", "cost"):  # templates show money as money; conditions compare minor units
        if values.get(money) is not None and values.get("currency"):
            view[f"{money}_text"] = format_money(values[money], values["currency"])
    if entity in TAG_LINKS:
        link, column = TAG_LINKS[entity]
        view["tags"] = [
            name for (name,) in Tag.select(Tag.name).join(link, on=(link.tag == Tag.id)).where(getattr(link, column) == record_id).tuples()
        ]
    return view


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _comparable(value: Any, wanted: Any) -> tuple[Any, Any]:
    if isinstance(value, (date, datetime)):
        return value.isoformat()[: len(str(wanted))], str(wanted)
    left, right = _number(value), _number(wanted)
    if left is not None and right is not None:
        return left, right
    return str(value or "").casefold(), str(wanted).casefold()


def condition_holds(condition: Condition, view: dict[str, Any]) -> bool:
    """Whether the record (as `record_view` shows it) meets one condition."""
    name = {"pipeline_id": "pipeline", "stage_id": "stage", "owner_id": "owner"}.get(condition.field, condition.field)
    value = view.get(name)
    op, wanted = condition.op, condition.value
    if op == "empty":
        return value in (None, "", [])
    if op == "not_empty":
        return value not in (None, "", [])
    if op in ("has", "lacks"):
        tagged = str(wanted).casefold() in {tag.casefold() for tag in view.get("tags", [])}
        return tagged == (op == "has")
    if op in ("in", "not_in"):
        inside = any(_same(value, item) for item in wanted)
        return inside == (op == "in")
    if op == "contains":
        if isinstance(value, list):
            return any(_same(item, wanted) for item in value)
        return str(wanted).casefold() in str(value or "").casefold()
    if op in ("eq", "ne"):
        return (value is not None and _same(*_comparable(value, wanted))) == (op == "eq")
    if value is None:
        return False
    left, right = _comparable(value, wanted)
    if type(left) is not type(right):
        return False
    return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]


def conditions_hold(conditions: list[Condition], view: dict[str, Any]) -> bool:
    """All conditions hold (an empty list always does)."""
    return all(condition_holds(condition, view) for condition in conditions)


_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


def render(template: str, view: dict[str, Any]) -> str:
    """`template` with each `{name}` replaced by the record's value (empty if it has none).

    Only plain names are looked up (no attribute access or format specs, unlike str.format, so a
    template cannot reach into Python objects); `{amount}` and `{cost}` are the formatted money.
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = view.get(f"{name}_text") if f"{name}_text" in view else view.get(name)
        if isinstance(found, list):
            return ", ".join(str(item) for item in found)
        if isinstance(found, Decimal):
            return format(found, "f")  # a formula's -4E+2 reads -400
        return "" if found is None else str(found)

    return _PLACEHOLDER.sub(value, template)
