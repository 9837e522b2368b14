"""A read-only panel with everything about one deal (until the records screens bring the full
record view): fields, related records, stage history, latest notes and open tasks."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from crm_tui.money import format_money
from crm_tui.services.deal_detail import DealDetail
from crm_tui.text import safe_text


def _row(label: str, value: object, style: str = "") -> Content:
    shown = safe_text(value) if value not in (None, "") else "—"
    return Content.assemble((f"{label:<16}", "$text-muted"), (shown, style))


def _when(moment: object) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "—"


class DealDetailScreen(ModalScreen[str | None]):
    """Show one deal; `e` asks the board to edit it, Esc closes."""

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="deal_detail.close"),
        Binding("e", "edit", "Edit", id="deal_detail.edit"),
    ]
    DEFAULT_CSS = """
    DealDetailScreen { align: center middle; }
    DealDetailScreen > VerticalScroll {
        width: 90; max-width: 95%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    DealDetailScreen .heading { text-style: bold; margin-top: 1; color: $text-accent; }
    DealDetailScreen .title { text-style: bold; padding: 1 0 0 0; }
    """

    def __init__(self, detail: DealDetail) -> None:
        super().__init__()
        self.detail = detail

    def compose(self) -> ComposeResult:
        """Sections: the deal, its history, notes and tasks."""
        d = self.detail
        probability = f"{d.probability}% (own)" if d.probability is not None else f"{d.stage_probability}% (stage)"
        rows = [
            _row("Pipeline", d.pipeline), _row("Stage", d.stage),
            _row("Amount", format_money(d.amount, d.currency), "$text-success"),
            _row("Cost", format_money(d.cost, d.currency) if d.cost is not None else None),
            _row("Probability", probability),
            _row("Confidence", "★" * d.confidence + "☆" * (5 - d.confidence) if d.confidence else None),
            _row("Expected close", d.expected_close), _row("Company", d.company), _row("Contact", d.contact),
            _row("Owner", d.owner), _row("Source", d.source), _row("Tags", ", ".join(d.tags) or None),
            _row("Created", _when(d.created_at)), _row("In stage since", _when(d.stage_entered_at)),
            _row("Closed", _when(d.closed_at) if d.closed_at else None),
        ]  # fmt: skip
        if d.lost_reason:
            rows.append(_row("Lost because", d.lost_reason, "$text-error"))
        with VerticalScroll():
            yield Static(Content.styled(safe_text(d.title), "bold"), classes="title")
            yield Static(Content("\n").join(rows))
            yield Static("Stage history", classes="heading")
            history = [
                Content.assemble(
                    (f"{entry.at:%Y-%m-%d %H:%M}  ", "$text-muted"),
                    (safe_text(entry.from_stage) + " → " if entry.from_stage else "created in ", ""),
                    (safe_text(entry.to_stage), "bold"),
                    (f"  {safe_text(entry.by)}" if entry.by else "", "$text-muted"),
                )
                for entry in d.history
            ]
            yield Static(Content("\n").join(history) or Content("—"))
            yield Static("Latest notes", classes="heading")
            notes = [
                Content.assemble((f"{note.at:%Y-%m-%d}  {safe_text(note.author) or '—'}\n", "$text-muted"), safe_text(note.body, multiline=True))
                for note in d.notes
            ]
            yield Static(Content("\n\n").join(notes) or Content("—"))
            yield Static("Open tasks", classes="heading")
            tasks = [
                Content.assemble((f"{_when(task.due_at)}  ", "$text-muted"), safe_text(task.title), (f"  {safe_text(task.assignee)}" if task.assignee else "", "$text-muted"))
                for task in d.tasks
            ]
            yield Static(Content("\n").join(tasks) or Content("—"))
        yield Footer()

    def action_close(self) -> None:
        """Back to the board."""
        self.dismiss(None)

    def action_edit(self) -> None:
        """Back to the board, editing this deal."""
        self.dismiss("edit")
