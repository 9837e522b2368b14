"""Who is acting and where events go: the first argument of every service call."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_tui.events import EventBus


@dataclass(frozen=True)
class Context:
    """The acting user and the event bus of one session (an app, a CLI command, an SSH client)."""

    user_id: int
    login: str
    bus: EventBus = field(default_factory=EventBus)
