"""MQL4 expressions, parsed and evaluated in Python: the mirror of a rendered formula.

The generated EA computes each feature with the MQL4 expression declared beside its Python
computation. To check the text the EA will compile (not a Python paraphrase of it), the
expression is parsed here as MQL4 parses it and evaluated against an environment that
implements MT4's built-ins (`botcopier.codegen.chart_mirror`).

The subset is what feature expressions and the EA's one-line rules use: numbers, names,
calls, indexing (``Close[1]``), casts (``(double)x``), unary ``-``/``+``/``!``, ``* / %``,
``+ -``, comparisons, ``&& ||`` and ``?:`` with C precedence. Anything else is refused with
the offending token.

Examples
--------
>>> parse("-Close[1]/2")                      # unary minus binds tighter, as in C
('/', ('unary', '-', ('index', 'Close', ('num', 1.0))), ('num', 2.0))
>>> tree = parse("(double)Max(1, 2)*3.0-Close[1]/2")
>>> env = Environment(functions={"Max": max}, series={"Close": lambda shift: 10.0 * shift})
>>> evaluate(tree, env)
1.0
>>> evaluate(parse("Close[1] > 15 ? 1 : Close[2] > 15 ? 2 : 3"), env)
2.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botcopier.codegen.checks.source import Token, tokenize
from botcopier.exceptions import BotCopierError

Node = tuple[Any, ...]
_CASTS = {"double", "int", "long", "float", "bool"}
# Binary operators by precedence, loosest first (C's order for the ones MQL4 shares).
_LEVELS = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"))


class ExpressionError(BotCopierError):
    """An MQL4 expression outside the subset, or a name the environment does not define."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[Token] = tokenize(text)
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index].text if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> Token:
        if self.index >= len(self.tokens):
            raise ExpressionError(f"{self.text!r}: ends early")
        token = self.tokens[self.index]
        if expected is not None and token.text != expected:
            raise ExpressionError(f"{self.text!r}: expected {expected!r}, found {token.text!r}")
        self.index += 1
        return token

    def conditional(self) -> Node:
        test = self.binary()
        if self.peek() != "?":
            return test
        self.take("?")
        then = self.conditional()
        self.take(":")
        return ("?:", test, then, self.conditional())

    def binary(self, level: int = 0) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in _LEVELS[level]:
            operator = self.take().text
            left = (operator, left, self.binary(level + 1))
        return left

    def unary(self) -> Node:
        if self.peek() in ("-", "+", "!"):
            return ("unary", self.take().text, self.unary())
        is_cast = self.peek() == "(" and self.index + 2 < len(self.tokens)
        if is_cast and self.tokens[self.index + 1].text in _CASTS:
            if self.tokens[self.index + 2].text == ")":
                self.take("(")
                kind = self.take().text
                self.take(")")
                return ("cast", kind, self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return ("num", float(token.text))
        if token.text == "(":
            inner = self.conditional()
            self.take(")")
            return inner
        if token.kind != "ident":
            raise ExpressionError(f"{self.text!r}: unexpected {token.text!r}")
        if self.peek() == "(":
            self.take("(")
            args: list[Node] = []
            while self.peek() != ")":
                args.append(self.conditional())
                if self.peek() == ",":
                    self.take(",")
            self.take(")")
            return ("call", token.text, args)
        if self.peek() == "[":
            self.take("[")
            shift = self.conditional()
            self.take("]")
            return ("index", token.text, shift)
        return ("name", token.text)


def parse(text: str) -> Node:
    parser = _Parser(text)
    tree = parser.conditional()
    if parser.peek() is not None:
        raise ExpressionError(f"{text!r}: unexpected {parser.peek()!r} after the expression")
    return tree


@dataclass(frozen=True)
class Environment:
    """What names mean: functions (called with evaluated arguments), constants, series."""

    functions: Mapping[str, Callable[..., float]] = field(default_factory=dict)
    constants: Mapping[str, float] = field(default_factory=dict)
    series: Mapping[str, Callable[[int], float]] = field(default_factory=dict)


_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: float(int(a) % int(b)),
    "<": lambda a, b: float(a < b),
    "<=": lambda a, b: float(a <= b),
    ">": lambda a, b: float(a > b),
    ">=": lambda a, b: float(a >= b),
    "==": lambda a, b: float(a == b),
    "!=": lambda a, b: float(a != b),
    "&&": lambda a, b: float(bool(a) and bool(b)),
    "||": lambda a, b: float(bool(a) or bool(b)),
}


def _lookup(table: Mapping[str, Any], name: str, what: str) -> Any:
    if name not in table:
        raise ExpressionError(f"no mirror of the MQL4 {what} {name!r}")
    return table[name]


def evaluate(tree: Node, env: Environment) -> float:
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "name":
        return float(_lookup(env.constants, tree[1], "name"))
    if kind == "index":
        return float(_lookup(env.series, tree[1], "series")(int(evaluate(tree[2], env))))
    if kind == "call":
        function = _lookup(env.functions, tree[1], "function")
        return function(*(evaluate(arg, env) for arg in tree[2]))
    if kind == "cast":
        value = evaluate(tree[2], env)
        return float(int(value)) if tree[1] in ("int", "long") else float(value)
    if kind == "?:":  # only the branch taken is evaluated, as in C
        return evaluate(tree[2] if evaluate(tree[1], env) else tree[3], env)
    if kind == "unary":
        value = evaluate(tree[2], env)
        return -value if tree[1] == "-" else float(not value) if tree[1] == "!" else value
    left, right = evaluate(tree[1], env), evaluate(tree[2], env)
    if kind == "/" and right == 0:
        raise ExpressionError("division by zero (MQL4 stops the EA there)")
    return _BINARY[kind](left, right)
