"""Formula fields: what formulas compute, which ones are refused and why, and that nothing else escapes."""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_tui.formula import Formula, FormulaError, check, parse

FIELDS = ("amount", "cost", "probability", "created", "closed", "stage", "a", "b", "c")
TODAY = date(2024, 5, 10)
# No example database: these tests must not write into the working tree.
PROPERTY = settings(deadline=500, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run(text: str, **values: object) -> object:
    return parse(text, FIELDS).evaluate(values, today=TODAY)


# What formulas compute


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("amount - cost", {"amount": Decimal("1500.50"), "cost": 200}, Decimal("1300.50")),
        ("amount * probability / 100", {"amount": 10000, "probability": 25}, Decimal(2500)),
        ("amount + cost", {"amount": 0.1, "cost": 0.2}, Decimal("0.3")),
        ("today() - created", {"created": date(2024, 5, 1)}, Decimal(9)),
        ("today() - created", {"created": datetime(2024, 5, 1, 23, 59)}, Decimal(9)),
        ("today - created", {"created": date(2024, 5, 11)}, Decimal(-1)),
        ('if(amount > 10000, "big", "small")', {"amount": 20000}, "big"),
        ('if(amount > 10000, "big", "small")', {"amount": 10000}, "small"),
        ('IF(amount > 1, "if(", "x")', {"amount": 5}, "if("),
        ("round(amount / 3, 2)", {"amount": 100}, Decimal("33.33")),
        ("round(amount)", {"amount": Decimal("2.5")}, Decimal(3)),
        ("round(amount, -2)", {"amount": 1250}, Decimal(1300)),
        ("max(amount, 0)", {"amount": -5}, Decimal(0)),
        ("max(amount, 0)", {"amount": 7}, Decimal(7)),
        ("min(a, b, c)", {"a": 3, "b": -1, "c": 2}, Decimal(-1)),
        ("abs(a - b)", {"a": 3, "b": 10}, Decimal(7)),
        ("-a // 2", {"a": 7}, Decimal(-4)),
        ("-a % 2", {"a": 7}, Decimal(1)),
        ("a / 4", {"a": 10}, Decimal("2.5")),
        ("1 < a <= 3", {"a": 3}, True),
        ("1 < a <= 3", {"a": 4}, False),
        ("a > 0 and not b", {"a": 1, "b": 0}, True),
        ('stage == "won"', {"stage": "won"}, True),
        ("closed", {"closed": True}, True),
        ("a", {"a": 10**18}, Decimal(10**18)),
    ],
)
def test_formulas_compute(text: str, values: dict[str, object], expected: object) -> None:
    result = run(text, **values)
    assert result == expected
    assert type(result) is type(expected)


def test_date_arithmetic() -> None:
    created = date(2024, 1, 30)
    assert run("created + 2", created=created) == date(2024, 2, 1)
    assert run("2 + created", created=created) == date(2024, 2, 1)
    assert run("created - 30", created=created) == date(2023, 12, 31)
    assert run("days(created, today())", created=created) == Decimal(101)
    assert run("created < today()", created=created) is True
    assert run("max(created, today)", created=created) == TODAY
    assert run("created + 1.5", created=created) is None
    assert run("created + 10000000", created=created) is None
    assert run("created + a", created=date(9999, 12, 31), a=1) is None
    assert parse("today()", FIELDS).evaluate({}, today=datetime(2024, 5, 10, 8)) == TODAY


@pytest.mark.parametrize(
    "text",
    [
        "amount - cost",
        "amount * 2",
        "-amount",
        "amount > 1",
        "amount == amount",
        "max(amount, 0)",
        "round(amount)",
        "abs(amount)",
        "not amount",
        "today() - created",
        "days(created, today())",
    ],
)
def test_blank_is_contagious(text: str) -> None:
    assert run(text, amount=None, cost=5, created=None) is None


def test_missing_values_are_blank() -> None:
    assert run("amount + 1") is None


def test_three_valued_logic_and_if() -> None:
    assert run("amount > 1 and cost > 1", amount=None, cost=0) is False
    assert run("amount > 1 and cost > 1", amount=None, cost=5) is None
    assert run("amount > 1 or cost > 1", amount=None, cost=5) is True
    assert run("amount > 1 or cost > 1", amount=None, cost=0) is None
    assert run('if(amount > 10000, "big", "small")', amount=None) == "small"


@pytest.mark.parametrize("text", ["amount / cost", "amount // cost", "amount % cost", "round(amount / cost, 2)"])
def test_division_by_zero_is_blank(text: str) -> None:
    assert run(text, amount=5, cost=0) is None
    assert run(text, amount=0, cost=0) is None


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("created > 5", {"created": date(2024, 1, 1)}),
        ('"x" + 1', {}),
        ("stage * 2", {"stage": "won"}),
        ("closed + 1", {"closed": True}),
        ("amount == stage", {"amount": 1, "stage": "1"}),
        ("min(amount, created)", {"amount": 1, "created": date(2024, 1, 1)}),
        ("round(amount, 1.5)", {"amount": 1}),
        ("created - amount", {"created": date(2024, 1, 1), "amount": 0.5}),
        ("amount", {"amount": object()}),
        ("amount", {"amount": float("nan")}),
        ("amount + 1", {"amount": Decimal("Infinity")}),
    ],
)
def test_type_mismatches_are_blank(text: str, values: dict[str, object]) -> None:
    assert run(text, **values) is None


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("amount * amount * amount", {"amount": 10**7}),
        ("amount * amount + 1", {"amount": 10**9}),
        ("amount", {"amount": 10**18 + 1}),
        ("amount / 0.000001", {"amount": 10**13}),
        ("amount // 0.000000000000000001", {"amount": 10**18}),
        ("amount * amount", {"amount": Decimal("1e999999")}),
    ],
)
def test_too_large_results_raise(text: str, values: dict[str, object]) -> None:
    with pytest.raises(FormulaError, match=r"^the result is too large$"):
        run(text, **values)


def test_formula_records_its_text_and_names() -> None:
    formula = parse("amount - cost + today()", FIELDS)
    assert isinstance(formula, Formula)
    assert formula.text == "amount - cost + today()"
    assert formula.names == frozenset({"amount", "cost"})


def test_check() -> None:
    assert check("amount - cost", FIELDS) is None
    assert check("amount ** 2", FIELDS) == "'**' is not allowed"


# Formulas that are refused


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9**9**9", "'**' is not allowed"),
        ("__import__('os')", "unknown function '__import__' (known: abs, days, if, max, min, round, today)"),
        ("amount.__class__", "attribute access with '.' is not allowed"),
        ("[1,2][0]", "indexing with '[...]' is not allowed"),
        ("lambda: 1", "'lambda' is not allowed"),
        (
            "unknown_field + 1",
            "unknown field 'unknown_field' (known: a, amount, b, c, closed, cost, created, probability, stage)",
        ),
        (
            "amout + 1",
            "unknown field 'amout', did you mean 'amount'? (known: a, amount, b, c, closed, cost, created, probability, stage)",
        ),
        ("(" * 10_000 + "1" + ")" * 10_000, "the formula is too long (at most 500 characters)"),
        ("a+" * 250 + "1", "the formula is too long (at most 500 characters)"),
        ("(" * 240 + "1" + ")" * 240, "the formula is too deeply nested (at most 30 levels)"),
        ("abs(" * 40 + "a" + ")" * 40, "the formula is too deeply nested (at most 30 levels)"),
        ("-" * 300 + "a", "the formula is too complex (at most 200 parts)"),
        ("open('x')", "unknown function 'open' (known: abs, days, if, max, min, round, today)"),
        ('f"{amount}"', "f-strings are not allowed"),
        ("(amount := 1)", "':=' is not allowed"),
        ("max(a, key=b)", "keyword arguments are not allowed"),
        ("min(*a)", "'*' arguments are not allowed"),
        ("1 if a else 2", "'x if c else y' is not allowed (write if(c, x, y))"),
        ("a is None", "'is' is not allowed"),
        ("a in b", "'in' is not allowed"),
        ("a & 1", "'&' is not allowed"),
        ("[x for x in a]", "comprehensions are not allowed"),
        ("(1, 2)", "lists, tuples, sets and dictionaries are not allowed"),
        ("if(a, b)", "if() takes 3 arguments: if(condition, then, otherwise) (got 2)"),
        ("round()", "round() takes 1 or 2 arguments: round(number[, digits]) (got 0)"),
        ("max", "'max' is a function: write max(...)"),
        ("amount(1)", "unknown function 'amount' (known: abs, days, if, max, min, round, today)"),
        ("1e999", "a number in the formula is too large (at most 10**18)"),
        ("1j", "complex numbers are not allowed"),
        ("b'x'", "byte strings are not allowed"),
        ("   ", "the formula is empty"),
    ],
)
def test_rejected(text: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(FormulaError) as caught:
        parse(text, FIELDS)
    assert str(caught.value) == message
    assert time.monotonic() - started < 1


def test_syntax_errors_say_where() -> None:
    assert check("  if(a, 1, 2", FIELDS) == "the formula could not be read at character 5: '(' was never closed"
    assert (check("amount +", FIELDS) or "").startswith("the formula could not be read")


def test_unknown_field_without_fields() -> None:
    assert check("x", []) == "unknown field 'x' (no fields are available)"


# Properties


FORMULA_TEXT = st.text(alphabet="()+-*/%<>=!,. 0123456789eabcdfimnortuxy_\"'if:[]{}\\", max_size=600)


@PROPERTY
@given(st.one_of(st.text(max_size=600), FORMULA_TEXT))
def test_parse_returns_a_formula_or_raises_formula_error(text: str) -> None:
    try:
        formula = parse(text, FIELDS)
    except FormulaError as error:
        assert str(error)
    else:
        assert isinstance(formula, Formula)


NUMBER_FIELDS = ("a", "b", "c")
LEAVES = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.decimals(-(10**6), 10**6, places=3, allow_nan=False, allow_infinity=False).map(lambda d: format(d, "f")),
    st.sampled_from(NUMBER_FIELDS),
)
BINARY = ["+", "-", "*", "/", "//", "%", "<", "<=", ">", ">=", "==", "!=", "and", "or"]


def _grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "+", "not "]), children).map(lambda t: f"({t[0]}{t[1]})"),
        st.tuples(children, children, children).map(lambda t: f"if({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(children, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        children.map(lambda x: f"abs({x})"),
        st.tuples(children, st.sampled_from(["", ", 0", ", 2", ", -3", ", 1.5", ", a"])).map(
            lambda t: f"round({t[0]}{t[1]})"
        ),
    )


EXPRESSIONS = st.recursive(LEAVES, _grow, max_leaves=15)
FIELD_VALUE = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.decimals(-(10**12), 10**12, places=4, allow_nan=False, allow_infinity=False),
)
VALUES = st.fixed_dictionaries({name: FIELD_VALUE for name in NUMBER_FIELDS})


@PROPERTY
@given(EXPRESSIONS, VALUES)
def test_evaluate_returns_a_value_or_raises_formula_error(text: str, values: dict[str, object]) -> None:
    try:
        formula = parse(text, FIELDS)
    except FormulaError as error:
        assert str(error).startswith(
            ("the formula is too long", "the formula is too deeply", "the formula is too complex")
        )
        return
    try:
        result = formula.evaluate(values, today=TODAY)
    except FormulaError as error:
        assert str(error) == "the result is too large"
        return
    assert result is None or isinstance(result, Decimal | bool | str)
    if isinstance(result, Decimal):
        assert abs(result) <= 10**18


# A tree is an int, a field name, or (operator, left, right).
TREES = st.recursive(
    st.one_of(st.integers(-50, 50), st.sampled_from(NUMBER_FIELDS)),
    lambda children: st.tuples(st.sampled_from("+-*"), children, children),
    max_leaves=10,
)


def _render(tree: object) -> str:
    if isinstance(tree, tuple):
        return f"({_render(tree[1])} {tree[0]} {_render(tree[2])})"
    return f"({tree})" if isinstance(tree, int) and tree < 0 else str(tree)


def _reference(tree: object, values: dict[str, int], seen: list[int]) -> int:
    if isinstance(tree, int):
        return tree
    if isinstance(tree, str):
        return values[tree]
    op, left, right = tree
    a, b = _reference(left, values, seen), _reference(right, values, seen)
    result = a + b if op == "+" else a - b if op == "-" else a * b
    seen.append(result)
    return result


@PROPERTY
@given(TREES, st.fixed_dictionaries({name: st.integers(-(10**6), 10**6) for name in NUMBER_FIELDS}))
def test_arithmetic_agrees_with_python(tree: object, values: dict[str, int]) -> None:
    seen: list[int] = []
    expected = _reference(tree, values, seen)
    formula = parse(_render(tree), FIELDS)
    if any(abs(step) > 10**18 for step in seen):
        with pytest.raises(FormulaError, match="too large"):
            formula.evaluate(values, today=TODAY)
    else:
        assert formula.evaluate(values, today=TODAY) == Decimal(expected)
