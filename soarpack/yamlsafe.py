"""YAML from files a person or another program wrote: bounded before it is built.

The safe loader builds only plain data, but plain data can still be huge. An alias
(`*name`) repeats an anchored node by reference, so a 1.3 KB file of aliases to
aliases stands for billions of values: building it is cheap (shared references), but
every walk over it (line numbers, schema checks, `${ENV}` interpolation) is not, and one
ran until killed. Playbooks, configs and the manifest use no anchors, so aliases are
refused outright rather than budgeted. Files are read only up to a size cap, and the
composed document may nest at most MAX_DEPTH levels (the same bound as JSON input:
the walks and schema checks after it recurse once per level).

Refusals are yaml.MarkedYAMLError, so every caller's existing "not valid YAML" path
reports them with their line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from soarpack.jsondata import MAX_DEPTH

# Playbooks and configs are a few KB; a megabyte is already far past any real one.
MAX_FILE_BYTES = 1024 * 1024

# libyaml's safe loader when present (about 15x faster), else the pure-Python one.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FileTooLarge(Exception):
    """The file is over the size cap; nothing of it was parsed."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(f"larger than {limit // 1024} KiB, the limit for this kind of file")
        self.path = path
        self.limit = limit


class YamlRefused(yaml.MarkedYAMLError):
    """YAML we will not build: an alias, or nesting past MAX_DEPTH."""


def read_capped(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The file's text, read no further than `limit` bytes (a FIFO or /dev/zero ends
    too): FileTooLarge past it; OSError or UnicodeDecodeError as reading gives them."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(path, limit)
    return data.decode("utf-8")


def compose(text: str, limit: int = MAX_FILE_BYTES) -> tuple[yaml.Node | None, Any]:
    """The document's node tree and the data built from it (safe loader), or a
    yaml.YAMLError: not YAML, more than `limit` bytes, an alias, or too deep."""
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        raise YamlRefused(problem=f"the document is larger than {limit // 1024} KiB")
    loader = _SAFE_LOADER(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:  # the pure-Python composer recurses per level
            raise YamlRefused(problem=f"nested deeper than {MAX_DEPTH} levels") from None
        if node is not None:
            _check_tree(node)
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def load(text: str, limit: int = MAX_FILE_BYTES) -> Any:
    """The data of a YAML document, bounded as `compose` says."""
    return compose(text, limit)[1]


def _check_tree(root: yaml.Node) -> None:
    """Refuse an alias (a node reached twice: the composer shares the anchored node) and
    nesting past MAX_DEPTH, without recursing; stops at the first one."""
    seen: set[int] = set()
    todo: list[tuple[yaml.Node, int]] = [(root, 0)]
    while todo:
        node, depth = todo.pop()
        if id(node) in seen:
            raise YamlRefused(
                problem="this value is repeated by an alias (*name); aliases are not "
                "accepted here: write the value out",
                problem_mark=node.start_mark,
            )
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            continue
        if depth >= MAX_DEPTH:
            raise YamlRefused(
                problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=node.start_mark
            )
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                todo += [(key, depth + 1), (value, depth + 1)]
        elif isinstance(node, yaml.SequenceNode):
            todo += [(item, depth + 1) for item in node.value]
