"""What services raise. Every message is written for the person at the keyboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ServiceError(Exception):
    """A business operation could not be done; `str()` says why."""


class StorageError(ServiceError):
    """The database failed (busy, unreachable, out of space); the transaction was rolled back."""


class NotFound(ServiceError):
    """The record does not exist (or was deleted)."""

    def __init__(self, entity: str, record_id: int) -> None:
        super().__init__(f"{entity} #{record_id} does not exist or was deleted")
        self.entity = entity
        self.record_id = record_id


class ValidationFailed(ServiceError):
    """The input is not valid; `errors` maps each field ("" for the whole record) to a message."""

    def __init__(self, entity: str, errors: dict[str, str]) -> None:
        self.entity = entity
        self.errors = errors
        # Said to people: "Expected close: ...", not the column's name.
        parts = [f"{_spoken(name)}: {message}" if name else message for name, message in errors.items()]
        super().__init__(f"{entity} not saved: " + "; ".join(parts))


def _spoken(name: str) -> str:
    return name.removeprefix("custom.").removesuffix("_id").replace("_", " ").capitalize()


@dataclass(frozen=True)
class FieldDifference:
    """One field as the caller wanted it and as someone else stored it."""

    field: str
    mine: Any
    theirs: Any


class ConflictError(ServiceError):
    """Someone else saved the record after the caller read it; nothing was overwritten.

    `mine` holds the caller's intended values, `theirs` the record as stored now, and
    `differences` the fields where they disagree, so a screen can show both and let the user choose.
    """

    def __init__(
        self,
        entity: str,
        record_id: int,
        title: str,
        *,
        expected_version: int | None,
        actual_version: int | None,
        mine: dict[str, Any],
        theirs: dict[str, Any],
        reason: str | None = None,
    ) -> None:
        self.entity = entity
        self.record_id = record_id
        self.title = title
        self.expected_version = expected_version
        self.actual_version = actual_version
        self.mine = mine
        self.theirs = theirs
        self.differences = [
            FieldDifference(name, value, theirs.get(name))
            for name, value in mine.items()
            if theirs.get(name) != value
        ]
        detail = "; ".join(f"{d.field}: yours {d.mine!r}, theirs {d.theirs!r}" for d in self.differences)
        headline = reason or (
            f"{entity} #{record_id} {title!r} was changed by someone else "
            f"(you had version {expected_version}, it is now {actual_version})"
        )
        # A given reason already says what differs (in names, not ids).
        super().__init__(f"{headline}; nothing was overwritten" + (f" — {detail}" if detail and not reason else ""))
