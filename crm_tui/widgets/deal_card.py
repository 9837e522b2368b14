"""How a deal card reads: title, company, amount and owner, as safe Content (never markup)."""

from __future__ import annotations

from textual.content import Content

from crm_tui.money import format_money
from crm_tui.services.board import DealCard
from crm_tui.text import safe_text


def card_content(card: DealCard) -> Content:
    """The lines of one card. Record text goes in as plain text after `safe_text()`."""
    title = Content.styled(safe_text(card.title), "bold")
    company = Content.styled(safe_text(card.company) or "No company", "$text-muted" if card.company else "$text-disabled")
    amount = Content.styled(format_money(card.amount, card.currency), "$text-success")
    owner = Content.styled(safe_text(card.owner) or "Unassigned", "$text-muted")
    return Content("\n").join([title, company, Content.assemble(amount, "  ", owner)])
