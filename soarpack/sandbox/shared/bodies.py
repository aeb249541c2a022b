"""Reading a simulated request's body parameters: a JSON object or a urlencoded form."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

__all__ = ["content_type", "read_params"]


def content_type(request: Request) -> str:
    """The request's media type, lower case, without parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_params(request: Request) -> tuple[dict[str, Any], str | None]:
    """The body's parameters, or an empty dict and why they cannot be read."""
    raw = await request.body()
    if not raw.strip():
        return {}, None
    if content_type(request) == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)), None
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}, "The request body is not valid JSON"
    if not isinstance(parsed, dict):
        return {}, "The request body must be a JSON object"
    return parsed, None
