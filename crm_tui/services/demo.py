"""A deterministic generator of believable CRM data, for the demo workspace and for benchmarks.

The same seed and `now` give the same rows. Each deal walks through its pipeline's stages with
random dwell times over the last 18 months, so the data has won, lost, stale and fresh deals with
a real stage history and event log. Rows are inserted in bulk in one transaction; the few
extras made through the services (duplicates to find, rules switched on) are in demo_extras.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from peewee import fn

from crm_tui import clock
from crm_tui.models import (
    Appointment,
    AppointmentAttendee,
    BaseModel,
    Company,
    CompanyTag,
    Contact,
    Deal,
    DealTag,
    Event,
    Lead,
    Note,
    Pipeline,
    Stage,
    StageChange,
    Tag,
    Task,
    User,
    database,
)
from crm_tui.services import demo_extras, demo_fields, rollups, search_index, sql_util
from crm_tui.services import demo_words as words
from crm_tui.services.context import Context
from crm_tui.services.errors import ServiceError
from crm_tui.services.schema import seed_pipeline
from crm_tui.services.unit import to_json
from crm_tui.services.workspace_settings import currency, lost_reasons, put_setting

Progress = Callable[[str, int, int], None]
"""Called as (step, done, total) while generating."""

DEMO_RULES = demo_extras.DEMO_RULES
"""Built-in rules the demo switches on (defined in demo_extras; kept here for callers of `demo`)."""

_BATCH = 500
_HISTORY_DAYS = 540


@dataclass(frozen=True)
class DemoSizes:
    """How many records of each kind to generate."""

    companies: int = 300
    contacts: int = 1200
    leads: int = 200
    deals: int = 800

    def scaled_to(self, deals: int) -> DemoSizes:
        """The same proportions for `deals` deals."""
        ratio = deals / self.deals
        return replace(
            self,
            companies=max(1, round(self.companies * ratio)),
            contacts=max(1, round(self.contacts * ratio)),
            leads=max(0, round(self.leads * ratio)),
            deals=deals,
        )


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class _Generator:
    """Holds the random source, the clock and the ids handed out so far."""

    def __init__(
        self, ctx: Context, sizes: DemoSizes, seed: int, now: datetime, progress: Progress | None, open_pipeline: bool = False
    ) -> None:
        self.ctx = ctx
        self.open_pipeline = open_pipeline
        self.sizes = sizes
        self.rng = random.Random(seed)
        self.now = now.replace(microsecond=0)
        self.progress = progress or (lambda step, done, total: None)
        self.currency = currency()
        self.events: list[tuple[Any, ...]] = []

    # -- helpers -------------------------------------------------------------------------------
    def _ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def _recent(self, span_days: float = _HISTORY_DAYS) -> datetime:
        """A moment in the last `span_days`, more often recent than old (businesses grow)."""
        return self._ago(span_days * self.rng.random() ** 1.7).replace(microsecond=0)

    def _insert(self, model: type[BaseModel], fields: Sequence[Any], rows: Iterable[tuple[Any, ...]], step: str) -> None:
        batch: list[tuple[Any, ...]] = []
        rows = list(rows)
        report_every = max(_BATCH, len(rows) // 50 // _BATCH * _BATCH)
        for index, row in enumerate(rows, 1):
            batch.append(row)
            if len(batch) == _BATCH:
                model.insert_many(batch, fields=fields).execute()
                batch.clear()
                if index % report_every == 0:
                    self.progress(step, index, len(rows))
        if batch:
            model.insert_many(batch, fields=fields).execute()
        self.progress(step, len(rows), len(rows))

    def _event(self, at: datetime, user: int | None, kind: str, entity: str, record_id: int, **change: Any) -> None:
        self.events.append(
            (at, user, kind, entity, record_id, change.get("field"), to_json(change.get("old")), to_json(change.get("new")))
        )

    @staticmethod
    def _first_id(model: type[BaseModel]) -> int:
        return (model.select(fn.MAX(model.id)).scalar() or 0) + 1

    # -- steps ---------------------------------------------------------------------------------
    def team(self) -> list[int]:
        """The demo sales team, plus the person running the demo."""
        now = self.now
        existing = {user.login for user in User.select(User.login)}
        for login, name, _ in words.TEAM:  # someone signed in as a team login: give them its full name
            User.update(name=name).where(User.login == login, User.name == login.title()).execute()
        rows = [
            (login, name, f"{login}@example.com", role, True, now, now)
            for login, name, role in words.TEAM
            if login not in existing
        ]
        User.insert_many(rows, fields=[User.login, User.name, User.email, User.role, User.active, User.created_at, User.updated_at]).execute()
        return [user.id for user in User.select(User.id).order_by(User.id)]

    def pipelines(self) -> list[tuple[int, list[Stage]]]:
        """The default Sales pipeline (with rot days) and a Partnerships pipeline."""
        sales = Pipeline.select().order_by(Pipeline.position, Pipeline.id).first()
        for stage, rot in zip(Stage.select().where(Stage.pipeline == sales).order_by(Stage.position), words.SALES_ROT_DAYS, strict=False):
            Stage.update(rot_days=rot).where(Stage.id == stage.id).execute()
        partner_id = seed_pipeline(*words.PARTNER_PIPELINE, position=1)
        Stage.update(rot_days=30).where(Stage.pipeline == partner_id, Stage.kind == "open").execute()
        return [
            (pipeline_id, list(Stage.select().where(Stage.pipeline == pipeline_id).order_by(Stage.position)))
            for pipeline_id in (sales.id, partner_id)
        ]

    def tags(self) -> list[int]:
        """The service-line tags."""
        now = self.now
        Tag.insert_many([(name, now, now) for name in words.TAGS], fields=[Tag.name, Tag.created_at, Tag.updated_at]).execute()
        return [tag.id for tag in Tag.select(Tag.id).order_by(Tag.id)]

    def companies(self, owners: list[int], tags: list[int]) -> list[tuple[int, str, str]]:
        """Companies as (id, short name, domain)."""
        rng, first = self.rng, self._first_id(Company)
        seen: set[str] = set()
        made: list[tuple[int, str, str]] = []
        rows, tag_rows = [], []
        for offset in range(self.sizes.companies):
            short = f"{rng.choice(words.COMPANY_PREFIXES)} {rng.choice(words.COMPANY_CORES)}"
            if short in seen:  # two firms with one name: tell them apart by city, as people do
                short = f"{short} {rng.choice(words.CITIES)}"
            base, number = short, 1
            while short in seen:
                number += 1
                short = f"{base} {number}"
            seen.add(short)
            suffix = rng.choice(words.COMPANY_SUFFIXES)
            name = f"{short} {suffix}".strip()
            domain = f"{_ascii(short)}.{rng.choice(('com', 'io', 'co', 'net', 'eu', 'de'))}"
            created = self._recent(_HISTORY_DAYS + 180)
            company_id = first + offset
            rows.append(
                (
                    company_id, name, domain, f"https://www.{domain}", f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    f"{rng.randint(1, 250)} Market Street\n{rng.choice(words.CITIES)}", rng.choice(words.INDUSTRIES),
                    rng.choice((8, 15, 40, 90, 250, 600, 1500, 5000)), rng.choice(owners), created, created,
                )
            )  # fmt: skip
            if rng.random() < 0.5:
                tag_rows.append((rng.choice(tags), company_id))
            made.append((company_id, short, domain))
        fields = [Company.id, Company.name, Company.domain, Company.website, Company.phone, Company.address,
                  Company.industry, Company.employees, Company.owner, Company.created_at, Company.updated_at]  # fmt: skip
        self._insert(Company, fields, rows, "companies")
        self._insert(CompanyTag, [CompanyTag.tag, CompanyTag.company], tag_rows, "company tags")
        return made

    def contacts(self, companies: list[tuple[int, str, str]], owners: list[int]) -> dict[int, list[tuple[int, str]]]:
        """Contacts spread over the companies; returns company id -> [(contact id, first name)]."""
        rng, first = self.rng, self._first_id(Contact)
        by_company: dict[int, list[tuple[int, str]]] = {}
        rows = []
        for offset in range(self.sizes.contacts):
            company_id, _, domain = companies[offset % len(companies)] if offset < len(companies) else rng.choice(companies)
            given, family = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
            contact_id = first + offset
            created = self._recent()
            rows.append(
                (
                    contact_id, given, family, f"{_ascii(given)}.{_ascii(family)}@{domain}",
                    f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    rng.choice(words.JOB_TITLES), rng.choice(words.SOURCES), company_id, rng.choice(owners), created, created,
                )
            )  # fmt: skip
            by_company.setdefault(company_id, []).append((contact_id, given))
        fields = [Contact.id, Contact.first_name, Contact.last_name, Contact.email, Contact.phone, Contact.title,
                  Contact.source, Contact.company, Contact.owner, Contact.created_at, Contact.updated_at]  # fmt: skip
        self._insert(Contact, fields, rows, "contacts")
        return by_company

    def leads(self, owners: list[int]) -> None:
        """Leads in every status, mostly from the last quarter."""
        rng = self.rng
        rows = []
        for _ in range(self.sizes.leads):
            given, family = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
            company = f"{rng.choice(words.COMPANY_PREFIXES)} {rng.choice(words.COMPANY_CORES)}"
            status = rng.choices(("new", "working", "unqualified"), weights=(4, 4, 2))[0]
            created = self._recent(90)
            rows.append(
                (
                    given, family, company, f"{_ascii(given)}@{_ascii(company)}.com", rng.choice(words.JOB_TITLES),
                    status, rng.choice(words.SOURCES), rng.choice(owners) if status != "new" else None, created, created,
                )
            )  # fmt: skip
        fields = [Lead.first_name, Lead.last_name, Lead.company_name, Lead.email, Lead.title, Lead.status,
                  Lead.source, Lead.owner, Lead.created_at, Lead.updated_at]  # fmt: skip
        self._insert(Lead, fields, rows, "leads")

    def _walk(self, stages: list[Stage], created: datetime) -> list[tuple[Stage, datetime]]:
        """A deal's stage history: (stage, entered at), ending open, won, lost or closed."""
        rng = self.rng
        if self.open_pipeline:  # a benchmark shape: every deal still open somewhere
            open_stages = [stage for stage in stages if stage.kind == "open"]
            steps = rng.randrange(len(open_stages))
            moments = sorted(created + (self.now - created) * rng.random() for _ in range(steps))
            return [(open_stages[0], created)] + [(open_stages[i + 1], m.replace(microsecond=0)) for i, m in enumerate(moments)]
        open_stages = [stage for stage in stages if stage.kind == "open"]
        won = next(stage for stage in stages if stage.kind == "won")
        lost = next(stage for stage in stages if stage.kind == "lost")
        other = next((stage for stage in stages if stage.kind == "closed"), None)
        index = 0 if rng.random() < 0.6 else 1
        moment = created
        history = [(open_stages[index], moment)]
        while True:
            dwell = rng.expovariate(1 / 14)
            if rng.random() < 0.12:
                dwell *= 5  # a deal that got stuck
            if moment + timedelta(days=dwell) > self.now:
                return history
            moment = (moment + timedelta(days=dwell)).replace(microsecond=0)
            roll = rng.random()
            if roll < 0.13:
                history.append((lost, moment))
                return history
            if roll < 0.14 and other is not None:
                history.append((other, moment))
                return history
            if index == len(open_stages) - 1:
                history.append((won, moment))
                return history
            index = min(index + (2 if rng.random() < 0.1 else 1), len(open_stages) - 1)
            history.append((open_stages[index], moment))

    def deals(self, pipelines: list[tuple[int, list[Stage]]], companies: list[tuple[int, str, str]],
              contacts: dict[int, list[tuple[int, str]]], owners: list[int], tags: list[int]) -> list[tuple[Any, ...]]:  # fmt: skip
        """Deals with their stage history and log; returns what tasks and notes hang off."""
        rng, first = self.rng, self._first_id(Deal)
        reasons = lost_reasons()
        me = self.ctx.user_id
        owner_weights = [3 if owner == me else 2 for owner in owners]
        rows, changes, tag_rows, made = [], [], [], []
        for offset in range(self.sizes.deals):
            pipeline_id, stages = pipelines[0] if self.open_pipeline or rng.random() < 0.85 else pipelines[1]
            company_id, short, _ = rng.choice(companies)
            people = contacts.get(company_id) or [(None, "the team")]
            contact_id, contact_name = rng.choice(people)
            deal_id = first + offset
            created = self._recent()
            history = self._walk(stages, created)
            stage, entered = history[-1]
            owner = rng.choices(owners, weights=owner_weights)[0]
            scale = 10.3 if pipeline_id != pipelines[0][0] else 9.6
            amount = max(500, round(rng.lognormvariate(scale, 0.85) / 100) * 100) * 100
            closed = entered if stage.kind != "open" else None
            expected = (created + timedelta(days=rng.randint(30, 150))).date()
            rows.append(
                (
                    deal_id, f"{short} {rng.choice(words.PRODUCTS).lower()}", company_id, contact_id, pipeline_id, stage.id,
                    amount, amount * rng.randint(30, 70) // 100, self.currency,
                    rng.choice(range(5, 100, 5)) if stage.kind == "open" and rng.random() < 0.08 else None,
                    rng.randint(1, 5) if rng.random() < 0.4 else None, expected, rng.choice(words.SOURCES),
                    rng.choice(reasons) if stage.kind == "lost" else None, owner, entered, closed, created,
                    max(entered, created), len(history),
                )
            )  # fmt: skip
            self._event(created, owner, "record.created", "deal", deal_id, new={"title": rows[-1][1], "amount": amount})
            previous = None
            for index, (step_stage, at) in enumerate(history):
                left_at = history[index + 1][1] if index + 1 < len(history) else None
                changes.append((deal_id, previous, step_stage.id, at, owner, left_at))
                if previous is not None:
                    self._event(at, owner, "deal.stage_changed", "deal", deal_id, field="stage_id", old=previous, new=step_stage.id)
                previous = step_stage.id
            for tag_id in rng.sample(tags, k=rng.choice((0, 1, 1, 2))):
                tag_rows.append((tag_id, deal_id))
            made.append((deal_id, stage.kind, owner, company_id, short, contact_id, contact_name, created, entered))
        fields = [Deal.id, Deal.title, Deal.company, Deal.contact, Deal.pipeline, Deal.stage, Deal.amount, Deal.cost,
                  Deal.currency, Deal.probability, Deal.confidence, Deal.expected_close, Deal.source, Deal.lost_reason,
                  Deal.owner, Deal.stage_entered_at, Deal.closed_at, Deal.created_at, Deal.updated_at, Deal.version]  # fmt: skip
        self._insert(Deal, fields, rows, "deals")
        history_fields = [StageChange.deal, StageChange.from_stage, StageChange.to_stage, StageChange.at, StageChange.user, StageChange.left_at]
        self._insert(StageChange, history_fields, changes, "stage history")
        self._insert(DealTag, [DealTag.tag, DealTag.deal], tag_rows, "deal tags")
        return made

    def activities(self, deals: list[tuple[Any, ...]]) -> None:
        """Tasks (some overdue), notes and upcoming appointments on the deals."""
        rng, now = self.rng, self.now
        tasks, notes, meetings, attendees = [], [], [], []
        meeting_id = self._first_id(Appointment)
        note_id = self._first_id(Note)
        for deal_id, kind, owner, company_id, short, contact_id, contact_name, created, entered in deals:
            if kind == "open" and rng.random() < 0.6:
                due = (now + timedelta(days=rng.randint(-20, 21), hours=rng.randint(-6, 6))).replace(minute=0, second=0)
                done = due < now and rng.random() < 0.6
                title = rng.choice(words.TASK_TITLES).format(contact=contact_name, company=short)
                tasks.append((title, due, [60] if due > now else [], done, due if done else None, owner, owner, deal_id, company_id, contact_id, created, created))
            if kind == "won" and rng.random() < 0.3:
                tasks.append((f"Kickoff with {short}", entered + timedelta(days=3), [], True, entered + timedelta(days=3), owner, owner, deal_id, company_id, contact_id, entered, entered))
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                at = (created + (entered - created) * rng.random()).replace(microsecond=0)
                body = rng.choice(words.NOTES).format(contact=contact_name)
                notes.append((note_id, body, owner, deal_id, company_id, contact_id, at, at))
                self._event(at, owner, "record.created", "note", note_id, new={"body": body, "deal_id": deal_id})
                note_id += 1
            if kind == "open" and rng.random() < 0.05:
                start = (now + timedelta(days=rng.randint(0, 14), hours=rng.randint(1, 8))).replace(minute=0, second=0)
                meetings.append((meeting_id, f"{rng.choice(words.MEETINGS)} with {short}", start, start + timedelta(minutes=rng.choice((30, 45, 60))), owner, deal_id, company_id, contact_id, created, created))
                attendees.extend([(meeting_id, owner, None), (meeting_id, None, contact_id)] if contact_id else [(meeting_id, owner, None)])
                meeting_id += 1
        task_fields = [Task.title, Task.due_at, Task.reminders, Task.done, Task.done_at, Task.assignee, Task.created_by,
                       Task.deal, Task.company, Task.contact, Task.created_at, Task.updated_at]  # fmt: skip
        self._insert(Task, task_fields, tasks, "tasks")  # insert_many encodes the reminders list (JSONField)
        self._insert(Note, [Note.id, Note.body, Note.author, Note.deal, Note.company, Note.contact, Note.created_at, Note.updated_at], notes, "notes")
        meeting_fields = [Appointment.id, Appointment.title, Appointment.starts_at, Appointment.ends_at, Appointment.owner,
                          Appointment.deal, Appointment.company, Appointment.contact, Appointment.created_at, Appointment.updated_at]  # fmt: skip
        self._insert(Appointment, meeting_fields, meetings, "appointments")
        self._insert(AppointmentAttendee, [AppointmentAttendee.appointment, AppointmentAttendee.user, AppointmentAttendee.contact], attendees, "attendees")

    def event_log(self) -> None:
        """The history above as event-log rows, in time order like a real log."""
        self.events.sort(key=lambda row: row[0])
        fields = [Event.at, Event.user, Event.kind, Event.entity, Event.record_id, Event.field, Event.old, Event.new]
        self._insert(Event, fields, self.events, "event log")


def generate(
    ctx: Context,
    sizes: DemoSizes = DemoSizes(),
    *,
    seed: int = 2026,
    now: datetime | None = None,
    progress: Progress | None = None,
    open_pipeline: bool = False,
) -> dict[str, int]:
    """Fill an empty workspace with demo data; returns how many rows of each kind were made.

    `open_pipeline` makes the benchmark shape: every deal open, all in the first pipeline.
    """
    if not is_empty():
        raise ServiceError("the demo generator only fills an empty workspace")
    gen = _Generator(ctx, sizes, seed, now or clock.now(), progress, open_pipeline)
    with database.atomic(), rollups.suspended():  # rebuilt once at the end, not per row written
        owners = gen.team()
        pipelines = gen.pipelines()
        tags = gen.tags()
        companies = gen.companies(owners, tags)
        contacts = gen.contacts(companies, owners)
        gen.leads(owners)
        deals = gen.deals(pipelines, companies, contacts, owners, tags)
        gen.activities(deals)
        gen.event_log()
        sql_util.reset_sequences([Company, Contact, Deal, Appointment, Note])
        demo_fields.add(ctx, gen.rng)
        search_index.rebuild()  # the rows above bypassed the services, so index them in bulk
        demo_extras.add(ctx, gen.rng)  # a few duplicates to find, and the demo's automation rules on
        put_setting("demo", {"seed": seed, "generated_at": gen.now.isoformat(), "deals": sizes.deals})
    made = {
        "users": User, "companies": Company, "contacts": Contact, "leads": Lead, "deals": Deal,
        "stage changes": StageChange, "tasks": Task, "notes": Note, "appointments": Appointment, "events": Event,
    }  # fmt: skip
    return {label: model.select().count() for label, model in made.items()}


def is_empty() -> bool:
    """True when the workspace holds no companies and no deals yet."""
    return not (Deal.select().exists() or Company.select().exists())

