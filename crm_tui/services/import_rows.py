"""One imported row to the values of one record, per record type.

`convert()` takes the row's cells by target key (already cleaned: trimmed, blank as None) and
returns the record's standard values, custom values and tags. References are ids, or `Pending`
for a company, contact, tag or stage the import will create. A cell that cannot be used raises
RowError naming its target key, so the summary can name the column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from crm_tui import clock
from crm_tui.services import permissions
from crm_tui.services.import_convert import (
    Lookups,
    Pending,
    RowError,
    boolean,
    closing_word,
    day,
    deal_status,
    fold,
    lead_status,
    moment,
    percent,
    split_name,
    tag_names,
    whole_number,
)

PLAIN = {
    "company": ("name", "domain", "website", "phone", "address", "industry"),
    "contact": ("first_name", "last_name", "email", "phone", "title", "address", "source"),
    "lead": ("first_name", "last_name", "company_name", "email", "phone", "title", "source"),
    "deal": ("title", "source", "lost_reason"),
    "task": ("title", "details"),
    "note": ("body",),
}
"""Targets copied as text into the field of the same name."""

LOST_REASON_DEFAULT = "Other"


@dataclass
class Converted:
    """A row as a record: standard values, custom values by key, tags, and notes for the summary."""

    values: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    tags: list[int | Pending] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    dates: dict[str, datetime] = field(default_factory=dict)
    """A new deal's `created_at` and `closed_at` from the file (set after it is made: `deals.backdate`)."""


@dataclass(frozen=True)
class StageChoices:
    """How a deal import treats a stage the pipeline lacks."""

    mapped: dict[str, str] = field(default_factory=dict)
    """A stage name in the file (folded), in one pipeline (`<pipeline id>:<folded name>`, the
    wizard's choice) or in any -> the name of the pipeline's existing stage it means."""

    def means(self, pipeline_id: int, name: str) -> str | None:
        """The existing stage chosen for the file's stage `name` in that pipeline, if any."""
        folded = fold(name)
        return self.mapped.get(f"{pipeline_id}:{folded}", self.mapped.get(folded))
    strict: bool = False
    """Reject such rows instead of adding the stage."""


def convert(entity: str, cells: dict[str, str | None], lookups: Lookups, stages: StageChoices) -> Converted:
    """The record `cells` describe; RowError for the first cell that cannot be used."""
    out = Converted()
    for key in PLAIN[entity]:
        if key in cells:
            out.values[key] = cells[key]
    _CONVERTERS[entity](cells, lookups, out, stages)
    for key in ("owner", "assignee", "author"):
        if cells.get(key):
            out.values[f"{key}_id"] = lookups.user(key, cells[key] or "")
    access = permissions.current()
    if out.values.get("author_id") not in (None, access.user_id) and not access.admin:
        raise RowError("author", f"a {access.role} imports notes in their own name only (an admin keeps the file's authors)")
    if cells.get("tags"):
        out.tags = [lookups.tag(name) for name in tag_names(cells["tags"] or "")]
    currency = out.values.get("currency") or lookups.currency
    for key, text in cells.items():
        if key.startswith("custom.") and text is not None:
            out.custom[key.removeprefix("custom.")] = lookups.custom_value(key.removeprefix("custom."), text, currency)
    return out


def _names(cells: dict[str, str | None], out: Converted) -> None:
    full = cells.get("full_name")
    if full and not (cells.get("first_name") or cells.get("last_name")):
        out.values["first_name"], out.values["last_name"] = split_name(full)


def _company(cells: dict[str, str | None], lookups: Lookups, out: Converted, stages: StageChoices) -> None:
    if cells.get("employees"):
        out.values["employees"] = whole_number("employees", cells["employees"] or "")


def _contact(cells: dict[str, str | None], lookups: Lookups, out: Converted, stages: StageChoices) -> None:
    _names(cells, out)
    if cells.get("company") or cells.get("company_domain"):
        out.values["company_id"] = lookups.company(cells.get("company"), cells.get("company_domain"))


def _lead(cells: dict[str, str | None], lookups: Lookups, out: Converted, stages: StageChoices) -> None:
    _names(cells, out)
    if cells.get("status"):
        out.values["status"] = lead_status(cells["status"] or "")


def _deal(cells: dict[str, str | None], lookups: Lookups, out: Converted, stages: StageChoices) -> None:
    currency = (cells.get("currency") or lookups.currency).strip().upper()
    out.values["currency"] = currency
    if cells.get("amount"):
        out.values["amount"] = lookups.money("amount", cells["amount"] or "", currency)
    if cells.get("expected_close"):
        out.values["expected_close"] = day("expected_close", cells["expected_close"] or "")
    if cells.get("probability"):
        out.values["probability"] = percent("probability", cells["probability"] or "")
    pipeline_id = lookups.default_pipeline
    if cells.get("pipeline"):
        pipeline_id = lookups.pipelines.get(fold(cells["pipeline"] or ""))
        if pipeline_id is None:
            raise RowError("pipeline", f"there is no pipeline named {cells['pipeline']!r}")
    if pipeline_id is None:
        raise RowError("pipeline", "the workspace has no pipeline")
    status = deal_status(cells["status"] or "") if cells.get("status") else _closing_stage(cells.get("stage"), pipeline_id, lookups, stages)
    out.values["stage_id"] = _stage(pipeline_id, cells.get("stage"), status, lookups, stages)
    if status == "lost" and not cells.get("lost_reason"):
        out.values["lost_reason"] = LOST_REASON_DEFAULT
        out.notices.append(f"lost deals without a reason were given {LOST_REASON_DEFAULT!r}")
    if cells.get("company") or cells.get("company_domain"):
        out.values["company_id"] = lookups.company(cells.get("company"), cells.get("company_domain"))
    if cells.get("contact_email") or cells.get("contact"):
        out.values["contact_id"] = _deal_contact(cells, lookups, out.values.get("company_id"))
    closing = isinstance(out.values["stage_id"], int) and any(
        stage.id == out.values["stage_id"] and stage.kind != "open" for stage in lookups.stages.get(pipeline_id, {}).values()
    )
    out.dates = _deal_dates(cells, closing, out)


def _deal_dates(cells: dict[str, str | None], closing: bool, out: Converted) -> dict[str, datetime]:
    """When the deal was created and closed, as far as the file says: a history imported from
    another CRM keeps its months on the dashboard instead of landing all on the day of the import."""
    now = clock.now() + timedelta(days=1)  # the file's times are local: a day's grace either side of UTC
    dates = {}
    if cells.get("created_at"):
        dates["created_at"] = moment("created_at", cells["created_at"] or "")
        if dates["created_at"] > now:
            raise RowError("created_at", "is in the future")
    if cells.get("closed_at") and closing:
        dates["closed_at"] = moment("closed_at", cells["closed_at"] or "")
        if dates["closed_at"] > now:
            raise RowError("closed_at", "is in the future")
    elif cells.get("closed_at"):
        out.notices.append("open deals keep no close date: the Closed column was ignored for them")
    elif closing and isinstance(expected := out.values.get("expected_close"), date):
        # HubSpot and Salesforce export one "Close date": the expected one while open, the real one once closed.
        stand_in = datetime.combine(expected, time(9))
        if stand_in <= now and stand_in >= dates.get("created_at", stand_in):
            dates["closed_at"] = stand_in
    if "closed_at" in dates and dates["closed_at"] < dates.get("created_at", dates["closed_at"]):
        raise RowError("closed_at", "is before the deal was created")
    return dates


def _closing_stage(name: str | None, pipeline_id: int, lookups: Lookups, stages: StageChoices) -> str | None:
    """A stage the pipeline lacks whose name says won or lost ("Won" where the pipeline has "Closed
    Won") is the pipeline's won or lost stage, not a new open one."""
    if not name or stages.means(pipeline_id, name) is not None or fold(name) in lookups.stages.get(pipeline_id, {}):
        return None
    return closing_word(name)


def _stage(pipeline_id: int, name: str | None, status: str | None, lookups: Lookups, stages: StageChoices) -> Any:
    known = lookups.stages.get(pipeline_id, {})
    if status in ("won", "lost"):
        closing = next((stage for stage in known.values() if stage.kind == status), None)
        if closing is None:
            raise RowError("status", f"the pipeline has no {status} stage")
        given = known.get(fold(name)) if name else None
        return given.id if given is not None and given.kind == status else closing.id
    if not name:
        first = next((stage for stage in known.values() if stage.kind == "open"), None)
        if first is None:
            raise RowError("stage", "the pipeline has no open stage")
        return first.id
    wanted = stages.means(pipeline_id, name) or name
    found = known.get(fold(wanted))
    if found is not None:
        return found.id
    if stages.strict:
        raise RowError("stage", f"the pipeline has no stage named {name!r}")
    return Pending("stage", f"{pipeline_id}:{fold(name)}", (("name", name), ("pipeline_id", pipeline_id)))


def _deal_contact(cells: dict[str, str | None], lookups: Lookups, company: Any) -> int | Pending:
    email, name = cells.get("contact_email"), cells.get("contact")
    found = (lookups.contact_by_email(email) if email else None) or (
        lookups.contact_by_name(name) if name and not email else None
    )
    if found is not None:
        return found
    first, last = split_name(name) if name else (None, (email or "").partition("@")[0])
    data = (("first_name", first), ("last_name", last), ("email", email), ("company_id", company))
    return Pending("contact", f"@{email.lower()}" if email else fold(name or ""), data)


def _linked(cells: dict[str, str | None], lookups: Lookups, out: Converted) -> None:
    """A task's or note's deal (by title), company (by name) and contact (by e-mail): they must exist."""
    if cells.get("deal"):
        out.values["deal_id"] = lookups.deal_by_title(cells["deal"] or "")
        if out.values["deal_id"] is None:
            raise RowError("deal", f"there is no deal titled {cells['deal']!r}")
    if cells.get("company"):
        out.values["company_id"] = lookups.company_by_name(cells["company"] or "")
        if out.values["company_id"] is None:
            raise RowError("company", f"there is no company named {cells['company']!r}")
    if cells.get("contact_email"):
        out.values["contact_id"] = lookups.contact_by_email(cells["contact_email"] or "")
        if out.values["contact_id"] is None:
            raise RowError("contact_email", f"there is no contact with the e-mail {cells['contact_email']!r}")


def _task(cells: dict[str, str | None], lookups: Lookups, out: Converted, stages: StageChoices) -> None:
    _linked(cells, lookups, out)
    if cells.get("due_at"):
        out.values["due_at"] = moment("due_at", cells["due_at"] or "")
    if cells.get("done"):
        out.values["done"] = boolean("done", cells["done"] or "")


def _note(cells: dict[str, str | None], lookups: Lookups, out: Converted, stages: StageChoices) -> None:
    _linked(cells, lookups, out)


_CONVERTERS: dict[str, Callable[[dict[str, str | None], Lookups, Converted, StageChoices], None]] = {
    "company": _company,
    "contact": _contact,
    "lead": _lead,
    "deal": _deal,
    "task": _task,
    "note": _note,
}
