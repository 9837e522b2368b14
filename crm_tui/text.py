"""Safe record text: the one helper every piece of user or import text passes through.

Textual parses plain strings as markup almost everywhere, so record text reaches the screen only as
`Content`/`Text` or with `markup=False`, and only after `safe_text()` has removed what a terminal
would interpret: control characters, escape sequences and bidirectional overrides.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls (except the ones long text keeps), DEL, C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_WITH_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidirectional embedding/override/isolate characters can make text display differently from
# what it is (the "Trojan Source" trick); they are never needed in CRM record text.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CONTROL_NAMES = {"\x1b": "escape", "\n": "line break", "\r": "carriage return", "\t": "tab", "\x00": "null"}
_ESCAPE_SEQUENCE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|.)")


def safe_text(value: object, *, multiline: bool = False) -> str:
    """Return `value` as text that is safe to draw in a terminal.

    Escape sequences and control characters are removed; with `multiline=False` (the default, for
    cards, cells and titles) line breaks and tabs become single spaces.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _BIDI.sub("", text)
    if multiline:
        text = text.replace("\r\n", "\n")
        return _CONTROL.sub("", text)
    text = re.sub(r"[\r\n\t]+", " ", text)
    return _CONTROL_WITH_BREAKS.sub("", text)


def find_forbidden_character(value: str, *, multiline: bool = False) -> str | None:
    """Describe the first character input validation must reject, or None if there is none.

    Single-line fields reject line breaks and tabs too; long text keeps them.
    """
    pattern = _CONTROL if multiline else _CONTROL_WITH_BREAKS
    match = pattern.search(value) or _BIDI.search(value)
    if match is None:
        return None
    char = match.group()
    name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "control character").lower()
    return f"{name} (U+{ord(char):04X})"


def fit(text: str, width: int) -> str:
    """`text` cut to `width` cells, its last one an ellipsis when it was cut ("" for no cells)."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"
