"""The checked manifest kept between processes (soarpack.manifest_cache)."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import pytest

from soarpack import manifest_cache
from soarpack.errors import PackError
from soarpack.pack import Pack


class CountingBuild:
    def __init__(self, value: Any) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.value


def cached(source: str, build: CountingBuild, env: dict[str, str]) -> Any:
    return manifest_cache.cached(source, build, Any, env)  # type: ignore[arg-type]


def test_the_same_source_is_built_once(tmp_path: Path) -> None:
    env = {"SOARPACK_CACHE_DIR": str(tmp_path)}
    build = CountingBuild({"pack": {"name": "x"}, "codes": {409: True, "on": [1, 2.5, None]}})
    first = cached("text one", build, env)
    again = cached("text one", build, env)
    assert first == again == build.value and build.calls == 1
    assert again is not first  # a fresh copy: nothing shared between loads
    cached("text two", build, env)
    assert build.calls == 2  # another source, another key
    assert len(list(tmp_path.glob("manifest-*.msgpack"))) == 2
    assert not list(tmp_path.glob(".manifest-*"))  # no temporary file left behind


def test_a_value_that_does_not_survive_the_round_trip_is_not_stored(tmp_path: Path) -> None:
    env = {"SOARPACK_CACHE_DIR": str(tmp_path)}
    # YAML makes dates; MessagePack gives them back as text.
    build = CountingBuild({"released": datetime.date(2026, 11, 23)})
    assert cached("t", build, env) == build.value
    assert cached("t", build, env) == build.value
    assert build.calls == 2 and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "problem",
    [
        pytest.param("corrupt", id="corrupt-entry-is-built-again"),
        pytest.param("unwritable", id="unwritable-folder-is-no-error"),
    ],
)
def test_the_cache_never_stands_in_the_way(tmp_path: Path, problem: str) -> None:
    where = tmp_path / "cache"
    env = {"SOARPACK_CACHE_DIR": str(where)}
    build = CountingBuild({"a": 1})
    if problem == "corrupt":
        cached("t", build, env)
        [entry] = where.iterdir()
        entry.write_bytes(b"\xc1 not msgpack")
    else:
        where.write_text("a file where the folder should be")
    assert cached("t", build, env) == {"a": 1}


def test_off_switches_it_off_and_the_default_follows_xdg(tmp_path: Path) -> None:
    assert manifest_cache.cache_dir({"SOARPACK_CACHE_DIR": "off"}) is None
    assert manifest_cache.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "soarpack"
    build = CountingBuild({"a": 1})
    for _ in range(2):
        cached("t", build, {"SOARPACK_CACHE_DIR": "off"})
    assert build.calls == 2


def test_only_the_newest_entries_are_kept(tmp_path: Path) -> None:
    env = {"SOARPACK_CACHE_DIR": str(tmp_path)}
    for number in range(manifest_cache.KEEP + 3):
        cached(f"text {number}", CountingBuild({"n": number}), env)
        for entry in tmp_path.iterdir():  # distinct times, oldest first
            os.utime(entry, ns=(entry.stat().st_mtime_ns - 10**9,) * 2)
    assert len(list(tmp_path.glob("manifest-*.msgpack"))) == manifest_cache.KEEP


def test_an_edited_manifest_is_read_again_and_still_checked(pack_copy: Path) -> None:
    root = pack_copy
    manifest = root / "manifest.yaml"
    assert "netskope.alerts.list" in Pack.load(root).actions
    assert "netskope.alerts.list" in Pack.load(root).actions  # from the cache
    text = manifest.read_text()
    manifest.write_text(text.replace("side_effect: read", "side_effect: sometimes", 1))
    with pytest.raises(PackError, match="side_effect"):
        Pack.load(root)


@pytest.mark.parametrize(
    ("rel", "edit", "message"),
    [
        pytest.param(
            "manifest.schema.json",
            lambda text: text.replace('"read", "write", "destructive"', '"read", "write"', 1),
            "destructive",
            id="manifest-schema-narrowed",
        ),
        pytest.param(
            "lacework_edge/operations.json",
            lambda text: text.replace('"side_effect": "read"', '"side_effect": "often"', 1),
            "often",
            id="included-actions-broken",
        ),
        pytest.param(
            "netskope/v1.json", lambda text: text[:-20], "not valid JSON", id="file-not-json"
        ),
    ],
)
def test_an_edited_schema_file_is_checked_again(
    pack_copy: Path, rel: str, edit: Any, message: str
) -> None:
    """The manifest's text is the same, but the verdict depends on the schema files too."""
    root = pack_copy
    Pack.load(root)
    path = root / "schemas" / rel
    edited = edit(path.read_text())
    assert edited != path.read_text()
    path.write_text(edited)
    with pytest.raises(PackError, match=message):
        Pack.load(root)


def test_a_cached_load_decodes_only_the_schema_files_it_uses(pack_copy: Path) -> None:
    root = pack_copy
    first = Pack.load(root)
    again = Pack.load(root)
    assert again.manifest == first.manifest and again.manifest is not first.manifest
    assert not again.schemas.files._decoded  # nothing decoded yet
    again.schemas.errors(again.action("netskope.alerts.list").input, {"timeperiod": 3600})
    decoded = set(again.schemas.files._decoded)
    assert decoded and "lacework_edge/operations.json" not in decoded
