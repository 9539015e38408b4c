"""Safe arithmetic for the calculator tool: the expression is parsed with ``ast`` and only numbers,
arithmetic operators and a handful of math functions are evaluated. Nothing is ever passed to eval.

Every step is bounded: integers may not grow past ``MAX_INT_BITS`` and a power whose integer result would
is computed in floating point instead (where it overflows at once), so "9**9**9**9" fails in microseconds.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

Number = int | float

MAX_EXPRESSION_CHARS = 500
MAX_INT_BITS = 4096  # ~1200 digits: far beyond useful, well within Python's int/str conversion limit


class CalculationError(ValueError):
    """The expression cannot be computed; the message says why in plain words."""


# Spoken and typeset forms a model or a person may use, rewritten to Python operators (order matters).
_REWRITES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), replacement)
    for pattern, replacement in [
        (r"\bto\s+the\s+power\s+of\b", "**"),
        (r"\bdivided\s+by\b", "/"),
        (r"\bmultiplied\s+by\b", "*"),
        (r"\btimes\b", "*"),
        (r"\bplus\b", "+"),
        (r"\bminus\b", "-"),
        (r"\bmod(?:ulo)?\b", "%"),
        (r"\bsquared\b", "**2"),
        (r"\bcubed\b", "**3"),
        (r"(?<=[\d.)])\s*x\s*(?=[\d.(])", "*"),  # "3 x 4", only between numbers ("exp" keeps its x)
        (r"\^", "**"),
        (r"[×✕]", "*"),
        (r"÷", "/"),
        (r"[−–]", "-"),
    ]
]

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


def _round(x: Number, digits: Number | None = None) -> Number:
    if digits is None:
        return round(x)
    if not float(digits).is_integer():
        raise CalculationError("round() needs a whole number of digits")
    return round(x, int(digits))


# name -> (function, fewest arguments, most arguments)
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "sqrt": (math.sqrt, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "log": (_log, 1, 2),
    "ln": (math.log, 1, 1),
    "log10": (math.log10, 1, 1),
    "exp": (math.exp, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}

_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Lambda: "lambda",
    ast.Subscript: "indexing",
    ast.Compare: "comparison",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "'if'",
    ast.NamedExpr: "assignment",
    ast.Starred: "'*' unpacking",
    ast.JoinedStr: "text",
    ast.List: "lists",
    ast.Tuple: "tuples (is there a stray comma?)",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
}


def normalize(expression: str) -> str:
    """Rewrite words and symbols ("times", "divided by", "^", "×") to Python arithmetic."""
    text = expression.strip().lower()
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def evaluate(expression: str) -> Number:
    """The value of an arithmetic expression; CalculationError says what is wrong with it."""
    text = normalize(expression)
    if not text:
        raise CalculationError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculationError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise CalculationError(f"cannot read {expression.strip()!r} as arithmetic") from None
    except (RecursionError, MemoryError, ValueError):
        raise CalculationError("the expression is nested too deeply or contains odd characters") from None
    try:
        return _tidy(_evaluate(tree.body))
    except ZeroDivisionError:
        raise CalculationError("division by zero") from None
    except OverflowError:
        raise CalculationError("the result is too large") from None
    except RecursionError:
        raise CalculationError("the expression is nested too deeply") from None
    except (ValueError, TypeError) as exc:
        if isinstance(exc, CalculationError):
            raise
        raise CalculationError(_math_error(exc)) from None


def _evaluate(node: ast.AST) -> Number:
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.Name):
        return _name(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        operand = _evaluate(node.operand)
        return operand if isinstance(node.op, ast.UAdd) else _bounded(-operand)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            return _bounded(_power(left, right))
        binary = _BINARY.get(type(node.op))
        if binary is None:
            raise CalculationError(f"the operator {_operator_text(node.op)} is not supported")
        return _bounded(binary(left, right))
    if isinstance(node, ast.Call):
        return _bounded(_call(node))
    thing = _FORBIDDEN.get(type(node), type(node).__name__)
    raise CalculationError(f"not allowed in arithmetic: {thing}")


def _constant(value: object) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, complex):
            raise CalculationError("complex numbers are not supported")
        raise CalculationError(f"{value!r} is not a number")
    return _bounded(value)


def _name(name: str) -> Number:
    if name in _CONSTANTS:
        return _CONSTANTS[name]
    if name in _FUNCTIONS:
        raise CalculationError(f"{name} is a function: write {name}(...)")
    raise CalculationError(f"unknown name {name!r}")


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name):
        raise CalculationError(f"not allowed in arithmetic: {_FORBIDDEN.get(type(node.func), 'this call')}")
    if node.func.id not in _FUNCTIONS:
        known = ", ".join(_FUNCTIONS)
        raise CalculationError(f"unknown function {node.func.id!r}; available: {known}")
    function, fewest, most = _FUNCTIONS[node.func.id]
    if node.keywords:
        raise CalculationError(f"{node.func.id}() takes no named arguments")
    if not fewest <= len(node.args) <= most:
        count = str(fewest) if fewest == most else f"{fewest} or {most}"
        raise CalculationError(f"{node.func.id}() takes {count} argument(s), got {len(node.args)}")
    return function(*(_evaluate(argument) for argument in node.args))


def _power(base: Number, exponent: Number) -> Number:
    # Exact integer power only when the result is known to stay small; else float, which overflows fast.
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent >= 0
        and exponent * max(abs(base).bit_length() - 1, 0) <= MAX_INT_BITS
    ):
        return int(base**exponent)
    fbase, fexponent = float(base), float(exponent)
    if fbase == 0.0 and fexponent < 0:
        raise ZeroDivisionError
    if fbase < 0 and not fexponent.is_integer():
        raise CalculationError("a negative number to a fractional power is not a real number")
    return math.pow(fbase, fexponent)


def _bounded(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise OverflowError
    if isinstance(value, float) and not math.isfinite(value):
        raise OverflowError
    return value


def _tidy(value: Number) -> Number:
    """15 significant digits (so 0.1 + 0.2 reads 0.3) and whole floats as integers (6/2 reads 3)."""
    if isinstance(value, int):
        return value
    rounded = float(f"{value:.15g}")
    if rounded.is_integer() and abs(rounded) < 2**53:
        return int(rounded)
    return rounded


def _operator_text(op: ast.operator) -> str:
    symbols = {ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<"}
    return symbols.get(type(op), type(op).__name__)


def _math_error(exc: Exception) -> str:
    text = str(exc)
    if "math domain error" in text:
        return "a function got a value outside its domain (e.g. sqrt or log of a negative number)"
    return text or type(exc).__name__
