"""Column mappings saved by name, so the next export from the same old CRM imports without mapping
again. Stored as a workspace setting: {entity: {name: {column header: target key}}}."""

from __future__ import annotations

from crm_tui.services.errors import ServiceError
from crm_tui.services.import_convert import fold
from crm_tui.services.workspace_settings import get_setting, put_setting

SETTING = "import.mappings"


def _all() -> dict[str, dict[str, dict[str, str]]]:
    return dict(get_setting(SETTING, {}) or {})


def mapping_names(entity: str) -> list[str]:
    """The names of the mappings saved for `entity`, sorted."""
    return sorted(_all().get(entity, {}))


def save_mapping(name: str, entity: str, header: list[str], mapping: dict[int, str]) -> None:
    """Keep `mapping` (column index -> target) under `name`, by column header."""
    name = name.strip()
    if not name:
        raise ServiceError("a mapping needs a name")
    stored = _all()
    stored.setdefault(entity, {})[name] = {header[index]: target for index, target in mapping.items() if index < len(header)}
    put_setting(SETTING, stored)


def load_mapping(name: str, entity: str, header: list[str]) -> dict[int, str]:
    """The saved mapping `name` applied to this file's header (columns matched by header text,
    case and accents aside); a column the mapping does not know stays unmapped."""
    saved = _all().get(entity, {})
    found = next((value for key, value in saved.items() if fold(key) == fold(name)), None)
    if found is None:
        names = ", ".join(sorted(saved)) or "none yet"
        raise ServiceError(f"there is no saved {entity} mapping named {name!r} (saved: {names})")
    by_header = {fold(column): target for column, target in found.items()}
    return {index: by_header[fold(column)] for index, column in enumerate(header) if fold(column) in by_header}
