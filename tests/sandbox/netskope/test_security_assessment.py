"""Security Assessment alerts: the fields of the vendor's examples, and its two
documented compliance queries (`eq` and `in [...]`) sent exactly as documented."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from soarpack.sandbox import SandboxState
from soarpack.sandbox.netskope.query import compile_query
from tests.sandbox.sandbox_helpers import NOW, TOKEN, data, export

DAY = 86_400
SA = "Security Assessment"
# The query strings of the alerts document's two compliance examples, as sent there.
EQ_QUERY = (
    "timeperiod=86400&type=Security%20Assessment&limit=1&stimeperiod=2592000"
    "&query=%28compliance_standards.standard%20eq%20%27CSA-CCM-3.0.1%27%29"
)
IN_QUERY = (
    "timeperiod=2592000&query=%28compliance_standards.standard%20in%20%5B%27CSA-CCM-3.0.1"
    "%27%2C%20%27NIST-CSF-1.1%27%2C%20%27CIS-AZRFND-1.0.0%27%5D%29"
)
IN_STANDARDS = {"CSA-CCM-3.0.1", "NIST-CSF-1.1", "CIS-AZRFND-1.0.0"}
# Every field of the document's first Security Assessment example.
EXAMPLE_FIELDS = {
    "alert_type", "region_id", "sa_profile_name", "app", "object_type",
    "compliance_standards", "account_name", "region_name", "category", "timestamp",
    "sa_profile_id", "sa_rule_id", "iaas_remediated", "access_method", "policy",
    "sa_rule_name", "type", "account_id", "iaas_asset_tags", "sa_rule_severity", "object",
    "alert", "user", "device", "count", "asset_object_id", "instance_id", "alert_name",
    "activity", "action", "browser", "os", "resource_category", "policy_id",
    "organization_unit", "userkey", "ur_normalized", "site", "traffic_type", "ccl",
    "acked", "_insertion_epoch_timestamp", "_id", "cci", "sa_rule_remediation",
    "appcategory",
}  # fmt: skip
STANDARD_FIELDS = {"control", "description", "section", "standard", "reference_url", "id"}


def documented(client: httpx.Client, query_string: str) -> list[dict[str, Any]]:
    """POST /api/v1/alerts with the document's query string and the token in the body."""
    return data(client.post(f"/api/v1/alerts?{query_string}", json={"token": TOKEN}))


def standards(alert: dict[str, Any]) -> set[str]:
    return {entry["standard"] for entry in alert.get("compliance_standards", [])}


def newest_first(alerts: list[dict[str, Any]]) -> list[str]:
    return [a["_id"] for a in sorted(alerts, key=lambda a: (-a["timestamp"], a["_id"]))]


def test_security_assessment_alerts_carry_the_documented_fields(state: SandboxState) -> None:
    assessments = [a for a in state.alerts if a["alert_type"] == SA]
    assert len(assessments) >= 10
    for alert in assessments:
        assert set(alert) >= EXAMPLE_FIELDS, EXAMPLE_FIELDS - set(alert)
        assert alert["compliance_standards"]
        assert all(set(s) == STANDARD_FIELDS for s in alert["compliance_standards"])
        assert alert["sa_rule_name"] == alert["alert_name"]
        assert alert["activity"] == "Introspection Scan"
        assert alert["sa_rule_remediation"].startswith("<html>")
    # Only Security Assessment alerts map to compliance standards.
    assert all("compliance_standards" not in a for a in state.alerts if a["alert_type"] != SA)


def test_the_documented_eq_query_finds_recent_assessments_of_that_standard(
    client: httpx.Client, state: SandboxState
) -> None:
    expected = [
        a
        for a in state.alerts
        if a["alert_type"] == SA and a["timestamp"] > NOW - DAY and "CSA-CCM-3.0.1" in standards(a)
    ]
    assert expected, "the seeded tenant has recent CSA-CCM findings"
    # As documented: limit=1, so the newest one.
    assert [a["_id"] for a in documented(client, EQ_QUERY)] == newest_first(expected)[:1]
    everything = documented(client, EQ_QUERY.replace("limit=1", "limit=9999"))
    assert [a["_id"] for a in everything] == newest_first(expected)


def test_the_documented_in_query_finds_assessments_of_any_listed_standard(
    client: httpx.Client, state: SandboxState
) -> None:
    found = documented(client, IN_QUERY.replace("timeperiod", "limit=9999&timeperiod"))
    expected = [
        a for a in state.alerts if a["timestamp"] > NOW - 30 * DAY and standards(a) & IN_STANDARDS
    ]
    assert [a["_id"] for a in found] == newest_first(expected)
    assert {a["alert_type"] for a in found} == {SA}
    # Every listed standard counts, not only the first: some alerts match by NIST or
    # CIS alone, and each listed standard is met by some alert.
    assert any("CSA-CCM-3.0.1" not in standards(a) for a in found)
    assert all(any(name in standards(a) for a in found) for name in IN_STANDARDS)


def test_assessments_are_the_same_for_the_same_seed(state: SandboxState) -> None:
    again = SandboxState(token=TOKEN, now=NOW)
    assert [a for a in again.alerts if a["alert_type"] == SA] == [
        a for a in state.alerts if a["alert_type"] == SA
    ]


def test_the_v2_security_assessment_stream_has_the_same_fields(v2: httpx.Client) -> None:
    records = export(v2, "alerts/securityassessment").json()["result"]
    assert len(records) == 10
    for record in records:
        assert EXAMPLE_FIELDS - {"ur_normalized", "policy_id"} <= set(record)
        assert record["alert_type"] == SA
    # The data-export endpoint takes no query, but its records answer the same one.
    matches = compile_query("compliance_standards.standard in ['NIST-CSF-1.1', 'CSA-CCM-3.0.1']")
    assert any(matches(record) for record in records)


@pytest.mark.parametrize("standard", sorted(IN_STANDARDS))
def test_report_counts_assessments_by_standard(
    client: httpx.Client, state: SandboxState, standard: str
) -> None:
    rows = data(
        client.post(
            "/api/v1/report",
            json={
                "token": TOKEN,
                "type": "alert",
                "groupby": "compliance_standards.standard",
                "timeperiod": 7776000,
            },
        )
    )
    counts = {row["compliance_standards.standard"]: row["count"] for row in rows}
    assert counts[standard] == sum(standard in standards(a) for a in state.alerts)
