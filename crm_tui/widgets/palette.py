"""Command palette helpers that keep record text out of markup parsing."""

from __future__ import annotations

from textual.command import Matcher
from textual.content import Content

from crm_tui.text import safe_text


def highlight(matcher: Matcher, text: str) -> Content:
    """Like `Matcher.highlight`, but `text` is taken literally (that one parses it as markup)."""
    plain = safe_text(text)
    content = Content(plain)
    _, offsets = matcher.fuzzy_search.match(matcher.query, plain)
    for offset in offsets:
        if not plain[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
