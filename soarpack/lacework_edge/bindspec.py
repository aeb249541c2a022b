"""Bind the generated Lacework Edge actions to the vendor's real paths and methods.

The API document the actions are generated from has no paths, so most are assumed
(see tools/lacework_edge/ops.yaml). The vendor's API page offers its OpenAPI file for
download; its operation summaries are the document's headings, which each generated
action keeps as `operation.summary`. Matching the two gives every action its real
method and path. The result goes into the config's `bindings` section, which the
engine reads (Engine.bound_http): the pack itself is never edited.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from soarpack import yamlsafe
from soarpack.errors import ConfigError
from soarpack.http import vendorjson
from soarpack.pack import Pack

CONNECTION = "lacework_edge"
_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class BindReport:
    bindings: dict[str, dict[str, str]] = field(default_factory=dict)
    unbound: dict[str, str] = field(default_factory=dict)  # action -> why
    unmatched: list[str] = field(default_factory=list)  # spec operations no action claims

    def to_dict(self) -> dict[str, Any]:
        return {
            "bound": len(self.bindings),
            "unbound": [{"action": a, "why": w} for a, w in sorted(self.unbound.items())],
            "unmatched_spec_operations": sorted(self.unmatched),
        }


# Vendor OpenAPI files run to a few MB; far past that is not one, and would only cost
# memory and time to parse.
MAX_SPEC_BYTES = 32 * 1024 * 1024


def read_openapi(path: Path) -> dict[str, Any]:
    """The OpenAPI (3.x) or Swagger (2.0) document at `path`, JSON or YAML.

    The file is read up to MAX_SPEC_BYTES. JSON (the usual download) is decoded as JSON:
    it has no aliases and decodes far faster. Anything else is YAML, bounded like every
    file we read (soarpack.yamlsafe: no aliases, MAX_DEPTH levels at most)."""
    try:
        text = yamlsafe.read_capped(path, MAX_SPEC_BYTES)
    except yamlsafe.FileTooLarge:
        raise ConfigError(
            f"{path} is larger than {MAX_SPEC_BYTES // (1024 * 1024)} MiB: it is not an "
            "OpenAPI document this command reads.",
            hint="Pass the vendor's OpenAPI file as downloaded from its API page.",
        ) from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (bad byte at offset {exc.start}).") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        try:
            doc = yamlsafe.load(text, MAX_SPEC_BYTES)
        except yamlsafe.YamlRefused as exc:
            raise ConfigError(
                f"{path} is YAML we do not read: {exc}",
                hint="Write out what the file repeats (no &anchor/*alias), or pass the "
                "vendor's JSON download, which has none.",
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is neither JSON nor YAML: {exc}") from None
    # A lone surrogate in a path could not be written to the config file: U+FFFD it is.
    doc = vendorjson.scrub(doc)
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise ConfigError(f"{path} is not an OpenAPI document: it has no `paths` object.")
    return doc


def bind(pack: Pack, doc: dict[str, Any]) -> BindReport:
    prefix = _base_path(doc)
    by_summary: dict[str, list[tuple[str, str]]] = {}
    for path, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        for method in _METHODS:
            operation = item.get(method)
            if isinstance(operation, dict) and operation.get("summary"):
                key = _normal(str(operation["summary"]))
                by_summary.setdefault(key, []).append((method.upper(), prefix + str(path)))
    report = BindReport()
    claimed: set[str] = set()
    for name, action in sorted(pack.actions.items()):
        if action.connection != CONNECTION or action.operation is None or action.http is None:
            continue
        key = _normal(action.operation.summary)
        found = by_summary.get(key, [])
        if not found:
            report.unbound[name] = f"no operation has the summary {action.operation.summary!r}"
            continue
        claimed.add(key)
        if len(found) > 1:
            report.unbound[name] = f"{len(found)} operations share the summary; bind it by hand"
            continue
        method, path = found[0]
        params = set(re.findall(r"{([^}]+)}", path))
        unknown = sorted(params - action.http.input_names())
        if unknown:
            report.unbound[name] = f"path parameters {unknown} of {path} are not inputs"
            continue
        report.bindings[name] = {"method": method, "path": path}
    report.unmatched = sorted(k for k in by_summary if k not in claimed)
    return report


def write_bindings(config_path: Path, bindings: dict[str, dict[str, str]]) -> None:
    """Replace this connection's entries in the config's `bindings` section, atomically.

    Other sections and other connections' bindings are kept. The file is rewritten by
    a YAML dumper, so comments in it are lost; the previous file is kept as `.bak`.
    """
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            loaded = yamlsafe.load(yamlsafe.read_capped(config_path)) or {}
        except (yaml.YAMLError, yamlsafe.FileTooLarge, UnicodeDecodeError) as exc:
            raise ConfigError(f"Config file {config_path} cannot be read as YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"Config file {config_path} must be a mapping.")
        data = loaded
        config_path.with_name(config_path.name + ".bak").write_bytes(config_path.read_bytes())
    section = data.get("bindings") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"`bindings` in {config_path} must be a mapping.")
    kept = {k: v for k, v in section.items() if not str(k).startswith(CONNECTION + ".")}
    data["bindings"] = {**kept, **dict(sorted(bindings.items()))}
    config_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=config_path.parent, prefix=".soarpack-config-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            yaml.safe_dump(data, out, sort_keys=False, allow_unicode=True)
        os.replace(tmp, config_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _normal(summary: str) -> str:
    return " ".join(summary.split()).rstrip(".").casefold()


def _base_path(doc: dict[str, Any]) -> str:
    """The path prefix the spec's paths are relative to (servers[0] or Swagger basePath)."""
    if isinstance(doc.get("basePath"), str):
        return str(doc["basePath"]).rstrip("/")
    servers = doc.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        return urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")
    return ""
