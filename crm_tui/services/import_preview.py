"""What the import wizard shows before anything is stored: the first rows as they will be stored,
and the stage names of a deal file that the pipeline lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from crm_tui.models import Pipeline, Stage, Tag, User
from crm_tui.money import format_money
from crm_tui.services import import_columns, records
from crm_tui.services.errors import NotFound
from crm_tui.services.import_convert import Lookups, Pending, clean, closing_word, fold
from crm_tui.services.import_engine import ImportRequest
from crm_tui.services.import_plan import Planned, Planner, PlanOptions
from crm_tui.services.import_read import Table

_REFERENCES = {"company_id": "company", "contact_id": "contact", "deal_id": "deal"}
_USERS = ("owner_id", "assignee_id", "author_id")


@dataclass(frozen=True)
class PreviewRow:
    """One row as it will be stored: (field label, value as text) pairs, or why it will not be."""

    line: int
    action: str
    reason: str
    values: tuple[tuple[str, str], ...]


def preview(table: Table, request: ImportRequest, limit: int = 10) -> list[PreviewRow]:
    """The first `limit` rows of `table` planned as the import would plan them (nothing stored)."""
    lookups = Lookups.load(request.entity)
    mapping = {index: key for index, key in request.mapping.items() if key}
    options = PlanOptions(request.entity, mapping, request.on_duplicate, request.match_on, request.stages, tuple(table.header))
    planned = Planner(options, lookups).plan(table.rows[:limit])
    labels = {target.key: target.label for target in import_columns.targets(request.entity)}
    return [_row(item, labels) for item in planned]


def _row(item: Planned, labels: dict[str, str]) -> PreviewRow:
    shown: list[tuple[str, str]] = []
    currency = item.values.get("currency") or ""
    for name, value in item.values.items():
        key = name.removesuffix("_id") if name.endswith("_id") else name
        shown.append((labels.get(key, labels.get(name, name)), _text(name, value, currency)))
    for key, value in item.custom.items():
        shown.append((labels.get(f"custom.{key}", key), _plain(value)))
    shown += [(labels.get(key, key), _plain(value)) for key, value in item.dates.items()]
    if item.tags:
        shown.append((labels.get("tags", "Tags"), ", ".join(_tag(tag) for tag in item.tags)))
    return PreviewRow(item.line, item.action, item.reason, tuple(shown))


def _text(name: str, value: Any, currency: str) -> str:
    if isinstance(value, Pending):
        person = " ".join(part for part in (value.get("first_name"), value.get("last_name")) if part)
        return f"{value.get('name') or person or value.get('email') or value.key} (new)"
    if value is None:
        return ""
    if name in _REFERENCES:
        try:
            return records.get(_REFERENCES[name], value).title
        except NotFound:
            return f"#{value}"
    if name in _USERS:
        return User.select(User.login).where(User.id == value).scalar() or f"#{value}"
    if name == "stage_id":
        return Stage.select(Stage.name).where(Stage.id == value).scalar() or f"#{value}"
    if name == "amount" and currency:
        return format_money(value, currency)
    return _plain(value)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat(sep=" ", timespec="minutes") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(part) for part in value)
    return str(value)


def _tag(tag: int | Pending) -> str:
    if isinstance(tag, Pending):
        return f"{tag.key} (new)"
    return Tag.select(Tag.name).where(Tag.id == tag).scalar() or f"#{tag}"


@dataclass(frozen=True)
class MissingStage:
    """A stage name of a deal file that the pipeline its rows go to lacks."""

    pipeline_id: int
    pipeline: str
    """The pipeline's name, as the workspace spells it."""
    name: str
    """The stage's name, as the file spells it."""
    choices: tuple[str, ...]
    """That pipeline's open stages, which the rows may go to instead."""

    @property
    def key(self) -> str:
        """Its key in StageChoices.mapped: the pipeline and the folded name."""
        return f"{self.pipeline_id}:{fold(self.name)}"


def missing_stages(table: Table, mapping: dict[int, str]) -> list[MissingStage]:
    """The stage names in a deal file that its pipelines lack, per pipeline, in order of first
    appearance (rows whose status is won or lost, or whose stage is named so, go to the closing
    stages and do not count). The same name missing from two pipelines is asked about twice: each
    maps to a stage of its own pipeline."""
    column = next((index for index, key in mapping.items() if key == "stage"), None)
    if column is None:
        return []
    status_column = next((index for index, key in mapping.items() if key == "status"), None)
    pipeline_column = next((index for index, key in mapping.items() if key == "pipeline"), None)
    lookups = Lookups.load("deal")
    missing: dict[tuple[int, str], str] = {}
    for row in table.rows:
        name = clean(row.cells[column]) if column < len(row.cells) else None
        status = clean(row.cells[status_column]) if status_column is not None and status_column < len(row.cells) else None
        if not name or (status and fold(status) in ("won", "lost")) or (not status and closing_word(name)):
            continue
        pipeline_name = clean(row.cells[pipeline_column]) if pipeline_column is not None and pipeline_column < len(row.cells) else None
        pipeline = lookups.pipelines.get(fold(pipeline_name)) if pipeline_name else lookups.default_pipeline
        if pipeline is not None and fold(name) not in lookups.stages.get(pipeline, {}):
            missing.setdefault((pipeline, fold(name)), name)
    if not missing:
        return []
    names = dict(Pipeline.select(Pipeline.id, Pipeline.name).where(Pipeline.id.in_([p for p, _ in missing])).tuples())
    return [
        MissingStage(pipeline, names.get(pipeline, ""), name, tuple(_open_stages(lookups, pipeline)))
        for (pipeline, _), name in missing.items()
    ]


def _open_stages(lookups: Lookups, pipeline_id: int) -> list[str]:
    return [stage.name for stage in lookups.stages.get(pipeline_id, {}).values() if stage.kind == "open"]
