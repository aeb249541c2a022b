"""The parsed manifest kept between processes (soarpack.manifest_cache)."""

from __future__ import annotations

import datetime
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from soarpack import manifest_cache
from soarpack.errors import PackError
from soarpack.pack import Pack
from tests.conftest import REPO


class CountingParser:
    def __init__(self, value: Any) -> None:
        self.value = value
        self.calls = 0

    def __call__(self, text: str) -> Any:
        self.calls += 1
        return self.value


def test_the_same_text_is_parsed_once(tmp_path: Path) -> None:
    env = {"SOARPACK_CACHE_DIR": str(tmp_path)}
    parse = CountingParser({"pack": {"name": "x"}, "codes": {409: True, "on": [1, 2.5, None]}})
    first = manifest_cache.parsed("text one", parse, env)
    again = manifest_cache.parsed("text one", parse, env)
    assert first == again == parse.value and parse.calls == 1
    assert again is not first  # a fresh copy: nothing shared between loads
    manifest_cache.parsed("text two", parse, env)
    assert parse.calls == 2  # another text, another key
    assert len(list(tmp_path.glob("manifest-*.msgpack"))) == 2
    assert not list(tmp_path.glob(".manifest-*"))  # no temporary file left behind


def test_a_value_that_does_not_survive_the_round_trip_is_not_stored(tmp_path: Path) -> None:
    env = {"SOARPACK_CACHE_DIR": str(tmp_path)}
    parse = CountingParser({"released": datetime.date(2026, 11, 23)})  # YAML makes dates
    assert manifest_cache.parsed("t", parse, env) == parse.value
    assert manifest_cache.parsed("t", parse, env) == parse.value
    assert parse.calls == 2 and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "problem",
    [
        pytest.param("corrupt", id="corrupt-entry-is-parsed-again"),
        pytest.param("unwritable", id="unwritable-folder-is-no-error"),
    ],
)
def test_the_cache_never_stands_in_the_way(tmp_path: Path, problem: str) -> None:
    where = tmp_path / "cache"
    env = {"SOARPACK_CACHE_DIR": str(where)}
    parse = CountingParser({"a": 1})
    if problem == "corrupt":
        manifest_cache.parsed("t", parse, env)
        [entry] = where.iterdir()
        entry.write_bytes(b"\xc1 not msgpack")
    else:
        where.write_text("a file where the folder should be")
    assert manifest_cache.parsed("t", parse, env) == {"a": 1}


def test_off_switches_it_off_and_the_default_follows_xdg(tmp_path: Path) -> None:
    assert manifest_cache.cache_dir({"SOARPACK_CACHE_DIR": "off"}) is None
    assert manifest_cache.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "soarpack"
    parse = CountingParser({"a": 1})
    for _ in range(2):
        manifest_cache.parsed("t", parse, {"SOARPACK_CACHE_DIR": "off"})
    assert parse.calls == 2


def test_only_the_newest_entries_are_kept(tmp_path: Path) -> None:
    env = {"SOARPACK_CACHE_DIR": str(tmp_path)}
    for number in range(manifest_cache.KEEP + 3):
        manifest_cache.parsed(f"text {number}", CountingParser({"n": number}), env)
        for entry in tmp_path.iterdir():  # distinct times, oldest first
            os.utime(entry, ns=(entry.stat().st_mtime_ns - 10**9,) * 2)
    assert len(list(tmp_path.glob("manifest-*.msgpack"))) == manifest_cache.KEEP


def test_an_edited_manifest_is_read_again_and_still_checked(tmp_path: Path) -> None:
    root = tmp_path / "pack"
    for part in ("schemas", "actions", "playbooks"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = root / "manifest.yaml"
    shutil.copy(REPO / "manifest.yaml", manifest)
    assert "netskope.alerts.list" in Pack.load(root).actions
    assert "netskope.alerts.list" in Pack.load(root).actions  # from the cache
    text = manifest.read_text()
    manifest.write_text(text.replace("side_effect: read", "side_effect: sometimes", 1))
    with pytest.raises(PackError, match="side_effect"):
        Pack.load(root)
