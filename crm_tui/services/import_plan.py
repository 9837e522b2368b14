"""Planning an import: what each row of the file would do — create, update, skip or reject, with
the reason and the column — without writing anything. The dry run is this plan; the import writes
it.

Duplicates are found on the chosen keys (e-mail, normalised phone, name, company domain) against
the live records and against the rows before in the same file, a chunk of rows at a time with
indexed IN queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from crm_tui.models import Company, Contact, Lead
from crm_tui.services import records
from crm_tui.services.dedupe import phone_key
from crm_tui.services.entities import spec_for
from crm_tui.services.errors import NotFound
from crm_tui.services.import_convert import Lookups, Pending, RowError, clean, company_key, fold
from crm_tui.services.import_read import Row
from crm_tui.services.import_rows import Converted, StageChoices, convert
from crm_tui.services.sql_util import live_in
from crm_tui.services.validation import context_for, field_errors

MATCH_KEYS = {"company": ("domain", "name", "phone"), "contact": ("email", "phone", "name"), "lead": ("email", "phone", "name")}
"""What duplicates may be matched on, per record type."""
DEFAULT_MATCH = {"company": ("domain", "name"), "contact": ("email",), "lead": ("email",)}
ON_DUPLICATE = ("skip", "fill", "overwrite", "create")
CHUNK = 1000
_MODELS = {"company": Company, "contact": Contact, "lead": Lead}
_FIELD_TARGETS = {"company_id": "company", "contact_id": "contact", "stage_id": "stage", "owner_id": "owner",
                  "assignee_id": "assignee", "author_id": "author", "deal_id": "deal", "pipeline_id": "pipeline"}  # fmt: skip


@dataclass
class Planned:
    """What one row does."""

    line: int
    cells: list[str]
    action: str = "create"  # create, update, skip or reject
    values: dict[str, Any] = field(default_factory=dict)
    """The fields the row gives (validated); for an update, the changes."""
    defaults: dict[str, Any] = field(default_factory=dict)
    """The other fields of a new record, as validation filled them in."""
    custom: dict[str, Any] = field(default_factory=dict)
    tags: list[int | Pending] = field(default_factory=list)
    existing: int | None = None
    version: int = 0
    reason: str = ""
    column: str = ""
    notices: list[str] = field(default_factory=list)
    refs: list[Pending] = field(default_factory=list)
    """The records to create before this row's (kept up to date by the planner)."""
    dates: dict[str, datetime] = field(default_factory=dict)
    """A new deal's creation and closing times from the file (Converted.dates)."""

def _refs(values: dict[str, Any], tags: list[int | Pending]) -> list[Pending]:
    found = []
    for value in values.values():
        if isinstance(value, Pending):
            found.append(value)
            found += [inner for _, inner in value.data if isinstance(inner, Pending)]
    return found + [tag for tag in tags if isinstance(tag, Pending)]


@dataclass(frozen=True)
class PlanOptions:
    """How rows become records: the mapping, what counts as a duplicate and what to do with one."""

    entity: str
    mapping: dict[int, str]
    on_duplicate: str = "skip"
    match_on: tuple[str, ...] = ()
    stages: StageChoices = field(default_factory=StageChoices)
    header: tuple[str, ...] = ()

    def keys(self) -> tuple[str, ...]:
        """The duplicate keys in use (the record type's defaults unless chosen)."""
        if self.entity not in MATCH_KEYS or self.on_duplicate == "create":
            return ()
        return tuple(key for key in (self.match_on or DEFAULT_MATCH[self.entity]) if key in MATCH_KEYS[self.entity])

    def column_of(self, target: str) -> str:
        """The header of the column mapped to `target` ("" when none is)."""
        for index, key in self.mapping.items():
            if key == target and index < len(self.header):
                return self.header[index]
        return ""


def _dupe_keys(entity: str, values: dict[str, Any], keys: Iterable[str]) -> list[tuple[str, str]]:
    found = []
    for key in keys:
        if key == "email" and values.get("email"):
            found.append(("email", values["email"].lower()))
        elif key == "domain" and values.get("domain"):
            found.append(("domain", values["domain"].lower()))
        elif key == "phone" and (digits := phone_key(values.get("phone"))):
            found.append(("phone", digits))
        elif key == "name":
            name = values.get("name") if entity == "company" else f"{values.get('first_name') or ''} {values.get('last_name') or ''}"
            if name and name.strip():
                found.append(("name", company_key(name) if entity == "company" else fold(name)))
    return found


class Planner:
    """Plans rows chunk by chunk, remembering what earlier rows will create."""

    def __init__(self, options: PlanOptions, lookups: Lookups) -> None:
        self.options = options
        self.lookups = lookups
        self.spec = spec_for(options.entity)
        self.keys = options.keys()
        self.seen: dict[tuple[str, str], Planned] = {}
        self.context = context_for(self.spec.schema)  # phones in E.164 when the workspace has a country
        self._phones: dict[str, int] | None = None

    def plan(self, rows: list[Row], progress: Callable[[int, int], None] | None = None) -> list[Planned]:
        """Every row's plan, in file order."""
        planned: list[Planned] = []
        for start in range(0, len(rows), CHUNK):
            chunk = [self._row(row) for row in rows[start : start + CHUNK]]
            self._duplicates([item for item in chunk if item.action == "create"])
            planned.extend(chunk)
            if progress is not None:
                progress(min(start + CHUNK, len(rows)), len(rows))
        return planned

    def _row(self, row: Row) -> Planned:
        item = Planned(row.line, row.cells)
        width = len(self.options.header)
        if len(row.cells) != width:
            return self._reject(item, "", f"has {len(row.cells)} cells where the header has {width}")
        cells = {key: clean(row.cells[index]) for index, key in self.options.mapping.items() if key}
        try:
            converted = convert(self.options.entity, cells, self.lookups, self.options.stages)
        except RowError as error:
            return self._reject(item, error.key, str(error))
        return self._validated(item, converted)

    def _validated(self, item: Planned, converted: Converted) -> Planned:
        refs = {name: value for name, value in converted.values.items() if isinstance(value, Pending)}
        data = {name: (None if isinstance(value, Pending) else value) for name, value in converted.values.items()}
        if isinstance(converted.values.get("stage_id"), Pending):
            data["stage_id"] = 1  # stands for the stage the import adds; any id passes the type check
        try:
            values = self.spec.schema.model_validate(data, context=self.context).model_dump()
        except ValidationError as error:
            errors = field_errors(error, self.spec.label)
            first = next(iter(errors))
            self._reject(item, _FIELD_TARGETS.get(first, first), errors[first])
            for name, message in list(errors.items())[1:]:
                column = self.options.column_of(_FIELD_TARGETS.get(name, name)) if name else ""
                item.reason += f"; {column}: {message}" if column else f"; {message}"
            return item
        for fd in self.lookups.custom.values():
            if fd.required and converted.custom.get(fd.key) in (None, []):
                return self._reject(item, f"custom.{fd.key}", "is required")
        item.values = {name: value for name, value in values.items() if name in converted.values} | refs
        item.defaults = {name: value for name, value in values.items() if name not in converted.values}
        item.custom, item.tags, item.notices, item.dates = converted.custom, converted.tags, converted.notices, converted.dates
        item.refs = _refs(refs, converted.tags)
        return item

    def _reject(self, item: Planned, target: str, message: str) -> Planned:
        item.action = "reject"
        item.column = self.options.column_of(target) if target else ""
        label = item.column or (target if target else "")
        item.reason = f"{label}: {message}" if label else message
        return item

    # -- duplicates ------------------------------------------------------------------------------

    def _duplicates(self, chunk: list[Planned]) -> None:
        if not self.keys:
            return
        existing = self._existing(chunk)
        for item in chunk:
            keys = _dupe_keys(self.options.entity, item.values, self.keys)
            match = next(((key, existing[key]) for key in keys if key in existing), None)
            if match is not None:
                self._matched_existing(item, match[0][0], match[1])
            else:
                earlier = next(((key, self.seen[key]) for key in keys if key in self.seen), None)
                if earlier is not None:
                    self._matched_earlier(item, earlier[0][0], earlier[1])
            if item.action == "create":
                for key in keys:
                    self.seen.setdefault(key, item)

    def _existing(self, chunk: list[Planned]) -> dict[tuple[str, str], int]:
        entity, model = self.options.entity, _MODELS[self.options.entity]
        found: dict[tuple[str, str], int] = {}
        live = model.deleted_at.is_null()
        if "email" in self.keys:
            emails = {item.values["email"] for item in chunk if item.values.get("email")}
            for record_id, email in live_in(model, "email", list(emails | {email.lower() for email in emails})):
                found.setdefault(("email", email.lower()), record_id)
        if "domain" in self.keys:
            domains = list({item.values["domain"] for item in chunk if item.values.get("domain")})
            for record_id, domain in live_in(model, "domain", domains):
                found.setdefault(("domain", domain.lower()), record_id)
        if "phone" in self.keys:
            found.update({("phone", digits): record_id for digits, record_id in self._phone_index().items()})
        if "name" in self.keys and entity == "company":
            for item in chunk:
                if item.values.get("name") and (company_id := self.lookups.company_by_name(item.values["name"])):
                    found.setdefault(("name", company_key(item.values["name"])), company_id)
        elif "name" in self.keys:
            lasts = list({item.values["last_name"] for item in chunk if item.values.get("last_name")})
            query = model.select(model.id, model.first_name, model.last_name).where(model.last_name.in_(lasts), live)
            for record_id, first, last in query.order_by(model.id).tuples():
                found.setdefault(("name", fold(f"{first or ''} {last or ''}")), record_id)
        return found

    def _phone_index(self) -> dict[str, int]:
        if self._phones is None:
            model = _MODELS[self.options.entity]
            query = model.select(model.id, model.phone).where(model.phone.is_null(False), model.deleted_at.is_null())
            self._phones = {}
            for record_id, phone in query.order_by(model.id).tuples():
                if digits := phone_key(phone):
                    self._phones.setdefault(digits, record_id)
        return self._phones

    def _matched_existing(self, item: Planned, key: str, record_id: int) -> None:
        label = self.spec.label.lower()
        choice = self.options.on_duplicate
        if choice == "skip":
            item.action, item.reason = "skip", f"matches {label} #{record_id} (same {key})"
            return
        try:
            current = records.get(self.options.entity, record_id)
        except NotFound:  # deleted meanwhile: it is no duplicate any more
            return
        changes = _merge(current.values, item.values, fill=choice == "fill")
        custom = _merge(current.custom, item.custom, fill=choice == "fill")
        item.action, item.existing, item.version = "update", record_id, current.version
        item.values, item.custom = changes, custom
        item.refs = _refs(changes, item.tags)
        if not changes and not custom and not item.tags:
            item.action, item.reason = "skip", f"matches {label} #{record_id} (same {key}), which has these values already"

    def _matched_earlier(self, item: Planned, key: str, earlier: Planned) -> None:
        if self.options.on_duplicate != "skip":
            fill = self.options.on_duplicate == "fill"
            earlier.values.update(_merge(earlier.values, item.values, fill=fill))
            earlier.custom.update(_merge(earlier.custom, item.custom, fill=fill))
            earlier.tags += [tag for tag in item.tags if tag not in earlier.tags]
            earlier.refs = _refs(earlier.values, earlier.tags)
            item.action, item.reason = "skip", f"same {key} as line {earlier.line}: merged into it"
            return
        item.action, item.reason = "skip", f"same {key} as line {earlier.line}"


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _merge(current: dict[str, Any], new: dict[str, Any], *, fill: bool) -> dict[str, Any]:
    """The changes a duplicate row brings: into empty fields only (fill), or every value it has."""
    return {
        name: value
        for name, value in new.items()
        if not _empty(value) and current.get(name) != value and (not fill or _empty(current.get(name)))
    }
