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
- ``duplicate-definition``: no function has two bodies with the same parameter types in one
  program (a ``.mq4`` and what it includes); MetaEditor refuses "function already defined
  and has body".
- ``builtin-arity``: built-ins whose argument count MetaEditor checks and a compiler has
  refused here (``ARITIES``) get one it accepts.
"""

from __future__ import annotations

import re
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
# Argument counts MetaEditor accepts. WebRequest: only the 9-argument form (cookie, referer,
# body size); 5.0.0.979, the compiler of MT4 builds 6xx, refuses the later 7-argument form
# with custom headers ("wrong parameters count").
ARITIES = {"WebRequest": frozenset({9}), "OrderSend": frozenset(range(7, 12))}
_INCLUDE = re.compile(r'#include\s*[<"]([^>"]+)[>"]')


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


def _closing(tokens: tuple[Token, ...], index: int) -> int:
    """The index of the bracket closing the one at ``index``."""
    depth = 0
    for position in range(index, len(tokens)):
        if tokens[position].text in "([{":
            depth += 1
        elif tokens[position].text in ")]}":
            depth -= 1
            if depth == 0:
                return position
    return len(tokens) - 1


def _arguments(tokens: tuple[Token, ...], open_index: int) -> list[list[Token]]:
    """The comma-separated items between the parenthesis at ``open_index`` and its match."""
    items: list[list[Token]] = [[]]
    depth = 0
    for token in tokens[open_index + 1 : _closing(tokens, open_index)]:
        if token.text in "([{":
            depth += 1
        elif token.text in ")]}":
            depth -= 1
        if token.text == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(token)
    return [] if items == [[]] else items


def _check_arity(source: SourceFile) -> list[Finding]:
    findings = []
    tokens = source.tokens
    for index, token in enumerate(tokens[:-1]):
        accepted = ARITIES.get(token.text)
        if accepted is None or tokens[index + 1].text != "(" or _is_member_access(tokens, index):
            continue
        count = len(_arguments(tokens, index + 1))
        if count not in accepted:
            counts = ", ".join(map(str, sorted(accepted)))
            findings.append(
                Finding(
                    source.path,
                    token.line,
                    "builtin-arity",
                    f"{token.text}() with {count} arguments; MetaEditor accepts {counts}",
                )
            )
    return findings


def _function_bodies(source: SourceFile) -> list[tuple[str, tuple[str, ...], int]]:
    """(name, parameter types, line) of every function defined with a body at file level."""
    bodies = []
    tokens = source.tokens
    index, depth = 0, 0
    while index < len(tokens):
        token = tokens[index]
        if token.text == "{":
            depth += 1
        elif token.text == "}":
            depth -= 1
        elif (
            depth == 0
            and token.kind == "ident"
            and index + 1 < len(tokens)
            and tokens[index + 1].text == "("
            and index > 0
            and (tokens[index - 1].kind == "ident" or tokens[index - 1].text in ("&", "*"))
            and tokens[index - 1].text not in KEYWORDS
        ):
            close = _closing(tokens, index + 1)
            if close + 1 < len(tokens) and tokens[close + 1].text in ("{", "const"):
                types = []
                for parameter in _arguments(tokens, index + 1):
                    if any(t.text == "=" for t in parameter):
                        parameter = parameter[: [t.text for t in parameter].index("=")]
                    # Everything but the parameter's name: its type, const, & and [].
                    names = [i for i, t in enumerate(parameter) if t.kind == "ident"]
                    kept = [t.text for i, t in enumerate(parameter) if not names or i != names[-1]]
                    types.append(" ".join(kept))
                bodies.append((token.text, tuple(types), token.line))
                index = close
        index += 1
    return bodies


def _program_files(program: SourceFile, by_name: dict[str, SourceFile]) -> list[SourceFile]:
    """``program`` and the sources it includes, directly or not (each once, as MQL4 does)."""
    seen: dict[str, SourceFile] = {}
    pending = [program]
    while pending:
        source = pending.pop()
        if source.path.name in seen:
            continue
        seen[source.path.name] = source
        for token in source.tokens:
            found = _INCLUDE.match(token.text) if token.kind == "preprocessor" else None
            if found:
                name = found.group(1).replace("\\", "/").rsplit("/", 1)[-1]
                if name in by_name:
                    pending.append(by_name[name])
    return list(seen.values())


def _check_duplicates(sources: list[SourceFile]) -> list[Finding]:
    by_name = {source.path.name: source for source in sources}
    findings = []
    for program in sources:
        if program.path.suffix != ".mq4":
            continue
        first: dict[tuple[str, tuple[str, ...]], tuple[SourceFile, int]] = {}
        for source in _program_files(program, by_name):
            for name, types, line in _function_bodies(source):
                other = first.setdefault((name, types), (source, line))
                if other != (source, line):
                    findings.append(
                        Finding(
                            source.path,
                            line,
                            "duplicate-definition",
                            f"{name}() already has a body at {other[0].path.name}:{other[1]} "
                            f"in {program.path.name}",
                        )
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
        findings += _check_arity(source)
    return findings + _check_duplicates(sources)
