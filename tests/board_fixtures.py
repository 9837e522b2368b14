"""A small, fixed workspace for the board's Pilot and snapshot tests, and helpers to drive it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from textual.pilot import Pilot

from crm_tui import clock
from crm_tui.app import CrmApp
from crm_tui.screens.board import BoardScreen
from crm_tui.services import records
from crm_tui.services.context import Context
from crm_tui.services.session import Session
from crm_tui.widgets.stage_column import StageColumn
from tests.conftest import FROZEN_NOW
from tests.helpers import stage_named

HOSTILE = "ACME [/] Corp [@click=app.quit]x"


def fill(ctx: Context) -> dict[str, int]:
    """Companies, deals in several stages (entered at known times) and a second pipeline."""
    ids: dict[str, int] = {}
    moment = FROZEN_NOW - timedelta(days=30)

    def at(days: int) -> None:
        clock.freeze(moment + timedelta(days=days))

    at(0)
    acme = records.create(ctx, "company", {"name": HOSTILE}).id
    globex = records.create(ctx, "company", {"name": "Globex"}).id
    bob = records.create(ctx, "user", {"login": "bob", "name": "Bob Stone"}).id
    deals = [
        ("acme", "Acme renewal", acme, "Qualification", 1_240_000, 1),
        ("globex", "Globex pilot", globex, "Qualification", 500_000, 2),
        ("initech", "Initech expansion", None, "Negotiation", 2_000_000, 3),
        ("umbrella", "Umbrella licences", globex, "Closed Won", 990_000, 4),
    ]
    for key, title, company, stage, amount, day in deals:
        at(day)
        ids[key] = records.create(
            ctx, "deal", {"title": title, "company_id": company, "stage_id": stage_named(stage), "amount": amount, "owner_id": bob}
        ).id
    at(5)
    partners = records.create(ctx, "pipeline", {"name": f"{HOSTILE} partners", "position": 1}).id
    ids["partners"] = partners
    first = records.create(ctx, "stage", {"pipeline_id": partners, "name": "Intro", "probability": 20}).id
    records.create(ctx, "stage", {"pipeline_id": partners, "name": "Signed", "probability": 100, "kind": "won", "position": 1})
    ids["partner_deal"] = records.create(ctx, "deal", {"title": "Reseller deal", "company_id": acme, "stage_id": first, "amount": 300_000}).id
    clock.freeze(FROZEN_NOW)
    return ids


def make_app(ctx: Context) -> CrmApp:
    """The app on the current database, as `ctx`'s user, shown as working on team.sqlite3."""
    return CrmApp(Session(ctx, where="team.sqlite3"))


async def settle(pilot: Pilot) -> None:
    """Wait until the app has no background work and no refresh waiting (dialogs waiting for the
    user do not count)."""
    app = pilot.app
    for _ in range(400):
        await pilot.pause()
        waiting = any(getattr(screen, "_refresh_timer", None) is not None for screen in app.screen_stack)
        busy = any(
            not worker.is_finished and worker.group not in ("board-form", "list-dialog", "record-dialog", "dashboard-dialog", "tasks-dialog", "app-poll") for worker in app.workers
        )
        if not busy and not waiting:
            await pilot.pause()
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the app did not settle")


def board(pilot: Pilot) -> BoardScreen:
    """The board screen (under any dialog)."""
    return next(screen for screen in pilot.app.screen_stack if isinstance(screen, BoardScreen))


def column(pilot: Pilot, stage_id: int) -> StageColumn:
    """The column of `stage_id`."""
    return board(pilot).query_one(f"#stage-{stage_id}", StageColumn)


def focus(pilot: Pilot) -> tuple[str, str | None]:
    """(focused stage name, selected deal title)."""
    col = board(pilot).focused_column()
    assert col is not None, "no column has the focus"
    card = col.cards.current
    return col.stage.name, card.title if card else None


def titles(pilot: Pilot, stage_id: int) -> list[str]:
    """The titles of a column's loaded cards, top to bottom."""
    return [card.title for card in column(pilot, stage_id).cards.loaded_cards()]


def header(pilot: Pilot, stage_id: int) -> str:
    """A column header's text."""
    return column(pilot, stage_id).query_one(".stage-header").render().plain


async def type_into(pilot: Pilot, selector: str, text: str) -> None:
    """Replace the value of the input `selector` on the top screen by typing `text`."""
    from textual.widgets import Input

    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    field.value = ""
    await pilot.press(*text) if text else None
    await pilot.pause()


def burst(pilot: Pilot, text: str) -> None:
    """Deliver keys the way a slow link does: all at once, before the app handles any of them.
    (Pilot.press waits for the app after each key, which hides bugs that bursts show.)"""
    from textual import events

    names = {"/": "slash", " ": "space", "\r": "enter"}
    for character in text:
        pilot.app.post_message(events.Key(names.get(character, character), character))
