"""Consistent field formats: the workspace's default country for phones, and the one-off
"normalise" action that brings stored companies, contacts and leads to the formats saving gives.

The rules are the input types' own (crm_tui.schemas.fields), so a normalised value is exactly what
saving it again would store: emails lower-cased, web addresses with a scheme, domains bare and
lower-cased, phones in E.164 when a default country is set and phonenumbers reads them as valid
there, surrounding whitespace trimmed from every text field. A value those rules reject (an
unparsable phone, a malformed email) is only trimmed: the action never makes data invalid or
throws it away. Custom fields of type email, phone and URL are included.

Records are read in chunks of plain tuples; each chunk that changes is one transaction that
updates only the rows that change (`WHERE id = ? AND version = ?`, a new version; a row someone
saved meanwhile is skipped and counted), writes one "record.updated" event-log row per field and
keeps the search index and computed fields in step. Converted leads are left as they were, as
record updates leave them. No bus event is published per record: other sessions see the change in
the event log, and a screen that started the action refreshes when it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from crm_tui.models import Company, Contact, CustomValue, Lead
from crm_tui.schemas import fields as types
from crm_tui.services import computed_fields, custom_fields, search_index, validation
from crm_tui.services.context import Context
from crm_tui.services.errors import ServiceError
from crm_tui.services.sql_util import live_chunks
from crm_tui.services.unit import Txn, write
from crm_tui.services.validation import DEFAULT_COUNTRY
from crm_tui.services.workspace_settings import put_setting

CHUNK = 500
EXAMPLES = 10

_MODELS = {"company": Company, "contact": Contact, "lead": Lead}
_PEOPLE = {"first_name": "text", "last_name": "text", "email": "email", "phone": "phone", "title": "text", "source": "text"}
RULES: dict[str, dict[str, str]] = {
    "company": {"name": "text", "domain": "domain", "website": "url", "phone": "phone", "industry": "text", "address": "text"},
    "contact": {**_PEOPLE, "address": "text"},
    "lead": {**_PEOPLE, "company_name": "text"},
}
"""The standard fields normalised, per record type, and the rule each follows."""
_ADAPTERS = {
    "email": TypeAdapter(types.Email),
    "phone": TypeAdapter(types.Phone),
    "url": TypeAdapter(types.Url),
    "domain": TypeAdapter(types.Domain),
}
CUSTOM_TYPES = ("email", "phone", "url")


@dataclass(frozen=True)
class Change:
    """One field of one record, before and after."""

    entity: str
    record_id: int
    field: str
    old: Any
    new: Any


@dataclass
class NormaliseReport:
    """What the action changed (or, in a dry run, would change)."""

    dry_run: bool
    records: int = 0
    """Records changed."""
    changes: dict[str, int] = field(default_factory=dict)
    """Changes per "<entity>.<field>" ("contact.email", "contact.custom.work_phone")."""
    examples: list[Change] = field(default_factory=list)
    """The first few changes."""
    skipped: int = 0
    """Records saved by someone else while the action ran (left for the next run)."""


def default_country() -> str | None:
    """The workspace's default country for phones (ISO 3166 alpha-2), or None."""
    return validation.default_country()


def set_default_country(ctx: Context, code: str | None) -> str | None:
    """Set (or with None / "" clear) the default country; returns the stored code."""
    import phonenumbers

    wanted = (code or "").strip().upper() or None
    if wanted is not None and wanted not in phonenumbers.SUPPORTED_REGIONS:
        raise ServiceError(f"{code!r} is not a country code phone numbers are known for (e.g. US, GB, DE)")
    with write(ctx) as tx:
        old = default_country()
        if old != wanted:
            put_setting(DEFAULT_COUNTRY, wanted)
            tx.log("setting.updated", "workspace", 0, field=DEFAULT_COUNTRY, old=old, new=wanted)
    return wanted


def clean(kind: str, value: Any, country: str | None) -> Any:
    """`value` as the `kind` rule (text, email, phone, url, domain) stores it; a value the rule
    rejects is only trimmed."""
    if not isinstance(value, str) or not value.strip():
        return value
    trimmed = value.strip()
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        return trimmed
    try:
        return adapter.validate_python(trimmed, context={DEFAULT_COUNTRY: country}) or trimmed
    except ValidationError:
        return trimmed


def _live(model: Any, entity: str) -> Any:
    live = model.deleted_at.is_null()
    return live & model.converted_at.is_null() if entity == "lead" else live


def _diffs(entity: str, rows: list[tuple], defs: list[custom_fields.FieldDef], country: str | None) -> dict[int, dict]:
    """Record id -> {field: (old, new)} (custom fields as "custom.<key>": (row id, old, new))."""
    names = list(RULES[entity])
    found: dict[int, dict] = {}
    for record_id, _, *values in rows:
        for name, old in zip(names, values, strict=True):
            new = clean(RULES[entity][name], old, country)
            if new != old:
                found.setdefault(record_id, {})[name] = (old, new)
    if defs:
        by_id = {fd.id: fd for fd in defs}
        query = CustomValue.select(CustomValue.id, CustomValue.field, CustomValue.record_id, CustomValue.text).where(
            CustomValue.field.in_(list(by_id)), CustomValue.record_id.in_([row[0] for row in rows])
        )
        for row_id, field_id, record_id, old in query.tuples():
            new = clean(by_id[field_id].type, old, country)
            if new != old:
                found.setdefault(record_id, {})[f"custom.{by_id[field_id].key}"] = (old, new, row_id)
    return found


def _write(tx: Txn, entity: str, versions: dict[int, int], diffs: dict[int, dict]) -> list[int]:
    """Store the changes; returns the ids written (a record at another version is skipped)."""
    model = _MODELS[entity]
    written = []
    for record_id, changes in diffs.items():
        standard = {getattr(model, name): change[1] for name, change in changes.items() if not name.startswith("custom.")}
        updated = (
            model.update({**standard, model.version: model.version + 1, model.updated_at: tx.now})
            .where(model.id == record_id, model.version == versions[record_id])
            .execute()
        )
        if not updated:
            continue
        for name, (old, new, *row) in changes.items():
            if row:
                CustomValue.update(text=new).where(CustomValue.id == row[0]).execute()
            tx.log("record.updated", entity, record_id, field=name, old=old, new=new)
        search_index.sync(entity, record_id)
        written.append(record_id)
    computed_fields.refresh(entity, written)
    computed_fields.follow_up(entity, written)
    return written


def normalise(
    ctx: Context,
    entity: str | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> NormaliseReport:
    """Bring the stored values of `entity` (None: companies, contacts and leads) to the formats
    saving gives; `dry_run` only reports what would change."""
    entities = [entity] if entity is not None else list(_MODELS)
    if any(name not in _MODELS for name in entities):
        raise ServiceError(f"normalise works on {', '.join(_MODELS)}, not {entity!r}")
    country = default_country()
    report = NormaliseReport(dry_run=dry_run)
    total = sum(_MODELS[name].select().where(_live(_MODELS[name], name)).count() for name in entities)
    done = 0
    for name in entities:
        model = _MODELS[name]
        defs = [fd for fd in custom_fields.definitions(name) if fd.type in CUSTOM_TYPES]
        columns = [model.version, *(getattr(model, column) for column in RULES[name])]
        unconverted = model.converted_at.is_null() if name == "lead" else None  # converted leads stay as they were
        for rows in live_chunks(model, columns, where=unconverted, size=CHUNK):
            diffs = _diffs(name, rows, defs, country)
            if diffs and not dry_run:
                with write(ctx) as tx:
                    written = set(_write(tx, name, {row[0]: row[1] for row in rows}, diffs))
                report.skipped += len(diffs) - len(written)
                diffs = {record_id: changes for record_id, changes in diffs.items() if record_id in written}
            for record_id, changes in diffs.items():
                report.records += 1
                for key, (old, new, *_) in changes.items():
                    report.changes[f"{name}.{key}"] = report.changes.get(f"{name}.{key}", 0) + 1
                    if len(report.examples) < EXAMPLES:
                        report.examples.append(Change(name, record_id, key, old, new))
            done += len(rows)
            if progress is not None:
                progress(min(done, total), total)
    return report
