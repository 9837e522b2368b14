"""Small lists the screens offer as choices: users, tags, companies by prefix, saved views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import fn

from crm_tui.models import Company, SavedView, Tag, User


@dataclass(frozen=True)
class Choice:
    """Something to pick: its id and its name."""

    id: int
    name: str


def users(*, active_only: bool = True) -> list[Choice]:
    """Users by name."""
    query = User.select(User.id, User.name).order_by(User.name)
    if active_only:
        query = query.where(User.active == True)  # noqa: E712
    return [Choice(*row) for row in query.tuples()]


def tags() -> list[Choice]:
    """Tags by name."""
    return [Choice(*row) for row in Tag.select(Tag.id, Tag.name).order_by(Tag.name).tuples()]


def company_names(prefix: str, limit: int = 8) -> list[str]:
    """Names of live companies starting with `prefix` (any case), shortest first."""
    prefix = prefix.strip()
    if not prefix:
        return []
    query = (
        Company.select(Company.name)
        .where(Company.deleted_at.is_null(), Company.name.startswith(prefix))
        .order_by(Company.name)
        .limit(limit)
    )
    return sorted((row[0] for row in query.tuples()), key=len)


def company_named(name: str) -> int | None:
    """The id of the live company called exactly `name` (any case), if there is one."""
    row = (
        Company.select(Company.id)
        .where(Company.deleted_at.is_null(), fn.LOWER(Company.name) == name.strip().lower())
        .order_by(Company.id)
        .first()
    )
    return row.id if row else None


@dataclass(frozen=True)
class ViewChoice:
    """A saved view of deals."""

    id: int
    name: str
    filters: dict[str, Any]
    shared: bool


def deal_views(user_id: int) -> list[ViewChoice]:
    """Saved deal views the user can use: their own and the shared ones."""
    query = (
        SavedView.select()
        .where(SavedView.entity == "deal", (SavedView.owner == user_id) | SavedView.owner.is_null())
        .order_by(SavedView.position, SavedView.name)
    )
    return [
        ViewChoice(view.id, view.name, view.filters or {}, view.owner_id is None)
        for view in query
        if (view.filters or {}).get("kind") != "list"  # views of the deals list have their own shape
    ]
