"""The catalogue of Avro schemas in this folder, indexed by name and by fingerprint.

Current schemas are the ``*.avsc`` files beside this module; older versions that producers
may still have written live in ``history/`` as ``<Name>.v<N>.avsc``. Every schema, current or
historic, is indexed by its CRC-64-AVRO fingerprint, so a consumer can decode anything a
known version wrote and resolve it to the current version.

Examples
--------
>>> catalogue = SchemaCatalogue.default()
>>> catalogue.current("TradeEvent").version
1
>>> len(catalogue.current("TradeEvent").fingerprint)
8
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from botcopier.schemas.encoder import compile_encoder
from botcopier.schemas.exceptions import SchemaLoadError, UnknownSchemaError

NAMESPACE = "io.botcopier"
# Custom top-level attribute carrying the schema's version; Avro ignores unknown attributes.
VERSION_ATTRIBUTE = "botcopier_version"


def crc64_avro_fingerprint(schema: dict[str, Any]) -> bytes:
    """The 8-byte little-endian CRC-64-AVRO fingerprint of a schema's parsing canonical form.

    >>> crc64_avro_fingerprint("null").hex()
    '8a8f25cce724dd63'
    """
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


@dataclass(frozen=True)
class AvroSchema:
    """One version of one record schema."""

    name: str  # short name, e.g. "TradeEvent"
    version: int
    definition: dict[str, Any] = field(repr=False)
    parsed: dict[str, Any] = field(repr=False)
    fingerprint: bytes
    path: Path | None = None

    @cached_property
    def field_names(self) -> frozenset[str]:
        return frozenset(f["name"] for f in self.definition["fields"])

    @cached_property
    def encode(self) -> Callable[[Mapping[str, Any]], bytearray]:
        """The Avro body of a record; ValueError names the first field that does not fit."""
        return compile_encoder(self.parsed)

    @property
    def full_name(self) -> str:
        return f"{self.definition.get('namespace', NAMESPACE)}.{self.name}"

    @classmethod
    def from_definition(cls, definition: dict[str, Any], path: Path | None = None) -> AvroSchema:
        origin = f" in {path}" if path else ""
        if definition.get("type") != "record" or "name" not in definition:
            raise SchemaLoadError(f"expected a named Avro record schema{origin}")
        version = definition.get(VERSION_ATTRIBUTE)
        if not isinstance(version, int) or version < 1:
            raise SchemaLoadError(
                f"schema {definition['name']}{origin} needs an integer '{VERSION_ATTRIBUTE}' >= 1"
            )
        try:
            # Each version is parsed on its own so two versions may reuse the same names.
            parsed = fastavro.parse_schema(definition, named_schemas={})
        except Exception as exc:  # fastavro raises several unrelated types
            raise SchemaLoadError(f"invalid Avro schema{origin}: {exc}") from exc
        return cls(
            name=definition["name"].rsplit(".", 1)[-1],
            version=version,
            definition=definition,
            parsed=parsed,
            fingerprint=crc64_avro_fingerprint(definition),
            path=path,
        )

    @classmethod
    def from_file(cls, path: Path) -> AvroSchema:
        try:
            definition = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SchemaLoadError(f"cannot read schema file {path}: {exc}") from exc
        return cls.from_definition(definition, path)


class SchemaCatalogue:
    """Current schema per name plus every known version by fingerprint."""

    def __init__(self, current: list[AvroSchema], history: list[AvroSchema] = ()) -> None:
        self._current: dict[str, AvroSchema] = {}
        self._by_fingerprint: dict[bytes, AvroSchema] = {}
        for schema in current:
            if schema.name in self._current:
                raise SchemaLoadError(f"two current schemas named {schema.name}")
            self._current[schema.name] = schema
        for schema in [*current, *history]:
            self._by_fingerprint.setdefault(schema.fingerprint, schema)
        for schema in history:
            now = self._current.get(schema.name)
            if now is None:
                raise SchemaLoadError(f"history schema {schema.path} has no current version")
            if schema.version >= now.version and schema.fingerprint != now.fingerprint:
                raise SchemaLoadError(
                    f"history schema {schema.path} has version {schema.version}, "
                    f"not older than current {now.version}"
                )

    @classmethod
    def from_directory(cls, directory: Path) -> SchemaCatalogue:
        current = [AvroSchema.from_file(p) for p in sorted(directory.glob("*.avsc"))]
        history_dir = directory / "history"
        history = [AvroSchema.from_file(p) for p in sorted(history_dir.glob("*.avsc"))]
        if not current:
            raise SchemaLoadError(f"no .avsc files in {directory}")
        return cls(current, history)

    @classmethod
    def default(cls) -> SchemaCatalogue:
        """The schemas shipped in this package (cached: they never change at run time)."""
        return _default_catalogue()

    def names(self) -> list[str]:
        return sorted(self._current)

    def current(self, name: str) -> AvroSchema:
        try:
            return self._current[name]
        except KeyError:
            known = ", ".join(self.names())
            raise UnknownSchemaError(f"no schema named {name!r}; known: {known}") from None

    def version(self, name: str, version: int) -> AvroSchema:
        for schema in self._by_fingerprint.values():
            if schema.name == name and schema.version == version:
                return schema
        raise UnknownSchemaError(f"no version {version} of schema {name!r} in the catalogue")

    def by_fingerprint(self, fp: bytes) -> AvroSchema | None:
        return self._by_fingerprint.get(fp)

    def versions(self) -> list[AvroSchema]:
        return sorted(self._by_fingerprint.values(), key=lambda s: (s.name, s.version))


def schema_directory() -> Path:
    return Path(str(resources.files("botcopier.schemas")))


@cache
def _default_catalogue() -> SchemaCatalogue:
    return SchemaCatalogue.from_directory(schema_directory())
