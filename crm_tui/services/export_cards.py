"""Contacts as vCards and tasks and appointments as iCalendar, for address books and calendars.

vCard 3.0 (RFC 2426), not 4.0: it is the version all three big importers read fully. Outlook reads
2.1 and 3.0 only; Apple Contacts writes 3.0 itself; Google Contacts reads both. 4.0 would gain
nothing here (no field we write is new in 4.0). Each card has FN, N, ORG, TITLE, EMAIL, TEL, ADR
(the address as its street part) and UID `urn:crm-tui:contact:<id>`.

iCalendar 2.0 (RFC 5545): tasks are VTODOs (SUMMARY, DESCRIPTION, DUE, STATUS, COMPLETED) and
appointments VEVENTs (DTSTART, DTEND, LOCATION, DESCRIPTION). The app stores every time as naive
UTC (see crm_tui.clock; the Tasks screen labels them UTC), so times are written in UTC form
("20261120T093000Z") and a calendar shows them in its own zone. DTSTAMP is the record's last
change: without a METHOD, RFC 5545 defines DTSTAMP as when the information was last revised.

Both formats: text escaped (backslash, comma, semicolon, line breaks as \\n), lines folded at 75
octets (never inside a UTF-8 character), CRLF line ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TextIO

from peewee import JOIN

from crm_tui import __version__
from crm_tui.models import Appointment, Company, Contact, Task
from crm_tui.services.sql_util import among

LINE_OCTETS = 75
"""The longest a physical line may be, CRLF not counted (both RFCs)."""
PRODID = f"-//crm-tui//crm-tui {__version__}//EN"

Progress = Callable[[int, int], None]


def escape(value: Any) -> str:
    """A TEXT value escaped for a content line: backslash, semicolon, comma and line breaks."""
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """`line` with CRLF + space inserted so no physical line passes 75 octets (UTF-8)."""
    if len(line.encode("utf-8")) <= LINE_OCTETS:
        return line
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = LINE_OCTETS if not parts else LINE_OCTETS - 1  # a continuation starts with a space
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def unfold(text: str) -> list[str]:
    """The logical lines of vCard or iCalendar text (folding undone)."""
    return [line for line in text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n") if line]


def _line(name: str, value: str) -> str:
    return fold(f"{name}:{value}") + "\r\n"


def _utc(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%S}Z"


# -- vCard ----------------------------------------------------------------------------------------
def _contacts(ids: list[int]) -> list[tuple[Any, ...]]:
    company = Company.alias("company_row")
    query = (
        Contact.select(Contact.id, Contact.first_name, Contact.last_name, Contact.email, Contact.phone, Contact.title,
                       Contact.address, company.name)
        .join_from(Contact, company, JOIN.LEFT_OUTER, on=((company.id == Contact.company) & company.deleted_at.is_null()))
        .where(among(Contact.id, ids))
    )  # fmt: skip
    found = {row[0]: row for row in query.tuples()}
    return [found[record_id] for record_id in ids if record_id in found]


def vcard(row: tuple[Any, ...]) -> str:
    """One contact (id, first, last, email, phone, title, address, company) as a vCard 3.0."""
    record_id, first, last, email, phone, title, address, company = row
    name = " ".join(part for part in (first, last) if part) or email or f"Contact #{record_id}"
    lines = ["BEGIN:VCARD\r\n", "VERSION:3.0\r\n", _line("UID", f"urn:crm-tui:contact:{record_id}"),
             _line("FN", escape(name)), _line("N", f"{escape(last)};{escape(first)};;;")]  # fmt: skip
    if company:
        lines.append(_line("ORG", escape(company)))
    if title:
        lines.append(_line("TITLE", escape(title)))
    if email:
        lines.append(_line("EMAIL;TYPE=INTERNET", escape(email)))
    if phone:
        lines.append(_line("TEL;TYPE=WORK,VOICE", escape(phone)))
    if address:
        lines.append(_line("ADR;TYPE=WORK", f";;{escape(address)};;;;"))
    lines.append("END:VCARD\r\n")
    return "".join(lines)


def write_vcards(total: int, ids: Iterator[list[int]], out: TextIO, progress: Progress | None = None) -> int:
    """Write the contacts `ids` as vCards; returns how many were written."""
    done = 0
    for chunk in ids:
        rows = _contacts(chunk)
        out.write("".join(vcard(row) for row in rows))
        done += len(rows)
        if progress is not None:
            progress(done, max(total, done))
    return done


# -- iCalendar ------------------------------------------------------------------------------------
def _tasks(ids: list[int]) -> list[tuple[Any, ...]]:
    query = Task.select(Task.id, Task.title, Task.details, Task.due_at, Task.done, Task.done_at, Task.updated_at)
    found = {row[0]: row for row in query.where(among(Task.id, ids)).tuples()}
    return [found[record_id] for record_id in ids if record_id in found]


def _appointments(ids: list[int]) -> list[tuple[Any, ...]]:
    query = Appointment.select(
        Appointment.id, Appointment.title, Appointment.starts_at, Appointment.ends_at, Appointment.location,
        Appointment.details, Appointment.updated_at,
    )  # fmt: skip
    found = {row[0]: row for row in query.where(among(Appointment.id, ids)).tuples()}
    return [found[record_id] for record_id in ids if record_id in found]


def vtodo(row: tuple[Any, ...]) -> str:
    """One task (id, title, details, due_at, done, done_at, updated_at) as a VTODO."""
    record_id, title, details, due_at, done, done_at, updated_at = row
    lines = ["BEGIN:VTODO\r\n", _line("UID", f"task-{record_id}@crm-tui"), _line("DTSTAMP", _utc(updated_at)),
             _line("SUMMARY", escape(title))]  # fmt: skip
    if details:
        lines.append(_line("DESCRIPTION", escape(details)))
    if due_at is not None:
        lines.append(_line("DUE", _utc(due_at)))
    lines.append(_line("STATUS", "COMPLETED" if done else "NEEDS-ACTION"))
    if done and done_at is not None:
        lines.append(_line("COMPLETED", _utc(done_at)))
    lines.append("END:VTODO\r\n")
    return "".join(lines)


def vevent(row: tuple[Any, ...]) -> str:
    """One appointment (id, title, starts_at, ends_at, location, details, updated_at) as a VEVENT."""
    record_id, title, starts_at, ends_at, location, details, updated_at = row
    lines = ["BEGIN:VEVENT\r\n", _line("UID", f"appointment-{record_id}@crm-tui"), _line("DTSTAMP", _utc(updated_at)),
             _line("DTSTART", _utc(starts_at)), _line("DTEND", _utc(ends_at)), _line("SUMMARY", escape(title))]  # fmt: skip
    if location:
        lines.append(_line("LOCATION", escape(location)))
    if details:
        lines.append(_line("DESCRIPTION", escape(details)))
    lines.append("END:VEVENT\r\n")
    return "".join(lines)


def write_calendar(
    tasks: tuple[int, Iterator[list[int]]] | None,
    appointments: tuple[int, Iterator[list[int]]] | None,
    out: TextIO,
    progress: Progress | None = None,
) -> int:
    """Write one VCALENDAR with the tasks and the appointments given as (total, id chunks); returns
    how many components were written."""
    total = (tasks[0] if tasks else 0) + (appointments[0] if appointments else 0)
    out.write(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{_line('PRODID', PRODID)}CALSCALE:GREGORIAN\r\n")
    done = 0
    for source, read, render in ((tasks, _tasks, vtodo), (appointments, _appointments, vevent)):
        if source is None:
            continue
        for chunk in source[1]:
            rows = read(chunk)
            out.write("".join(render(row) for row in rows))
            done += len(rows)
            if progress is not None:
                progress(done, max(total, done))
    out.write("END:VCALENDAR\r\n")
    return done
