"""Typed views of manifest.yaml entries.

The manifest is checked against `schemas/manifest.schema.json` first; these models
only give the engine attribute access to what that check already guaranteed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SideEffect = Literal["read", "write", "destructive"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RateLimitSpec(_Model):
    requests: int
    per_seconds: float


class TokenExchangeSpec(_Model):
    # The schema's enum names the kinds; soarpack.http.tokens.PROVIDERS implements them.
    kind: str
    path: str


class AuthSpec(_Model):
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


class VendorErrorSpec(_Model):
    status_field: str
    error_values: list[str | int | bool]
    message_fields: list[str]
    error_list_fields: list[str] = Field(default_factory=list)
    auth_pattern: str | None = None

    def auth_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.auth_pattern) if self.auth_pattern else None


class StatusOverride(_Model):
    error: str | None = None
    hint: str | None = None


class ConnectionSpec(_Model):
    name: str
    title: str
    description: str
    settings: dict[str, Any]
    auth: AuthSpec
    vendor_errors: VendorErrorSpec | None = None
    rate_limit: RateLimitSpec | None = None
    status_overrides: dict[int, StatusOverride] = Field(default_factory=dict)
    input_defaults: dict[str, str] = Field(default_factory=dict)
    test_action: str


class QueryClauses(_Model):
    into: str
    fields: dict[str, str]


class HttpSpec(_Model):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    query: list[str] = Field(default_factory=list)
    body: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict)
    query_clauses: QueryClauses | None = None
    paging: Literal["limit_skip", "page_number"] | None = None
    records: str | None = None
    output: str | None = None

    @property
    def sent_by_handler(self) -> bool:
        """Numbered pages end where the vendor's answer says (MetaAccess: a 413), so the
        action's handler sends the declared request per page (`Session.send_declared`)."""
        return self.paging == "page_number"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{([A-Za-z_][A-Za-z0-9_]*)}", self.path)

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


class OperationInfo(_Model):
    summary: str
    binding: Literal["documented", "assumed"]
    responses: list[int] = Field(default_factory=list)


class VerifySpec(_Model):
    """How to check that a write or destructive action's effect is there (playbook resume).

    `action` is a read action of the same connection, run with `with` (values may be
    `${{ }}` expressions over `inputs`, the step's resolved inputs); `done_when` is an
    expression over `result` (that read's data; null when the read answers NotFoundError)
    and `inputs`, true when the effect is there. The runner evaluates both; the pack
    checks (soarpack.checks) only check what they refer to.
    """

    # The manifest says `with`; dumped back under that name too (`actions describe --json`).
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True
    )

    action: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    done_when: str


class ActionSpec(_Model):
    name: str
    title: str
    description: str
    connection: str
    side_effect: SideEffect
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


class PackInfo(_Model):
    name: str
    title: str
    description: str = ""


class Manifest(_Model):
    pack: PackInfo
    connections: dict[str, ConnectionSpec]
    actions: dict[str, ActionSpec]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Manifest:
        """Build from the raw YAML mapping (already schema-checked), naming each entry."""
        return cls(
            pack=PackInfo(**data["pack"]),
            connections={n: ConnectionSpec(name=n, **c) for n, c in data["connections"].items()},
            actions={n: ActionSpec(name=n, **a) for n, a in data["actions"].items()},
        )
