"""The importer that the wizard and `crm import` share: plan every row, then (unless it is a dry run)
write the plan in one transaction as a batch that can be reverted.

Modes:
- "all" (the default): all or nothing. If any row is rejected, nothing is stored and the summary
  lists every rejected row with its line, column and reason.
- "partial": the valid rows are stored; the rejected ones are listed (and the CLI writes them to
  `<file>.rejected.csv` with the reason in an extra column).
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crm_tui.models import ImportBatch
from crm_tui.services import automation_match, custom_field_admin
from crm_tui.services.context import Context
from crm_tui.services.errors import ServiceError
from crm_tui.services.import_convert import Lookups, new_field_key
from crm_tui.services.import_plan import ON_DUPLICATE, Planned, Planner, PlanOptions
from crm_tui.services.import_read import Table, gc_paused
from crm_tui.services.import_rows import StageChoices
from crm_tui.services.import_write import Writer
from crm_tui.services.unit import write

MODES = ("all", "partial")
Progress = Callable[[str, int, int], None]
"""Called as (phase, done, total): phase is "checking" or "storing"."""


@dataclass(frozen=True)
class ImportRequest:
    """What to import and how."""

    entity: str
    mapping: dict[int, str]
    """Column index -> target key (see import_columns.targets); unmapped columns are ignored."""
    file_name: str = ""
    mode: str = "all"
    on_duplicate: str = "skip"
    match_on: tuple[str, ...] = ()
    stages: StageChoices = field(default_factory=StageChoices)
    new_fields: dict[int, str] = field(default_factory=dict)
    """Column index -> label of a text custom field to create for it."""
    automations: bool = False
    """Run the automation rules on the imported records. Off by default: a history brought in from
    another CRM would otherwise send a follow-up, an e-mail or a webhook call per row."""


@dataclass
class ImportResult:
    """The summary: counts, every rejected row with its reason, and what else happened."""

    entity: str
    total: int
    created: int = 0
    updated: int = 0
    skipped: list[Planned] = field(default_factory=list)
    rejected: list[Planned] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    related: dict[str, int] = field(default_factory=dict)
    batch_id: int | None = None
    dry_run: bool = False
    stored: bool = False
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The summary as plain lines (the CLI prints them; the wizard shows them)."""
        verb = "would be" if self.dry_run or not self.stored else "were"
        head = "Dry run: nothing was stored." if self.dry_run else (
            f"Import #{self.batch_id}: stored in {self.seconds:.1f} s." if self.stored else "Nothing was stored."
        )
        counts = (
            f"{self.total} rows: {self.created} {verb} created, {self.updated} updated, "
            f"{len(self.skipped)} skipped, {len(self.rejected)} rejected."
        )
        out = [head, counts]
        if not self.dry_run and not self.stored and self.rejected:
            out.append("All or nothing: fix the rejected rows (or import in partial mode) and import again.")
        for kind, count in sorted(self.related.items()):
            name = kind if count == 1 else _PLURALS[kind]
            out.append(f"{count} new {name} {'created' if self.stored else 'would be created'} along the way.")
        out += [f"warning: {text}" for text in self.warnings]
        out += [f"line {item.line}: rejected: {item.reason}" for item in self.rejected]
        out += [f"line {item.line}: skipped: {item.reason}" for item in self.skipped[:200]]
        if len(self.skipped) > 200:
            out.append(f"... and {len(self.skipped) - 200} more skipped rows")
        return out


def check(request: ImportRequest) -> None:
    """Refuse a request that cannot work, before reading any row."""
    if request.mode not in MODES:
        raise ServiceError(f"mode must be one of {', '.join(MODES)}")
    if request.on_duplicate not in ON_DUPLICATE:
        raise ServiceError(f"on-duplicate must be one of {', '.join(ON_DUPLICATE)}")
    if not any(request.mapping.values()) and not request.new_fields:
        raise ServiceError("no column is mapped to a field: nothing to import")


def run_import(
    ctx: Context, table: Table, request: ImportRequest, *, dry_run: bool = False, progress: Progress | None = None
) -> ImportResult:
    """Plan the rows of `table`; unless `dry_run`, store them as one batch (see the module doc)."""
    check(request)
    with gc_paused():
        return _run(ctx, table, request, dry_run=dry_run, progress=progress)


def _run(ctx: Context, table: Table, request: ImportRequest, *, dry_run: bool, progress: Progress | None) -> ImportResult:
    started = time.perf_counter()
    # The rows are planned before the write transaction opens: on SQLite a write transaction holds
    # the lock every other save waits for, so it covers only the storing.
    lookups = Lookups.load(request.entity)
    planned = _plan(request, table, lookups, progress)
    if dry_run:
        return _summary(request, table, planned, lookups, dry_run=True)
    if request.mode == "all" and any(item.action == "reject" for item in planned):
        return _summary(request, table, planned, lookups)
    try:
        with write(ctx) as tx:
            _make_new_fields(ctx, request, planned)
            batch_id = ImportBatch.insert(
                entity=request.entity, file_name=request.file_name[:250], user=ctx.user_id, created_at=tx.now,
                mode=request.mode, on_duplicate=request.on_duplicate, txn=tx.token,
            ).execute()  # fmt: skip
            if request.automations:
                tx.log(automation_match.IMPORT_RULES_ON, "import", batch_id)
            writer = Writer(tx, request.entity, lookups, batch_id)
            writer.prepare(planned)
            storing = (lambda done, total: progress("storing", done, total)) if progress else None
            failed = writer.create([item for item in planned if item.action == "create"], storing)
            failed += writer.update([item for item in planned if item.action == "update"])
            if failed and request.mode == "all":
                raise _Abort(_summary(request, table, planned, lookups))
            writer.save_items()
            result = _summary(request, table, planned, lookups)
            result.batch_id, result.stored = batch_id, True
            result.seconds = time.perf_counter() - started
            ImportBatch.update(counts=_counts(result)).where(ImportBatch.id == batch_id).execute()
            return result
    except _Abort as abort:
        return abort.result


class _Abort(Exception):
    """Rolls the import's transaction back, carrying the summary to show."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__("import rolled back")
        self.result = result


def _make_new_fields(ctx: Context, request: ImportRequest, planned: list[Planned]) -> None:
    """Create the text fields asked for unmapped columns, and file the rows' values under them."""
    for index, label in request.new_fields.items():
        made = custom_field_admin.add_field(ctx, request.entity, label, "text")
        for item in planned:
            if (value := item.custom.pop(new_field_key(index), None)) is not None:
                item.custom[made.key] = value


def _plan(request: ImportRequest, table: Table, lookups: Lookups, progress: Progress | None) -> list[Planned]:
    # A column that will get a new field is planned under a stand-in key, checked as text.
    mapping = dict(request.mapping) | {index: f"custom.{new_field_key(index)}" for index in request.new_fields}
    options = PlanOptions(
        request.entity, mapping, request.on_duplicate, request.match_on, request.stages, tuple(table.header)
    )
    checking = (lambda done, total: progress("checking", done, total)) if progress else None
    return Planner(options, lookups).plan(table.rows, checking)


def _summary(
    request: ImportRequest, table: Table, planned: list[Planned], lookups: Lookups, *, dry_run: bool = False
) -> ImportResult:
    result = ImportResult(request.entity, len(planned), dry_run=dry_run)
    result.warnings = list(table.warnings)
    notices: Counter[str] = Counter()
    pending: dict[tuple[str, str], str] = {}
    for item in planned:
        if item.action == "create":
            result.created += 1
        elif item.action == "update":
            result.updated += 1
        elif item.action == "skip":
            result.skipped.append(item)
        else:
            result.rejected.append(item)
        notices.update(item.notices)
        if item.action in ("create", "update"):
            for ref in item.refs:
                pending.setdefault((ref.kind, ref.key), ref.get("name") or ref.key)
    result.warnings += [f"{text} ({count} row{'s' if count > 1 else ''})" for text, count in notices.items()]
    result.related = dict(Counter(kind for kind, _ in pending))
    for (kind, _), name in pending.items():
        if kind == "stage":
            result.warnings.append(f"the pipeline has no stage {name!r}: it {'will be' if dry_run else 'is'} added")
    for name, count in lookups.unknown_users.most_common():
        result.warnings.append(f"{name!r} is not a user of this workspace: {count} row{'s' if count > 1 else ''} left without one")
    return result


_PLURALS = {"company": "companies", "contact": "contacts", "tag": "tags", "stage": "stages"}


def _counts(result: ImportResult) -> dict[str, int]:
    return {"created": result.created, "updated": result.updated, "skipped": len(result.skipped),
            "rejected": len(result.rejected), "rows": result.total}  # fmt: skip


def write_rejected(path: Path, header: list[str], rejected: list[Planned]) -> Path:
    """Write the rejected rows to `path` as CSV: the original cells plus a "Reason" column
    (with the line number), so they can be fixed and imported again."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([*header, "Reason"])
        for item in rejected:
            writer.writerow([*item.cells, f"line {item.line}: {item.reason}"])
    tmp.replace(path)
    return path
