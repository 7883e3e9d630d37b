"""MQL4 source as tokens: enough of the language for static checks, not a compiler.

Comments are dropped; string and character literals, numbers, identifiers, punctuation and
preprocessor lines each become one token with its line number.

Examples
--------
>>> [t.text for t in tokenize('int x = Foo("a(b", 2); // call')]
['int', 'x', '=', 'Foo', '(', '"a(b"', ',', '2', ')', ';']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_TOKEN = re.compile(
    r"""
    (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<preprocessor>^[ \t]*\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<char>'(?:\\.|[^'\\\n])*')
  | (?P<number>(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>::|\+\+|--|<<=|>>=|[-+*/%&|^=!<>]=|&&|\|\||<<|>>|->
              |[{}()\[\];,.?:~!%^&*+\-=/<>|])
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, char, number, punct, preprocessor, other
    text: str
    line: int


def tokenize(text: str) -> list[Token]:
    tokens = []
    line = 1
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        value = match.group()
        if kind not in ("comment", "space"):
            tokens.append(Token(kind, value.strip() if kind == "preprocessor" else value, line))
        line += value.count("\n")
    return tokens


def string_value(token: Token) -> str:
    """The text of a string literal token, MQL4 escapes resolved."""
    body = token.text[1:-1]
    escapes = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "'": "'", "0": "\0"}
    out, index = [], 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            out.append(escapes.get(body[index + 1], body[index + 1]))
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    tokens: tuple[Token, ...]

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        return cls(path, tuple(tokenize(path.read_text(encoding="utf-8"))))


def load_sources(root: Path) -> list[SourceFile]:
    """Every .mq4 and .mqh file under ``root``, sorted."""
    paths = sorted([*root.rglob("*.mq4"), *root.rglob("*.mqh")])
    return [SourceFile.read(path) for path in paths]
