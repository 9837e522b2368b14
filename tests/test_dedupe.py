"""The duplicate scan: planted look-alikes are grouped with a score and reasons, near misses are not.
(The 100,000-contact timing is bench/dedupe.py, not a test.)"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from crm_tui.models import Contact
from crm_tui.services import dedupe, records
from crm_tui.services.errors import ServiceError
from crm_tui.services.workspace import Workspace


def _make(workspace: Workspace, entity: str, **values: Any) -> int:
    return records.create(workspace.ctx, entity, values).id


def _groups(entity: str, **options: Any) -> dict[frozenset[int], dedupe.DuplicateGroup]:
    return {frozenset(c.id for c in group.records): group for group in dedupe.scan(entity, **options)}


def test_keys() -> None:
    assert dedupe.phone_key("+1 (202) 555-0143") == dedupe.phone_key("202-555-0143") == "025550143"
    assert dedupe.phone_key("+44 20 7946 0958") == dedupe.phone_key("020 7946 0958")
    assert dedupe.phone_key("+1 202 555 0143 ext. 12") == dedupe.phone_key("2025550143")
    assert dedupe.phone_key("555-0100") == "5550100" and dedupe.phone_key("12345") is None
    assert dedupe.company_key("ACME Corporation") == dedupe.company_key("Acme, Inc.") == "acme"
    assert dedupe.company_key("Müller Bau GmbH & Co. KG") == "mueller bau"
    assert dedupe.company_key("Société Générale S.A.R.L.") == "societe generale"
    assert dedupe.company_key("Inc") == "inc"
    assert dedupe.fold("  Zoë  O'Brien ") == "zoe obrien"
    assert dedupe.web_domain("https://www.Acme.com/about") == "acme.com"


def test_contacts(workspace: Workspace) -> None:
    acme = _make(workspace, "company", name="Acme")
    other = _make(workspace, "company", name="Globex")
    jon = _make(workspace, "contact", first_name="Jon", last_name="Smith", company_id=acme, email="jon@acme.com")
    john = _make(workspace, "contact", first_name="John", last_name="Smith", company_id=acme, email="john.smith@acme.com")
    _make(workspace, "contact", first_name="John", last_name="Smith", company_id=other, email="john@globex.com")
    anna = _make(workspace, "contact", first_name="Anna", last_name="Müller", email="anna@mueller-bau.de")
    anna2 = _make(workspace, "contact", first_name="ANNA", last_name="Mueller", email="a.mueller@mueller-bau.de")
    _make(workspace, "contact", first_name="Maria", last_name="Garcia", email="maria.garcia@gmail.com")
    _make(workspace, "contact", first_name="Mario", last_name="Garcia", email="mgarcia@gmail.com")
    bob = _make(workspace, "contact", first_name="Bob", last_name="Stone", phone="+1 (202) 555-0143")
    rob = _make(workspace, "contact", first_name="Robert", last_name="Stone", phone="202-555-0143")
    _make(workspace, "contact", first_name="Ann", last_name="Kim", phone="+1 202 555 0100", company_id=other)
    _make(workspace, "contact", first_name="Zed", last_name="Brown", phone="202 555 0100", company_id=other)
    ids = Contact.insert_many(
        [("Lee", "Ng", "Lee.Ng@Example.org"), ("Li", "Ng", "lee.ng@example.org")], fields=["first_name", "last_name", "email"]
    ).execute()
    gone = _make(workspace, "contact", first_name="Jon", last_name="Smith", company_id=acme)
    records.delete(workspace.ctx, "contact", gone, version=1)
    same_email = set(Contact.select(Contact.id).where(Contact.last_name == "Ng").tuples())

    found = _groups("contact")

    assert set(found) == {
        frozenset({jon, john}), frozenset({anna, anna2}), frozenset({bob, rob}), frozenset(i for (i,) in same_email),
    }, ids  # fmt: skip
    assert found[frozenset({jon, john})].reasons == ["similar name (94)"]
    assert found[frozenset({anna, anna2})].reasons == ["same name"] and found[frozenset({anna, anna2})].score == 100
    assert found[frozenset({bob, rob})].reasons == ["same phone"]
    first = dedupe.scan("contact")[0]
    assert first.reasons[0] in ("same email", "same name") and first.score == 100
    jon_row = next(c for c in found[frozenset({jon, john})].records if c.id == jon)
    assert jon_row.title == "Jon Smith" and "Acme" in jon_row.detail and jon_row.updated_at is not None


def test_a_stricter_threshold_and_chains(workspace: Workspace) -> None:
    a = _make(workspace, "contact", first_name="Jon", last_name="Smith", email="js@acme.com")
    b = _make(workspace, "contact", first_name="John", last_name="Smith", email="js@acme.com", phone="+1 202 555 0143")
    c = _make(workspace, "contact", first_name="Johnny", last_name="Smith", phone="(202) 555-0143")

    group = dedupe.scan("contact")[0]

    assert {r.id for r in group.records} == {a, b, c}  # one record is in one group only
    assert group.score == 100 and group.reasons[:2] == ["same email", "similar name (94)"]
    assert "similar name (94)" not in dedupe.scan("contact", threshold=95)[0].reasons


def test_companies(workspace: Workspace) -> None:
    acme = _make(workspace, "company", name="Acme Corp")
    acme2 = _make(workspace, "company", name="ACME Corporation")
    globex = _make(workspace, "company", name="Globex GmbH", domain="globex.de")
    globex2 = _make(workspace, "company", name="Globex Deutschland", website="https://www.globex.de/kontakt")
    _make(workspace, "company", name="Branch 12 Ltd")
    _make(workspace, "company", name="Branch 13 Ltd")
    _make(workspace, "company", name="Initech", domain="initech.com")
    _make(workspace, "company", name="Initech Inc", domain="initech.co.uk")

    found = _groups("company")

    assert set(found) == {frozenset({acme, acme2}), frozenset({globex, globex2})}
    assert found[frozenset({acme, acme2})].reasons == ["same name"]
    assert found[frozenset({globex, globex2})].reasons == ["same domain"]


def test_leads(workspace: Workspace) -> None:
    a = _make(workspace, "lead", first_name="Jane", last_name="Doe", company_name="Acme Inc")
    b = _make(workspace, "lead", first_name="Jane", last_name="Do", company_name="ACME")
    _make(workspace, "lead", first_name="Jane", last_name="Doe", company_name="Globex")
    c = _make(workspace, "lead", company_name="Initech", email="info@initech.com")
    d = _make(workspace, "lead", company_name="Initech Ltd", email="INFO@initech.com")

    assert set(_groups("lead")) == {frozenset({a, b}), frozenset({c, d})}


def test_progress_cancel_and_bad_input(workspace: Workspace) -> None:
    for first in ("Ann", "Anne", "Bo"):
        _make(workspace, "contact", first_name=first, last_name="Lee", email=f"{first}@lee.org")
    seen: list[tuple[int, int]] = []
    dedupe.scan("contact", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (9, 9) and all(a <= b for (a, _), (b, _) in pairwise(seen))

    with pytest.raises(dedupe.Cancelled):
        dedupe.scan("contact", cancel=lambda: True)
    with pytest.raises(ServiceError):
        dedupe.scan("deal")
    with pytest.raises(ServiceError):
        dedupe.scan("contact", threshold=20)
