"""Turning one imported row (cell text by target key) into the values a record takes, and the
names rows mention (users, pipelines, stages, tags, companies, contacts, deals) into ids.

A name that does not exist yet and that the import may create (a deal's company, a tag, a stage)
becomes a `Pending` placeholder: the plan counts it, and the writer creates it once and fills in
the id. Nothing here writes.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from peewee import fn

from crm_tui import clock
from crm_tui.dates import DateError, parse_date
from crm_tui.models import Company, Contact, Deal, Pipeline, Stage, Tag, User
from crm_tui.money import MoneyError, parse_money
from crm_tui.schemas.records import TagIn
from crm_tui.services import custom_fields, dedupe, validation, workspace_settings
from crm_tui.services.custom_field_types import FieldDef, FieldError, coerce
from crm_tui.services.errors import ServiceError
from crm_tui.services.export import restore
from crm_tui.text import find_forbidden_character

_TRUE = {"1", "true", "yes", "y", "x", "done", "ja", "oui", "si", "sí", "wahr", "vrai", "completed"}
_FALSE = {"0", "false", "no", "n", "", "open", "nein", "non", "falsch", "faux", "not started"}
_DEAL_STATUS = {
    "open": "open", "won": "won", "lost": "lost", "gewonnen": "won", "verloren": "lost", "gagné": "won",
    "gagne": "won", "perdu": "lost", "ganado": "won", "perdido": "lost", "closed won": "won", "closed lost": "lost",
    "offen": "open", "ouvert": "open", "abierto": "open", "active": "open", "in progress": "open", "deleted": "lost",
    "closedwon": "won", "closedlost": "lost",
}  # fmt: skip
_LEAD_STATUS = {
    "new": "new", "open": "new", "neu": "new", "nouveau": "new", "nuevo": "new", "working": "working",
    "contacted": "working", "in progress": "working", "attempted to contact": "working", "qualified": "working",
    "unqualified": "unqualified", "disqualified": "unqualified", "bad": "unqualified", "junk": "unqualified",
    "lost": "unqualified",
}  # fmt: skip


class RowError(ValueError):
    """A cell that cannot be used: the target key it was mapped to and why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Pending:
    """A record this import creates first and refers to afterwards (by kind and name)."""

    kind: str  # "company", "contact", "tag" or "stage"
    key: str
    data: tuple[tuple[str, Any], ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        """One of the values the record will be created with."""
        return dict(self.data).get(name, default)


def clean(text: str | None) -> str | None:
    """A cell as stored: trimmed, blank as None, and the quote an export puts before =, +, -, @
    (against spreadsheet formula injection) taken off again, so a round trip is exact."""
    if text is None:
        return None
    return restore(text.strip()).strip() or None


def new_field_key(index: int) -> str:
    """The stand-in key of column `index`'s values while its new custom field does not exist yet."""
    return f"__new_{index}"


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case and accents folded, spaces collapsed: how names are compared."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


@lru_cache(maxsize=65536)
def company_key(name: str) -> str:
    """How companies are matched: the duplicate scan's key (case, accents, punctuation and a trailing
    legal suffix aside: "ACME, Inc." -> "acme"), cached because an import asks for every row."""
    return dedupe.company_key(name)


def split_name(full: str) -> tuple[str | None, str | None]:
    """First and last name from one cell: "Last, First" or "First Middle Last"."""
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip() or None, last.strip() or None
    parts = full.split()
    if len(parts) == 1:
        return None, parts[0]
    return " ".join(parts[:-1]), parts[-1]


def boolean(key: str, text: str) -> bool:
    """Yes/no in the usual spellings."""
    value = fold(text)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowError(key, f"{text!r} is not yes or no")


def whole_number(key: str, text: str) -> int:
    """A count such as employees ("1,200" and "1200.0" are fine)."""
    cleaned = text.replace(",", "").replace(" ", "").replace("\u00a0", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise RowError(key, f"{text!r} is not a whole number") from None
    if value != int(value) or value < 0:
        raise RowError(key, f"{text!r} is not a whole number of 0 or more")
    return int(value)


def percent(key: str, text: str) -> int:
    """A probability such as "40", "40%" or "0.4"."""
    cleaned = text.replace("%", "").strip().replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise RowError(key, f"{text!r} is not a percentage") from None
    if 0 < value < 1 and "." in cleaned and "%" not in text:
        value *= 100
    if not 0 <= value <= 100:
        raise RowError(key, f"{text!r} is not between 0 and 100")
    return round(value)


def day(key: str, text: str) -> date:
    """A date: ISO, or the formats spreadsheets write (31/12/2026, 12/31/2026, 31.12.2026)."""
    head = text.strip().split("T")[0].split(" ")[0]
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(head, pattern).date()
        except ValueError:
            continue
    try:
        found = parse_date(text, clock.now().date())
    except DateError:
        found = None
    if found is None:
        raise RowError(key, f"{text!r} is not a date (expected 2026-12-01)")
    return found


def moment(key: str, text: str) -> datetime:
    """A date and time ("2026-12-01 14:30", or a date alone meaning 09:00)."""
    value = text.strip().replace("T", " ").removesuffix("Z")
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"):
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    return datetime.combine(day(key, text), datetime.min.time()).replace(hour=9)


def tag_names(text: str) -> list[str]:
    """The tags of one cell, separated by ; or , (blank ones dropped, order kept)."""
    return list(dict.fromkeys(part.strip() for part in re.split(r"[;,]", text) if part.strip()))


def deal_status(text: str) -> str:
    """open, won or lost."""
    status = _DEAL_STATUS.get(fold(text))
    if status is None:
        raise RowError("status", f"{text!r} is not a deal status (open, won or lost)")
    return status


def closing_word(text: str | None) -> str | None:
    """ "won" or "lost" when `text` is a word for one ("Won", "Closed lost", HubSpot's "closedwon"), else None."""
    status = _DEAL_STATUS.get(fold(text)) if text else None
    return status if status in ("won", "lost") else None


def lead_status(text: str) -> str:
    """new, working or unqualified (and the usual other spellings of them)."""
    status = _LEAD_STATUS.get(fold(text))
    if status is None:
        raise RowError("status", f"{text!r} is not a lead status (new, working or unqualified)")
    return status


@dataclass(frozen=True)
class StageInfo:
    """A stage as the importer needs it."""

    id: int
    name: str
    kind: str


@dataclass
class Lookups:
    """What the rows' names resolve to, read once per import (or per name, cached)."""

    entity: str
    currency: str = ""
    users: dict[str, int] = field(default_factory=dict)
    unknown_users: Counter[str] = field(default_factory=Counter)
    tags: dict[str, int] = field(default_factory=dict)
    pipelines: dict[str, int] = field(default_factory=dict)
    default_pipeline: int | None = None
    stages: dict[int, dict[str, StageInfo]] = field(default_factory=dict)
    custom: dict[str, FieldDef] = field(default_factory=dict)
    country: str | None = None
    """The workspace's default country (custom phone fields in E.164), read once."""
    _companies: dict[str, int] | None = None
    _domains: dict[str, int] | None = None
    _contacts: dict[str, int | None] = field(default_factory=dict)
    _deals: dict[str, int | None] = field(default_factory=dict)

    @classmethod
    def load(cls, entity: str) -> Lookups:
        """Read the small tables (users, tags, pipelines and stages, custom fields)."""
        found = cls(entity, currency=workspace_settings.currency())
        seen: Counter[str] = Counter()
        people = list(User.select(User.id, User.login, User.email, User.name).where(User.active).tuples())
        for _, login, email, name in people:
            seen.update({fold(name or "")})
        for user_id, login, email, name in people:
            found.users[fold(login)] = user_id
            if email:
                found.users.setdefault(fold(email), user_id)
            if name and seen[fold(name)] == 1:  # a name two users share says nobody
                found.users.setdefault(fold(name), user_id)
        found.tags = {fold(name): tag_id for tag_id, name in Tag.select(Tag.id, Tag.name).tuples()}
        live = Pipeline.select(Pipeline.id, Pipeline.name).where(Pipeline.deleted_at.is_null())
        for pipeline_id, name in live.order_by(Pipeline.position, Pipeline.id).tuples():
            found.pipelines.setdefault(fold(name), pipeline_id)
            found.default_pipeline = found.default_pipeline or pipeline_id
            found.stages[pipeline_id] = {}
        stages = Stage.select(Stage.id, Stage.pipeline, Stage.name, Stage.kind).where(Stage.deleted_at.is_null())
        for stage_id, pipeline_id, name, kind in stages.order_by(Stage.position).tuples():
            found.stages.setdefault(pipeline_id, {}).setdefault(fold(name), StageInfo(stage_id, name, kind))
        if entity in custom_fields.RECORD_MODELS:
            found.custom = {fd.key: fd for fd in custom_fields.definitions(entity) if not fd.read_only}
            found.country = validation.default_country()
        return found

    def user(self, key: str, text: str) -> int | None:
        """The user a login, e-mail or name means; an unknown one is counted and left out."""
        user_id = self.users.get(fold(text))
        if user_id is None:
            self.unknown_users[text] += 1
        return user_id

    def tag(self, name: str) -> int | Pending:
        """A tag by name (case-insensitive), or the tag to create (RowError for a name no tag may
        have, so the row is rejected rather than the whole import failing as the tag is made)."""
        found = self.tags.get(fold(name))
        if found:
            return found
        try:
            validation.validate(TagIn, {"name": name}, "Tag")
        except ServiceError as error:
            raise RowError("tags", f"tag {name!r}: {error}") from None
        return Pending("tag", name)

    def _load_companies(self) -> None:
        if self._companies is not None:
            return
        self._companies, self._domains = {}, {}
        live = Company.select(Company.id, Company.name, Company.domain).where(Company.deleted_at.is_null())
        for company_id, name, domain in live.order_by(Company.id).tuples():
            self._companies.setdefault(company_key(name), company_id)
            if domain:
                self._domains.setdefault(domain.lower(), company_id)

    def company_by_name(self, name: str) -> int | None:
        """A live company whose name matches (case, accents and legal suffix aside)."""
        self._load_companies()
        assert self._companies is not None
        return self._companies.get(company_key(name))

    def company_by_domain(self, domain: str) -> int | None:
        """A live company with this domain."""
        self._load_companies()
        assert self._domains is not None
        return self._domains.get(domain.lower().removeprefix("www."))

    def company(self, name: str | None, domain: str | None) -> int | Pending | None:
        """The company a row names (by domain first, then name), or the one to create."""
        domain = (domain or "").lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").strip("/")
        found = (self.company_by_domain(domain) if domain else None) or (self.company_by_name(name) if name else None)
        if found is not None:
            return found
        if not name and not domain:
            return None
        label = name or domain
        if len(label) > 200 or find_forbidden_character(label):
            raise RowError("company", "is not a usable company name (too long, or holds a control character)")
        data = (("name", label), ("domain", domain or None))
        return Pending("company", company_key(label), data)

    def remember_company(self, name: str, domain: str | None, company_id: int) -> None:
        """A company this import created: later rows naming it find it."""
        self._load_companies()
        assert self._companies is not None and self._domains is not None
        self._companies.setdefault(company_key(name), company_id)
        if domain:
            self._domains.setdefault(domain.lower(), company_id)

    def contact_by_email(self, email: str) -> int | None:
        """A live contact with this e-mail address."""
        key = f"@{email.lower()}"
        if key not in self._contacts:
            query = Contact.select(Contact.id).where(
                Contact.email.in_(list({email, email.lower()})), Contact.deleted_at.is_null()
            )
            self._contacts[key] = query.order_by(Contact.id).scalar()
        return self._contacts[key]

    def contact_by_name(self, name: str) -> int | None:
        """A live contact whose full name is exactly `name` (case aside)."""
        key = fold(name)
        if key not in self._contacts:
            full = fn.TRIM(fn.COALESCE(Contact.first_name, "").concat(" ").concat(fn.COALESCE(Contact.last_name, "")))
            query = Contact.select(Contact.id).where(fn.LOWER(full) == name.strip().lower(), Contact.deleted_at.is_null())
            self._contacts[key] = query.order_by(Contact.id).scalar()
        return self._contacts[key]

    def remember_contact(self, name: str | None, email: str | None, contact_id: int) -> None:
        """A contact this import created."""
        if email:
            self._contacts[f"@{email.lower()}"] = contact_id
        if name:
            self._contacts[fold(name)] = contact_id

    def deal_by_title(self, title: str) -> int | None:
        """The newest live deal with this title (case aside)."""
        key = fold(title)
        if key not in self._deals:
            query = Deal.select(Deal.id).where(fn.LOWER(Deal.title) == title.strip().lower(), Deal.deleted_at.is_null())
            self._deals[key] = query.order_by(Deal.id.desc()).scalar()
        return self._deals[key]

    def money(self, key: str, text: str, currency: str) -> int:
        """An amount in minor units ("12,400.50", "€ 1.2k")."""
        try:
            return parse_money(text.replace("\u00a0", " "), currency)
        except MoneyError as error:
            raise RowError(key, str(error)) from None

    def custom_value(self, key: str, text: str, currency: str) -> Any:
        """A custom field's value from its cell; multi-select options split on ; or ,."""
        if key.startswith("__new_"):  # a text field the import makes: one line of at most 500 characters
            if len(text) > 500 or find_forbidden_character(text):
                raise RowError(f"custom.{key}", "does not fit a text field (one line, at most 500 characters)")
            return text
        fd = self.custom[key]
        raw: Any = tag_names(text) if fd.type == "multi_select" else text
        if fd.type == "user":
            raw = self.users.get(fold(text), text)
        elif fd.type == "reference" and not text.isdigit():
            raw = self._reference(fd.reference_entity or "", text) or text
        try:
            return coerce(fd, raw, currency=currency, today=clock.now().date(), country=self.country)
        except FieldError as error:
            raise RowError(f"custom.{key}", str(error)) from None

    def _reference(self, entity: str, title: str) -> int | None:
        if entity == "company":
            return self.company_by_name(title)
        if entity == "contact":
            return self.contact_by_email(title) if "@" in title else self.contact_by_name(title)
        if entity == "deal":
            return self.deal_by_title(title)
        return None
