"""Schemathesis against the running server: bounded generated requests for every
operation of the generated OpenAPI document, each answer checked against it.

The checks are schemathesis's defaults (documented status codes, content types,
headers and bodies; invalid input refused) with two replaced, because the server is a
gateway to vendors and the sandbox plays the vendor truthfully:

- `positive_data_acceptance` (every schema-valid request gets a 2xx): a valid request
  may name an alert the tenant does not have, and the honest answer is the vendor's 404.
- `not_a_server_error` becomes `only_vendor_failures`: the server itself never answers
  5xx (no crash, no misconfiguration), and a 502/504 must be a vendor's failure passed
  on, with the vendor's error in the body (e.g. Lacework Edge refusing a login for an
  account the tenant does not know is a 403 from the vendor: 502 to our caller).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, positive_data_acceptance

from soarpack import errors
from soarpack.pack import Pack
from soarpack.server.openapi import build_openapi
from tests.server.conftest import SECRETS, ApiFactory

pytestmark = pytest.mark.slow

# Error classes a vendor's failure arrives as (soarpack.errors.CallError's tree).
VENDOR_FAILURES = {
    cls.__name__
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.CallError)
}

# Examples per operation: enough to reach each body's branches, bounded for the default
# run (about 130 operations).
EXAMPLES = 4


def only_vendor_failures(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx of the server's own; a 502/504 carries the vendor's failure."""
    if response.status_code < 500:
        return None
    error = response.json().get("error", {})
    if response.status_code in (502, 504) and error.get("type") in VENDOR_FAILURES:
        return None
    raise AssertionError(f"the server answered {response.status_code}: {error}")


@pytest.fixture(scope="module")
def operations(pack: Pack) -> list[Any]:
    schema = schemathesis.openapi.from_dict(build_openapi(pack))
    return [result.ok() for result in schema.get_all_operations()]


def test_no_server_errors_and_no_schema_violations(
    make_api: ApiFactory, operations: list[Any]
) -> None:
    api = make_api(action_timeout=10)
    headers = {"Authorization": f"Bearer {SECRETS['operator']}"}
    failures: list[str] = []
    calls = 0
    for operation in operations:
        try:
            calls += _exercise(operation, api.base_url, headers)
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert failures == [], "\n\n".join(failures)
    assert calls >= len(operations)


def _exercise(operation: Any, base_url: str, headers: dict[str, str]) -> int:
    """Run the operation's generated cases; returns how many requests were sent."""
    sent = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        nonlocal sent
        sent += 1
        case = data.draw(operation.as_strategy())
        case.call_and_validate(
            base_url=base_url,
            headers=headers,
            excluded_checks=[positive_data_acceptance, not_a_server_error],
            additional_checks=[only_vendor_failures],
        )

    check()
    return sent
