"""What one user's screens remember between sessions (kept in the database, so it follows the user
from terminal to terminal)."""

from __future__ import annotations

from typing import Any

from crm_tui.models import UserPreference


def get_preference(user_id: int, key: str, default: Any = None) -> Any:
    """The user's stored value for `key`, or `default`."""
    row = UserPreference.get_or_none(UserPreference.user == user_id, UserPreference.key == key)
    return default if row is None else row.value


def set_preference(user_id: int, key: str, value: Any) -> None:
    """Remember `value` under `key` for the user."""
    UserPreference.insert(user=user_id, key=key, value=value).on_conflict(
        conflict_target=[UserPreference.user, UserPreference.key], update={UserPreference.value: value}
    ).execute()
