"""The MQL4 frame builders against the Avro schemas and the canonical frame rules.

``Frames.mqh`` has one ``Build<Kind>Frame`` function per frame type, written in a fixed
form (PROTOCOL.md, "Canonical frames"): ``string f = "{";`` then one ``f += …`` line per
key using only the ``JsonKey*`` helpers of ``Json.mqh``, each value a parameter named after
its key, then ``f += "}"; return f;``. That form lets this module:

- check parity: keys exactly ``type``, ``seq`` and the record's fields in schema order,
  each helper matching the field's Avro type, nullable fields written with ``*OrNull``;
- evaluate a builder for given field values with the helpers' documented semantics, so
  its output can be compared byte for byte with the Python EA client's frames.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botcopier.bridge.frames import canonical_double, canonical_string, frame_fields
from botcopier.bridge.protocol import EVENT_KINDS
from botcopier.codegen.checks.lint import Finding
from botcopier.codegen.checks.source import SourceFile, Token, string_value
from botcopier.schemas.catalogue import SchemaCatalogue

BUILDERS = {
    "trade": "BuildTradeFrame",
    "metric": "BuildMetricFrame",
    "tick": "BuildTickFrame",
    "bar": "BuildBarFrame",
    "decision": "BuildDecisionFrame",
}
HELLO_KEYS = ["type", "protocol", "ea_id", "account", "token", "schema_version", "resume_from"]

# What each helper writes after the key, given its value arguments.
HELPERS: dict[str, Callable[..., str]] = {
    "JsonKeyString": lambda value: canonical_string(value),
    "JsonKeyLong": lambda value: str(int(value)),
    "JsonKeyDouble": lambda value: canonical_double(value),
    "JsonKeyBool": lambda value: "true" if value else "false",
    "JsonKeyLongOrNull": lambda value, is_null: "null" if is_null else str(int(value)),
    "JsonKeyDoubleOrNull": lambda value, is_null: "null" if is_null else canonical_double(value),
    "JsonKeyDoubleMap": lambda names, values: (
        "{"
        + ",".join(f"{canonical_string(n)}:{canonical_double(v)}" for n, v in zip(names, values))
        + "}"
    ),
}
# Avro type families each helper may write.
_FAMILIES = {
    "JsonKeyString": {"string", "enum"},
    "JsonKeyLong": {"int", "long"},
    "JsonKeyDouble": {"double", "float"},
    "JsonKeyBool": {"boolean"},
    "JsonKeyLongOrNull": {"int", "long"},
    "JsonKeyDoubleOrNull": {"double", "float"},
    "JsonKeyDoubleMap": {"map"},
}
_MQL_TYPES = {
    "JsonKeyString": {"string"},
    "JsonKeyLong": {"int", "long", "datetime", "uint", "ulong", "short"},
    "JsonKeyDouble": {"double", "float"},
    "JsonKeyBool": {"bool"},
    "JsonKeyLongOrNull": {"int", "long", "datetime"},
    "JsonKeyDoubleOrNull": {"double", "float"},
    "JsonKeyDoubleMap": {"string"},  # the names; the values are checked as double
}


def camel(key: str) -> str:
    """``event_time_ms`` → ``eventTimeMs``: the parameter name a key's value must come from."""
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass
class KeyWrite:
    """One ``JsonKey*("key", args…)`` call in a builder."""

    key: str
    helper: str
    args: list[Token]
    line: int


@dataclass
class FrameBuilder:
    name: str
    path: Path
    line: int
    params: dict[str, str]  # name → MQL4 type
    statements: list[list[Token]] = field(default_factory=list)

    @property
    def writes(self) -> list[KeyWrite]:
        found = []
        for statement in self.statements:
            for index, token in enumerate(statement[:-2]):
                if token.text in HELPERS and statement[index + 1].text == "(":
                    args = _call_args(statement, index + 1)
                    key = string_value(args[0][0]) if args and args[0] else ""
                    found.append(KeyWrite(key, token.text, [a[0] for a in args[1:]], token.line))
        return found


def _call_args(tokens: list[Token], open_index: int) -> list[list[Token]]:
    args: list[list[Token]] = [[]]
    depth = 0
    for token in tokens[open_index + 1 :]:
        if token.text in "([":
            depth += 1
        elif token.text in ")]":
            if depth == 0:
                break
            depth -= 1
        if token.text == "," and depth == 0:
            args.append([])
        else:
            args[-1].append(token)
    return args if args != [[]] else []


def find_builders(sources: list[SourceFile]) -> dict[str, FrameBuilder]:
    """Every ``string Build…Frame(…) { … }`` definition, by name."""
    builders = {}
    for source in sources:
        tokens = source.tokens
        for index in range(1, len(tokens) - 1):
            token = tokens[index]
            if not (
                token.kind == "ident"
                and re.fullmatch(r"Build\w+Frame", token.text)
                and tokens[index - 1].text == "string"
                and tokens[index + 1].text == "("
            ):
                continue
            close = index + 1
            while tokens[close].text != ")":
                close += 1
            if close + 1 >= len(tokens) or tokens[close + 1].text != "{":
                continue  # a prototype
            params = {}
            for arg in _call_args(list(tokens), index + 1):
                names = [t.text for t in arg if t.kind == "ident" and t.text != "const"]
                if len(names) >= 2:
                    params[names[-1]] = names[-2]
            builder = FrameBuilder(token.text, source.path, token.line, params)
            depth, statement = 0, []
            for body_token in tokens[close + 1 :]:
                if body_token.text == "{":
                    depth += 1
                    if depth == 1:
                        continue
                elif body_token.text == "}":
                    depth -= 1
                    if depth == 0:
                        break
                if body_token.text == ";" and depth == 1:
                    builder.statements.append(statement)
                    statement = []
                else:
                    statement.append(body_token)
            builders[token.text] = builder
    return builders


def _family(avro_type: Any) -> tuple[str, bool]:
    """(type family, nullable) of a field type."""
    if isinstance(avro_type, list):
        inner = [t for t in avro_type if t != "null"]
        return _family(inner[0])[0], "null" in avro_type
    if isinstance(avro_type, dict):
        return avro_type["type"], False
    return avro_type, False


def _check_builder(builder: FrameBuilder, frame_type: str) -> list[Finding]:
    def finding(line: int, message: str) -> Finding:
        return Finding(builder.path, line, "frame-parity", f"{builder.name}: {message}")

    schema = SchemaCatalogue.default().current(EVENT_KINDS[frame_type].schema_name)
    types = {f["name"]: f["type"] for f in schema.definition["fields"]}
    writes = builder.writes
    keys = [w.key for w in writes]
    expected = ["type", "seq", *frame_fields(frame_type)]
    findings = []
    if keys != expected:
        unknown = [k for k in keys if k not in expected]
        missing = [k for k in expected if k not in keys]
        detail = f"unknown {unknown}, missing {missing}" if unknown or missing else "order differs"
        findings.append(finding(builder.line, f"keys are not {schema.name}'s ({detail})"))
    for write in writes:
        if write.key == "type":
            literal = write.args[0] if write.args else None
            if literal is None or literal.kind != "string" or string_value(literal) != frame_type:
                findings.append(finding(write.line, f'"type" must be the literal "{frame_type}"'))
            continue
        findings += _check_write(builder, write, types, finding)
    return findings


def _check_write(builder, write: KeyWrite, types, finding) -> list[Finding]:
    findings = []
    if write.key == "seq":
        family, nullable = "long", False
    elif write.key in types:
        family, nullable = _family(types[write.key])
    else:
        return findings  # already reported as an unknown key
    if family not in _FAMILIES[write.helper]:
        findings.append(finding(write.line, f"{write.key} is Avro {family}, not {write.helper}"))
    if nullable != write.helper.endswith("OrNull"):
        kind = "nullable: use an *OrNull helper" if nullable else "not nullable"
        findings.append(finding(write.line, f"{write.key} is {kind}"))
    wanted = [camel(write.key)] + ([camel(write.key) + "IsNull"] if nullable else [])
    if write.helper == "JsonKeyDoubleMap":
        wanted = [camel(write.key) + "Names", camel(write.key) + "Values"]
        if builder.params.get(wanted[1]) != "double":
            findings.append(finding(write.line, f"{wanted[1]} must be a double array"))
    given = [t.text for t in write.args]
    if given != wanted:
        findings.append(
            finding(write.line, f"{write.key} must be written from {wanted}, not {given}")
        )
    param_type = builder.params.get(wanted[0])
    if param_type is None:
        findings.append(finding(write.line, f"{wanted[0]} is not a parameter"))
    elif param_type not in _MQL_TYPES[write.helper]:
        findings.append(finding(write.line, f"{wanted[0]} is {param_type}, not for {write.helper}"))
    return findings


# What Json.mqh's helpers must contain to implement the canonical rules the evaluator
# assumes: eight-decimal doubles and the five short escapes plus \u00xx.
_HELPER_MARKERS = {
    "JsonDouble": [["DoubleToString", "(", "v", ",", "8", ")"]],
    "JsonEscape": [
        [r'"\\\""'],
        [r'"\\\\"'],
        [r'"\\n"'],
        [r'"\\r"'],
        [r'"\\t"'],
        [r'"\\u%04x"'],
    ],
}


def _function_body(sources: list[SourceFile], name: str) -> tuple[SourceFile, list[Token]] | None:
    for source in sources:
        tokens = source.tokens
        for index in range(1, len(tokens) - 1):
            if (
                tokens[index].text == name
                and tokens[index + 1].text == "("
                and (tokens[index - 1].kind == "ident")
            ):
                start = index
                while start < len(tokens) and tokens[start].text not in ("{", ";"):
                    start += 1
                if start == len(tokens) or tokens[start].text == ";":
                    continue
                depth, body = 0, []
                for token in tokens[start:]:
                    depth += {"{": 1, "}": -1}.get(token.text, 0)
                    body.append(token)
                    if depth == 0:
                        return source, body
    return None


def _contains(tokens: list[Token], sequence: list[str]) -> bool:
    texts = [t.text for t in tokens]
    return any(texts[i : i + len(sequence)] == sequence for i in range(len(texts)))


def check_json_helpers(sources: list[SourceFile]) -> list[Finding]:
    findings = []
    for name, sequences in _HELPER_MARKERS.items():
        found = _function_body(sources, name)
        if found is None:
            findings.append(Finding(Path("mql4"), 0, "frame-parity", f"{name} is missing"))
            continue
        source, body = found
        for sequence in sequences:
            if not _contains(body, sequence):
                findings.append(
                    Finding(
                        source.path,
                        body[0].line,
                        "frame-parity",
                        f"{name} no longer contains {' '.join(sequence)}: canonical rule broken",
                    )
                )
    return findings


def check_frames(sources: list[SourceFile]) -> list[Finding]:
    """Parity of every frame builder with its schema, and of the hello builder with PROTOCOL."""
    builders = find_builders(sources)
    findings = check_json_helpers(sources)
    for frame_type, name in BUILDERS.items():
        if name not in builders:
            findings.append(Finding(Path("mql4"), 0, "frame-parity", f"{name} is missing"))
            continue
        findings += _check_builder(builders[name], frame_type)
    hello = builders.get("BuildHelloFrame")
    if hello is None:
        findings.append(Finding(Path("mql4"), 0, "frame-parity", "BuildHelloFrame is missing"))
    elif [w.key for w in hello.writes] != HELLO_KEYS:
        findings.append(
            Finding(hello.path, hello.line, "frame-parity", f"hello keys must be {HELLO_KEYS}")
        )
    return findings


def evaluate_builder(builder: FrameBuilder, seq: int, record: Mapping[str, Any]) -> str:
    """The string the builder returns for these values (the line, without its newline)."""
    values: dict[str, Any] = {"seq": seq}
    for key, value in record.items():
        values[camel(key)] = value
        values[camel(key) + "IsNull"] = value is None
        if isinstance(value, Mapping):  # a map is written from parallel name and value arrays
            values[camel(key) + "Names"] = list(value)
            values[camel(key) + "Values"] = list(value.values())
    result: str | None = None
    for statement in builder.statements:
        texts = [t.text for t in statement]
        if texts[:1] == ["return"]:
            return result or ""
        target = texts.index("=") if "=" in texts else texts.index("+=")
        value = _evaluate(statement[target + 1 :], values)
        result = value if texts[target] == "=" else (result or "") + value
    raise ValueError(f"{builder.name} has no return statement")


def _evaluate(tokens: list[Token], values: Mapping[str, Any]) -> str:
    out, index = [], 0
    while index < len(tokens):
        token = tokens[index]
        if token.text == "+":
            index += 1
        elif token.kind == "string":
            out.append(string_value(token))
            index += 1
        elif token.text in HELPERS:
            args = _call_args(tokens, index + 1)
            key = string_value(args[0][0])
            arg_values = [_argument(a[0], values) for a in args[1:]]
            out.append(f'"{key}":' + HELPERS[token.text](*arg_values))
            index += 1 + _span(tokens, index + 1)
        else:
            raise ValueError(
                f"line {token.line}: cannot evaluate {token.text!r} in a frame builder"
            )
    return "".join(out)


def _argument(token: Token, values: Mapping[str, Any]) -> Any:
    if token.kind == "string":
        return string_value(token)
    if token.kind == "number":
        return float(token.text) if "." in token.text else int(token.text, 0)
    if token.text not in values:
        raise ValueError(f"line {token.line}: no value for {token.text}")
    return values[token.text]


def _span(tokens: list[Token], open_index: int) -> int:
    depth = 0
    for offset, token in enumerate(tokens[open_index:]):
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
            if depth == 0:
                return offset + 1
    raise ValueError("unclosed call")
