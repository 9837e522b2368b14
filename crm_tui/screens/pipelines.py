"""The pipelines and stages editor: add, rename, reorder, edit and delete. A stage that holds deals
is deleted only after its deals have been moved to a stage the user picks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.screens.base import ReportsWorkerErrors, session_of
from crm_tui.screens.choice import ChoiceScreen
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.screens.stage_form import StageFormScreen
from crm_tui.screens.text_prompt import TextPromptScreen
from crm_tui.services import pipelines, records, workspace_settings
from crm_tui.services.errors import ServiceError, ValidationFailed
from crm_tui.services.pipelines import PipelineRow, StageRow
from crm_tui.text import safe_text
from crm_tui.widgets.footer import BatchedFooter


class PipelinesScreen(ReportsWorkerErrors, Screen[None]):
    """Edit the workspace's pipelines and their stages."""

    BINDINGS = [
        Binding("escape", "back", "Board", id="pipelines.back"),
        Binding("a", "add", "Add", id="pipelines.add"),
        Binding("r", "rename", "Rename", id="pipelines.rename"),
        Binding("e", "edit_stage", "Edit stage", id="pipelines.edit"),
        Binding("d", "delete", "Delete", id="pipelines.delete"),
        Binding("K,shift+up", "move_stage(-1)", "Stage up", key_display="K", id="pipelines.stage_up"),
        Binding("J,shift+down", "move_stage(1)", "Stage down", key_display="J", id="pipelines.stage_down"),
    ]
    DEFAULT_CSS = """
    PipelinesScreen { layout: vertical; }
    PipelinesScreen .heading { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    PipelinesScreen Horizontal { height: 1fr; }
    PipelinesScreen #pipelines-pane { width: 32; }
    PipelinesScreen #stages-pane { width: 1fr; }
    PipelinesScreen OptionList, PipelinesScreen DataTable { height: 1fr; border: round $panel; }
    PipelinesScreen OptionList:focus, PipelinesScreen DataTable:focus { border: round $accent; }
    PipelinesScreen .hint { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.pipeline_rows: list[PipelineRow] = []
        self.stage_rows: list[StageRow] = []

    def compose(self) -> ComposeResult:
        """The pipelines beside the stages of the highlighted one."""
        yield Static("Pipelines and stages", classes="heading")
        with Horizontal():
            with Vertical(id="pipelines-pane"):
                yield OptionList(id="pipelines")
            with Vertical(id="stages-pane"):
                table: DataTable[Content] = DataTable(id="stages", cursor_type="row", zebra_stripes=True)
                for label, width in (("Stage", 30), ("Probability", 11), ("Kind", 7), ("Stale after", 11), ("Deals", 9)):
                    table.add_column(label, width=width)
                yield table
        yield Static("tab switches list · a add · r rename · e edit stage · K/J reorder · d delete · esc back", classes="hint")
        yield BatchedFooter()

    def on_mount(self) -> None:
        """Read the pipelines."""
        self.reload()

    @property
    def pipeline(self) -> PipelineRow | None:
        """The highlighted pipeline."""
        index = self.query_one("#pipelines", OptionList).highlighted
        return self.pipeline_rows[index] if index is not None and index < len(self.pipeline_rows) else None

    async def fresh(self, entity: str, row: Any) -> Any:
        """The row as stored now (keys typed fast may act before the list is re-read)."""
        snapshot = await session_of(self).call(records.get, entity, row.id)
        return replace(row, version=snapshot.version, name=snapshot["name"])

    @property
    def stage(self) -> StageRow | None:
        """The highlighted stage."""
        table = self.query_one("#stages", DataTable)
        return self.stage_rows[table.cursor_row] if self.stage_rows and 0 <= table.cursor_row < len(self.stage_rows) else None

    @work(exit_on_error=False, exclusive=True, group="pipelines-load")
    async def reload(self, pipeline_id: int | None = None, stage_id: int | None = None) -> None:
        """Read pipelines and stages again, keeping (or moving to) the given rows."""
        session = session_of(self)
        keep = pipeline_id or (self.pipeline.id if self.pipeline else None)
        self.pipeline_rows = await session.call(pipelines.pipeline_rows)
        option_list = self.query_one("#pipelines", OptionList)
        option_list.set_options(
            Option(Content.assemble(safe_text(p.name), (f"  {p.deals:,} deals", "$text-muted")), id=str(p.id)) for p in self.pipeline_rows
        )
        ids = [p.id for p in self.pipeline_rows]
        option_list.highlighted = ids.index(keep) if keep in ids else (0 if ids else None)
        await self._load_stages(stage_id)

    async def _load_stages(self, stage_id: int | None = None) -> None:
        table = self.query_one("#stages", DataTable)
        keep = stage_id or (self.stage.id if self.stage else None)
        pipeline = self.pipeline
        self.stage_rows = await session_of(self).call(pipelines.stage_rows, pipeline.id) if pipeline else []
        table.clear()
        for row in self.stage_rows:
            table.add_row(
                Content(safe_text(row.name)), Content(f"{row.probability}%"), Content(row.kind),
                Content(f"{row.rot_days} days" if row.rot_days else "—"), Content(f"{row.deals:,}"),
            )  # fmt: skip
        ids = [row.id for row in self.stage_rows]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))

    @on(OptionList.OptionHighlighted, "#pipelines")
    async def _pipeline_changed(self) -> None:
        await self._load_stages()

    def _stages_focused(self) -> bool:
        return isinstance(self.focused, DataTable)

    async def _try(self, call: Callable[[], Awaitable[Any]], *, title: str) -> bool:
        try:
            await call()
        except ServiceError as error:
            self.notify(safe_text(str(error)), title=title, severity="warning", markup=False)
            return False
        return True

    # -- actions -------------------------------------------------------------------------------
    def action_back(self) -> None:
        """Return to the board (it re-reads the pipeline)."""
        self.dismiss(None)

    @work(exit_on_error=False, group="pipelines-edit")
    async def action_add(self) -> None:
        """Add a pipeline (pipelines list focused) or a stage (stages table focused)."""
        session = session_of(self)
        if self._stages_focused() and self.pipeline is not None:
            pipeline_id = self.pipeline.id

            async def save(values: dict[str, Any]) -> dict[str, str] | None:
                try:
                    await session.call(pipelines.add_stage, session.ctx, pipeline_id, values)
                except ValidationFailed as error:
                    return error.errors
                except ServiceError as error:
                    return {"name": str(error)}
                return None

            if await self.app.push_screen_wait(StageFormScreen(save)):
                self.reload()
            return
        name = await self.app.push_screen_wait(TextPromptScreen(Content("Name of the new pipeline"), placeholder="e.g. Renewals"))
        added: list[int] = []

        async def add() -> None:
            added.append((await session.call(pipelines.add_pipeline, session.ctx, name)).id)

        if name and await self._try(add, title="Not added"):
            self.reload(pipeline_id=added[0])

    @work(exit_on_error=False, group="pipelines-edit")
    async def action_rename(self) -> None:
        """Rename the highlighted pipeline or stage."""
        session = session_of(self)
        entity, row = ("stage", self.stage) if self._stages_focused() else ("pipeline", self.pipeline)
        if row is None:
            return
        row = await self.fresh(entity, row)
        question = Content.assemble(f"New name for the {entity} ", (safe_text(row.name), "bold"))
        name = await self.app.push_screen_wait(TextPromptScreen(question, value=row.name))
        if name and await self._try(
            lambda: session.call(records.update, session.ctx, entity, row.id, {"name": name}, version=row.version), title="Not renamed"
        ):
            self.reload()

    @on(DataTable.RowSelected)
    def _stage_selected(self) -> None:
        self.action_edit_stage()

    @work(exit_on_error=False, group="pipelines-edit")
    async def action_edit_stage(self) -> None:
        """Edit the highlighted stage's name, probability, kind and rot days."""
        stage = self.stage
        if stage is None:
            return
        stage = await self.fresh("stage", stage)
        session = session_of(self)

        async def save(values: dict[str, Any]) -> dict[str, str] | None:
            try:
                await session.call(records.update, session.ctx, "stage", stage.id, values, version=stage.version)
            except ValidationFailed as error:
                return error.errors
            except ServiceError as error:
                return {"name": str(error)}
            return None

        if await self.app.push_screen_wait(StageFormScreen(save, stage=stage)):
            self.reload()

    @work(exit_on_error=False, group="pipelines-edit")
    async def action_move_stage(self, step: int) -> None:
        """Move the highlighted stage up or down the pipeline."""
        stage = self.stage
        session = session_of(self)
        if stage is not None and self._stages_focused():
            if await self._try(lambda: session.call(pipelines.move_stage, session.ctx, stage.id, step), title="Not moved"):
                self.reload(stage_id=stage.id)

    @work(exit_on_error=False, group="pipelines-edit")
    async def action_delete(self) -> None:
        """Delete the highlighted stage (moving its deals first) or an empty pipeline."""
        session = session_of(self)
        if not self._stages_focused():
            pipeline = self.pipeline
            if pipeline is None:
                return
            pipeline = await self.fresh("pipeline", pipeline)
            question = Content.assemble("Delete the pipeline ", (safe_text(pipeline.name), "bold"), "?")
            if await self.app.push_screen_wait(ConfirmScreen(question, yes="Delete")) and await self._try(
                lambda: session.call(records.delete, session.ctx, "pipeline", pipeline.id, version=pipeline.version), title="Not deleted"
            ):
                self.reload()
            return
        stage = self.stage
        if stage is None:
            return
        stage = await self.fresh("stage", stage)
        move_to: int | None = None
        reason: str | None = None
        if stage.deals:
            others = [row for row in self.stage_rows if row.id != stage.id]
            if not others:
                self.notify("This is the pipeline's only stage: its deals have nowhere to go.", severity="warning")
                return
            question = Content.assemble(f"Move the {stage.deals:,} deals of ", (safe_text(stage.name), "bold"), " to")
            chosen = await self.app.push_screen_wait(ChoiceScreen(question, [Content(safe_text(row.name)) for row in others]))
            if chosen is None:
                return
            move_to = others[chosen].id
            if others[chosen].kind == "lost":
                reasons = await session.call(workspace_settings.lost_reasons)
                picked = await self.app.push_screen_wait(
                    ChoiceScreen(Content("Why were these deals lost?"), [Content(safe_text(r)) for r in reasons], tone="error")
                )
                if picked is None:
                    return
                reason = reasons[picked]
        question = Content.assemble("Delete the stage ", (safe_text(stage.name), "bold"), "?")
        if not await self.app.push_screen_wait(ConfirmScreen(question, yes="Delete")):
            return
        moved: list[int] = []

        async def delete() -> None:
            moved.append(
                await session.call(pipelines.delete_stage, session.ctx, stage.id, version=stage.version, move_to=move_to, lost_reason=reason)
            )

        if await self._try(delete, title="Not deleted"):
            self.notify(f"Deleted {safe_text(stage.name)}" + (f"; moved {moved[0]:,} deals." if moved[0] else "."), markup=False)
            self.reload()
