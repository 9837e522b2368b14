"""Input validation: clear field-by-field messages, control characters rejected, money exact."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_tui.money import MoneyError, format_money, parse_money
from crm_tui.schemas.records import CompanyIn, ContactIn
from crm_tui.services import records
from crm_tui.services.errors import ValidationFailed
from crm_tui.services.workspace import Workspace
from crm_tui.text import safe_text

CONTROL = st.sampled_from([chr(c) for c in [*range(0, 9), *range(11, 32), 127, *range(0x80, 0xA0)]] + ["\n", "\t", "\u202e"])


def test_invalid_company_names_every_bad_field(workspace: Workspace) -> None:
    with pytest.raises(ValidationFailed) as caught:
        records.create(
            workspace.ctx,
            "company",
            {"name": "  ", "domain": "not a domain", "website": "ftp://x.org", "employees": -3, "colour": "red"},
        )
    assert caught.value.errors == {
        "name": "cannot be blank",
        "domain": "is not a domain name (expected example.com)",
        "website": "must be an http:// or https:// address",
        "employees": "must be 0 or more",
        "colour": "is not a field of company",
    }
    assert "Company not saved" in str(caught.value)


def test_deal_rules(workspace: Workspace) -> None:
    with pytest.raises(ValidationFailed) as caught:
        records.create(workspace.ctx, "deal", {"title": "X", "stage_id": 999, "amount": -5, "confidence": 9})
    assert caught.value.errors["amount"] == "must be 0 or more"
    assert caught.value.errors["confidence"] == "must be 5 or less"


def test_references_must_exist(workspace: Workspace) -> None:
    with pytest.raises(ValidationFailed) as caught:
        records.create(workspace.ctx, "contact", {"first_name": "Ann", "company_id": 12345})
    assert caught.value.errors == {"company_id": "no company #12345"}


def test_record_rules_are_reported_as_a_whole(workspace: Workspace) -> None:
    with pytest.raises(ValidationFailed) as caught:
        records.create(workspace.ctx, "contact", {"email": "ann@example.com"})
    assert caught.value.errors == {"": "a contact needs a first or a last name"}


def test_escape_sequences_are_rejected_with_the_character_named(workspace: Workspace) -> None:
    with pytest.raises(ValidationFailed) as caught:
        records.create(workspace.ctx, "company", {"name": "Evil\x1b[2J Corp"})
    assert caught.value.errors == {"name": "contains a control character: escape (U+001B)"}


@given(prefix=st.text(max_size=20), bad=CONTROL, suffix=st.text(max_size=20))
def test_any_control_character_in_a_name_is_rejected(prefix: str, bad: str, suffix: str) -> None:
    with pytest.raises(Exception) as caught:
        CompanyIn.model_validate({"name": f"a{prefix}{bad}{suffix}z"})  # inside: edges are stripped
    assert "control character" in str(caught.value)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), min_size=1, max_size=60))
def test_printable_names_are_kept_as_typed(name: str) -> None:
    if not name.strip():
        return
    assert ContactIn.model_validate({"first_name": name}).first_name == name.strip()


@given(st.text(max_size=200))
def test_safe_text_never_lets_a_control_character_through(text: str) -> None:
    cleaned = safe_text(text)
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in cleaned)
    multiline = safe_text(text, multiline=True)
    assert not any((ord(ch) < 32 and ch not in "\n\t") or 0x7F <= ord(ch) < 0xA0 for ch in multiline)


def test_email_and_phone() -> None:
    contact = ContactIn.model_validate({"first_name": "A", "email": "Ann.Lee@Example.COM", "phone": "+44 (20) 7946-0958"})
    assert contact.email == "ann.lee@example.com"
    for email in ("ann", "ann@", "a b@c.de", "ann@example"):
        with pytest.raises(Exception):
            ContactIn.model_validate({"first_name": "A", "email": email})
    with pytest.raises(Exception):
        ContactIn.model_validate({"first_name": "A", "phone": "call me"})


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [("12,400", "USD", 1_240_000), ("99.5", "EUR", 9950), ("1.2k", "USD", 120_000), ("$3M", "USD", 300_000_000),
     ("1500", "JPY", 1500), ("2.125", "KWD", 2125), (7, "USD", 700)],
)  # fmt: skip
def test_parse_money(typed: str | int, currency: str, minor: int) -> None:
    assert parse_money(typed, currency) == minor


@pytest.mark.parametrize("typed", ["", "abc", "1.234", "1,23", "12..5"])
def test_parse_money_rejects(typed: str) -> None:
    with pytest.raises(MoneyError):
        parse_money(typed, "USD")


@given(st.integers(min_value=0, max_value=10**13), st.sampled_from(["USD", "EUR", "JPY", "KWD", "CHF"]))
def test_money_round_trips_through_its_display(minor: int, currency: str) -> None:
    assert parse_money(format_money(minor, currency).replace(" " + currency, ""), currency) == minor


def test_compact_money() -> None:
    assert format_money(1_234_500, "USD", compact=True) == "$12.3k"
    assert format_money(133_000_000, "EUR", compact=True) == "€1.33M"
    assert format_money(50_000, "GBP", compact=True) == "£500"
    assert format_money(1_250, "CHF") == "12.50 CHF"


def test_a_tag_name_is_at_most_60_characters() -> None:
    from crm_tui.schemas.records import TagIn

    assert TagIn.model_validate({"name": "x" * 60}).name == "x" * 60
    with pytest.raises(Exception, match="at most 60"):
        TagIn.model_validate({"name": "x" * 61})
