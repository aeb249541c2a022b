"""The pack's schemas in the OpenAPI document: each action's and playbook's schema is
copied into `components/schemas`, and every `$ref` into `schemas/` is copied there once
and rewritten as a local reference, so the document stands alone. The copies are
published reshaped for code generators (openapi_shapes.py).
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import urljoin

from soarpack.pack import Pack
from soarpack.server.openapi_bodies import Schema
from soarpack.server.openapi_shapes import publish


class Bundle:
    """Copies schemas into components, turning file references into local ones."""

    def __init__(self, pack: Pack) -> None:
        self.store = pack.schemas
        self.schemas: dict[str, Schema] = {}
        self._names: dict[str, str] = {}  # absolute ref -> component name

    def add(self, name: str, schema: Schema) -> Schema:
        """Register `schema` (relative to schemas/) as a component; returns a $ref to it."""
        key = self._free(_component_name(name))
        self.schemas[key] = self._rewrite(schema, "")
        return {"$ref": f"#/components/schemas/{key}"}

    def published(self) -> dict[str, Schema]:
        """The components as the document holds them: the copies reshaped (accepting
        the same instances) into forms code generators type."""
        return publish(self.schemas)

    def _rewrite(self, value: Any, base: str) -> Any:
        if isinstance(value, list):
            return [self._rewrite(v, base) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: self._rewrite(v, base) for k, v in value.items() if k not in ("$id", "$schema")}
        ref = value.get("$ref")
        if isinstance(ref, str):
            out["$ref"] = self._component_ref(urljoin(base, ref))
        return out

    def _component_ref(self, absolute: str) -> str:
        name = self._names.get(absolute)
        if name is None:
            document, _, pointer = absolute.partition("#")
            name = self._free(
                _component_name(
                    document.removesuffix(".json").replace("/", ".")
                    + "."
                    + ".".join(p for p in pointer.split("/") if p and p != "$defs")
                )
            )
            self._names[absolute] = name
            target = self.store.registry.resolver(base_uri="").lookup(absolute).contents
            # Registered before rewriting its insides, so a schema that refers to
            # itself (directly or through others) ends instead of recursing.
            self.schemas[name] = {}
            self.schemas[name] = self._rewrite(copy.deepcopy(target), document)
        return f"#/components/schemas/{name}"

    def _free(self, name: str) -> str:
        """`name`, or `name_2`, `name_3`...: two sources never share a component."""
        found, n = name, 1
        while found in self.schemas:
            n += 1
            found = f"{name}_{n}"
        return found


def _component_name(text: str) -> str:
    # OpenAPI allows only these characters in component names.
    return re.sub(r"[^A-Za-z0-9._-]", "_", text.strip("."))
