"""What the board is narrowed to: free text, owners, tags, amounts, close dates, stale, mine.

A BoardFilter turns into one SQL condition, so column counts, totals and cards all agree with it.
It is stored in saved views as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from peewee import Expression

from crm_tui.models import Company, Contact, Deal, DealTag


@dataclass(frozen=True)
class BoardFilter:
    """A set of conditions a deal must all meet to show on the board. Empty means everything."""

    text: str = ""
    owner_ids: tuple[int, ...] = ()
    tag_ids: tuple[int, ...] = ()
    amount_min: int | None = None
    amount_max: int | None = None
    close_from: date | None = None
    close_to: date | None = None
    stale_only: bool = False
    mine_only: bool = False

    def is_empty(self) -> bool:
        """True when nothing is filtered."""
        return self == BoardFilter()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the conditions that are set."""
        data = {name: value for name, value in asdict(self).items() if value not in ("", (), None, False)}
        for name in ("close_from", "close_to"):
            if name in data:
                data[name] = data[name].isoformat()
        for name in ("owner_ids", "tag_ids"):
            if name in data:
                data[name] = list(data[name])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BoardFilter:
        """Read what `to_json` wrote (unknown keys are ignored, so old views keep working)."""
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in data.items() if name in known}
        for name in ("close_from", "close_to"):
            if values.get(name):
                values[name] = date.fromisoformat(values[name])
        for name in ("owner_ids", "tag_ids"):
            if name in values:
                values[name] = tuple(int(v) for v in values[name])
        return cls(**values)


@dataclass(frozen=True)
class StaleRule:
    """A stage's rot_days, for the stale condition."""

    stage_id: int
    rot_days: int


@dataclass(frozen=True)
class FilterContext:
    """What a filter needs besides itself: who "mine" is, the time, and each stage's rot_days."""

    user_id: int | None
    now: datetime
    stale_rules: tuple[StaleRule, ...] = field(default_factory=tuple)


def stale_condition(context: FilterContext) -> Expression | None:
    """Deals that have been in their stage longer than its rot_days (None if no stage rots)."""
    condition: Expression | None = None
    for rule in context.stale_rules:
        part = (Deal.stage == rule.stage_id) & (Deal.stage_entered_at < context.now - timedelta(days=rule.rot_days))
        condition = part if condition is None else (condition | part)
    return condition


_RESOLVE_LIMIT = 2000
"""Up to this many matching companies or contacts are looked up once and passed as ids; more,
and each query repeats the lookup as a subquery."""


def _resolved(query):  # noqa: ANN001, ANN202 - a select of ids, or the list of them when short
    ids = [row[0] for row in query.limit(_RESOLVE_LIMIT + 1).tuples()]
    return query if len(ids) > _RESOLVE_LIMIT else ids


def condition(flt: BoardFilter, context: FilterContext) -> Expression | None:
    """The SQL condition of `flt`, or None when it filters nothing.

    Text matches companies and contacts too; those are looked up once here, not in every query
    that uses the condition (a board read runs about ten).
    """
    parts: list[Expression] = []
    text = flt.text.strip()
    if text:
        companies = _resolved(Company.select(Company.id).where(Company.name.contains(text)))
        contacts = _resolved(
            Contact.select(Contact.id).where(
                Contact.first_name.contains(text) | Contact.last_name.contains(text) | Contact.email.contains(text)
            )
        )
        parts.append(Deal.title.contains(text) | Deal.company.in_(companies) | Deal.contact.in_(contacts))
    if flt.owner_ids:
        parts.append(Deal.owner.in_(list(flt.owner_ids)))
    if flt.mine_only:
        parts.append(Deal.owner == context.user_id)
    if flt.tag_ids:
        parts.append(Deal.id.in_(DealTag.select(DealTag.deal).where(DealTag.tag.in_(list(flt.tag_ids)))))
    if flt.amount_min is not None:
        parts.append(Deal.amount >= flt.amount_min)
    if flt.amount_max is not None:
        parts.append(Deal.amount <= flt.amount_max)
    if flt.close_from is not None:
        parts.append(Deal.expected_close >= flt.close_from)
    if flt.close_to is not None:
        parts.append(Deal.expected_close <= flt.close_to)
    if flt.stale_only:
        stale = stale_condition(context)
        parts.append(stale if stale is not None else (Deal.id < 0))  # no stage rots: nothing is stale
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part
    return combined
