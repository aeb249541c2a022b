"""The "things" service behind tests/playbook/mockpack, as an httpx transport.

It keeps things in memory, logs every request as "METHOD /path", and answers a
scripted status first when a test queues one (`fail("GET /things/a", 500, 500)`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from typing import Any

import httpx

BASE_URL = "https://things.example.test"
TOKEN = "mock-token-value-0123456789"


class ThingsServer:
    def __init__(self, latency: float = 0.0) -> None:
        self.things: dict[str, dict[str, Any]] = {}
        self.log: list[str] = []
        self.bodies: list[Any] = []
        self.scripted: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
        self.latency = latency
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def fail(self, request: str, *statuses: int, headers: dict[str, str] | None = None) -> None:
        """Answer `request` ("METHOD /path") with these statuses before the real answer."""
        self.scripted[request].extend((s, headers or {}) for s in statuses)

    def count(self, request: str) -> int:
        return self.log.count(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        body = json.loads(request.content) if request.content else None
        with self._lock:
            self.log.append(key)
            self.bodies.append(body)
            self.active += 1
            self.peak = max(self.peak, self.active)
            scripted = self.scripted[key].pop(0) if self.scripted[key] else None
        try:
            if self.latency:
                time.sleep(self.latency)
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return httpx.Response(401, json={"message": "bad token"})
            if scripted is not None:
                status, headers = scripted
                return httpx.Response(
                    status, json={"message": f"scripted {status}"}, headers=headers
                )
            return self._answer(request.method, request.url.path, body)
        finally:
            with self._lock:
                self.active -= 1

    def _answer(self, method: str, path: str, body: Any) -> httpx.Response:
        if path == "/echo":
            return httpx.Response(200, json=body or {})
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["things"]:
            self.things[body["id"]] = dict(body)
            return httpx.Response(200, json=self.things[body["id"]])
        thing = self.things.get(parts[1]) if len(parts) > 1 else None
        if thing is None:
            return httpx.Response(404, json={"message": "no such thing"})
        if method == "GET":
            return httpx.Response(200, json=thing)
        if method == "DELETE":
            del self.things[parts[1]]
            return httpx.Response(200, json={"deleted": parts[1]})
        thing["touched"] = thing.get("touched", 0) + 1
        return httpx.Response(200, json=thing)
