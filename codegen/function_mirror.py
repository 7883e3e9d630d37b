"""MQL4 functions whose body is one ``return`` expression, callable from Python.

The strategy EA's arithmetic rules (lots, stop levels, break-even and trailing, in
``Strategy.mqh``) are written as one-line functions, so their exact MQL4 text can be
evaluated (`botcopier.codegen.expression`) and held to the Python reference
(``codegen/strategy.py``) on a grid of inputs. Parameters become constants of the call's
environment; the functions may call each other and MQL4's math built-ins.

Examples
--------
>>> source = '''
... double Half(double x) { return x / 2.0; }
... double Clip(double x, double top) { return MathMin(Half(x), top); }
... void Loop(int n) { for(int i = 0; i < n; i++) Print(i); }
... '''
>>> functions = one_line_functions(source)
>>> sorted(functions), functions["Clip"](10.0, 3.0), functions["Clip"](4.0, 3.0)
(['Clip', 'Half'], 3.0, 2.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable

from botcopier.codegen.checks.source import Token, tokenize
from botcopier.codegen.expression import Environment, Node, evaluate, parse

# MQL4's math built-ins the rules use, with MQL4's meaning.
MATH = {
    "MathMin": min,
    "MathMax": max,
    "MathAbs": abs,
    "MathFloor": lambda x: float(math.floor(x)),
    "MathCeil": lambda x: float(math.ceil(x)),
    "MathSqrt": math.sqrt,
    "NormalizeDouble": lambda x, digits: round(x, int(digits)),
}
_TYPES = {"double", "int", "long", "bool", "float", "datetime"}


def _params(tokens: list[Token]) -> list[str]:
    names, current = [], []
    for token in tokens:
        if token.text == ",":
            names.append(current[-1])
            current = []
        elif token.kind == "ident" and token.text not in _TYPES | {"const"}:
            current.append(token.text)
    if current:
        names.append(current[-1])
    return names


def _definitions(tokens: list[Token]) -> dict[str, tuple[list[str], Node]]:
    found = {}
    for i in range(len(tokens) - 3):
        if not (tokens[i].text in _TYPES and tokens[i + 1].kind == "ident"):
            continue
        if tokens[i + 2].text != "(":
            continue
        close = i + 3
        while tokens[close].text != ")":
            close += 1
        body = close + 1
        if body + 1 >= len(tokens) or tokens[body].text != "{" or tokens[body + 1].text != "return":
            continue
        end = body + 2
        while tokens[end].text != ";":
            end += 1
        if tokens[end + 1].text != "}":
            continue  # more than one statement: not a one-line rule
        text = " ".join(t.text for t in tokens[body + 2 : end])
        found[tokens[i + 1].text] = (_params(tokens[i + 3 : close]), parse(text))
    return found


def one_line_functions(source: str) -> dict[str, Callable[..., float]]:
    """Every ``type Name(params) { return expr; }`` in ``source``, as a Python function."""
    functions: dict[str, Callable[..., float]] = dict(MATH)
    mirrored: dict[str, Callable[..., float]] = {}
    for name, (params, tree) in _definitions(tokenize(source)).items():

        def call(*args: float, params=params, tree=tree, name=name) -> float:
            if len(args) != len(params):
                raise TypeError(f"{name} takes {len(params)} arguments, got {len(args)}")
            bound = {p: float(a) for p, a in zip(params, args, strict=True)}
            return evaluate(tree, Environment(functions=functions, constants=bound))

        mirrored[name] = call
    functions.update(mirrored)
    return mirrored
