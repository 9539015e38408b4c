"""Safe arithmetic for the calculator tool: the expression is parsed with ``ast`` and only numbers,
arithmetic operators and a handful of math functions are evaluated. Nothing is ever passed to eval.

Every step has a cost known before it runs, because one long C call holds the GIL and would freeze the event
loop even from a worker thread. The expression is at most ``MAX_EXPRESSION_CHARS`` long, so it has few
operations; every integer stays within ``MAX_INT_BITS``; and each operation whose cost depends on an
operand's value rather than its size (powers, products, round's digits, factorials) estimates the size of
its result first and refuses, naming what was too big, when it would not fit. The rest (sums, divisions,
float math) cost at most a few microseconds on numbers of that size.
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
MAX_RAW_CHARS = 4 * MAX_EXPRESSION_CHARS  # checked before the word rewrites, whose regexes hold the GIL
MAX_INT_BITS = 4096  # far beyond useful, well within Python's int/str conversion limit (4300 digits)
MAX_DIGITS = int(MAX_INT_BITS * math.log10(2))  # 1233
MAX_ROUND_DIGITS = MAX_DIGITS + 1  # beyond this round() gives the same answer, at a cost of 10**digits
_FACTORIAL_LIMIT = 10_000  # far past the largest factorial that fits; lgamma stays exact enough below it


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
        (r"\b(\d+)\s*!(?!=)", r"factorial(\1)"),
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
    places = _whole(digits, "round() needs a whole number of digits")
    # An int rounded to -n places computes 10**n first: round(1, -3*10**7) alone takes half a minute.
    if abs(places) > MAX_ROUND_DIGITS:
        raise CalculationError(
            f"round()'s digits ({_describe(places)}) are out of range: use between {-MAX_ROUND_DIGITS} "
            f"and {MAX_ROUND_DIGITS} (the calculator keeps at most {MAX_DIGITS} digits)"
        )
    return round(x, places)


def _factorial(n: Number) -> int:
    count = _whole(n, "factorial() needs a whole number that is 0 or more", at_least=0)
    bits = _log2_factorial(count)
    if bits > MAX_INT_BITS:
        raise _too_large(f"factorial({_describe(count)})", bits)
    return math.factorial(count)


def _comb(n: Number, k: Number) -> int:
    total = _whole(n, "comb(n, k) needs whole numbers that are 0 or more", at_least=0)
    chosen = _whole(k, "comb(n, k) needs whole numbers that are 0 or more", at_least=0)
    if chosen > total:
        return 0
    smaller = min(chosen, total - chosen)
    # comb(n, j) >= (n/j)**j >= 2**j for j <= n/2: a lower bound on the result's bits, computed in floats.
    if smaller > MAX_INT_BITS:
        raise _too_large(f"comb({_describe(total)}, {_describe(chosen)})", smaller, at_least=True)
    least_bits = smaller * (math.log2(total) - math.log2(smaller)) if smaller else 0.0
    if least_bits > MAX_INT_BITS:
        raise _too_large(f"comb({_describe(total)}, {_describe(chosen)})", least_bits, at_least=True)
    return math.comb(total, smaller)  # at most ~2.5x MAX_INT_BITS bits; _bounded checks the exact size


def _log2_factorial(n: int) -> float:
    if n > _FACTORIAL_LIMIT:
        return math.inf if n.bit_length() > 1000 else math.lgamma(float(n) + 1) / math.log(2)
    return math.lgamma(n + 1) / math.log(2)


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
    "factorial": (_factorial, 1, 1),
    "comb": (_comb, 2, 2),
}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
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
    if len(expression) > MAX_RAW_CHARS:
        raise CalculationError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
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
    except OverflowError as exc:
        raise CalculationError(_overflow_text(exc)) from None
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
        if isinstance(node.op, ast.Mult):
            return _bounded(_multiply(left, right))
        binary = _BINARY.get(type(node.op))
        if binary is None:
            raise _unsupported(_operator_text(node.op))
        return _bounded(binary(left, right))
    if isinstance(node, ast.Call):
        return _bounded(_call(node))
    if isinstance(node, ast.UnaryOp):
        raise _unsupported({ast.Invert: "~", ast.Not: "'not'"}.get(type(node.op), type(node.op).__name__))
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
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        if abs(base) <= 1:  # 0, 1 and -1 stay small whatever the exponent
            return 1 if exponent == 0 else base if exponent % 2 else abs(base)
        # |base| ** e has more than e * (bits(base) - 1) bits: refuse before computing what cannot fit.
        least_bits = exponent * (abs(base).bit_length() - 1) + 1
        if least_bits > MAX_INT_BITS:
            raise _too_large(f"{_describe(base)} ** {_describe(exponent)}", least_bits, at_least=True)
        return int(base**exponent)  # at most 2 * MAX_INT_BITS bits; _bounded checks the exact size
    fbase, fexponent = float(base), float(exponent)
    if fbase == 0.0 and fexponent < 0:
        raise ZeroDivisionError
    if fbase < 0 and not fexponent.is_integer():
        raise CalculationError("a negative number to a fractional power is not a real number")
    return math.pow(fbase, fexponent)


def _multiply(left: Number, right: Number) -> Number:
    if isinstance(left, int) and isinstance(right, int) and left and right:
        least_bits = left.bit_length() + right.bit_length() - 1
        if least_bits > MAX_INT_BITS:
            raise _too_large(f"{_describe(left)} * {_describe(right)}", least_bits, at_least=True)
    return left * right


def _whole(value: Number, problem: str, at_least: int | None = None) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise CalculationError(problem)
        value = int(value)
    if at_least is not None and value < at_least:
        raise CalculationError(problem)
    return value


def _describe(value: Number) -> str:
    """A number for an error message; never str() of a huge int, which is slow and may be refused."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a {int(value.bit_length() * math.log10(2)) + 1}-digit number"
    return repr(value)


def _too_large(what: str, bits: float | int, at_least: bool = False) -> CalculationError:
    if bits < 1e18:  # int/float comparison is exact and never converts a huge int
        digits = f"{'at least ' if at_least else ''}about {int(bits * math.log10(2)) + 1:,} digits"
    else:
        digits = "an astronomical number of digits"
    return CalculationError(
        f"the result of {what} is too large: it would have {digits}, and the calculator works with up to "
        f"{MAX_DIGITS:,} digits"
    )


def _unsupported(symbol: str) -> CalculationError:
    return CalculationError(f"the operator {symbol} is not supported")


def _bounded(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _too_large("this step", value.bit_length())
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
    symbols = {
        ast.MatMult: "@",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.BitXor: "^",
        ast.LShift: "<<",
        ast.RShift: ">>",
    }
    return symbols.get(type(op), type(op).__name__)


def _overflow_text(exc: OverflowError) -> str:
    if "float" in str(exc):  # "int too large to convert to float", "... too large for a float"
        return "the result is too large: a number went past floating point's limit of about 1.8e308"
    return "the result is too large (over about 1.8e308)"


def _math_error(exc: Exception) -> str:
    text = str(exc)
    if "math domain error" in text:
        return "a function got a value outside its domain (e.g. sqrt or log of a negative number)"
    return text or type(exc).__name__
