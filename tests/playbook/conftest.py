"""Playbook fixtures: every connection on one in-process sandbox, runs in tmp_path."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.sandbox import (
    InProcessTransport,
    SandboxState,
    create_lacework_edge_app,
    create_metaaccess_app,
    create_netskope_app,
)
from tests.conftest import CANARY, Sleeps, settings_env
from tests.playbook.mockserver import BASE_URL as MOCK_URL
from tests.playbook.mockserver import TOKEN as MOCK_TOKEN
from tests.playbook.mockserver import ThingsServer

APPS = {
    "netskope": create_netskope_app,
    "netskope_v2": create_netskope_app,
    "metaaccess": create_metaaccess_app,
    "lacework_edge": create_lacework_edge_app,
}


@dataclass
class Sandbox:
    state: SandboxState
    engine: Engine
    runs: Path


@pytest.fixture
def sandbox(pack: Pack, sleeps: Sleeps, tmp_path: Path) -> Iterator[Sandbox]:
    """An Engine whose four connections talk to one simulated tenant, without sockets."""
    state = SandboxState(token=CANARY)
    transports = {name: InProcessTransport(app(state)) for name, app in APPS.items()}
    env: dict[str, str] = {}
    for name in APPS:
        env.update(settings_env(name))
    engine = Engine(pack, Config(env=env), transports=transports, sleep=sleeps)
    yield Sandbox(state, engine, tmp_path / "runs")
    engine.close()
    for transport in transports.values():
        transport.close()


def write_playbook(folder: Path, text: str, name: str = "test-book") -> Path:
    """A playbook file in `folder` (the file stem is its name)."""
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MOCKPACK = Path(__file__).parent / "mockpack"
REAL_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.fixture(scope="session")
def mock_pack(tmp_path_factory: pytest.TempPathFactory) -> Pack:
    """The runner test pack: its manifest with the real pack's common schemas."""
    root = tmp_path_factory.mktemp("mockpack")
    shutil.copy(MOCKPACK / "manifest.yaml", root / "manifest.yaml")
    (root / "schemas").mkdir()
    for name in ("manifest.schema.json", "playbook.schema.json"):
        shutil.copy(REAL_SCHEMAS / name, root / "schemas" / name)
    shutil.copytree(REAL_SCHEMAS / "common", root / "schemas" / "common")
    (root / "playbooks").mkdir()
    return Pack.load(root)


@dataclass
class Things:
    server: ThingsServer
    engine: Engine
    runs: Path
    folder: Path

    def book(self, text: str, name: str = "test-book") -> Path:
        return write_playbook(self.folder, text, name)


@pytest.fixture
def things(mock_pack: Pack, sleeps: Sleeps, tmp_path: Path) -> Iterator[Things]:
    server = ThingsServer()
    env = {
        "SOARPACK_MOCK_BASE_URL": MOCK_URL,
        "SOARPACK_MOCK_TOKEN": MOCK_TOKEN,
        "SOARPACK_MOCK_MAX_ATTEMPTS": "1",
    }
    engine = Engine(
        mock_pack, Config(env=env), transports={"mock": server.transport()}, sleep=sleeps
    )
    folder = tmp_path / "books"
    folder.mkdir()
    yield Things(server, engine, tmp_path / "runs", folder)
    engine.close()
