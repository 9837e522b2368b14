"""What the record screen adds to a record's activity: `a` a note, `t` a task (title, due,
assignee, reminder), `c` a logged call or email, and `C` converts a lead."""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING

from textual import work
from textual.content import Content

from crm_tui import clock
from crm_tui.dates import DateError, parse_date
from crm_tui.screens.base import session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import board, deals, leads, lookups, timeline, workspace_settings
from crm_tui.services.errors import ServiceError
from crm_tui.text import safe_text

if TYPE_CHECKING:
    from crm_tui.screens.record_screen import RecordScreen
    from crm_tui.services.record_form import DealStage

REMINDERS = (("no reminder", None), ("at due time", 0), ("5 minutes before", 5), ("15 minutes before", 15),
             ("30 minutes before", 30), ("1 hour before", 60), ("1 day before", 1440), ("1 week before", 10080))  # fmt: skip


class RecordActivity:
    """Mixin of RecordScreen: a, t, c, C."""

    async def _ask(self: RecordScreen, question: str, value: str = "", *, allow_empty: bool = False) -> str | None:
        return await self.app.push_screen_wait(TextPromptScreen(Content(question), value=value, allow_empty=allow_empty))

    async def _pick(self: RecordScreen, question: str, labels: list[str]) -> int | None:
        return await self.app.push_screen_wait(ChoiceScreen(Content(question), [Content(safe_text(x)) for x in labels]))

    def _failed(self: RecordScreen, error: ServiceError) -> None:
        self.notify(safe_text(error), title="Not done", severity="error", markup=False)

    def action_move_deal(self: RecordScreen) -> None:
        """Move the deal to another stage of its pipeline (a lost one asks why)."""
        if self.form is not None and self.form.stage is not None:
            self._move_deal(self.form.stage)

    @work(group="record-dialog", exclusive=True, exit_on_error=False)
    async def _move_deal(self: RecordScreen, now: DealStage) -> None:
        session = session_of(self)
        pipeline = next((p for p in await session.call(board.list_pipelines) if p.id == now.pipeline_id), None)
        if pipeline is None:
            return
        stages = list(pipeline.stages)
        current = next((i for i, stage in enumerate(stages) if stage.id == now.stage_id), 0)
        labels = [f"{stage.name}  {stage.probability}%" + ("  (now)" if i == current else "") for i, stage in enumerate(stages)]
        chosen = await self.app.push_screen_wait(
            ChoiceScreen(Content("Move to"), [Content(safe_text(label)) for label in labels], current=current)
        )
        if chosen is None or chosen == current:
            return
        target, reason = stages[chosen], None
        if target.kind == "lost":
            reasons = await session.call(workspace_settings.lost_reasons)
            picked = await self._pick("Why was it lost?", reasons)
            if picked is None:
                return
            reason = reasons[picked]
        try:
            await session.call(
                deals.move_deal, session.ctx, self.record_id, target.id, from_stage_id=now.stage_id, lost_reason=reason
            )
        except ServiceError as error:
            self._failed(error)
            return
        self.notify(f"Moved to {safe_text(target.name)}", markup=False)
        self.load()

    def action_add_note(self: RecordScreen) -> None:
        """Add a note to the record."""
        self._log_activity("note")

    def action_log_contact(self: RecordScreen) -> None:
        """Log a call or an email."""
        self._log_activity(None)

    @work(group="record-dialog", exclusive=True, exit_on_error=False)
    async def _log_activity(self: RecordScreen, kind: str | None) -> None:
        if kind is None:
            picked = await self._pick("Log a…", ["Call", "Email"])
            if picked is None:
                return
            kind = ("call", "email")[picked]
        text = await self._ask(
            {"note": "Note", "call": "What was said on the call?", "email": "What did the email say?"}[kind]
        )
        if not text:
            return
        session = session_of(self)
        try:
            await session.call(timeline.add_activity, session.ctx, self.entity, self.record_id, kind, text)
        except ServiceError as error:
            self._failed(error)
            return
        self.load(form=False)

    def action_add_task(self: RecordScreen) -> None:
        """Add a task: title, due date, assignee and reminder."""
        self._new_task()

    @work(group="record-dialog", exclusive=True, exit_on_error=False)
    async def _new_task(self: RecordScreen) -> None:
        title = await self._ask("Task")
        if not title:
            return
        due_at = None
        typed: str | None = "tomorrow"
        while True:  # asked again until it is a date or empty: the title typed is not thrown away
            typed = await self._ask(
                "Due (today, tomorrow, +3d, next friday, 2026-12-01; empty for none)", typed or "", allow_empty=True
            )
            if typed is None:
                return
            try:
                day = parse_date(typed, clock.now().date())
            except DateError as error:
                self.notify(f"{safe_text(error)}; or leave it empty for no due date", title="Not a date",
                            severity="warning", markup=False)  # fmt: skip
                continue
            due_at = datetime.combine(day, time(9, 0)) if day is not None else None
            break
        session = session_of(self)
        users = await session.call(lookups.users)
        who = await self._pick("Assign to", ["me"] + [user.name for user in users])
        if who is None:
            return
        assignee = None if who == 0 else users[who - 1].id
        reminders: list[int] = []
        if due_at is not None:
            picked = await self._pick("Remind", [label for label, _ in REMINDERS])
            minutes = REMINDERS[picked][1] if picked is not None else None
            reminders = [] if minutes is None else [minutes]
        try:
            await session.call(
                timeline.add_task, session.ctx, self.entity, self.record_id, title, due_at, assignee, reminders
            )
        except ServiceError as error:
            self._failed(error)
            return
        self.load(form=False)

    def action_convert(self: RecordScreen) -> None:
        """Convert the lead into a contact, maybe a company and a deal."""
        self._convert()

    @work(group="record-dialog", exclusive=True, exit_on_error=False)
    async def _convert(self: RecordScreen) -> None:
        session = session_of(self)
        try:
            preview = await session.call(leads.preview, self.record_id)
        except ServiceError as error:
            self._failed(error)
            return
        company_choices: list[tuple[str, str]] = []
        if preview.company is not None and preview.company.id is not None:
            company_choices.append((f"Link to {preview.company.name} (same {preview.company.matched_by})", "match"))
        elif preview.company is not None:
            company_choices.append((f"Create the company {preview.company.name}", "match"))
        company_choices.append(("No company", "none"))
        picked = await self._pick("Company", [label for label, _ in company_choices])
        if picked is None:
            return
        company = company_choices[picked][1]
        pipelines = await session.call(board.list_pipelines)
        deal_pick = await self._pick("Also create a deal?", ["No deal"] + [f"A deal in {p.name}" for p in pipelines])
        if deal_pick is None:
            return
        deal = leads.DealSpec(pipeline_id=pipelines[deal_pick - 1].id) if deal_pick else None
        carried = f"{preview.notes} notes, {preview.tasks} tasks and {preview.appointments} appointments move with it"
        question = Content(f"Convert {safe_text(preview.lead_name)} into a contact? {carried}. This cannot be undone.")
        if not await self.app.push_screen_wait(ConfirmScreen(question, yes="Convert", no="Cancel")):
            return
        try:
            done = await session.call(
                leads.convert_lead, session.ctx, self.record_id, version=preview.version, company=company, deal=deal
            )
        except ServiceError as error:
            self._failed(error)
            return
        self.notify("Converted: the new contact is open")
        self.app.open_record("contact", done.contact_id)  # type: ignore[attr-defined]
