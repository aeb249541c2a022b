"""Finding and loading a pack: manifest, schemas and action handlers.

A pack is a folder with `manifest.yaml`, `schemas/`, `actions/` and `playbooks/`.
Which one is used, first match wins:

1. `--pack DIR` on the command line, or the `pack_dir` argument in Python;
2. the `SOARPACK_PACK` environment variable;
3. the source checkout this engine runs from (the folder above `soarpack/`);
4. the copy shipped inside the installed wheel (`soarpack/_pack`).

Nothing is loaded at import time; handlers are imported on first use, from the
pack folder by path, under the `soarpack._pack_actions` namespace.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import msgspec

from soarpack import manifest_cache
from soarpack.errors import ConfigError, PackError
from soarpack.jsondata import pointer
from soarpack.manifest import ActionSpec, ConnectionSpec, Manifest
from soarpack.schemas import SchemaStore

PACK_ENV = "SOARPACK_PACK"
MANIFEST_FILE = "manifest.yaml"
MANIFEST_SCHEMA = "manifest.schema.json"
# The manifest grows with the pack (generated actions live in schemas/): a roomier cap.
MANIFEST_MAX_BYTES = 16 * 1024 * 1024
_ENGINE_DIR = Path(__file__).resolve().parent
# Handler modules are registered in sys.modules before they finish executing, so a
# second thread could pick up a half-imported module (for_each items start together).
_IMPORT_LOCK = threading.RLock()

Handler = Callable[..., Any]


def find_pack_dir(
    explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """The pack folder to use (see the module docstring for the order)."""
    env = os.environ if env is None else env
    for candidate, origin in ((explicit, "--pack"), (env.get(PACK_ENV), PACK_ENV)):
        if candidate:
            path = Path(candidate).expanduser().resolve()
            if not (path / MANIFEST_FILE).is_file():
                raise ConfigError(f"{origin} points at {path}, which has no {MANIFEST_FILE}.")
            return path
    for path in (_ENGINE_DIR.parent, _ENGINE_DIR / "_pack"):
        if (path / MANIFEST_FILE).is_file():
            return path
    raise ConfigError(f"No pack found: set {PACK_ENV} or pass --pack DIR.")


class Pack:
    """A loaded pack. Construct with `Pack.load()`; the manifest is schema-checked on load."""

    def __init__(self, root: Path, manifest: Manifest, schemas: SchemaStore):
        self.root = root
        self.manifest = manifest
        self.schemas = schemas
        self._handlers: dict[str, Handler] = {}

    @classmethod
    def load(cls, pack_dir: str | os.PathLike[str] | None = None) -> Pack:
        """The pack at `pack_dir` (see the module docstring for the default), checked: a
        manifest or schema file that is not what it must be raises PackError. A pack
        checked before, byte for byte, comes from soarpack.manifest_cache."""
        root = find_pack_dir(pack_dir)
        schemas = SchemaStore(root / "schemas")
        text = (root / MANIFEST_FILE).read_text(encoding="utf-8")
        manifest = manifest_cache.cached(
            f"{_code_fingerprint()}\0{schemas.fingerprint()}\0{text}",
            lambda: _checked_manifest(root, text, schemas),
            Manifest,
        )
        return cls(root, manifest, schemas)

    # -- lookups ------------------------------------------------------------------

    @property
    def actions(self) -> dict[str, ActionSpec]:
        return self.manifest.actions

    @property
    def connections(self) -> dict[str, ConnectionSpec]:
        return self.manifest.connections

    def action(self, name: str) -> ActionSpec:
        try:
            return self.actions[name]
        except KeyError:
            raise ConfigError(
                f"Unknown action {name!r}.", hint=_suggest(name, self.actions)
            ) from None

    def connection(self, name: str) -> ConnectionSpec:
        try:
            return self.connections[name]
        except KeyError:
            raise ConfigError(
                f"Unknown connection {name!r}.", hint=_suggest(name, self.connections)
            ) from None

    @cached_property
    def playbooks_dir(self) -> Path:
        return self.root / "playbooks"

    # -- handlers -----------------------------------------------------------------

    def handler(self, action: ActionSpec) -> Handler | None:
        """The action's Python handler, imported from the pack by path (cached)."""
        if action.handler is None:
            return None
        found = self._handlers.get(action.handler)
        if found is None:
            found = load_handler(self.root / "actions", action.handler)
            self._handlers[action.handler] = found
        return found


@cache
def _code_fingerprint() -> str:
    """SHA-256 of the code that parses and checks a manifest and defines its structs: a
    cached manifest from before an edit of any (same version number) is checked again."""
    from soarpack import manifest

    digest = hashlib.sha256()
    # yamlsafe by path: importing it would import yaml, which a cached manifest never needs.
    for path in (Path(__file__), Path(manifest.__file__), _ENGINE_DIR / "yamlsafe.py"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _checked_manifest(root: Path, text: str, schemas: SchemaStore) -> Manifest:
    """Parse manifest.yaml, add its includes, check it against the manifest schema and
    build the structs; every schema file must be JSON too."""
    schemas.files.decode_all()
    manifest_path = root / MANIFEST_FILE
    raw = _parse_yaml(text, manifest_path)
    if not isinstance(raw, dict):
        raise PackError([(str(manifest_path), "must be a mapping")])
    raw = _with_includes(raw, schemas)
    meta = schemas.files.get(MANIFEST_SCHEMA)
    if meta is None:
        raise PackError([(str(root / "schemas"), f"{MANIFEST_SCHEMA} is missing")])
    check = schemas.check(meta)  # the compiled check first: jsonschema only to explain
    if check is None or not check(raw):
        problems = [
            (f"{MANIFEST_FILE}#{pointer(*e.absolute_path) or '/'}", e.message)
            for e in schemas.validator(meta).iter_errors(raw)
        ]
        if problems:
            raise PackError(problems)
    try:
        return Manifest.from_data(raw)
    except msgspec.ValidationError as exc:  # the schema should have caught it; say where
        raise PackError([(MANIFEST_FILE, str(exc))]) from None


def _parse_yaml(text: str, path: Path) -> Any:
    import yaml  # only when the manifest is not in the cache

    from soarpack import yamlsafe

    # The bounded safe loader playbooks and configs get (no aliases, bounded nesting): the
    # manifest is ours, but `--pack` may name any folder. Its size is bounded more loosely.
    try:
        return yamlsafe.load(text, limit=MANIFEST_MAX_BYTES)
    except yaml.YAMLError as exc:
        raise PackError([(str(path), f"not valid YAML: {exc}")]) from None


def _with_includes(raw: dict[str, Any], schemas: SchemaStore) -> dict[str, Any]:
    """The manifest with the actions of its `include`d generated files added."""
    includes = raw.get("include") or []
    if not isinstance(includes, list) or not isinstance(raw.get("actions"), dict):
        return raw  # the schema check reports the malformed manifest
    actions = dict(raw["actions"])
    problems: list[tuple[str, str]] = []
    for relpath in includes:
        data = schemas.files.get(str(relpath))
        if not isinstance(data, dict) or not isinstance(data.get("actions"), dict):
            problems.append((f"include {relpath}", "no such file under schemas/ with `actions`"))
            continue
        for name, action in data["actions"].items():
            if name in actions:
                problems.append((f"include {relpath}", f"declares {name} again"))
            actions[name] = action
    if problems:
        raise PackError(problems)
    return {**raw, "actions": actions}


def load_handler(actions_dir: Path, ref: str) -> Handler:
    """Import `path/to/file.py:function` from `actions_dir`; PackError if it does not resolve."""
    rel, _, func_name = ref.partition(":")
    path = (actions_dir / rel).resolve()
    if not path.is_file() or actions_dir.resolve() not in path.parents:
        raise PackError([(f"handler {ref}", f"no file {rel} under {actions_dir}")])
    module_name = "soarpack._pack_actions." + rel.removesuffix(".py").replace("/", ".")
    with _IMPORT_LOCK:
        module = sys.modules.get(module_name)
        if module is None or getattr(module, "__file__", None) != str(path):
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise PackError([(f"handler {ref}", "cannot be imported")])
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:  # a broken handler file is a pack problem, not a crash
                del sys.modules[module_name]
                raise PackError(
                    [(f"handler {ref}", f"import failed: {type(exc).__name__}: {exc}")]
                ) from exc
    func = getattr(module, func_name, None)
    if not callable(func):
        raise PackError([(f"handler {ref}", f"{rel} has no function {func_name}")])
    return func  # type: ignore[no-any-return]


def _suggest(name: str, known: Mapping[str, Any]) -> str:
    import difflib  # only for a mistyped name: its import costs a CLI start ~30 ms

    close = difflib.get_close_matches(name, list(known), n=3)
    if close:
        return "Did you mean: " + ", ".join(close) + "?"
    return "Run `soarpack actions list` to see what exists."
