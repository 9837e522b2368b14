"""The duplicate scan: live companies, contacts or leads grouped by likely same entity, with a
score and the reasons, for the merge screen to work through.

Evidence, strongest first (a pair's score is its strongest piece; a group's, its strongest pair):
- same email (contacts, leads; lower-cased): 100. Grouped in SQL (GROUP BY ... HAVING COUNT > 1).
- same domain (companies: `domain`, or the host of `website` when it has none): 95.
- same phone: 90. The key is the number's last 9 digits (its extension dropped), so "+1 (202)
  555-0143" and "202-555-0143", or "+44 20 7946 0958" and "020 7946 0958", meet: 9 digits are the
  national number of most countries without the country code or trunk 0. Numbers of 7 or 8
  digits only meet the same digits; shorter ones are not compared. People sharing a number need
  names at least 60 alike (a switchboard is shared by colleagues), and a number shared by more
  than 50 records is a switchboard and not evidence at all.
- similar name (its score): names folded (case, accents, ä -> ae, punctuation; companies without
  legal suffixes such as Inc, GmbH, S.A.R.L.), compared by token-sort ratio, only inside blocks —
  records sharing the first three letters of the last name and the first letter of the first
  name, or the other way round (companies: the first or last three letters of the name) — so the
  work grows with the block sizes, not with the square of the table. A score >= `threshold`
  counts for people at the same company (contacts: the same company record; leads: the same
  company name) or with the same email domain that is not a free-mail one; otherwise only a
  near-identical name (97, or `threshold` if higher) counts, and only when nothing contradicts it
  (different companies or different emails). Companies count unless they have different domains
  or different numbers in their names ("Branch 12" / "Branch 13").

Every record is in at most one group (union-find over the pairs). Rows are read in chunks of plain
tuples. `progress(done, total)` is called as the phases (reading, exact keys, names) advance;
`cancel()` returning True stops the scan with Cancelled.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import JOIN, fn
from rapidfuzz import fuzz, process

from crm_tui.models import Company, Contact, Lead
from crm_tui.services.errors import ServiceError
from crm_tui.services.sql_util import live_chunks

CHUNK = 5000
"""Rows read per query."""
MAX_BLOCK = 1500
"""A larger block is compared by sorted neighbourhood (each name with the next WINDOW)."""
WINDOW = 60
SWITCHBOARD = 50
"""A phone shared by more records than this is not evidence of anything."""

FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "ymail.com", "hotmail.com", "hotmail.co.uk",
    "hotmail.fr", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "protonmail.com",
    "proton.me", "pm.me", "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de", "freenet.de", "mail.com", "mail.ru",
    "yandex.ru", "yandex.com", "qq.com", "163.com", "126.com", "zoho.com", "fastmail.com", "hey.com", "orange.fr",
    "free.fr", "laposte.net", "wanadoo.fr", "btinternet.com", "comcast.net", "verizon.net", "att.net", "libero.it",
    "virgilio.it", "seznam.cz", "wp.pl", "o2.pl", "rediffmail.com", "naver.com",
})  # fmt: skip
"""Email domains many unrelated people share: a shared one is no evidence of anything."""

LEGAL_SUFFIXES = frozenset({
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc", "llp", "lp", "plc", "gmbh",
    "mbh", "ag", "kg", "ohg", "ug", "sa", "sas", "sarl", "sl", "srl", "spa", "bv", "nv", "oy", "ab", "as", "asa", "aps",
    "pty", "pte", "kk", "se", "sro", "zoo",
})  # fmt: skip
"""Words dropped from the end of a company name before comparing ("Acme Corp" = "ACME Inc.")."""

_SCORES = {"email": 100, "domain": 95, "phone": 90}
_REASONS = {"email": "same email", "domain": "same domain", "phone": "same phone"}
_SPELLED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d"})
_DROPPED = str.maketrans("", "", ".'’`")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_DIGITS = re.compile(r"\d+")
_EXTENSION = re.compile(r"(?:ext\.?|x|#)\s*\d+\s*$", re.IGNORECASE)


class Cancelled(ServiceError):
    """The scan was stopped by its `cancel()` callback."""

    def __init__(self) -> None:
        super().__init__("the duplicate scan was cancelled")


@dataclass(frozen=True)
class Candidate:
    """One record of a group, as the merge screen lists it."""

    id: int
    title: str
    detail: str
    updated_at: datetime | None


@dataclass(frozen=True)
class DuplicateGroup:
    """Records that are likely the same entity: `score` 0-100 and why they were grouped."""

    records: list[Candidate]
    score: int
    reasons: list[str]


def fold(text: str | None) -> str:
    """`text` for comparing: case and accents folded, "ü" spelled "ue", punctuation gone."""
    if not text:
        return ""
    text = text.casefold().translate(_SPELLED).translate(_DROPPED)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", text).split())


def company_key(name: str | None) -> str:
    """A company name folded, without trailing legal suffixes ("ACME Corporation" -> "acme")."""
    words = fold(name).split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def phone_key(phone: str | None) -> str | None:
    """The digits phones are matched by (see the module docstring), or None."""
    if not phone:
        return None
    digits = "".join(ch for ch in _EXTENSION.sub("", phone) if ch.isdigit())
    if len(digits) < 7:
        return None
    return digits[-9:]


def email_domain(email: str | None) -> str | None:
    """The lower-cased domain of an email address."""
    if not email or "@" not in email:
        return None
    return email.rpartition("@")[2].strip().lower() or None


def web_domain(url: str | None) -> str | None:
    """The host of a web address without "www." ("https://www.Acme.com/x" -> "acme.com")."""
    if not url:
        return None
    host = url.strip().lower().split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host.removeprefix("www.") or None


class _Groups:
    """Union-find over record ids, remembering each edge's score and reason."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.edges: list[tuple[int, int, str]] = []

    def find(self, item: int) -> int:
        root = self.parent.setdefault(item, item)
        while root != self.parent[root]:
            root = self.parent[root]
        while item != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def join(self, a: int, b: int, score: int, reason: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
        self.edges.append((a, score, reason))

    def components(self) -> list[tuple[list[int], int, list[str]]]:
        members: dict[int, list[int]] = defaultdict(list)
        for item in self.parent:
            members[self.find(item)].append(item)
        evidence: dict[int, dict[str, int]] = defaultdict(dict)
        for item, score, reason in self.edges:
            found = evidence[self.find(item)]
            found[reason] = max(found.get(reason, 0), score)
        result = []
        for root, ids in members.items():
            if len(ids) > 1:
                reasons = sorted(evidence[root].items(), key=lambda kv: (-kv[1], kv[0]))
                result.append((sorted(ids), reasons[0][1], [reason for reason, _ in reasons]))
        return result


@dataclass
class _Row:
    """What the scan keeps of one record."""

    id: int
    first: str
    """The folded first name (companies: the folded name, in its word order)."""
    last: str
    name: str
    """The folded name, words sorted (so a plain ratio is the token-sort ratio)."""
    email: str | None
    domain: str | None
    phone: str | None
    company: Any
    """Contacts: the company id; leads: the folded company name; companies: their domain."""


class _Progress:
    def __init__(self, report: Callable[[int, int], None] | None, cancel: Callable[[], bool] | None, total: int) -> None:
        self.report, self.cancel, self.total, self.done = report, cancel, total, 0

    def step(self, amount: int) -> None:
        if self.cancel is not None and self.cancel():
            raise Cancelled
        self.done = min(self.total, self.done + amount)
        if self.report is not None:
            self.report(self.done, self.total)


_MODELS = {"company": Company, "contact": Contact, "lead": Lead}


def _read(entity: str, steps: _Progress) -> list[_Row]:
    model = _MODELS[entity]
    rows: list[_Row] = []
    if entity == "company":
        for chunk in live_chunks(model, [model.name, model.domain, model.website, model.phone], size=CHUNK):
            for rid, name, domain, website, phone in chunk:
                key = company_key(name)
                host = web_domain(domain) or web_domain(website)
                rows.append(_Row(rid, key, "", " ".join(sorted(key.split())), None, host, phone_key(phone), None))
            steps.step(len(chunk))
        return rows
    other = model.company if entity == "contact" else model.company_name
    for chunk in live_chunks(model, [model.first_name, model.last_name, model.email, model.phone, other], size=CHUNK):
        for rid, first, last, email, phone, company in chunk:
            first, last = fold(first), fold(last)
            email = email.strip().lower() if email else None
            if entity == "lead":
                company = company_key(company) or None
            rows.append(_Row(rid, first, last, " ".join(sorted(f"{first} {last}".split())), email, email_domain(email),
                             phone_key(phone), company))  # fmt: skip
        steps.step(len(chunk))
    return rows


def _same_emails(entity: str) -> list[list[int]]:
    """Ids sharing a lower-cased email, found by GROUP BY ... HAVING COUNT(*) > 1."""
    model = _MODELS[entity]
    key = fn.LOWER(fn.TRIM(model.email))
    live = (model.deleted_at.is_null()) & (model.email.is_null(False)) & (model.email != "")
    shared = model.select(key).where(live).group_by(key).having(fn.COUNT(model.id) > 1)
    groups: dict[str, list[int]] = defaultdict(list)
    for record_id, email in model.select(model.id, key).where(live, key.in_(shared)).tuples():
        groups[email].append(record_id)
    return list(groups.values())


def _exact(entity: str, rows: list[_Row], groups: _Groups, steps: _Progress) -> None:
    if entity != "company":
        for ids in _same_emails(entity):
            for other in ids[1:]:
                groups.join(ids[0], other, _SCORES["email"], _REASONS["email"])
    else:
        by_domain: dict[str, list[int]] = defaultdict(list)
        for row in rows:
            if row.domain:
                by_domain[row.domain].append(row.id)
        for ids in by_domain.values():
            for other in ids[1:]:
                groups.join(ids[0], other, _SCORES["domain"], _REASONS["domain"])
    steps.step(len(rows) // 2)
    by_phone: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.phone:
            by_phone[row.phone].append(row)
    for same in by_phone.values():
        if not 1 < len(same) <= SWITCHBOARD:
            continue
        for at, row in enumerate(same):
            for other in same[at + 1 :]:
                # People sharing a number must also look alike; companies need not.
                if entity == "company" or not (row.name and other.name) or fuzz.ratio(row.name, other.name) >= 60:
                    groups.join(row.id, other.id, _SCORES["phone"], _REASONS["phone"])
    steps.step(len(rows) - len(rows) // 2)


def _block_keys(entity: str, row: _Row) -> set[str]:
    if not row.name:
        return set()
    if entity == "company":  # `first` holds the whole name
        squeezed = row.first.replace(" ", "")
        return {f"<{squeezed[:3]}", f">{squeezed[-3:]}"}
    # One namespace for both keys, so "Smith John" typed the wrong way round meets "John Smith".
    return {f"{row.last[:3]}|{row.first[:1]}", f"{row.first[:3]}|{row.last[:1]}"}


def _accept(entity: str, a: _Row, b: _Row, score: float, threshold: int) -> bool:
    """The rule of the module docstring for a name pair scoring `score`."""
    if entity == "company":
        conflict = (a.domain and b.domain and a.domain != b.domain) or (
            _DIGITS.findall(a.name) != _DIGITS.findall(b.name)
        )
        return score >= threshold and not conflict
    if score < threshold:
        return False
    if a.company is not None and a.company == b.company:
        return True
    if a.domain and a.domain == b.domain and a.domain not in FREE_MAIL:
        return True
    conflict = (a.company is not None and b.company is not None and a.company != b.company) or (
        a.email and b.email and a.email != b.email
    )
    return score >= max(97, threshold) and not conflict


def _pairs_in(block: list[_Row], threshold: int) -> Iterable[tuple[_Row, _Row, float]]:
    if len(block) > MAX_BLOCK:
        block = sorted(block, key=lambda row: row.name)
    names = [row.name for row in block]
    for at, row in enumerate(block):
        end = at + 1 + WINDOW if len(block) > MAX_BLOCK else len(block)
        if at + 1 >= end:
            continue
        for _, score, index in process.extract(
            row.name, names[at + 1 : end], scorer=fuzz.ratio, score_cutoff=threshold, limit=None
        ):
            yield row, block[at + 1 + index], score


def _fuzzy(entity: str, rows: list[_Row], threshold: int, groups: _Groups, steps: _Progress) -> None:
    blocks: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        for key in _block_keys(entity, row):
            blocks[key].append(row)
    entries = sum(len(block) for block in blocks.values()) or 1
    budget, seen, pending = len(rows), set(), 0
    for block in blocks.values():
        pending += len(block)
        if len(block) > 1:
            for a, b, score in _pairs_in(block, threshold):
                pair = (a.id, b.id) if a.id < b.id else (b.id, a.id)
                if pair in seen:
                    continue
                seen.add(pair)
                if _accept(entity, a, b, score, threshold):
                    same = a.name == b.name
                    groups.join(a.id, b.id, int(score), "same name" if same else f"similar name ({int(score)})")
        if pending >= 2000:
            steps.step(budget * pending // entries)
            pending = 0
    steps.step(budget * pending // entries)


def _candidates(entity: str, ids: list[int]) -> dict[int, Candidate]:
    """Title and detail of the grouped records, read by id in chunks."""
    model = _MODELS[entity]
    found: dict[int, Candidate] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        if entity == "company":
            query = model.select(model.id, model.updated_at, model.name, model.domain, model.website, model.phone)
            for rid, updated, name, domain, website, phone in query.where(model.id.in_(part)).tuples():
                found[rid] = Candidate(rid, name or f"Company #{rid}", " · ".join(filter(None, (domain or website, phone))), updated)
            continue
        extra = Company.name if entity == "contact" else model.company_name
        query = model.select(model.id, model.updated_at, model.first_name, model.last_name, model.email, model.phone, extra)
        if entity == "contact":
            query = query.join(Company, JOIN.LEFT_OUTER, on=(Company.id == model.company))
        for rid, updated, first, last, email, phone, company in query.where(model.id.in_(part)).tuples():
            title = " ".join(word for word in (first, last) if word) or email or f"{entity.title()} #{rid}"
            found[rid] = Candidate(rid, title, " · ".join(filter(None, (email, phone, company))), updated)
    return found


def scan(
    entity: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    threshold: int = 90,
    cancel: Callable[[], bool] | None = None,
) -> list[DuplicateGroup]:
    """Likely duplicates among the live records of `entity` (company, contact or lead), best
    first (score, then size). Read-only; meant for a worker thread."""
    if entity not in _MODELS:
        raise ServiceError(f"duplicates are found among {', '.join(_MODELS)}, not {entity!r}")
    if not 50 <= threshold <= 100:
        raise ServiceError("the name threshold is a score from 50 to 100")
    model = _MODELS[entity]
    total = model.select().where(model.deleted_at.is_null()).count()
    steps = _Progress(progress, cancel, 3 * total or 1)
    rows = _read(entity, steps)
    groups = _Groups()
    _exact(entity, rows, groups, steps)
    _fuzzy(entity, rows, threshold, groups, steps)
    found = groups.components()
    shown = _candidates(entity, [record_id for ids, _, _ in found for record_id in ids])
    result = [
        DuplicateGroup([shown[record_id] for record_id in ids if record_id in shown], score, reasons)
        for ids, score, reasons in found
    ]
    steps.step(steps.total)
    return sorted(
        (group for group in result if len(group.records) > 1),
        key=lambda group: (-group.score, -len(group.records), group.records[0].id),
    )
