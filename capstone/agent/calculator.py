"""Exact arithmetic for the ``calculate`` tool: Python literals and operators evaluated through ``ast``, never ``eval``.

:func:`find_expression` picks the arithmetic out of a sentence; :func:`wants_arithmetic` says whether a
question asks for a computation (then the agent runs the calculator before the model, like the search).

>>> find_expression("What is 2**10 in Python?")
'2**10'
>>> wants_arithmetic("What is 2**16?"), wants_arithmetic("What changed on 2024-05-01?")
(True, False)
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

__all__ = ["CalcError", "safe_eval", "find_expression", "wants_arithmetic"]


class CalcError(ValueError):
    """The expression is not plain arithmetic, or is too large to compute."""


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Invert: operator.invert, ast.Not: operator.not_}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FUNCS: dict[str, Callable] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "divmod": divmod,
    "pow": pow,
    "int": int,
    "float": float,
    "bool": bool,
    "len": len,
    "sum": sum,
    "sqrt": math.sqrt,
    "gcd": math.gcd,
    "factorial": math.factorial,
    "hex": hex,
    "bin": bin,
    "oct": oct,
}
_MAX_INT_BITS = 4096


def safe_eval(expression: str) -> Any:
    """Evaluate arithmetic on literals with ``ast`` -- no names, attributes or calls beyond a small list.

    >>> safe_eval("2**10 + 7 // 2")
    1027
    >>> safe_eval("__import__('os')")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    capstone.agent.calculator.CalcError: calls are limited to abs, round, min, max, divmod, pow, int, float, bool, len, sum, sqrt, gcd, factorial, hex, bin, oct
    """
    if len(expression) > 300:
        raise CalcError("expression longer than 300 characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise CalcError(f"not a Python expression: {exc.msg}") from None

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, (int, float, complex, str, bool))
            and not (isinstance(node.value, str) and len(node.value) > 100)
        ):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            return (
                type(node.elts)(ev(e) for e in node.elts)
                if isinstance(node, ast.List)
                else tuple(ev(e) for e in node.elts)
            )
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 10_000:
                raise CalcError("exponent too large")
            if isinstance(node.op, ast.LShift) and isinstance(right, int) and right > _MAX_INT_BITS:
                raise CalcError("shift too large")
            if isinstance(node.op, ast.Mult) and isinstance(left, str) | isinstance(right, str):
                raise CalcError("string repetition is not arithmetic")
            result = _BINOPS[type(node.op)](left, right)
            if isinstance(result, int) and result.bit_length() > _MAX_INT_BITS:
                raise CalcError("result too large")
            return result
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.BoolOp):
            values = [ev(v) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            left = ev(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = ev(comp)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id not in _FUNCS:
                raise CalcError("calls are limited to " + ", ".join(_FUNCS))
            args = [ev(a) for a in node.args]
            if node.func.id == "factorial" and args and isinstance(args[0], int) and args[0] > 500:
                raise CalcError("factorial argument too large")
            if node.func.id == "pow" and len(args) >= 2 and isinstance(args[1], (int, float)) and abs(args[1]) > 10_000:
                raise CalcError("exponent too large")
            result = _FUNCS[node.func.id](*args)
            if isinstance(result, int) and result.bit_length() > _MAX_INT_BITS:
                raise CalcError("result too large")
            return result
        if isinstance(node, ast.Call):
            raise CalcError("calls are limited to " + ", ".join(_FUNCS))
        raise CalcError(
            f"{type(node).__name__} is not allowed (only literals, arithmetic, comparisons and a few functions)"
        )

    try:
        return ev(tree)
    except CalcError:
        raise
    except (ArithmeticError, ValueError, TypeError, OverflowError) as exc:
        raise CalcError(f"{type(exc).__name__}: {exc}") from None


_CANDIDATE = re.compile(
    r"(?:\b(?:" + "|".join(_FUNCS) + r"|True|False|e\d+)\b|[\d.()\[\]+\-*/%<>=!&|^~,\s]|0x[0-9a-fA-F]+)+"
)


def find_expression(text: str) -> str | None:
    """The longest piece of ``text`` that evaluates as arithmetic: "What is 2**10?" -> "2**10"."""
    text = text.strip().strip("`")
    runs = {m.group(0).strip(" ?.,\n") for m in _CANDIDATE.finditer(text)} | {text.rstrip("?. ")}
    candidates = sorted(
        {r[i:j].strip() for r in runs for i in range(0, min(len(r), 3)) for j in range(len(r), max(len(r) - 3, 0), -1)},
        key=len,
        reverse=True,
    )
    for candidate in candidates:
        if not re.search(r"\d", candidate):
            continue
        try:
            safe_eval(candidate)
        except CalcError:
            continue
        return candidate
    return None


_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def wants_arithmetic(question: str) -> bool:
    """True when the question holds an arithmetic expression with an operator or a call: "What is 2**16?"."""
    expression = find_expression(_DATE.sub(" ", question))
    return expression is not None and bool(re.search(r"[-+*/%<>=&|^~]|\w\(", expression))
