"""The quick deal form: title, company (with type-ahead over existing companies), amount and
expected close, plus owner, probability and confidence when editing. Errors show under each field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Select, Static

from crm_tui import clock
from crm_tui.dates import DateError, parse_date
from crm_tui.money import MoneyError, format_plain, parse_money
from crm_tui.screens.base import CatchesEarlyKeys, ReportsWorkerErrors, session_of
from crm_tui.screens.confirm import ConfirmScreen
from crm_tui.services import lookups
from crm_tui.services.deal_detail import DealDetail
from crm_tui.services.lookups import Choice
from crm_tui.text import safe_text


class CompanySuggester(Suggester):
    """Completes a company name from the workspace's companies as the user types."""

    def __init__(self, form: DealFormScreen) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.form = form

    async def get_suggestion(self, value: str) -> str | None:
        """The first company whose name starts with what was typed."""
        names = await session_of(self.form).call(lookups.company_names, value, 1)
        return names[0] if names else None


@dataclass(frozen=True)
class DealFormResult:
    """What the form collected: deal fields by service name, and the company as typed."""

    values: dict[str, Any]
    company_name: str | None
    """None: the company is read-only for this user, and left as it is."""


_SERVICE_NAMES = {
    "title": "title", "company": "company_id", "amount": "amount", "expected_close": "expected_close",
    "owner": "owner_id", "probability": "probability", "confidence": "confidence",
}  # fmt: skip
"""The form's fields -> the deal fields they fill."""


class DealFormScreen(CatchesEarlyKeys, ReportsWorkerErrors, ModalScreen[DealFormResult | None]):
    """Ask for a new deal's essentials, or edit a deal's (when `deal` is given)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="deal_form.cancel"),
        Binding("ctrl+s", "save", "Save", id="deal_form.save"),
    ]
    DEFAULT_CSS = """
    DealFormScreen { align: center middle; }
    DealFormScreen > VerticalScroll {
        width: 64; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    DealFormScreen .title { text-style: bold; padding: 1 0 0 0; }
    DealFormScreen Label { margin-top: 1; color: $text-muted; }
    DealFormScreen Input, DealFormScreen Select { background: $boost; }
    DealFormScreen .error { color: $text-error; height: auto; }
    DealFormScreen .hint { color: $text-muted; }
    DealFormScreen Horizontal { height: auto; align-horizontal: right; margin: 1 0; }
    DealFormScreen Button { margin-left: 2; }
    """

    def __init__(
        self,
        save: Callable[[DealFormResult], Awaitable[dict[str, str] | None]],
        *,
        stage_name: str,
        currency: str,
        deal: DealDetail | None = None,
        users: list[Choice] | None = None,
        read_only: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.read_only = read_only
        """The deal fields this user's role may not change: never sent."""
        self.locked = {form for form, name in _SERVICE_NAMES.items() if name in read_only}
        """The form's fields that fill them: greyed."""
        self.save = save
        """Stores the result; returns the errors per field, or None when it was saved."""
        self.stage_name = stage_name
        self.currency = currency
        self.deal = deal
        self.users = users or []
        self._typed: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        """The fields, their error lines, and the buttons."""
        deal = self.deal
        with VerticalScroll():
            if deal is None:
                yield Static(Content.assemble("New deal in ", (safe_text(self.stage_name), "bold")), classes="title")
            else:
                yield Static(Content.assemble("Edit ", (safe_text(deal.title), "bold")), classes="title")
            yield from self._field("title", "Title *", deal.title if deal else "", "e.g. Acme renewal 2027")
            yield from self._field("company", "Company", (deal.company or "") if deal else "", "type to find one; a new name adds it")
            amount = format_plain(deal.amount, deal.currency) if deal else ""
            yield from self._field("amount", f"Amount ({self.currency})", amount, "e.g. 12,400 or 12.4k")
            close = deal.expected_close.isoformat() if deal and deal.expected_close else ""
            yield from self._field("expected_close", "Expected close", close, "2026-12-01, +30d, next friday, dec 14")
            if deal is not None:
                yield Label(self._label("owner", "Owner"))
                options = [(Content(safe_text(user.name)), user.id) for user in self.users]
                yield Select(
                    options, value=deal.owner_id if deal.owner_id else Select.NULL, id="owner", prompt="Unassigned",
                    compact=True, disabled="owner" in self.locked,
                )  # fmt: skip
                yield from self._field("probability", "Probability % (empty: the stage's)", "" if deal.probability is None else str(deal.probability), f"stage: {deal.stage_probability}%")
                yield from self._field("confidence", "Confidence (0-5 stars)", "" if deal.confidence is None else str(deal.confidence), "0 to 5")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Save  ctrl+s", id="save", variant="primary")

    def _label(self, name: str, label: str) -> str:
        return f"{label} · read-only for you" if name in self.locked else label

    def _field(self, name: str, label: str, value: str, placeholder: str) -> ComposeResult:
        yield Label(self._label(name, label))
        suggester = CompanySuggester(self) if name == "company" else None
        yield Input(value, placeholder=placeholder, id=name, suggester=suggester, compact=True, disabled=name in self.locked)
        yield Static("", id=f"{name}-error", classes="error", markup=False)

    def on_mount(self) -> None:
        """Start in the title (now: keys typed right after n are its first letters), or the first
        field this user may change."""
        self.set_focus(next((field for field in self.query(Input) if not field.disabled), None))
        self._initial = self._entered()

    def on_key(self, event: events.Key) -> None:
        """Tab out of the company takes the company it offers, as right does: otherwise the three
        letters typed would be saved as a new company called "Ced"."""
        field = self.focused
        if event.key == "tab" and isinstance(field, Input) and field.id == "company":
            offered = field._suggestion  # textual==8.2.8 is pinned; Input has no public accessor
            if len(offered) > len(field.value):
                field.value = offered

    def _entered(self) -> dict[str, object]:
        return {str(field.id): field.value for field in self.query(Input)} | {
            str(choice.id): choice.value for choice in self.query(Select)
        }

    def show_errors(self, errors: dict[str, str]) -> None:
        """Put each message under its field (field names as the services use them)."""
        aliases = {"company_id": "company", "stage_id": "title", "": "title", "owner_id": "title"}
        for error_line in self.query(".error"):
            error_line.update("")
        for name, message in errors.items():
            target = aliases.get(name, name)
            lines = self.query(f"#{target}-error")
            (lines.first() if lines else self.query_one("#title-error")).update(message)

    def _value(self, name: str) -> str:
        return self._typed.get(name, self.query_one(f"#{name}", Input).value)

    def collect(self, typed: dict[str, str] | None = None) -> DealFormResult | None:
        """Read and check the fields (`typed`: values as they were when enter was pressed); None
        (with messages shown) if something is wrong."""
        errors: dict[str, str] = {}
        self._typed = typed or {}
        values: dict[str, Any] = {"title": self._value("title")}
        if not values["title"].strip():
            errors["title"] = "A deal needs a title."
        try:
            values["amount"] = parse_money(self._value("amount"), self.currency) if self._value("amount").strip() else 0
        except MoneyError as error:
            errors["amount"] = str(error)
        try:
            close: date | None = parse_date(self._value("expected_close"), clock.now().date())
            values["expected_close"] = close
        except DateError as error:
            errors["expected_close"] = str(error)
        if self.deal is not None:
            owner = self.query_one("#owner", Select).value
            values["owner_id"] = None if owner is Select.NULL else owner
            for name, top in (("probability", 100), ("confidence", 5)):
                text = self._value(name).strip()
                if not text:
                    values[name] = None
                elif text.isdigit() and 0 <= int(text) <= top:
                    values[name] = int(text)
                else:
                    errors[name] = f"A whole number from 0 to {top}, or empty."
        if errors:
            self.show_errors(errors)
            return None
        values = {name: value for name, value in values.items() if name not in self.read_only}
        return DealFormResult(values, None if "company" in self.locked else self._value("company"))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        # The field's value as it was at enter: keys typed after it may already be in the field.
        self._save_fields({event.input.id or "": event.value})

    async def submit_now(self, field: Input) -> None:
        """Enter came before the first field had the focus: save what was typed so far."""
        self.action_save()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Check the fields and save; the form stays open to show what the services refused. The
        fields are read now: keys typed while it saves cannot change what is saved."""
        self._save_fields({})

    def _save_fields(self, typed: dict[str, str]) -> None:
        result = self.collect(typed)
        if result is not None:
            self._save(result)

    @work(exit_on_error=False, exclusive=True, group="deal-form-save")
    async def _save(self, result: DealFormResult) -> None:
        errors = await self.save(result)
        if errors:
            self.show_errors(errors)
        else:
            self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without saving; ask first when something was typed."""
        if self._entered() == getattr(self, "_initial", None):
            self.dismiss(None)
            return

        def answered(drop: bool | None) -> None:
            if drop:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen(Content("Drop what you typed?"), yes="Drop", no="Keep editing"), answered)
