"""Computed fields that would give a hidden field away, hidden with it.

A formula `amount - cost` shown to a role from which `cost` is hidden tells them the cost; a lookup
of a company's hidden field shows it on every deal. So a formula or lookup field that reads a field
hidden from a role (directly, or through another computed field) is hidden from that role too.
`permissions.load` adds these to a role's limits, so every form, list, export and timeline that
obeys the limits obeys these as well.
"""

from __future__ import annotations

from crm_tui.services import custom_field_rules, custom_fields, lookup_paths
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldDef, FieldError

Limit = tuple[str, str]
"""(entity, field): a standard field's name (`cost`, `owner_id`) or `custom.<key>`."""


def also_hidden(hidden: set[Limit]) -> set[Limit]:
    """The computed fields that read any of the `hidden` fields, however indirectly (not
    including `hidden` itself)."""
    if not hidden:
        return set()
    defs = {entity: custom_fields.definitions(entity) for entity in RECORD_MODELS}
    reads = {
        (entity, f"custom.{fd.key}"): _reads(entity, fd, defs)
        for entity, fields in defs.items()
        for fd in fields
        if fd.type in ("formula", "lookup")
    }
    found: set[Limit] = set()
    changed = True
    while changed:  # a formula over a lookup over a hidden field: follow until nothing new
        changed = False
        for field, inputs in reads.items():
            if field not in found and field not in hidden and inputs & (hidden | found):
                found.add(field)
                changed = True
    return found


def _reads(entity: str, fd: FieldDef, defs: dict[str, list[FieldDef]]) -> set[Limit]:
    """The fields a formula or lookup field reads, as limits would name them."""
    if fd.type == "lookup":
        try:
            path = lookup_paths.resolve(entity, fd.lookup_path, lambda name: defs.get(name, []))
        except FieldError:
            return set()  # a broken path computes nothing
        out = {(hop.source, f"custom.{hop.key}") for hop in path.hops if hop.field is not None}
        out |= {(hop.source, f"{hop.key}_id") for hop in path.hops if hop.field is None}
        last = f"custom.{path.key}" if path.field is not None else path.key
        return out | {(path.entity, last), (path.entity, f"{path.key}_id")}
    customs = {other.key for other in defs[entity]}
    # The names the formula mentions, as custom_field_admin.used_by reads them: a name in quoted
    # text may hide a field needlessly, never show one it should not.
    return {(entity, f"custom.{name}" if name in customs else name) for name in custom_field_rules.names_in(fd.formula)}
