"""Adding a record from a list with one line of text: the rest is filled in on its detail screen."""

from __future__ import annotations

from crm_tui.models import Pipeline, Stage
from crm_tui.services import records
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


def first_open_stage() -> int:
    """The first open stage of the first live pipeline, where a new deal starts."""
    stage = (
        Stage.select(Stage.id)
        .join(Pipeline)
        .where(Stage.kind == "open", Stage.deleted_at.is_null(), Pipeline.deleted_at.is_null())
        .order_by(Pipeline.position, Pipeline.id, Stage.position, Stage.id)
        .first()
    )
    if stage is None:
        raise ServiceError("there is no pipeline with an open stage to put a new deal in")
    return stage.id


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
        data.update(title=text, stage_id=first_open_stage())
    else:
        raise ServiceError(f"a {entity} cannot be added from a list")
    return records.create(ctx, entity, data)
