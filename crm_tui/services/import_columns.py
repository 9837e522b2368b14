"""What an import column can map to, and which mapping a file's header suggests.

Suggestions come from exact header names only: synonyms in seven languages, the column names of
common CRM exports (HubSpot, Pipedrive, Salesforce, Zoho, Google Contacts), crm-tui's own list
labels (so an export imports back unchanged) and the custom fields' labels and keys. There is no
fuzzy matching: a wrong guess costs the user more than a column left for them to choose. The
standard targets and the synonym tables are data in import_synonyms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from crm_tui.services import custom_fields, list_fields, permissions
from crm_tui.services.custom_field_types import RECORD_MODELS, FieldDef
from crm_tui.services.errors import ServiceError
from crm_tui.services.import_synonyms import CUSTOM_HELP, PREFIXES, REQUIRED, STANDARD, SYNONYMS, WEAK

ENTITIES = ("company", "contact", "lead", "deal", "task", "note")
"""The record types a file can be imported into."""

PLURALS = {
    "companies": "company", "contacts": "contact", "leads": "lead", "deals": "deal", "tasks": "task", "notes": "note",
}  # fmt: skip
"""The plural the CLI takes (`crm import contacts FILE`) -> the record type."""


@dataclass(frozen=True)
class ImportTarget:
    """A field an import column can fill."""

    key: str
    label: str
    required: bool
    help: str


_LIST_KEYS = {("contact", "name"): "full_name", ("lead", "name"): "full_name"}
"""crm-tui list columns whose import target has another key."""

_KEY_SUFFIX = re.compile(r"\((custom\.\w+)\)\s*$")


def normalise_header(text: str) -> str:
    """A header name reduced for matching: camelCase split, case folded, accents removed, and
    punctuation, underscores and spaces collapsed ("E-Mail Adresse" -> "e mail adresse")."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[\W_]+", " ", text).strip()


def entity_of(word: str) -> str:
    """The record type a CLI word names ("contacts" or "contact"); a ServiceError for others."""
    entity = PLURALS.get(word.strip().lower(), word.strip().lower())
    if entity not in ENTITIES:
        raise ServiceError(f"cannot import {word!r}: choose one of {', '.join(PLURALS)}")
    return entity


def targets(entity: str) -> list[ImportTarget]:
    """The fields a column can fill for `entity`: the standard ones, then the custom fields that
    take typed values (formula, lookup and auto-number fields are computed). Needs an open database."""
    entity = entity_of(entity)
    result = [ImportTarget(key, label, (entity, key) in REQUIRED, hint) for key, label, hint in STANDARD[entity]]
    for fd in _custom_defs(entity):
        result.append(ImportTarget(f"custom.{fd.key}", fd.label, False, _custom_help(fd)))
    # An import fills only what its user may change: a hidden or read-only field is no target.
    return [target for target in result if permissions.writable(entity, target.key)]


def _custom_defs(entity: str) -> list[FieldDef]:
    if entity not in RECORD_MODELS:
        return []
    return [fd for fd in custom_fields.definitions(entity) if not fd.read_only]


def _custom_help(fd: FieldDef) -> str:
    options = ", ".join(fd.options[:6]) + (", …" if len(fd.options) > 6 else "")
    if fd.type == "dropdown":
        hint = f"one of {options}"
    elif fd.type == "multi_select":
        hint = f"some of {options}, separated by , or ;"
    elif fd.type == "reference":
        hint = f"name of a {fd.reference_entity or 'record'}"
    else:
        hint = CUSTOM_HELP.get(fd.type, fd.type.replace("_", " "))
    return f"{hint} (required)" if fd.required else hint


def suggest(entity: str, header: list[str]) -> dict[int, str]:
    """Column index -> target key for the columns whose names `entity` recognises, each target
    used once (the better-named column wins). Needs an open database (for the custom fields)."""
    entity = entity_of(entity)
    tables = _tables(entity)
    prefixes = PREFIXES[entity]
    candidates: list[tuple[int, int, str]] = []
    allowed = set(tables[0].values())
    for index, text in enumerate(header):
        name = normalise_header(text)
        keyed = _KEY_SUFFIX.search(text)
        if keyed and keyed.group(1) in allowed:  # crm-tui's export names a clashing label "Phone (custom.phone)"
            candidates.append((0, index, keyed.group(1)))
            continue
        found = _lookup(name, tables)
        if found is None:
            rest = next((name[len(p) + 1 :] for p in prefixes if name.startswith(p + " ")), "")
            found = _lookup(rest, tables)
            if found is not None:  # a prefixed name ranks below every exact one
                found = (found[0] + len(tables), found[1])
        if found is not None:
            candidates.append((found[0], index, found[1]))
    chosen: dict[int, str] = {}
    for _rank, index, key in sorted(candidates):
        if key not in chosen.values():
            chosen[index] = key
    if {"first_name", "last_name"} & set(chosen.values()):
        # Google Contacts has "Name", "Given Name" and "Family Name": the parts are the better source.
        chosen = {index: key for index, key in chosen.items() if key != "full_name"}
    return dict(sorted(chosen.items()))


def _lookup(name: str, tables: list[dict[str, str]]) -> tuple[int, str] | None:
    if not name:
        return None
    for rank, table in enumerate(tables):
        if name in table:
            return rank, table[name]
    return None


def _tables(entity: str) -> list[dict[str, str]]:
    """Normalised name -> target key, best source first: the target keys themselves (the header
    of crm-tui's full export), crm-tui's list labels, the custom fields' labels and keys, the
    synonyms, the weaker synonyms."""
    found = targets(entity)  # the custom fields are read once: their targets make the custom table below
    keys = {normalise_header(target.key): target.key for target in found}
    allowed = set(keys.values())
    own: dict[str, str] = {}
    if entity in list_fields.LABELS:
        for column in list_fields.entity_list(entity).columns:
            key = _LIST_KEYS.get((entity, column.key), column.key)
            if key in allowed:
                own.setdefault(normalise_header(column.label), key)
    custom: dict[str, str] = {}
    for target in found:
        if target.key.startswith("custom."):
            custom.setdefault(normalise_header(target.label), target.key)
            custom.setdefault(normalise_header(target.key.removeprefix("custom.")), target.key)
    return [keys, own, custom, _static("strong", entity), _static("weak", entity)]


@cache
def _static(strength: str, entity: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for key, names in (SYNONYMS if strength == "strong" else WEAK).get(entity, {}).items():
        for name in names.split("|"):
            table.setdefault(normalise_header(name), key)
    return table


def synonym_clashes() -> list[str]:
    """Header names listed for two different targets of one record type (for the tests: each
    name must mean one thing, or the first listed would win silently)."""
    clashes = []
    for source in (SYNONYMS, WEAK):
        for entity, by_key in source.items():
            seen: dict[str, str] = {}
            for key, names in by_key.items():
                for name in {normalise_header(name) for name in names.split("|")}:
                    if seen.setdefault(name, key) != key:
                        clashes.append(f"{entity}: {name!r} means {seen[name]} and {key}")
    return clashes
