"""Small arithmetic expressions for search spaces: ``{expr: "round(32 * gamma)"}`` and constraints.

An expression is parsed with :mod:`ast` and evaluated by walking the tree, never with ``eval``:
numbers, names, ``+ - * / // % **``, comparisons (chained), ``and``/``or``/``not``,
``a if condition else b`` and a few functions (``round``, ``int``, ``float``, ``min``, ``max``,
``abs``, ``sqrt``, ``log``, ``ceil``, ``floor``).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from archbuilder.errors import ArchbuilderError

MAX_EXPRESSION_LENGTH = 500
MAX_EXPONENT = 64

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "round": round,
    "int": int,
    "float": float,
    "min": min,
    "max": max,
    "abs": abs,
    "sqrt": math.sqrt,
    "log": math.log,
    "ceil": math.ceil,
    "floor": math.floor,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


class ExpressionError(ArchbuilderError, ValueError):
    """An expression cannot be parsed or evaluated; the message says why."""


class Expression:
    """A parsed expression; ``names`` are the variables it reads."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError(f'expected an expression as text, e.g. "round(32 * gamma)". Received: {text!r}')
        if len(text) > MAX_EXPRESSION_LENGTH:
            raise ExpressionError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as error:
            raise ExpressionError(f"cannot parse expression {text!r}: {error.msg}") from None
        self.text = text.strip()
        self._tree = tree.body
        names: set[str] = set()
        _check(self._tree, names)
        self.names = frozenset(names)

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The value of the expression with ``values`` for its names.

        Raises:
            ExpressionError: a name has no value, or the arithmetic fails (division by zero, ...).
        """
        missing = sorted(self.names - set(values))
        if missing:
            raise ExpressionError(f"expression {self.text!r} uses {', '.join(missing)}, which has no value here")
        try:
            return _evaluate(self._tree, values)
        except ExpressionError:
            raise
        except (ArithmeticError, ValueError, TypeError) as error:
            raise ExpressionError(f"expression {self.text!r} fails: {error}") from None

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def _check(node: ast.AST, names: set[str]) -> None:
    if isinstance(node, ast.Name):
        if node.id not in FUNCTIONS:
            names.add(node.id)
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or isinstance(node.value, (int, float)):
            return
        raise ExpressionError(f"only numbers may appear in an expression. Received: {node.value!r}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            shown = ast.unparse(node.func)
            raise ExpressionError(f"unknown function '{shown}'; expressions may call {', '.join(FUNCTIONS)}")
        for argument in node.args:
            _check(argument, names)
        return
    allowed = (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp)
    if not isinstance(node, allowed):
        raise ExpressionError(
            f"'{ast.unparse(node)}' is not allowed in an expression (numbers, names, arithmetic, "
            "comparisons and the functions " + ", ".join(FUNCTIONS) + ")"
        )
    if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
        raise ExpressionError(f"operator in '{ast.unparse(node)}' is not allowed")
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        raise ExpressionError(f"operator in '{ast.unparse(node)}' is not allowed")
    if isinstance(node, ast.Compare) and any(type(op) not in _COMPARE for op in node.ops):
        raise ExpressionError(f"comparison in '{ast.unparse(node)}' is not allowed")
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.operator, ast.unaryop, ast.cmpop, ast.boolop)):
            continue
        _check(child, names)


def _evaluate(node: ast.AST, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ExpressionError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        return (
            -operand if isinstance(node.op, ast.USub) else (not operand) if isinstance(node.op, ast.Not) else +operand
        )
    if isinstance(node, ast.BoolOp):
        results = (_evaluate(value, values) for value in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, values)
        for op, comparator in zip(node.ops, node.comparators):
            right = _evaluate(comparator, values)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _evaluate(node.body if _evaluate(node.test, values) else node.orelse, values)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return FUNCTIONS[node.func.id](*(_evaluate(argument, values) for argument in node.args))
    raise ExpressionError(f"cannot evaluate '{ast.unparse(node)}'")  # pragma: no cover - _check rejects it


__all__ = ["FUNCTIONS", "Expression", "ExpressionError"]
