"""Adding a record from a list with one line of text: the rest is filled in on its detail screen."""

from __future__ import annotations

from crm_tui.services import pipelines, records
from crm_tui.services.context import Context
from crm_tui.services.errors import ServiceError
from crm_tui.services.records import Snapshot


def split_name(text: str) -> tuple[str | None, str | None]:
    """ "Jane van Dijk" -> ("Jane", "van Dijk"); one word is a last name."""
    parts = text.strip().split(None, 1)
    if not parts:
        return None, None
    if len(parts) == 1:
        return None, parts[0]
    return parts[0], parts[1]


def quick_create(ctx: Context, entity: str, text: str) -> Snapshot:
    """Create a company, contact, lead or deal named `text`, owned by the current user."""
    text = text.strip()
    if not text:
        raise ServiceError("type a name first")
    data: dict[str, object] = {"owner_id": ctx.user_id}
    if entity == "company":
        data["name"] = text
    elif entity in ("contact", "lead"):
        data["first_name"], data["last_name"] = split_name(text)
    elif entity == "deal":
        stage_id = pipelines.first_open_stage()
        if stage_id is None:
            raise ServiceError("there is no pipeline with an open stage to put a new deal in")
        data.update(title=text, stage_id=stage_id)
    else:
        raise ServiceError(f"a {entity} cannot be added from a list")
    return records.create(ctx, entity, data)
