"""One attempt: send a request (its credential placed already) within what is left of its
deadline, read the body up to max_response_bytes, record the attempt, and turn what came
back into a Reply or our error (answers.py for an answer, failures.py for none).

A gzip body (what Netskope tenants send: a data-export page is ~1 MB gzipped, ~12 MB
as JSON) is inflated here with ISA-L (`isal`), not by httpx's zlib: on such a page
zlib's inflate was the largest single cost of the ingest, and ISA-L's takes about a
third of its CPU. Any other encoding is httpx's to decode, as before.

The client's rate limits pace each attempt here, in the window store the client was
given (ratelimit.py), keyed by the connection's account; a token exchange is sent the
same bounded, recorded way (`Sender.exchange_sender`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import httpx
from isal import isal_zlib

from soarpack import errors
from soarpack.http import answers, errormap, tokens
from soarpack.http.connection import Channel, Limits
from soarpack.http.failures import transport_failure
from soarpack.http.invocation import CallRecord, Deadline
from soarpack.http.ratelimit import RateLimiter, WaitTooLong, WindowStore, window_key
from soarpack.http.request import AttemptFailed, LogicalRequest, Reply
from soarpack.manifest import ConnectionSpec, RateLimitSpec
from soarpack.redact import redact

log = logging.getLogger("soarpack.http")
_GZIP_WBITS = 16 + isal_zlib.MAX_WBITS  # a gzip member, header and trailer checked
# What a broken body raises (isal's stub calls `error` an instance; it is a class).
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)


class Sender:
    """Sends the attempts of one connection; shared by every view of its client."""

    def __init__(
        self,
        spec: ConnectionSpec,
        channel: Channel,
        limits: Limits,
        sleep: Callable[[float], None],
        windows: WindowStore,
        account: str,
    ) -> None:
        self.spec = spec
        self.channel = channel
        self.limits = limits
        self._sleep = sleep
        self._windows = windows
        # The account's fingerprint (ratelimit.account_fingerprint): whoever calls it
        # with the same credential shares its windows.
        self._account = account
        self._limiters: dict[tuple[int, float], RateLimiter] = {}

    def send(self, request: LogicalRequest, number: int) -> Reply:
        """Attempt `number` of `request`, rate-limited; AttemptFailed when it fails."""
        if request.rate_limit is not None:
            self._pace(request, request.rate_limit, number)
        method, deadline = request.method, request.deadline
        remaining = self.time_left(deadline, method, number)
        built = self.channel.build(
            method,
            request.path,
            params=request.params,
            json_body=request.json_body,
            headers=request.headers,
            timeout=self.limits.phase_timeout(remaining),
        )
        shown_url = redact(str(built.url))
        started = time.perf_counter()

        def record(status: int | None, error: str | None = None) -> None:
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            request.calls.append(CallRecord(method, shown_url, status, elapsed, number, error))
            log.debug(
                "%s %s -> %s in %.1f ms (attempt %d)",
                method,
                shown_url,
                status or error,
                elapsed,
                number,
            )

        try:
            response = self.channel.send(built)
            try:
                self._read_capped(response, deadline, method, shown_url)
            finally:
                response.close()
            # httpx leaves the response and its body stream in a reference cycle, so each
            # body (10 MB for an iterator page) lived until the cycle collector ran; the
            # body is read already, so swap the stream for an empty one.
            response.stream = httpx.ByteStream(b"")
        except AttemptFailed as failed:
            record(response.status_code, failed.error.kind)
            raise
        except httpx.HTTPError as exc:
            broke = self._transport_attempt(exc, deadline, remaining, method)
            broke.error.url = shown_url
            record(None, broke.error.kind)
            raise broke from None
        record(response.status_code)
        context: dict[str, Any] = {
            "method": method,
            "url": shown_url,
            "status": response.status_code,
        }
        return answers.judge(response, self.spec, context, request.raw)

    def exchange_sender(
        self, calls: list[CallRecord], number: int, deadline: Deadline
    ) -> tokens.Send:
        """Sends a token exchange, recorded in `calls` and bounded like every other request:
        its phases by what is left of `deadline`, its body by max_response_bytes and the
        deadline (`_read_capped`)."""

        def send(request: httpx.Request) -> httpx.Response:
            remaining = self.time_left(deadline, request.method, number)
            request.extensions["timeout"] = self.limits.phase_timeout(remaining).as_dict()
            shown_url = redact(str(request.url))
            started = time.perf_counter()

            def record(status: int | None, error: str | None = None) -> None:
                elapsed = round((time.perf_counter() - started) * 1000, 2)
                calls.append(CallRecord(request.method, shown_url, status, elapsed, number, error))
                log.debug("token exchange %s %s -> %s", request.method, shown_url, status or error)

            try:
                response = self.channel.http.send(request, stream=True)
                try:
                    self._read_capped(response, deadline, request.method, shown_url)
                finally:
                    response.close()
            except AttemptFailed as failed:
                record(response.status_code, failed.error.kind)
                raise
            except httpx.HTTPError as exc:
                broke = self._transport_attempt(exc, deadline, remaining, request.method)
                broke.error.url = shown_url
                record(None, broke.error.kind)
                # auth.Credentials marks it not processed: the action's request was not sent.
                raise broke.error from None
            record(response.status_code)
            return response

        return send

    def time_left(self, deadline: Deadline, method: str, number: int) -> float:
        """Seconds left before `deadline`, or AttemptFailed (a RequestTimeout) if none."""
        remaining = deadline.left()
        if remaining <= 0:
            raise AttemptFailed(
                errormap.FAILURES["deadline_before_send"].build(
                    f"{self.spec.name}: {deadline.whose} ran out before attempt {number}.",
                    hint=deadline.hint,
                    method=method,
                )
            )
        return remaining

    def _read_capped(
        self, response: httpx.Response, deadline: Deadline, method: str, shown_url: str
    ) -> None:
        """Read the body, refusing one over max_response_bytes (decompressed, so a small
        gzip bomb counts at its real size) and one still dripping in past the deadline:
        read_timeout bounds each read, not the sum of a slow body's reads."""
        cap = self.limits.max_response_bytes
        context: dict[str, Any] = {
            "method": method,
            "url": shown_url,
            "status": response.status_code,
        }
        declared = response.headers.get("content-length", "")
        if (
            declared.isascii()
            and declared.isdigit()
            and int(declared) > cap
            and not response.headers.get("content-encoding")
        ):
            raise AttemptFailed(self._too_large(cap, context))
        chunks: list[bytes] = []
        size = 0
        for chunk in _decoded(response, cap):
            size += len(chunk)
            if size > cap:
                raise AttemptFailed(self._too_large(cap, context))
            chunks.append(chunk)
            if deadline.left() <= 0:
                raise AttemptFailed(
                    errormap.answered("late_answer", response.status_code).build(
                        f"{self.spec.name} was still sending its answer when "
                        f"{deadline.whose} ran out.",
                        hint=deadline.hint,
                        **context,
                    )
                )
        # What Response.read() would have stored: .content, .text and .json() use it.
        response._content = b"".join(chunks)

    def _too_large(self, cap: int, context: dict[str, Any]) -> errors.CallError:
        return errormap.answered("too_large", context.get("status")).build(
            f"{self.spec.name} answered with a body larger than max_response_bytes ({cap} "
            "bytes); it was not read further.",
            hint="Narrow the request (smaller pages), or raise max_response_bytes for this "
            "connection if such answers are expected.",
            **context,
        )

    def _transport_attempt(
        self, exc: httpx.HTTPError, deadline: Deadline, remaining: float, method: str
    ) -> AttemptFailed:
        """A transport failure of an attempt that had `remaining` seconds, as our error."""
        failure = transport_failure(exc, self.spec.name)
        if deadline.by_step and self.limits.cut_short(exc, remaining):
            # The step's time is spent, not the connection's: say so, and try no more.
            failure = errors.RequestTimeout(
                f"{self.spec.name}: the step's timeout ran out while waiting for the answer.",
                hint=deadline.hint,
                processed=failure.processed,
                transient=False,
            )
        failure.method = method
        return AttemptFailed(failure)

    def _pace(self, request: LogicalRequest, rate: RateLimitSpec, number: int) -> None:
        """Wait for the start the window gives this attempt; RateLimitedError (nothing sent)
        if that start is past the request's deadline."""
        key = (rate.requests, rate.per_seconds)
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = RateLimiter(*key, sleep=self._sleep, windows=self._windows)
            self._limiters[key] = limiter
        endpoint = f"{request.method} {request.path}"
        deadline = request.deadline
        try:
            limiter.acquire(
                window_key(self.spec.name, self._account, key, endpoint), deadline.left()
            )
        except WaitTooLong as late:
            raise AttemptFailed(
                errormap.FAILURES["rate_wait_past_deadline"].build(
                    f"{self.spec.name}: its rate limit ({rate.requests} requests per "
                    f"{rate.per_seconds:g} s) allows attempt {number} of {endpoint} in "
                    f"{late.wait:.1f} s, after {deadline.whose} ends; it was not sent.",
                    method=request.method,
                    retry_after=round(late.wait, 3),
                )
            ) from None


def _decoded(response: httpx.Response, cap: int) -> Iterator[bytes]:
    """The body's decoded pieces as they arrive. A gzip body is inflated with ISA-L, no
    piece longer than `cap` + 1 bytes, so a bomb is refused before it fills memory; a
    broken one raises httpx's DecodingError, as httpx's own decoder would. A body read
    already (a response made in memory) is httpx's, decoded."""
    encodings = response.headers.get_list("content-encoding", split_commas=True)
    if response.is_stream_consumed or [e.strip().lower() for e in encodings] != ["gzip"]:
        yield from response.iter_bytes()
        return
    inflate = isal_zlib.decompressobj(_GZIP_WBITS)
    try:
        for raw in response.iter_raw():
            while raw:
                yield inflate.decompress(raw, max_length=cap + 1)
                raw = inflate.unconsumed_tail
        yield inflate.flush()
    except _INFLATE_ERROR as exc:
        raise httpx.DecodingError(str(exc), request=response.request) from None
