"""Labelling rules: ``CONDITION -> LABEL`` over a decision's features, read safely.

A rule such as ``rsi_14 < 30 and position == 0 -> buy`` labels every decision whose
condition holds. The condition is parsed with `ast` and checked against a small grammar, then
evaluated by walking the tree here: it is never handed to ``eval`` or ``exec``, so a rule
can read values and do arithmetic but cannot call, import or reach anything else.

Grammar of a condition:

- names: the decision's feature columns, and ``probability``, ``threshold`` (numbers),
  ``action``, ``symbol`` (text, e.g. ``action == 'buy'``);
- numbers, quoted text, ``True``/``False``;
- ``+ - * / %``, unary ``-``, comparisons ``< <= > >= == !=`` (chains such as
  ``20 < rsi_14 < 30`` too), ``and``, ``or``, ``not``, parentheses;
- the functions ``abs``, ``min``, ``max``.

The label is one of ``none``, ``buy``, ``sell``, ``close``. Several rules are tried in order;
the first whose condition holds gives the label.

Examples
--------
>>> rule = parse_rule("rsi_14 < 30 and position == 0 -> buy", names={"rsi_14", "position"})
>>> rule.label, rule.matches({"rsi_14": 25.0, "position": 0.0})
('buy', True)
>>> rule.matches({"rsi_14": 25.0, "position": 1.0})
False
>>> parse_rule("__import__('os') -> buy", names=set())
Traceback (most recent call last):
...
botcopier.trainers.decision_log.LabelError: rule "__import__('os') -> buy": calls only abs, min, max
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from botcopier.trainers.decision_log import LabelError
from botcopier.trainers.labels import LABELS

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max}

Values = Mapping[str, Any]
_Node = Callable[[Values], Any]


@dataclass(frozen=True)
class Rule:
    text: str
    label: str
    _condition: _Node

    def matches(self, values: Values) -> bool:
        """Whether the condition holds for ``values``; `ValueError` when it cannot be computed
        (a division by zero, text compared with a number)."""
        try:
            return bool(self._condition(values))
        except (ZeroDivisionError, TypeError) as exc:
            raise ValueError(f"rule {self.text!r}: {exc}") from None


def parse_rule(text: str, names: Collection[str]) -> Rule:
    """The rule ``CONDITION -> LABEL`` whose condition may use ``names``."""
    if "->" not in text:
        raise LabelError(f"rule {text!r}: expected CONDITION -> LABEL")
    condition, label = (part.strip() for part in text.rsplit("->", 1))
    label = label.lower()
    if label not in LABELS:
        raise LabelError(f"rule {text!r}: label {label!r} is not one of {', '.join(LABELS)}")
    try:
        tree = ast.parse(condition, mode="eval")
    except SyntaxError as exc:
        raise LabelError(f"rule {text!r}: not a condition ({exc.msg})") from None
    try:
        node = _compile(tree.body, frozenset(names))
    except _Refused as exc:
        raise LabelError(f"rule {text!r}: {exc}") from None
    return Rule(text, label, node)


def first_label(rules: list[Rule], values: Values) -> str | None:
    """The label of the first rule that holds, None when none does."""
    return next((rule.label for rule in rules if rule.matches(values)), None)


class _Refused(Exception):
    pass


def _compile(node: ast.AST, names: frozenset[str]) -> _Node:
    """A function of the values computing ``node``; `_Refused` for anything off-grammar."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, str, bool):
        value = node.value
        return lambda values: value
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise _Refused(f"unknown name {node.id!r} (known: {', '.join(sorted(names))})")
        name = node.id
        return lambda values: values[name]
    if isinstance(node, ast.BoolOp):
        parts = [_compile(value, names) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda values: all(part(values) for part in parts)
        return lambda values: any(part(values) for part in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
        operand = _compile(node.operand, names)
        if isinstance(node.op, ast.Not):
            return lambda values: not operand(values)
        sign = -1 if isinstance(node.op, ast.USub) else 1

        def signed(values: Values) -> Any:
            value = operand(values)
            if not isinstance(value, int | float):
                raise TypeError(f"sign of text ({value!r})")
            return sign * value

        return signed
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        apply = _BINARY[type(node.op)]
        left, right = _compile(node.left, names), _compile(node.right, names)

        def arithmetic(values: Values) -> Any:
            a, b = left(values), right(values)
            # Numbers only: 'x' * 10**9 would be a valid Python string of a gigabyte.
            if not (isinstance(a, int | float) and isinstance(b, int | float)):
                raise TypeError(f"arithmetic on text ({a!r}, {b!r})")
            return apply(a, b)

        return arithmetic
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        terms = [_compile(term, names) for term in (node.left, *node.comparators)]
        tests = [_COMPARE[type(op)] for op in node.ops]

        def compare(values: Values) -> bool:
            computed = [term(values) for term in terms]
            return all(
                test(a, b) for test, a, b in zip(tests, computed, computed[1:], strict=False)
            )

        return compare
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
            raise _Refused(f"calls only {', '.join(_FUNCTIONS)}")
        if node.keywords or not node.args:
            raise _Refused(f"{node.func.id}() takes plain arguments")
        function = _FUNCTIONS[node.func.id]
        arguments = [_compile(argument, names) for argument in node.args]
        return lambda values: function(*(argument(values) for argument in arguments))
    raise _Refused(f"{type(node).__name__} is not allowed in a condition")
