"""Over HTTP, a vendor answer holding a lone surrogate (`"\\ud800"`) is a 200 whose body
is UTF-8 JSON with U+FFFD in its place, for a read and for a write: no 500 after the
change was made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.sandbox import start_server
from soarpack.server import build_service, create_app
from tests.conftest import CANARY, Sleeps, settings_env
from tests.server.conftest import SECRETS, server_section

FFFD = "\ufffd"


class Vendor:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/v1/alerts":
            body = rb'{"status": "success", "data": [{"_id": "1", "alert_name": "bad \ud800"}]}'
        else:
            body = rb'{"ok": 1, "status": "creating", "note": "bad \ud800"}'
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})


@pytest.fixture
def served(pack: Pack, sleeps: Sleeps, tmp_path: Path) -> Iterator[tuple[Vendor, httpx.Client]]:
    vendor = Vendor()
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"server": server_section(tmp_path / "runs")}))
    env = {**settings_env("netskope"), **settings_env("netskope_v2")}
    config = Config(path, env=env)
    transport = httpx.MockTransport(vendor.handle)
    engine = Engine(
        pack, config, transports={"netskope": transport, "netskope_v2": transport}, sleep=sleeps
    )
    service = build_service(pack, config, engine=engine)
    server = start_server(create_app(service))
    headers = {"Authorization": f"Bearer {SECRETS['operator']}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        yield vendor, client
    server.stop()
    service.close()
    engine.close()


@pytest.mark.parametrize(
    ("action", "inputs", "sent", "field"),
    [
        pytest.param(
            "netskope.alerts.list",
            {"timeperiod": 3600},
            "POST /api/v1/alerts",
            lambda data: data["alerts"][0]["alert_name"],
            id="read",
        ),
        pytest.param(
            "netskope.client_status.create",
            {"index": "soar-cs"},
            "POST /api/v2/dataexport/iterator/soar-cs",
            lambda data: data["response"]["note"],
            id="write",
        ),
    ],
)
def test_an_answer_with_a_lone_surrogate_is_a_200(
    served: tuple[Vendor, httpx.Client],
    action: str,
    inputs: dict[str, object],
    sent: str,
    field: Callable[[dict[str, Any]], str],
) -> None:
    vendor, client = served
    response = client.post(f"/actions/{action}", json=inputs)
    assert response.status_code == 200, response.text
    response.content.decode("utf-8")  # strict
    result = response.json()
    assert result["ok"] is True and field(result["data"]) == f"bad {FFFD}"
    assert vendor.sent == [sent]
    assert CANARY not in response.text
