"""Record search in the command palette (ctrl+p): companies, contacts, leads, deals and notes by
name, e-mail, phone, company or note text, ranked, as you type; choosing one opens its record.

Record text reaches the palette only as Content built from safe_text(): the palette parses plain
prompts and every help text as markup, so a hit carries no help text and shows its detail line
as a second line of its prompt instead.
"""

from __future__ import annotations

from typing import Any

from textual.command import Hit, Hits, Matcher, Provider
from textual.content import Content

from crm_tui.screens.base import session_of
from crm_tui.services import search as search_service
from crm_tui.services.search import SearchHit
from crm_tui.text import safe_text
from crm_tui.widgets.palette import highlight

HIT_LIMIT = 20
"""How many records the palette lists for one query."""

_TOP_SCORE = 0.75
"""The best record's score. Textual scores a fuzzy command match at 1 or more, so the few commands
that match what was typed stay on top, and the records follow in the service's order."""
_SCORE_STEP = 0.01


def prompt(matcher: Matcher, hit: SearchHit) -> Content:
    """Two lines: the title with the typed letters highlighted, then the dimmed detail line."""
    detail = Content.styled(safe_text(hit.detail), "dim")
    return Content("\n").join([highlight(matcher, hit.title), detail])


class RecordSearch(Provider):
    """Every record matching what is typed, best first (services.search ranks them)."""

    async def search(self, query: str) -> Hits:
        """Ask the database thread for the records matching `query` and offer each one."""
        session = session_of(self.screen)
        hits = await session.call(search_service.search, query, limit=HIT_LIMIT)
        matcher = self.matcher(query)
        for rank, hit in enumerate(hits):
            entity, record_id = hit.opens
            yield Hit(
                _TOP_SCORE - rank * _SCORE_STEP,  # keeps the service's ranking among the records
                prompt(matcher, hit),
                lambda entity=entity, record_id=record_id: self._open(entity, record_id),
                text=safe_text(hit.title),
            )

    def _open(self, entity: str, record_id: int) -> None:
        app: Any = self.app  # CrmApp; importing it here would be an import cycle
        app.open_record(entity, record_id)
