"""The event bus: typed subscriptions, isolation of failing subscribers."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from crm_tui.events import DealStageChanged, DomainEvent, EventBus, RecordCreated
from crm_tui.models import Company
from crm_tui.services import records
from crm_tui.services.workspace import Workspace

AT = datetime(2026, 1, 1)


def created(record_id: int = 1) -> RecordCreated:
    return RecordCreated(at=AT, entity="deal", record_id=record_id)


def test_subscribers_get_the_types_they_asked_for() -> None:
    bus = EventBus()
    everything: list[DomainEvent] = []
    moves: list[DealStageChanged] = []
    bus.subscribe(DomainEvent, everything.append)
    bus.subscribe(DealStageChanged, moves.append)
    bus.publish(created())
    assert len(everything) == 1 and moves == []


def test_unsubscribe_stops_delivery() -> None:
    bus = EventBus()
    seen: list[DomainEvent] = []
    stop = bus.subscribe(DomainEvent, seen.append)
    stop()
    bus.publish(created())
    assert seen == []


def test_a_failing_subscriber_is_logged_and_isolated(workspace: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    after: list[DomainEvent] = []

    def broken(event: DomainEvent) -> None:
        raise ValueError("boom")

    workspace.ctx.bus.subscribe(DomainEvent, broken)
    workspace.ctx.bus.subscribe(DomainEvent, after.append)
    with caplog.at_level(logging.ERROR, logger="crm_tui.events"):
        company = records.create(workspace.ctx, "company", {"name": "Acme"})

    assert Company.get_by_id(company.id).name == "Acme"  # the write stands
    assert len(after) == 1  # the next subscriber still ran
    assert "event subscriber" in caplog.text and "boom" in caplog.text
