"""Shared pieces of the Lacework Edge tests: a tenant URL, a login answer, an engine."""

from __future__ import annotations

import httpx
import respx

from soarpack.engine import Engine
from tests.conftest import CANARY, EngineFactory, transport_for

BASE = "https://acme.api.laceworkedge.example"
ACCOUNT = "acme"
# What TokenLogin hands out; as secret as the API key, so tests look for it in outputs.
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJhY2NvdW50IjoiYWNtZSJ9.c2lnbmF0dXJlLWZvci10ZXN0cw"


def login_route(router: respx.Router, *, ttl_sec: int = 3600, token: str = JWT) -> respx.Route:
    """TokenLogin answering with `token`, valid for `ttl_sec`."""
    body = {"token": token, "ttl_sec": ttl_sec, "account_name": ACCOUNT}
    return router.route(method="GET", path="/api/v1/token_login").mock(
        side_effect=lambda request: httpx.Response(200, json=body)
    )


def lacework_engine(make_engine: EngineFactory, router: respx.Router, **settings: object) -> Engine:
    values = {"base_url": BASE, "api_key": CANARY, "account": ACCOUNT, **settings}
    return make_engine(transport_for(router), "lacework_edge", **values)
