"""An MQL4 lint for what a compiler would reject and what only MQL5 has.

Rules:

- ``balance``: (), [] and {} pair up in every file.
- ``mql5-only``: no MQL5-only API (MT4 has no ``OnTradeTransaction``, positions or deals).
- ``undefined-call``: every function called is defined or declared in the sources (including
  ``#import`` blocks and macros) or is an MQL4 built-in (``mql4_builtins.txt``, from the
  MQL4 reference).
- ``undeclared``: every capitalised identifier (inputs, globals, types, predefined
  variables such as ``Digits``) is declared in the sources or is a built-in; ALL_CAPS
  constants and lower-case locals are left to the compiler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from botcopier.codegen.checks.source import SourceFile, Token

MQL5_ONLY = frozenset(
    {
        "OnTradeTransaction",
        "OnTrade",
        "OnBookEvent",
        "HistoryDealSelect",
        "HistoryDealGetDouble",
        "HistoryDealGetInteger",
        "HistoryDealGetString",
        "HistoryDealGetTicket",
        "HistoryDealsTotal",
        "HistoryOrderSelect",
        "HistoryOrderGetInteger",
        "HistorySelect",
        "PositionSelect",
        "PositionSelectByTicket",
        "PositionGetDouble",
        "PositionGetInteger",
        "PositionGetString",
        "PositionGetTicket",
        "PositionsTotal",
        "OrderSendAsync",
        "OrderCheck",
        "OrderGetDouble",
        "OrderGetInteger",
        "OrderGetTicket",
        "CTrade",
        "CPositionInfo",
        "COrderInfo",
        "CDealInfo",
        "MqlTradeRequest",
        "MqlTradeResult",
        "MqlTradeCheckResult",
        "MqlTradeTransaction",
        "CopyTicks",
        "CopyTicksRange",
        "iBarShift64",
    }
)
TYPES = frozenset(
    {
        "void",
        "bool",
        "char",
        "uchar",
        "short",
        "ushort",
        "int",
        "uint",
        "long",
        "ulong",
        "float",
        "double",
        "string",
        "datetime",
        "color",
        "const",
        "static",
        "input",
        "extern",
        "unsigned",
        "sinput",
    }
)
KEYWORDS = frozenset(
    {
        "if",
        "else",
        "for",
        "while",
        "do",
        "switch",
        "case",
        "default",
        "break",
        "continue",
        "return",
        "sizeof",
        "new",
        "delete",
        "operator",
        "this",
        "true",
        "false",
        "NULL",
        "struct",
        "class",
        "enum",
        "public",
        "private",
        "protected",
        "virtual",
        "template",
        "typename",
        "EMPTY_VALUE",
        "WHOLE_ARRAY",
    }
)
_PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


@cache
def builtins() -> frozenset[str]:
    """MQL4 built-in functions, predefined variables and types, one name per line."""
    text = resources.files("botcopier.codegen.checks").joinpath("mql4_builtins.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _check_balance(source: SourceFile) -> list[Finding]:
    stack: list[Token] = []
    for token in source.tokens:
        if token.kind != "punct":
            continue
        if token.text in "([{":
            stack.append(token)
        elif token.text in _PAIRS:
            if not stack or stack[-1].text != _PAIRS[token.text]:
                return [Finding(source.path, token.line, "balance", f"unmatched '{token.text}'")]
            stack.pop()
    return [Finding(source.path, t.line, "balance", f"'{t.text}' never closed") for t in stack]


def _check_mql5_only(source: SourceFile) -> list[Finding]:
    return [
        Finding(source.path, t.line, "mql5-only", f"{t.text} is MQL5 only; MT4 has no such API")
        for t in source.tokens
        if t.kind == "ident" and t.text in MQL5_ONLY
    ]


def _is_member_access(tokens: tuple[Token, ...], index: int) -> bool:
    return index > 0 and tokens[index - 1].text in (".", "::", "->")


def _defined_names(sources: Iterable[SourceFile]) -> tuple[set[str], set[str]]:
    """(functions, declared identifiers) found anywhere in the sources."""
    functions: set[str] = set()
    declared: set[str] = set()
    for source in sources:
        _scan_definitions(source.tokens, functions, declared)
    return functions, declared


def _scan_definitions(tokens: tuple[Token, ...], functions: set[str], declared: set[str]) -> None:
    statement_first: Token | None = None  # first token of the current statement
    depth = 0  # parentheses within the statement
    enum_depth = -1  # brace depth of the enum body being read, -1 outside enums
    braces = 0
    for index, token in enumerate(tokens):
        if token.kind == "preprocessor":
            parts = token.text.split()
            if parts[0] == "#define" and len(parts) > 1:
                name = parts[1].split("(")[0]
                declared.add(name)
                functions.add(name)
            continue
        text = token.text
        if text in (";", "{", "}"):
            if text == "{":
                braces += 1
                if (
                    index
                    and tokens[index - 1].kind == "ident"
                    and index > 1
                    and (tokens[index - 2].text == "enum")
                ):
                    enum_depth = braces
            elif text == "}":
                if braces == enum_depth:
                    enum_depth = -1
                braces -= 1
            statement_first, depth = None, 0
            continue
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        if statement_first is None:
            statement_first = token
        if token.kind != "ident":
            continue
        previous = tokens[index - 1] if index else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if previous is not None and previous.text in ("struct", "class", "enum"):
            declared.add(text)
            continue
        after_type = previous is not None and (
            (previous.kind == "ident" and previous.text not in KEYWORDS)
            or previous.text in ("&", "*")
        )
        if after_type and following is not None and following.text == "(":
            functions.add(text)
        in_enum = enum_depth == braces and previous is not None and previous.text in ("{", ",")
        more_declarators = (
            previous is not None
            and previous.text == ","
            and depth == 0
            and statement_first is not None
            and (statement_first.text in TYPES or statement_first.text in declared)
        )
        if after_type or in_enum or more_declarators:
            declared.add(text)


def _check_calls(source: SourceFile, known: set[str] | frozenset[str]) -> list[Finding]:
    findings = []
    tokens = source.tokens
    for index, token in enumerate(tokens[:-1]):
        if token.kind != "ident" or tokens[index + 1].text != "(":
            continue
        if token.text in KEYWORDS or token.text in TYPES or _is_member_access(tokens, index):
            continue
        previous = tokens[index - 1] if index else None
        is_definition = previous is not None and (
            (previous.kind == "ident" and previous.text not in KEYWORDS)
            or previous.text in ("&", "*", "~")
        )
        if not is_definition and token.text not in known:
            findings.append(
                Finding(source.path, token.line, "undefined-call", f"{token.text}() is not defined")
            )
    return findings


def _check_declared(source: SourceFile, known: set[str] | frozenset[str]) -> list[Finding]:
    findings, seen = [], set()
    tokens = source.tokens
    for index, token in enumerate(tokens):
        name = token.text
        if (
            token.kind != "ident"
            or not name[0].isupper()
            or name.isupper()
            or name in known
            or name in KEYWORDS
            or _is_member_access(tokens, index)
            or name in seen
        ):
            continue
        seen.add(name)
        findings.append(
            Finding(source.path, token.line, "undeclared", f"{name} is used but never declared")
        )
    return findings


def lint_sources(sources: list[SourceFile]) -> list[Finding]:
    """Every finding across ``sources`` (checked together: includes see each other)."""
    functions, declared = _defined_names(sources)
    known_calls = functions | builtins()
    known_names = declared | functions | builtins()
    findings: list[Finding] = []
    for source in sources:
        findings += _check_balance(source)
        findings += _check_mql5_only(source)
        findings += _check_calls(source, known_calls)
        findings += _check_declared(source, known_names)
    return findings
