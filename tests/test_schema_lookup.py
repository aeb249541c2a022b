"""`$ref` lookups without `referencing` (SchemaStore._lookup) agree with the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from referencing.exceptions import Unresolvable

from soarpack.pack import Pack
from soarpack.schema_files import refs
from soarpack.schemas import SchemaStore


def test_every_ref_of_the_pack_resolves_to_what_the_registry_finds(pack: Pack) -> None:
    store = pack.schemas
    found = [r for rel, contents in store.files.items() for r in refs(contents, rel)]
    for spec in pack.actions.values():
        found += refs({"i": spec.input, "o": spec.output}, "")
    assert len(found) > 50
    for ref, base in found:
        expected = store.registry.resolver(base_uri=base).lookup(ref).contents
        assert store._lookup(ref, base)[0] == expected, (ref, base)


@pytest.fixture
def store(tmp_path: Path) -> SchemaStore:
    files = {
        "a.json": {"$defs": {"x/y": {"type": "string"}}, "prefixItems": [{"type": "integer"}]},
        "sub/b.json": {"$defs": {"up": {"$ref": "../a.json#/$defs/x~1y"}}},
    }
    for rel, contents in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(json.dumps(contents))
    return SchemaStore(tmp_path)


@pytest.mark.parametrize(
    ("ref", "base", "expected"),
    [
        pytest.param("a.json#/$defs/x~1y", "", {"type": "string"}, id="escaped-slash"),
        pytest.param("a.json#/$defs/x%7E1y", "", {"type": "string"}, id="percent-encoded"),
        pytest.param("a.json#/prefixItems/0", "", {"type": "integer"}, id="array-index"),
        pytest.param("../a.json#/$defs/x~1y", "sub/b.json", {"type": "string"}, id="relative"),
        pytest.param("#/$defs/up", "sub/b.json", {"$ref": "../a.json#/$defs/x~1y"}, id="same"),
    ],
)
def test_lookup(store: SchemaStore, ref: str, base: str, expected: object) -> None:
    target, doc = store._lookup(ref, base)
    assert target == expected == store.registry.resolver(base_uri=base).lookup(ref).contents
    assert doc == ("a.json" if "a.json" in ref else "sub/b.json")


@pytest.mark.parametrize("ref", ["a.json#/$defs/nope", "a.json#/prefixItems/7", "missing.json"])
def test_a_ref_that_does_not_resolve_is_unresolvable(store: SchemaStore, ref: str) -> None:
    with pytest.raises(Unresolvable):
        store._lookup(ref, "")


def test_a_pack_whose_files_use_id_is_left_to_the_registry(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(
        json.dumps({"$id": "https://example.invalid/c.json", "$defs": {"s": {"type": "string"}}})
    )
    store = SchemaStore(tmp_path)
    assert store._ids
    assert store._lookup("c.json#/$defs/s", "") == ({"type": "string"}, "c.json")
