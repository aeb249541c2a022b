"""Netskope REST v2 data-export iterator pages, shared by the page actions and the ingest.

A page is up to 10,000 records (~10 MB). It is split into records without decoding
their fields (msgspec `Raw`): the ingest writes the bytes through untouched (but for a
lone surrogate escape, which becomes `\\ufffd`: see vendorjson) and only
reads what it needs (`ok`, `wait_time`, the first and last `_id` to recognise a page
it has already committed). The page actions decode records fully for their output.

Pages are fetched through the session of the action that reads them (the ingest's own,
under `soarpack ingest`), so its deadline, dry run and call records hold for each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from soarpack import errors
from soarpack.http import errormap, vendorjson
from soarpack.http.invocation import CallRecord, DryRunHalt
from soarpack.session import Session

STREAM_PATTERN = re.compile(r"^(events|alerts)/([a-z]+)$")
# Operations that move the server-side cursor; only `resend` leaves it where it is.
MOVING_OPERATIONS = frozenset({"next", "head", "tail"})
PAGE_SIZE = 10_000


class _Page(msgspec.Struct):
    ok: Any = None
    result: list[msgspec.Raw] = []
    wait_time: float = 0
    message: Any = None


_ID_DECODER = msgspec.json.Decoder(dict[str, Any])
_PAGE_DECODER = msgspec.json.Decoder(_Page)
_RECORD_DECODER = msgspec.json.Decoder(list[dict[str, Any]])


@dataclass(frozen=True)
class RateState:
    """The endpoint's RateLimit-* headers on one answer (None where absent)."""

    limit: int | None
    remaining: int | None
    reset: float | None

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateState:
        return cls(
            header_number(headers.get("ratelimit-limit"), int),
            header_number(headers.get("ratelimit-remaining"), int),
            header_number(headers.get("ratelimit-reset"), float),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"limit": self.limit, "remaining": self.remaining, "reset": self.reset}


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a page cheaply: its size and its first and last record ids."""

    count: int
    first_id: str | None
    last_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "first_id": self.first_id, "last_id": self.last_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fingerprint:
        return cls(int(data["count"]), data.get("first_id"), data.get("last_id"))


@dataclass(frozen=True)
class Page:
    """One answer of an iterator endpoint, records still as raw JSON bytes."""

    records: list[msgspec.Raw]
    wait_time: float
    rate: RateState

    @property
    def count(self) -> int:
        return len(self.records)

    def fingerprint(self) -> Fingerprint:
        if not self.records:
            return Fingerprint(0, None, None)
        return Fingerprint(
            len(self.records), _record_id(self.records[0]), _record_id(self.records[-1])
        )

    def decoded_records(self) -> list[dict[str, Any]]:
        """Every record as a dict (the cost the ingest avoids)."""
        if not self.records:
            return []
        return _RECORD_DECODER.decode(b"[" + b",".join(self.records) + b"]")


def stream_path(stream: str) -> str:
    """`events/page` -> /api/v2/events/dataexport/events/page."""
    match = STREAM_PATTERN.match(stream)
    if match is None:
        raise errors.ConfigError(
            f"{stream!r} is not a stream: use events/<event_type> or alerts/<alert_type>."
        )
    group, name = match.groups()
    return f"/api/v2/events/dataexport/{group}/{name}"


def page_request(stream: str, index: str, operation: str | int) -> tuple[str, dict[str, str], str]:
    """The path, query and side effect of one iterator GET."""
    # A request that moves the cursor is not repeated blindly after an answer that may
    # have been processed: the caller asks for `resend` instead.
    side_effect = "read" if operation == "resend" else "write"
    return stream_path(stream), {"index": index, "operation": str(operation)}, side_effect


def fetch_page(
    session: Session,
    stream: str,
    index: str,
    operation: str | int,
    calls: list[CallRecord],
) -> Page:
    """One GET of an iterator endpoint, recorded in `calls`; HTTP errors arrive as our
    error classes."""
    path, params, side_effect = page_request(stream, index, operation)
    reply = session.request(
        "GET", path, side_effect=side_effect, calls=calls, params=params, raw=True
    )
    return parse_page(reply.data, reply.headers, session.client.spec.name, calls)


def planned_fetch(session: Session, stream: str, index: str, operation: str | int) -> DryRunHalt:
    """What a dry run reports for a page it does not fetch: the GET as it would be sent."""
    path, params, _ = page_request(stream, index, operation)
    client = session.client
    return DryRunHalt(client.spec.name, client.describe("GET", path, params))


def parse_page(
    body: bytes, headers: httpx.Headers, connection: str, calls: list[CallRecord]
) -> Page:
    last = calls[-1] if calls else None
    context: dict[str, Any] = {
        "method": last.method if last else None,
        "url": last.url if last else None,
        "status": last.status if last else None,
    }
    try:
        page = _decode_page(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        kind = headers.get("content-type", "unknown content type")
        raise errormap.FAILURES["not_json"].build(
            f"{connection} answered with a page that is not the documented JSON ({kind}): {exc}.",
            hint="A proxy may be answering instead of Netskope; ask for the page again with resend.",
            **context,
        ) from None
    if page.ok != 1:
        message = str(page.message or "no message given")
        raise errormap.FAILURES["vendor_error"].build(
            f"{connection} reported a failure: {message}", vendor_message=message, **context
        )
    records = page.result
    if b"\n" in body:
        # A line break outside a JSON string is whitespace (inside one it must be
        # escaped), so replacing it keeps each record valid and on one line for JSONL.
        records = [msgspec.Raw(bytes(r).replace(b"\n", b" ")) for r in records]
    wait = page.wait_time if isinstance(page.wait_time, (int, float)) else 0
    return Page(records, max(0.0, float(wait)), RateState.from_headers(headers))


def _decode_page(body: bytes) -> _Page:
    """The page split into raw records. msgspec refuses a lone surrogate escape
    ("\\ud800"), so a page holding one is decoded again with each such escape as
    `\\ufffd`: every record is then valid JSON that any reader accepts. Only a refused
    page is scanned for them: the scan cost more than the decoding (~35 ms a page)."""
    try:
        return _PAGE_DECODER.decode(body)
    except msgspec.DecodeError:
        scrubbed = vendorjson.scrub_escapes(body)
        if scrubbed is body:
            raise
    return _PAGE_DECODER.decode(scrubbed)


def _record_id(raw: msgspec.Raw) -> str | None:
    try:
        value = _ID_DECODER.decode(raw).get("_id")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return None if value is None else str(value)


def header_number(raw: str | None, kind: type[int] | type[float]) -> Any:
    """A numeric response header as `kind`, or None when absent or not a number."""
    if raw is None:
        return None
    try:
        return kind(float(raw.strip()))
    except ValueError:
        return None
