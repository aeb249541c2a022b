"""Deterministic, seeded Netskope alerts for the v1 sandbox (see `seeded.py`).

Alerts follow the fields of the vendor's alert examples; their users are drawn from
the clients' users so a playbook can join an alert to a device by email. Security
Assessment alerts carry the posture fields of the vendor's examples (profile, rule,
compliance standards, cloud account; see `security_assessment.py`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from soarpack.sandbox.netskope.clients import generate_clients
from soarpack.sandbox.netskope.security_assessment import security_assessment_fields
from soarpack.sandbox.netskope.seeded import DAY, Record, hex_string, quota, resolve_now

__all__ = ["ALERT_TYPES", "generate_alerts"]

ALERT_WINDOW_SECONDS = 90 * DAY

ALERT_TYPES = (
    "anomaly",
    "Compromised Credential",
    "policy",
    "Legal Hold",
    "malsite",
    "Malware",
    "DLP",
    "Security Assessment",
    "watchlist",
    "quarantine",
    "Remediation",
    "uba",
)

# How alerts name the device and its OS, per host_info.os code; an unknown code is "other".
_DEVICE_NAMES = {0: "Windows Device", 1: "Mac Device", 3: "Android Device", 4: "Windows Device"}
_OS_PREFIXES = {0: "", 1: "macOS ", 3: "Android ", 4: ""}

# (app, appcategory, ccl, cci)
_APPS: list[tuple[str, str, str, int]] = [
    ("Box", "Cloud Storage", "excellent", 92),
    ("Dropbox", "Cloud Storage", "high", 84),
    ("Google Drive", "Cloud Storage", "high", 88),
    ("Microsoft OneDrive for Business", "Cloud Storage", "excellent", 94),
    ("WeTransfer", "Cloud Storage", "medium", 61),
    ("Slack", "Collaboration", "high", 86),
    ("Microsoft Teams", "Collaboration", "excellent", 91),
    ("Salesforce", "CRM", "excellent", 95),
    ("GitHub", "Development Tools", "high", 83),
    ("Gmail", "Webmail", "high", 80),
    ("Amazon Web Services", "IaaS/PaaS", "excellent", 94),
    ("Microsoft Azure", "IaaS/PaaS", "excellent", 96),
]
_MALICIOUS_SITES = ("update-secure-login.net", "free-pdf-tools.biz", "cdn-imgstatic.xyz")
_ACCESS_METHODS = ("Client", "Client", "Client", "Reverse Proxy", "API Connector")
_BROWSERS = ("Chrome", "Edge", "Firefox", "Safari", "Native")
_ACTIVITIES = ("Upload", "Download", "Share", "Edit", "Login Attempt", "Post", "View")

_DLP_RULES: list[tuple[str, str, str]] = [
    # (profile, rule, severity)
    ("DLP-PCI", "Credit Card Number", "Critical"),
    ("DLP-PCI", "Credit Card Number with Expiry", "High"),
    ("DLP-PII", "US Social Security Number", "High"),
    ("DLP-PII", "Passport Number", "Medium"),
    ("DLP-HIPAA", "Medical Record Number", "High"),
    ("Source Code", "Private Key", "Critical"),
    ("Source Code", "Python Source", "Low"),
]
_FILE_STEMS = ("customers", "payroll", "q3_forecast", "patients", "export", "backup", "notes")
_FILE_EXTS = (".xlsx", ".csv", ".docx", ".pdf", ".zip", ".txt")

# alert_type -> (type field, alert names, action)
_ALERT_SHAPES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "anomaly": ("anomaly", ("Bulk download", "Unusual login location"), ("alert",)),
    "Compromised Credential": ("nspolicy", ("Credential found in breach",), ("alert",)),
    "policy": (
        "nspolicy",
        ("Block personal cloud storage", "Block unsanctioned apps", "Coach on file sharing"),
        ("block", "alert", "useralert"),
    ),
    "Legal Hold": ("nspolicy", ("Legal hold copy",), ("alert",)),
    "malsite": ("nspolicy", ("Malicious site visited",), ("block", "alert")),
    "Malware": ("nspolicy", ("Malware detected in file",), ("block", "quarantine")),
    "DLP": ("nspolicy", ("DLP violation",), ("block", "alert", "useralert")),
    "Security Assessment": ("nspolicy", ("Storage bucket is publicly readable",), ("alert",)),
    "watchlist": ("nspolicy", ("Watchlisted user activity",), ("alert",)),
    "quarantine": ("nspolicy", ("File quarantined",), ("quarantine",)),
    "Remediation": ("nspolicy", ("Public link removed",), ("remediate",)),
    "uba": ("anomaly", ("Data exfiltration risk", "Rare app for user"), ("alert",)),
}
_NON_DLP_TYPES = [t for t in ALERT_TYPES if t != "DLP"]
# Policy alerts dominate real tenants; the rarer kinds still appear often enough to query.
_NON_DLP_WEIGHTS = [
    12 if t == "policy" else 6 if t in ("anomaly", "malsite") else 3 for t in _NON_DLP_TYPES
]

DLP_SHARE = 0.30
ACKED_SHARE = 0.40
RECENT_SHARE = 0.30  # alerts in the last 24 hours


def generate_alerts(
    rng: random.Random,
    n: int = 600,
    now: int | None = None,
    clients: Sequence[Record] | None = None,
) -> list[Record]:
    """`n` alerts over the 90 days before `now`, newest first.

    Users come from `clients` (generated from `rng` when not given) and each alert's
    device/os reflect one of that user's devices.
    """
    now = resolve_now(now)
    if clients is None:
        clients = generate_clients(rng, now=now)
    owners = [(user["username"], client) for client in clients for user in client["users"]]
    if not owners:
        raise ValueError("alerts need at least one client user to attribute them to")
    is_dlp = quota(rng, n, DLP_SHARE)
    is_acked = quota(rng, n, ACKED_SHARE)
    is_recent = quota(rng, n, RECENT_SHARE)
    alerts: list[Record] = []
    for index in range(n):
        alert_type = (
            "DLP" if is_dlp[index] else rng.choices(_NON_DLP_TYPES, weights=_NON_DLP_WEIGHTS)[0]
        )
        # Stay a minute clear of `now` so the insertion time never lands in the future.
        oldest = now - (DAY if is_recent[index] else ALERT_WINDOW_SECONDS) + 1
        timestamp = rng.randint(oldest, now - 60)
        email, client = rng.choice(owners)
        alerts.append(_alert(rng, alert_type, timestamp, email, client, is_acked[index]))
    alerts.sort(key=lambda record: (-int(record["timestamp"]), str(record["_id"])))
    return alerts


def _alert_os(os_code: Any, os_version: Any) -> str:
    if os_code not in _OS_PREFIXES or not os_version:
        return "unknown"
    return f"{_OS_PREFIXES[os_code]}{os_version}"


def _alert(
    rng: random.Random, alert_type: str, timestamp: int, email: str, client: Record, acked: bool
) -> Record:
    type_field, names, actions = _ALERT_SHAPES[alert_type]
    app, appcategory, ccl, cci = rng.choice(_APPS)
    traffic_type = "CloudApp"
    site = app
    if alert_type == "malsite":
        app, appcategory, ccl, cci = rng.choice(_MALICIOUS_SITES), "Security Risk", "poor", 12
        site, traffic_type = app, "Web"
    host = client["host_info"]
    os_code = host.get("os")
    access_method = rng.choice(_ACCESS_METHODS)
    if alert_type == "Security Assessment":
        access_method = "API Connector"
    policy_name = rng.choice(names)
    alert: Record = {
        "_id": hex_string(rng, 24),
        "alert": "yes",
        "alert_type": alert_type,
        "type": type_field,
        "alert_name": policy_name,
        "app": app,
        "appcategory": appcategory,
        "category": appcategory,
        "user": email,
        "userkey": email,
        "ur_normalized": email,
        "acked": "true" if acked else "false",
        "timestamp": timestamp,
        "_insertion_epoch_timestamp": timestamp + rng.randint(1, 30),
        "policy": policy_name,
        "action": rng.choice(actions),
        "activity": rng.choice(_ACTIVITIES),
        "access_method": access_method,
        "count": rng.choices([1, 2, 3, 5], weights=[80, 10, 6, 4])[0],
        "device": _DEVICE_NAMES.get(os_code, "other"),
        "hostname": host.get("hostname"),
        "os": _alert_os(os_code, host.get("os_version")),
        "browser": rng.choice(_BROWSERS),
        "site": site,
        "traffic_type": traffic_type,
        "ccl": ccl,
        "cci": cci,
    }
    if alert_type == "Security Assessment":
        # From an rng of the alert's own: the tenant's main draws stay as they were,
        # so every other alert is byte-identical to before these fields existed.
        alert.update(security_assessment_fields(random.Random(f"sa:{alert['_id']}")))
        del alert["hostname"]  # a posture scan reports an account, not a device
    if alert_type == "DLP":
        profile, rule, severity = rng.choice(_DLP_RULES)
        alert.update(
            {
                "dlp_profile": profile,
                "dlp_rule": rule,
                "dlp_rule_severity": severity,
                "file_name": rng.choice(_FILE_STEMS) + rng.choice(_FILE_EXTS),
            }
        )
    return alert
