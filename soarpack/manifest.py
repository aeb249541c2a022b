"""Typed views of manifest.yaml entries.

The manifest is checked against `schemas/manifest.schema.json` first; these structs
only give the engine attribute access to what that check already guaranteed. They are
msgspec Structs, not pydantic models: `soarpack invoke` loads them on every start, and
pydantic's import alone took longer than the action's HTTP call. msgspec still checks
types and unknown fields when the manifest is converted (`Manifest.from_data`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Literal

import msgspec
from msgspec import field

SideEffect = Literal["read", "write", "destructive"]


class _Model(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    # Subclasses repeat frozen (for type checkers) and kw_only (msgspec applies it per class).
    pass


class RateLimitSpec(_Model, frozen=True, kw_only=True):
    requests: int
    per_seconds: float


class TokenExchangeSpec(_Model, frozen=True, kw_only=True):
    # The schema's enum names the kinds; soarpack.http.tokens.PROVIDERS implements them.
    kind: str
    path: str


class AuthSpec(_Model, frozen=True, kw_only=True):
    place: Literal["body", "header", "query"]
    name: str
    setting: str
    prefix: str = ""
    # Obtains the token at run time when `setting` is not configured.
    exchange: TokenExchangeSpec | None = None
    # Settings that, when set, replace `name` and the scheme word of `prefix`
    # (tenants behind a gateway may want another header than Authorization).
    name_setting: str | None = None
    scheme_setting: str | None = None

    def placement(self, settings: Mapping[str, Any]) -> tuple[str, str]:
        """The header/field name and the text before the token, settings applied."""
        name = str(settings.get(self.name_setting) or self.name) if self.name_setting else self.name
        if self.scheme_setting and self.scheme_setting in settings:
            scheme = str(settings[self.scheme_setting])
            return name, f"{scheme} " if scheme else ""
        return name, self.prefix


class VendorErrorSpec(_Model, frozen=True, kw_only=True):
    status_field: str
    error_values: list[str | int | bool]
    message_fields: list[str]
    error_list_fields: list[str] = field(default_factory=list)
    auth_pattern: str | None = None

    def __post_init__(self) -> None:
        # Not JSON Schema's format "regex": that is ECMA-262, and this is Python's `re`
        # syntax, (?i) included.
        if self.auth_pattern is not None:
            try:
                re.compile(self.auth_pattern)
            except re.error as exc:
                raise ValueError(
                    f"auth_pattern is not a Python regular expression: {exc}"
                ) from None

    def auth_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.auth_pattern) if self.auth_pattern else None


class StatusOverride(_Model, frozen=True, kw_only=True):
    error: str | None = None
    hint: str | None = None


class ProbeSpec(_Model, frozen=True, kw_only=True):
    """What the connection's test action sends: its cheapest authenticated read.

    The declared request of `action` (of the same connection), once, with `inputs` and
    the inputs `setting_inputs` takes from the connection's settings. The test returns
    ok, base_url and latency_ms, and each setting of `report_settings`; an answer with a
    status in `accept_status` still proves the credential was accepted.
    """

    action: str
    inputs: dict[str, Any] = field(default_factory=dict)
    setting_inputs: dict[str, str] = field(default_factory=dict)
    accept_status: list[int] = field(default_factory=list)
    report_settings: list[str] = field(default_factory=list)


class ConnectionSpec(_Model, frozen=True, kw_only=True):
    name: str
    title: str
    description: str
    settings: dict[str, Any]
    auth: AuthSpec
    vendor_errors: VendorErrorSpec | None = None
    rate_limit: RateLimitSpec | None = None
    status_overrides: dict[int, StatusOverride] = field(default_factory=dict)
    input_defaults: dict[str, str] = field(default_factory=dict)
    test_action: str
    # Declared when the test action has no code of its own (soarpack.probe runs it).
    probe: ProbeSpec | None = None


class QueryClauses(_Model, frozen=True, kw_only=True):
    into: str
    fields: dict[str, str]


_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


@functools.lru_cache(maxsize=1024)
def _path_params(path: str) -> tuple[str, ...]:
    # Asked on every invocation; the declared paths are few.
    return tuple(_PATH_PARAM.findall(path))


class HttpSpec(_Model, frozen=True, kw_only=True):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    query: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    query_clauses: QueryClauses | None = None
    paging: Literal["limit_skip", "page_number"] | None = None
    records: str | None = None
    output: str | None = None
    # Query parameters every request carries, whatever the inputs (e.g. an event type).
    fixed_query: dict[str, str] = field(default_factory=dict)
    # The handler sends the request itself (`Session.send_declared`), e.g. to read an
    # answer that is not JSON or to poll it; the engine sends nothing first.
    handler_sends: bool = False

    @property
    def sent_by_handler(self) -> bool:
        """Whether the handler sends the declared request (`Session.send_declared`): when
        declared so, and for numbered pages, whose end only the vendor's answer tells
        (MetaAccess: a 413)."""
        return self.handler_sends or self.paging == "page_number"

    @property
    def path_params(self) -> tuple[str, ...]:
        return _path_params(self.path)

    def input_names(self) -> set[str]:
        """Every input this description places somewhere."""
        names = (
            set(self.query) | set(self.body) | set(self.headers.values()) | set(self.path_params)
        )
        if self.query_clauses:
            names |= set(self.query_clauses.fields) | {self.query_clauses.into}
        if self.paging == "limit_skip":
            names |= {"limit", "skip", "all_pages", "max_records"}
        elif self.paging == "page_number":
            names |= {"page", "limit"}
        return names


class OperationInfo(_Model, frozen=True, kw_only=True):
    summary: str
    binding: Literal["documented", "assumed"]
    responses: list[int] = field(default_factory=list)


class VerifySpec(_Model, frozen=True, kw_only=True):
    """How to check that a write or destructive action's effect is there (playbook resume).

    `action` is a read action of the same connection, run with `with` (values may be
    `${{ }}` expressions over `inputs`, the step's resolved inputs); `done_when` is an
    expression over `result` (that read's data; null when the read answers NotFoundError)
    and `inputs`, true when the effect is there. The runner evaluates both; the pack
    checks (soarpack.checks) only check what they refer to.
    """

    action: str
    # The manifest says `with` (a Python keyword); dumped back under that name too.
    with_: dict[str, Any] = field(default_factory=dict, name="with")
    done_when: str


class ActionSpec(_Model, frozen=True, kw_only=True):
    name: str
    title: str
    description: str
    connection: str
    side_effect: SideEffect
    # Why: for a destructive action, the worst thing an input can make it do.
    side_effect_reason: str | None = None
    handler: str | None = None
    http: HttpSpec | None = None
    operation: OperationInfo | None = None
    rate_limit: RateLimitSpec | None = None
    input: dict[str, Any]
    output: dict[str, Any]
    examples: list[dict[str, Any]]
    verify: VerifySpec | None = None

    @property
    def vendor(self) -> str:
        return self.name.split(".", 1)[0]


class PackInfo(_Model, frozen=True, kw_only=True):
    name: str
    title: str
    description: str = ""


class Manifest(_Model, frozen=True, kw_only=True):
    pack: PackInfo
    connections: dict[str, ConnectionSpec]
    actions: dict[str, ActionSpec]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Manifest:
        """Build from the raw YAML mapping (already schema-checked), naming each entry.
        Raises msgspec.ValidationError, whose message gives the path, on a mismatch."""
        named = {
            "pack": data["pack"],
            "connections": {n: {**c, "name": n} for n, c in data["connections"].items()},
            "actions": {n: {**a, "name": n} for n, a in data["actions"].items()},
        }
        # Not strict: YAML and JSON keys are text, and status_overrides are keyed by number.
        return msgspec.convert(named, cls, strict=False)


def to_data(spec: msgspec.Struct) -> dict[str, Any]:
    """`spec` as plain data under the manifest's own names, without fields left unset."""
    data: dict[str, Any] = _without_none(msgspec.to_builtins(spec))
    return data


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value
