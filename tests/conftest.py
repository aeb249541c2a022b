"""Shared fixtures.

Every test runs with proxy and credential variables stripped from the environment,
and with the process-wide secret registry reset, so no test depends on the machine
it runs on or on another test.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.redact import forget_all_secrets

REPO = Path(__file__).resolve().parents[1]
BASE_URL = "https://tenant.example.goskope.com"
# A token that must never appear in any output; tests search for it.
CANARY = "CANARY-tok-7f3a9c1e5b"

_STRIPPED = re.compile(
    r"^(https?_proxy|all_proxy|no_proxy|ssl_cert_file|ssl_cert_dir|requests_ca_bundle|curl_ca_bundle"
    r"|netrc|soarpack_.*|.*_token|.*_secret|.*_api_key|.*_password)$",
    re.IGNORECASE,
)


@pytest.fixture(scope="session")
def manifest_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("manifest-cache")


@pytest.fixture(autouse=True)
def clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, manifest_cache_dir: Path
) -> Iterator[None]:
    for name in list(os.environ):
        if _STRIPPED.match(name):
            monkeypatch.delenv(name)
    # Ingest state (installation id, checkpoints, locks) never lands in the real home,
    # nor do parsed manifests (one folder for the session: most tests load the same one).
    monkeypatch.setenv("SOARPACK_STATE_DIR", str(tmp_path / "soarpack-state"))
    monkeypatch.setenv("SOARPACK_CACHE_DIR", str(manifest_cache_dir))
    forget_all_secrets()
    # The CLI points the "soarpack" logger at its own stderr handler and stops it
    # propagating; a later test's caplog must still see the package's logs.
    logger = logging.getLogger("soarpack")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved
    forget_all_secrets()


@pytest.fixture(scope="session")
def pack() -> Pack:
    return Pack.load(REPO)


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    """A copy of the repository's pack to edit: manifest, schemas, actions, playbooks."""
    root = tmp_path / "pack"
    for part in ("schemas", "actions", "playbooks"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "manifest.yaml", root / "manifest.yaml")
    return root


# The setting each connection's credential goes in, and what else it needs.
CREDENTIALS: dict[str, dict[str, Any]] = {
    "netskope": {"token": CANARY},
    "netskope_v2": {"token": CANARY},
    "metaaccess": {"access_token": CANARY},
    "lacework_edge": {"api_key": CANARY, "account": "acme"},
}


def settings_env(connection: str = "netskope", **values: Any) -> dict[str, str]:
    """Environment variables that configure one connection (a None value leaves it unset)."""
    base = {"base_url": BASE_URL, "max_attempts": 3, "max_retry_wait": 30}
    base.update(CREDENTIALS.get(connection, {"token": CANARY}))
    base.update(values)
    return {
        f"SOARPACK_{connection.upper()}_{k.upper()}": str(v)
        for k, v in base.items()
        if v is not None
    }


class Sleeps(list[float]):
    """A sleep that records instead of waiting (injected, never patched in)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


EngineFactory = Callable[..., Engine]


@pytest.fixture
def make_engine(pack: Pack, sleeps: Sleeps) -> Iterator[EngineFactory]:
    """Build an Engine over an injected transport; closed after the test."""
    made: list[Engine] = []

    def factory(
        transport: httpx.BaseTransport, connection: str = "netskope", **settings: Any
    ) -> Engine:
        engine = Engine(
            pack,
            Config(env=settings_env(connection, **settings)),
            transports={connection: transport},
            sleep=sleeps,
        )
        made.append(engine)
        return engine

    yield factory
    for engine in made:
        engine.close()


@pytest.fixture
def router() -> Iterator[respx.Router]:
    """A respx router for BASE_URL; every declared route must be called."""
    mock = respx.Router(base_url=BASE_URL, assert_all_called=True)
    yield mock
    mock.assert_all_called()


def transport_for(router: respx.Router) -> httpx.MockTransport:
    return httpx.MockTransport(router.handler)
