"""Lookup paths: what a lookup field's `lookup_path` names and the type of value it yields.

A path is a list of keys. Every key but the last is a link followed from the record: a standard
one (a contact's or deal's `company`, a deal's `contact`) or a custom reference field. The last
key is a field of the record reached: a standard field (`name`, `amount`, `industry`, ...) or a
custom field, which may itself be a lookup (Blue's "lookup of a lookup"). Examples, on a deal:
`["company", "industry"]`, `["contact", "company", "name"]`, `["partner", "tier"]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crm_tui.services.custom_field_types import FieldDef, FieldError

MAX_HOPS = 2
"""Links a path may follow (a lookup of a lookup adds the other field's own)."""
MAX_NESTING = 3
"""Lookups of lookups deeper than this (or in a circle) are refused."""

STANDARD_LINKS: dict[str, dict[str, str]] = {
    "company": {},
    "contact": {"company": "company"},
    "lead": {},
    "deal": {"company": "company", "contact": "contact"},
}
"""Standard links per record type: link key -> the record type it reaches."""

_PERSON = {"name": "text", "first_name": "text", "last_name": "text", "email": "email", "phone": "phone",
           "title": "text", "source": "text", "owner": "user"}  # fmt: skip
STANDARD_VALUES: dict[str, dict[str, str]] = {
    "company": {"name": "text", "domain": "text", "website": "url", "phone": "phone", "industry": "text",
                "employees": "number", "owner": "user", "address": "address"},
    "contact": {**_PERSON, "address": "address"},
    "lead": {**_PERSON, "company_name": "text", "status": "text"},
    "deal": {"title": "text", "amount": "currency", "probability": "number", "expected_close": "date",
             "source": "text", "owner": "user"},
}  # fmt: skip
"""Standard fields a lookup can show, each with the custom field type its values behave as."""


@dataclass(frozen=True)
class Hop:
    """One link of a path: from a record of `source`, by `key`, to a record of `target`."""

    source: str
    key: str
    target: str
    field: FieldDef | None
    """The custom reference field followed (None: a standard link)."""


@dataclass(frozen=True)
class Resolved:
    """A checked path: its links, the field read at the end and the type of its values."""

    hops: tuple[Hop, ...]
    entity: str
    key: str
    field: FieldDef | None
    """The custom field read at the end (None: a standard field)."""
    value_type: str


DefsOf = Callable[[str], list[FieldDef]]


def resolve(entity: str, path: tuple[str, ...] | list[str], defs_of: DefsOf, *, depth: int = 0) -> Resolved:
    """Check `path` from a record of `entity`; FieldError (completing "<label> ...") if it names
    something that does not exist or nests too deep."""
    if depth >= MAX_NESTING:
        raise FieldError(f"looks up lookups more than {MAX_NESTING} deep (or in a circle)")
    path = [str(key).strip() for key in path if str(key).strip()]
    if len(path) < 2:
        raise FieldError("needs a link and a field, like company.name")
    if len(path) - 1 > MAX_HOPS:
        raise FieldError(f"follows more than {MAX_HOPS} links")
    hops: list[Hop] = []
    here = entity
    for key in path[:-1]:
        customs = {fd.key: fd for fd in defs_of(here) if fd.type == "reference"}
        if key in STANDARD_LINKS.get(here, {}):
            hop = Hop(here, key, STANDARD_LINKS[here][key], None)
        elif key in customs and customs[key].reference_entity:
            hop = Hop(here, key, customs[key].reference_entity or "", customs[key])
        else:
            links = [*STANDARD_LINKS.get(here, {}), *customs]
            offer = f"; a {here} links by {', '.join(links)}" if links else f"; a {here} links to nothing"
            raise FieldError(f"cannot follow {key!r}{offer}")
        hops.append(hop)
        here = hop.target
    last = path[-1]
    if last in STANDARD_VALUES.get(here, {}):
        return Resolved(tuple(hops), here, last, None, STANDARD_VALUES[here][last])
    fd = next((fd for fd in defs_of(here) if fd.key == last), None)
    if fd is None:
        raise FieldError(f"names no field {last!r} of a {here}")
    if fd.type == "lookup":
        inner = resolve(here, fd.lookup_path, defs_of, depth=depth + 1)
        return Resolved(tuple(hops), here, last, fd, inner.value_type)
    return Resolved(tuple(hops), here, last, fd, fd.type)


def parse(text: str) -> list[str]:
    """`company.name` (or `company > name`, `company / name`) as a path."""
    for separator in (">", "/", "→"):
        text = text.replace(separator, ".")
    return [part.strip() for part in text.split(".") if part.strip()]
