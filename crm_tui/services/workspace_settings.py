"""Workspace-wide settings kept in the database, shared by everyone who opens it."""

from __future__ import annotations

from typing import Any

from crm_tui.models import WorkspaceSetting

DEFAULT_LOST_REASONS = [
    "Price too high",
    "Chose a competitor",
    "No budget",
    "No decision / went silent",
    "Bad timing",
    "Missing feature",
    "Other",
]


def get_setting(key: str, default: Any = None) -> Any:
    """The stored value of `key`, or `default`."""
    row = WorkspaceSetting.get_or_none(WorkspaceSetting.key == key)
    return default if row is None else row.value


def put_setting(key: str, value: Any) -> None:
    """Store `value` under `key` (inside the caller's transaction, without an event)."""
    WorkspaceSetting.insert(key=key, value=value).on_conflict(
        conflict_target=[WorkspaceSetting.key], update={WorkspaceSetting.value: value}
    ).execute()


def currency() -> str:
    """The workspace currency (ISO 4217)."""
    return get_setting("currency", "USD")


def lost_reasons() -> list[str]:
    """The reasons a deal can be lost, in the order they are offered."""
    return list(get_setting("lost_reasons", DEFAULT_LOST_REASONS))
