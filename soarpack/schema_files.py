"""The pack's schema files: read at load, each decoded on first use, and the `$ref`s that
tie them together (found without decoding, for the fast check's registries).

Every file under `schemas/` is known by its path relative to that folder
(`netskope/v1.json`), so a `$ref` written in the manifest or in a schema file is a
plain relative path and resolves offline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urljoin

import msgspec

from soarpack.errors import PackError

Schema = dict[str, Any]

# A `$ref` in a schema file's text (a ref with an escaped quote is not seen: the fast
# check then finds it missing and jsonschema answers instead, which is slower, not wrong).
_REF_IN_TEXT = re.compile(rb'"\$ref"\s*:\s*"([^"\\]*)"')


class SchemaFiles(Mapping[str, Schema]):
    """The pack's schema files by path under `schemas/`, each decoded on first use.

    Every file is read at load (its bytes feed the pack's fingerprint), but a command
    decodes only what it uses: the generated Lacework Edge file alone is 560 KB, and a
    Netskope action never needs it. A file that is not JSON raises PackError when used;
    `decode_all` checks them all at once (a first load of the pack, `soarpack validate`).
    """

    def __init__(self, raw: dict[str, bytes]) -> None:
        self.raw = raw
        self._decoded: dict[str, Schema] = {}
        # A whole file's `#/...` refs resolve within that file: its path is their base.
        self.path_of: dict[int, str] = {}

    def __getitem__(self, rel: str) -> Schema:
        found = self._decoded.get(rel)
        if found is None:
            data = self.raw[rel]
            try:
                decoded = msgspec.json.decode(data)
            except msgspec.DecodeError as exc:
                raise PackError([(f"schemas/{rel}", f"not valid JSON: {exc}")]) from None
            # Two threads may decode a file at once: one copy wins and is kept for good,
            # so the id `path_of` knows it by is never reused by another object.
            found = self._decoded.setdefault(rel, decoded)
            self.path_of[id(found)] = rel
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def decode_all(self) -> None:
        """Decode every file, or PackError naming each one that is not JSON."""
        problems: list[tuple[str, str]] = []
        for rel in self.raw:
            try:
                self[rel]
            except PackError as error:
                problems.extend(error.problems)
        if problems:
            raise PackError(problems)

    def reached(self, schema: Any, base: str) -> frozenset[str]:
        """The files `schema` (written in the document at `base`) reaches through `$ref`s,
        directly or through other files. Files are scanned as text, not decoded."""
        seen: set[str] = set()
        todo = [urljoin(ref_base, ref).partition("#")[0] for ref, ref_base in refs(schema, base)]
        if base in self.raw:
            todo.append(base)
        while todo:
            rel = todo.pop()
            if rel in seen or rel not in self.raw:
                continue
            seen.add(rel)
            for ref in _REF_IN_TEXT.findall(self.raw[rel]):
                todo.append(urljoin(rel, ref.decode("utf-8", "replace")).partition("#")[0])
        return frozenset(seen)


def refs(schema: Any, base: str) -> Iterator[tuple[str, str]]:
    """Every `$ref` written under `schema`, with the base it is relative to (values of
    `const`, `enum`, `examples` and `default` are data, not schemas: not searched)."""
    if isinstance(schema, dict):
        if isinstance(schema.get("$ref"), str):
            yield schema["$ref"], base
        for key, value in schema.items():
            if key not in ("const", "enum", "examples", "default"):
                yield from refs(value, base)
    elif isinstance(schema, list):
        for item in schema:
            yield from refs(item, base)
