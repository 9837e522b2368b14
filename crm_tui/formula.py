"""Formula fields: a small, safe expression language over one record's field values.

A formula such as ``amount * probability / 100`` or ``if(amount > 10000, "big", "small")``
is parsed once with `parse` and evaluated per record with `Formula.evaluate`. Python's
parser only builds the syntax tree; the tree is checked against an allow-list and
translated into a private form that this module interprets. Nothing is executed by Python.

Semantic choices:

* Numbers are `Decimal` (precision 28). Ints and floats become Decimals through ``str``,
  so 0.1 stays 0.1. ``round`` rounds halves up, as people expect of money; ``//`` and
  ``%`` round towards minus infinity, as in Python.
* A blank (``None``) is contagious, like SQL NULL: arithmetic, comparisons, ``min``,
  ``max``, ``abs``, ``round`` and ``days`` with a ``None`` give ``None``. ``and``, ``or``
  and ``not`` use three-valued logic and return True, False or None. ``if(None, a, b)``
  is ``b``. A field missing from the values is blank.
* Odd data never raises: a type mismatch at evaluation time (a date compared with a
  number, text in arithmetic, a fractional number of days, a date out of range) gives
  ``None``, and so does division by zero, so one odd record shows a blank cell instead
  of breaking a list.
* The one evaluation error is size: a computed number beyond ±10**18 raises
  ``FormulaError("the result is too large")``. A blank would hide that the formula
  itself is wrong (squaring an amount, say), so callers show the message instead.
* Dates: ``date - date`` is a number of days, ``date + n`` and ``date - n`` move by n
  whole days, a datetime counts as its date, ``today`` and ``today()`` are the ``today``
  passed to `evaluate`, and ``days(a, b)`` is the number of days from a to b.
* Function names are case-insensitive (``IF``, ``Round``); field names are not, and the
  built-in ``today`` wins over a field of that name.
"""

from __future__ import annotations

import ast
import difflib
import io
import operator
import tokenize
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import Any

MAX_LENGTH = 500
MAX_NODES = 200
MAX_DEPTH = 30
LIMIT = Decimal(10) ** 18

Value = Decimal | bool | str | date | None

# name -> (fewest arguments, most arguments or None, how to say it)
FUNCTIONS: dict[str, tuple[int, int | None, str]] = {
    "if": (3, 3, "3 arguments: if(condition, then, otherwise)"),
    "min": (1, None, "at least 1 argument"), "max": (1, None, "at least 1 argument"),
    "round": (1, 2, "1 or 2 arguments: round(number[, digits])"),
    "abs": (1, 1, "1 argument"), "today": (0, 0, "no arguments"),
    "days": (2, 2, "2 arguments: days(start, end)"),
}  # fmt: skip
_KNOWN_FUNCTIONS = ", ".join(sorted(FUNCTIONS))
_TOO_LARGE = "the result is too large"
_TOO_DEEP = f"the formula is too deeply nested (at most {MAX_DEPTH} levels)"
_CONTEXT = Context(prec=28, traps=[InvalidOperation, DivisionByZero, Overflow])
_MAX_DAYS = Decimal(4_000_000)  # more than the whole range of `date`

_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}
_COMPARISONS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}  # fmt: skip
_FORBIDDEN_OPERATORS = {
    ast.Pow: "**", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
    ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}  # fmt: skip
_FORBIDDEN_NODES: dict[type, str] = {
    ast.Attribute: "attribute access with '.' is not allowed",
    ast.Subscript: "indexing with '[...]' is not allowed",
    ast.Lambda: "'lambda' is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.IfExp: "'x if c else y' is not allowed (write if(c, x, y))",
    ast.Starred: "'*' arguments are not allowed",
    **dict.fromkeys((ast.List, ast.Tuple, ast.Set, ast.Dict), "lists, tuples, sets and dictionaries are not allowed"),
    **dict.fromkeys((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp), "comprehensions are not allowed"),
}


class FormulaError(ValueError):
    """A formula that cannot be used; the message is a sentence to show the user."""


@dataclass(frozen=True)
class Formula:
    """A parsed formula: `text` as given, `names` the field names it reads."""

    text: str
    names: frozenset[str]
    _tree: tuple = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, object], *, today: date) -> Value:
        """The formula's value for one record (see the module docstring for blanks).

        Raises FormulaError only when a number exceeds ±10**18.
        """
        if isinstance(today, datetime):
            today = today.date()
        try:
            with localcontext(_CONTEXT):
                return _checked(_Evaluator(values, today).run(self._tree))
        except Overflow:
            raise FormulaError(_TOO_LARGE) from None
        except ArithmeticError:
            # A Decimal corner we did not foresee is odd data, which gives a blank.
            return None


def parse(text: str, fields: Iterable[str]) -> Formula:
    """Check `text` against the language and the known `fields`, once, for many evaluations.

    Raises FormulaError, and nothing else, for any text that is not a usable formula.
    """
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is too long (at most {MAX_LENGTH} characters)")
    source = text.strip()
    if not source:
        raise FormulaError("the formula is empty")
    try:
        # Python warns about odd escapes in strings; in a terminal UI that would garble
        # the screen, and the formula is fine anyway.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(_spell_if(source), mode="eval").body
    except SyntaxError as error:
        if "too many nested" in str(error.msg):
            raise FormulaError(_TOO_DEEP) from None
        lead = len(text) - len(text.lstrip())
        where = f" at character {error.offset + lead}" if error.offset and error.lineno == 1 else ""
        raise FormulaError(f"the formula could not be read{where}: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise FormulaError(_TOO_DEEP) from None
    except ValueError:  # null bytes, unencodable characters
        raise FormulaError("the formula contains characters that are not allowed") from None
    if sum(isinstance(node, ast.expr) for node in ast.walk(tree)) > MAX_NODES:
        raise FormulaError(f"the formula is too complex (at most {MAX_NODES} parts)")
    names: set[str] = set()
    compiled = _Builder(frozenset(fields), names).build(tree, 0)
    return Formula(text, frozenset(names), compiled)


def check(text: str, fields: Iterable[str]) -> str | None:
    """None when `text` is a usable formula, otherwise the message explaining why not."""
    try:
        parse(text, fields)
    except FormulaError as error:
        return str(error)
    return None


def _spell_if(source: str) -> str:
    """Turn the keyword ``if(`` into the call ``IF(``, which Python can parse."""
    starts = [0]
    for line in io.StringIO(source).readlines():
        starts.append(starts[-1] + len(line))
    chars, previous = list(source), None
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if previous and previous.string == "if" and token.string == "(":
                (row, col) = previous.start
                chars[starts[row - 1] + col : starts[row - 1] + col + 2] = "IF"
            previous = token
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # keep what was found; ast.parse reports the actual problem
    return "".join(chars)


class _Builder:
    """Validates the syntax tree and translates it into nested tuples for `_Evaluator`."""

    def __init__(self, fields: frozenset[str], names: set[str]) -> None:
        self.fields, self.names = fields, names

    def build(self, node: ast.expr, depth: int) -> tuple:
        if depth > MAX_DEPTH:
            raise FormulaError(_TOO_DEEP)
        inner = depth + 1
        if isinstance(node, ast.Constant):
            return ("const", _literal(node.value))
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.BinOp):
            # A left-leaning chain (a + b - c * d ...) is one level, not one per operator.
            rights = []
            while isinstance(node, ast.BinOp):
                rights.append((_operator(node.op, _ARITHMETIC), node.right))
                node = node.left
            first = self.build(node, inner)
            steps = tuple((op, self.build(right, inner)) for op, right in reversed(rights))
            return ("arith", first, steps)
        if isinstance(node, ast.UnaryOp):
            kinds = {ast.USub: "neg", ast.UAdd: "pos", ast.Not: "not"}
            kind = kinds.get(type(node.op)) or _operator(node.op, {})
            return (kind, self.build(node.operand, inner))
        if isinstance(node, ast.BoolOp):
            kind = "and" if isinstance(node.op, ast.And) else "or"
            return (kind, tuple(self.build(value, inner) for value in node.values))
        if isinstance(node, ast.Compare):
            pairs = zip(node.ops, node.comparators, strict=True)
            steps = tuple((_operator(op, _COMPARISONS), self.build(right, inner)) for op, right in pairs)
            return ("cmp", self.build(node.left, inner), steps)
        if isinstance(node, ast.Call):
            return self._call(node, inner)
        raise FormulaError(_FORBIDDEN_NODES.get(type(node), "this kind of expression is not allowed"))

    def _name(self, name: str) -> tuple:
        if name == "today":
            return ("today",)
        if name in self.fields:
            self.names.add(name)
            return ("name", name)
        if name.lower() in FUNCTIONS:
            raise FormulaError(f"'{name}' is a function: write {name}(...)")
        known = sorted(self.fields)
        listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
        close = difflib.get_close_matches(name, known, n=1)
        hint = f", did you mean '{close[0]}'?" if close else ""
        where = f"known: {listed}" if known else "no fields are available"
        raise FormulaError(f"unknown field '{name}'{hint} ({where})")

    def _call(self, node: ast.Call, depth: int) -> tuple:
        if not isinstance(node.func, ast.Name):
            message = _FORBIDDEN_NODES.get(type(node.func))
            raise FormulaError(message or f"only the functions {_KNOWN_FUNCTIONS} can be called")
        name = node.func.id.lower()
        if name not in FUNCTIONS:
            raise FormulaError(f"unknown function '{node.func.id}' (known: {_KNOWN_FUNCTIONS})")
        if node.keywords:
            raise FormulaError("keyword arguments are not allowed")
        fewest, most, described = FUNCTIONS[name]
        count = len(node.args)
        if count < fewest or (most is not None and count > most):
            raise FormulaError(f"{name}() takes {described} (got {count})")
        return ("call", name, tuple(self.build(arg, depth) for arg in node.args))


def _operator(op: ast.AST, allowed: Mapping[type, Any]) -> Any:
    if type(op) in allowed:
        return allowed[type(op)]
    symbol = _FORBIDDEN_OPERATORS.get(type(op))
    raise FormulaError(f"'{symbol}' is not allowed" if symbol else "this operator is not allowed")


def _literal(value: object) -> Value:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite() or number.copy_abs() > LIMIT:
            raise FormulaError("a number in the formula is too large (at most 10**18)")
        return number
    what = {bytes: "byte strings are", complex: "complex numbers are"}.get(type(value), "'...' is")
    raise FormulaError(f"{what} not allowed")


def _coerce(value: object) -> Value:
    """A field value in the evaluator's terms; anything unexpected is a blank."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        return number if number.is_finite() else None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date | str):
        return value
    return None


def _checked(value: Value) -> Value:
    if isinstance(value, Decimal) and value.copy_abs() > LIMIT:
        raise FormulaError(_TOO_LARGE)
    return value


def _kind(value: Value) -> type:
    return next((kind for kind in (bool, Decimal, date, str) if isinstance(value, kind)), type(None))


def _truth(value: Value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return not value.is_zero()
    return value != "" if isinstance(value, str) else True


def _shift(day: date, count: Decimal) -> date | None:
    if count.copy_abs() > _MAX_DAYS or count != count.to_integral_value():
        return None
    try:
        return day + timedelta(days=int(count))
    except OverflowError:
        return None


def _arithmetic(op: str, a: Value, b: Value) -> Value:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        if op in ("+", "-", "*"):
            return _checked(a + b if op == "+" else a - b if op == "-" else a * b)
        if b.is_zero():
            return None
        if op == "/":
            return _checked(a / b)
        try:
            whole, rest = divmod(a, b)
        except InvalidOperation:  # the whole quotient has more digits than the precision
            if op == "//":
                raise FormulaError(_TOO_LARGE) from None
            return None
        if rest and (rest < 0) != (b < 0):  # Decimal truncates; Python floors
            whole, rest = whole - 1, rest + b
        return _checked(whole if op == "//" else rest)
    if isinstance(a, date) and isinstance(b, date) and op == "-":
        return Decimal((a - b).days)
    if isinstance(a, date) and isinstance(b, Decimal) and op in ("+", "-"):
        return _shift(a, b if op == "+" else -b)
    if isinstance(a, Decimal) and isinstance(b, date) and op == "+":
        return _shift(b, a)
    return None


def _round(number: Value, digits: Value) -> Value:
    if not isinstance(number, Decimal) or not isinstance(digits, Decimal):
        return None
    if not -18 <= digits <= 9 or digits != digits.to_integral_value():
        return None
    # At most 19 integer digits plus 9 decimals fits the precision of 28.
    rounded = _checked(number).quantize(Decimal(1).scaleb(-int(digits)), ROUND_HALF_UP)
    return _checked(rounded.quantize(Decimal(1)) if digits < 0 else rounded)


class _Evaluator:
    """Interprets a tree built by `_Builder` for one record."""

    def __init__(self, values: Mapping[str, object], today: date) -> None:
        self.values, self.today = values, today

    def run(self, node: tuple) -> Value:
        kind = node[0]
        if kind == "const":
            return node[1]
        if kind == "name":
            return _coerce(self.values.get(node[1]))
        if kind == "today":
            return self.today
        if kind == "arith":
            result = self.run(node[1])
            for op, right in node[2]:
                if result is None:
                    return None
                right_value = self.run(right)
                result = None if right_value is None else _arithmetic(op, result, right_value)
            return result
        if kind in ("neg", "pos"):
            value = self.run(node[1])
            if not isinstance(value, Decimal):
                return None
            return _checked(-value if kind == "neg" else +value)
        if kind == "not":
            truth = _truth(self.run(node[1]))
            return None if truth is None else not truth
        if kind in ("and", "or"):
            decisive, unknown = kind == "or", False
            for operand in node[1]:
                truth = _truth(self.run(operand))
                if truth is decisive:
                    return decisive
                unknown = unknown or truth is None
            return None if unknown else not decisive
        if kind == "cmp":
            return self._compare(node[1], node[2])
        return self._call(node[1], node[2])

    def _compare(self, first: tuple, steps: tuple) -> bool | None:
        left, outcome = self.run(first), True
        for compare, right_node in steps:
            right = self.run(right_node)
            if left is None or right is None or _kind(left) is not _kind(right):
                outcome = None
            elif not compare(left, right):
                return False
            left = right
        return outcome

    def _call(self, name: str, args: tuple) -> Value:
        if name == "if":
            return self.run(args[1] if _truth(self.run(args[0])) else args[2])
        if name == "today":
            return self.today
        values = [self.run(arg) for arg in args]
        if any(value is None for value in values):
            return None
        if name in ("min", "max"):
            kinds = {_kind(value) for value in values}
            if len(kinds) != 1 or bool in kinds:
                return None
            return min(values) if name == "min" else max(values)  # type: ignore[type-var]
        if name == "abs":
            return _checked(abs(values[0])) if isinstance(values[0], Decimal) else None
        if name == "round":
            return _round(values[0], values[1] if len(values) > 1 else Decimal(0))
        start, end = values
        if isinstance(start, date) and isinstance(end, date):
            return Decimal((end - start).days)
        return None
