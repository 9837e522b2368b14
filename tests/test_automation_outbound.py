"""Webhook and email actions against real servers on 127.0.0.1 started by the tests."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from crm_tui.config import SmtpSettings
from crm_tui.models import AutomationRun, Note, User
from crm_tui.services import automation_rules, deals
from crm_tui.services.automation_engine import Engine
from crm_tui.services.workspace import Workspace
from tests.helpers import make_deal, stage_named


class Hook:
    """A webhook receiver: answers with the next of `codes` (then 200) and keeps every body."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = list(codes)
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(hook.codes.pop(0) if hook.codes else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook_server() -> Iterator[type[Hook]]:
    made: list[Hook] = []

    def make(codes: list[int]) -> Hook:
        made.append(Hook(codes))
        return made[-1]

    yield make  # type: ignore[misc]
    for hook in made:
        hook.server.shutdown()


def won_rule(ctx, *actions: dict[str, Any]) -> int:
    return automation_rules.save_rule(
        ctx, {"name": "on won", "enabled": True, "trigger": {"type": "stage_changed", "to_kind": "won"}, "actions": list(actions)}
    )


def win(ctx, title: str = "ACME [/] Corp") -> int:
    deal = make_deal(ctx, title, stage="Negotiation", owner_id=ctx.user_id, amount=5000, currency="USD")
    deals.move_deal(ctx, deal.id, stage_named("Closed Won"), from_stage_id=stage_named("Negotiation"))
    return deal.id


def test_the_webhook_posts_the_event_and_record_and_retries_a_server_error(workspace: Workspace, hook_server) -> None:
    hook = hook_server([503])
    won_rule(workspace.ctx, {"type": "add_note", "body": "won"}, {"type": "webhook", "url": hook.url, "retries": 2})
    deal_id = win(workspace.ctx)
    [result] = Engine(workspace.ctx, sleep=lambda _: None).tick()
    assert result.status == "done"
    assert len(hook.bodies) == 2  # the 503, then the retry
    body = hook.bodies[-1]
    assert (body["rule"], body["entity"], body["record_id"], body["record"]["title"], body["record"]["stage"]) == (
        "on won", "deal", deal_id, "ACME [/] Corp", "Closed Won",
    )  # fmt: skip
    run = AutomationRun.get()
    assert run.status == "done" and any("-> 200 (attempt 2)" in line for line in run.outcomes)


def test_a_webhook_that_keeps_failing_is_logged_and_keeps_the_rest_of_the_run(workspace: Workspace, hook_server) -> None:
    hook = hook_server([404])
    won_rule(workspace.ctx, {"type": "add_note", "body": "won"}, {"type": "webhook", "url": hook.url, "retries": 3})
    win(workspace.ctx)
    [result] = Engine(workspace.ctx, sleep=lambda _: None).tick()
    assert len(hook.bodies) == 1  # a 404 is not retried
    assert result.status == "failed" and "-> 404" in (result.error or "")
    assert Note.get().body == "won"  # the database actions stand: the webhook ran after they committed
    dead = f"http://127.0.0.1:{free_port()}/"
    automation_rules.save_rule(
        workspace.ctx,
        {"name": "dead", "enabled": True, "trigger": {"type": "record_created", "entity": "deal"}, "actions": [{"type": "webhook", "url": dead, "retries": 1, "timeout": 2}]},
    )
    make_deal(workspace.ctx, "next")
    [down] = Engine(workspace.ctx, sleep=lambda _: None).tick()
    assert down.status == "failed" and "attempt 2 of 2" in (down.error or "")


def free_port() -> int:
    """A port nothing listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping each message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, SmtpSettings]]:
    inbox = Inbox()
    port = free_port()  # aiosmtpd checks it is up by connecting to its port: 0 will not do
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, SmtpSettings(host="127.0.0.1", port=port, sender="crm@example.com", security="none")
    controller.stop()


def test_the_email_action_sends_through_the_configured_server(workspace: Workspace, smtp_server) -> None:
    inbox, smtp = smtp_server
    User.update(email="alice@example.com").where(User.id == workspace.ctx.user_id).execute()
    User.insert(login="max", name="Max", role="manager", email="max@example.com").execute()
    won_rule(workspace.ctx, {"type": "email", "to": ["owner", "managers", "boss@example.com"], "subject": "Won {title}", "body": "{title}: {amount}"})
    win(workspace.ctx)
    [result] = Engine(workspace.ctx, smtp=smtp).tick()
    assert result.status == "done"
    [(sender, recipients, content)] = inbox.messages
    assert sender == "crm@example.com"
    assert sorted(recipients) == ["alice@example.com", "boss@example.com", "max@example.com"]
    assert "Subject: Won ACME [/] Corp" in content and "ACME [/] Corp: $50" in content


def test_email_without_a_server_or_with_the_server_down_fails_clearly(workspace: Workspace) -> None:
    won_rule(workspace.ctx, {"type": "email", "to": ["boss@example.com"], "subject": "Won", "body": "x"})
    win(workspace.ctx, "one")
    [result] = Engine(workspace.ctx, smtp=None).tick()
    assert result.status == "failed" and "no [smtp] server" in (result.error or "")
    port = free_port()
    win(workspace.ctx, "two")
    smtp = SmtpSettings(host="127.0.0.1", port=port, sender="crm@example.com", security="none", timeout=2)
    [down] = Engine(workspace.ctx, smtp=smtp, sleep=lambda _: None).tick()
    assert down.status == "failed" and "attempt 3 of 3" in (down.error or "")
