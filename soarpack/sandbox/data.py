"""Deterministic, seeded tenant data for the Netskope v1 sandbox.

Everything is drawn from the `random.Random` passed in (never the global one), and
from `now`, so the same seed and the same `now` give byte-identical data: a failing
test can be replayed, and a demo shows the same hosts every time.

Clients follow the record layout of the vendor's "Get Client Data" page, numeric
codes included. A small, fixed share of clients carries a code the vendor's mapping
does not list, so consumers have something real to exercise "unknown code" handling.
Alerts follow the fields of the vendor's alert examples; their users are drawn from
the clients' users so a playbook can join an alert to a device by email.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

Record = dict[str, Any]

DAY = 86_400
ALERT_WINDOW_SECONDS = 90 * DAY

# The vendor's code mappings (Get Client Data page), kept here so tests and consumers
# can check a value against them.
CLIENT_CODE_MAPPINGS: dict[str, dict[int, str]] = {
    "device_classification_status": {0: "managed", 1: "unmanaged", 2: "unknown"},
    "last_event.status": {0: "Disabled", 1: "Enabled", 2: "Uninstalled"},
    "last_event.event": {
        0: "Installed",
        1: "Tunnel Up",
        2: "Tunnel Down",
        3: "Tunnel down due to Secure Forwarder",
        4: "Tunnel down due to config error",
        5: "Tunnel down due to error",
        6: "User Disabled",
        7: "User Enabled",
        8: "Admin Disabled",
        9: "Admin Enabled",
        10: "Uninstalled",
        11: "Installation Failure",
    },
    "last_event.actor": {0: "User", 1: "Admin", 2: "System"},
    "user_source": {0: "Directory", 1: "Manual"},
    "host_info.os": {0: "Windows", 1: "Mac", 3: "Android", 4: "Windows Server"},
}

# Values just outside each mapping; 2 is the gap the vendor's os mapping skips.
_UNKNOWN_CODES: list[tuple[str, int]] = [
    ("host_info.os", 2),
    ("last_event.event", 12),
    ("last_event.actor", 3),
    ("last_event.status", 3),
    ("users.device_classification_status", 3),
    ("users.user_source", 2),
]

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

# fmt: off
_FIRST_NAMES = (
    "alice", "amir", "ana", "ben", "carlos", "chen", "dana", "david", "elena", "emma", "fatima",
    "george", "hana", "ivan", "james", "jia", "julia", "kai", "laura", "leo", "maria", "mateo",
    "mei", "nina", "noah", "olga", "omar", "priya", "raj", "rosa", "sam", "sara", "sofia", "tom",
    "uma", "victor", "wei", "yara", "yusuf", "zoe",
)
_LAST_NAMES = (
    "adams", "baker", "chen", "diaz", "evans", "fischer", "garcia", "hughes", "ito", "jones",
    "kim", "lopez", "martin", "nguyen", "novak", "okafor", "patel", "quinn", "rossi", "silva",
    "smith", "tanaka", "usman", "varga", "wang", "weber", "young", "zhang",
)
# fmt: on

# (os code, makes and models, os versions) for each operating system in the mapping.
_PLATFORMS: dict[int, tuple[list[tuple[str, str]], list[str]]] = {
    0: (
        [
            ("Dell Inc.", "Latitude 7420"),
            ("Dell Inc.", "XPS 13 9310"),
            ("LENOVO", "ThinkPad T14 Gen 2"),
            ("LENOVO", "ThinkPad X1 Carbon Gen 9"),
            ("HP", "EliteBook 840 G8"),
            ("Microsoft Corporation", "Surface Laptop 4"),
        ],
        ["Windows 10 Enterprise 21H2", "Windows 11 Enterprise 22H2", "Windows 11 Pro 23H2"],
    ),
    1: (
        [
            ("Apple Inc.", "MacBookPro18,1"),
            ("Apple Inc.", "MacBookAir10,1"),
            ("Apple Inc.", "Mac14,2"),
        ],
        ["12.6.1", "13.5.2", "14.2.1"],
    ),
    3: (
        [
            ("samsung", "SM-G991B"),
            ("Google", "Pixel 7"),
            ("motorola", "moto g power"),
        ],
        ["12", "13", "14"],
    ),
    4: (
        [
            ("VMware, Inc.", "VMware Virtual Platform"),
            ("Dell Inc.", "PowerEdge R640"),
        ],
        ["Windows Server 2019 Datacenter", "Windows Server 2022 Standard"],
    ),
}
# Roughly a corporate fleet: mostly Windows laptops, a fair number of Macs.
_OS_WEIGHTS = {0: 60, 1: 28, 3: 7, 4: 5}
# How alerts name the device and its OS, per host_info.os code; an unknown code is "other".
_DEVICE_NAMES = {0: "Windows Device", 1: "Mac Device", 3: "Android Device", 4: "Windows Device"}
_OS_PREFIXES = {0: "", 1: "macOS ", 3: "Android ", 4: ""}

_CLIENT_VERSIONS = ("92.1.0.805", "95.1.0.912", "97.0.0.1036", "101.1.1.1211")

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
UNMANAGED_SHARE = 0.30
UNKNOWN_CODE_SHARE = 0.02


def _hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def _guid(rng: random.Random) -> str:
    raw = _hex(rng, 32).upper()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def _quota(rng: random.Random, n: int, share: float) -> list[bool]:
    """Exactly round(n * share) True values, shuffled.

    Exact counts (rather than a coin per item) keep shares stable for any seed, so
    tests can rely on them without being tuned to one seed.
    """
    hits = round(n * share)
    flags = [True] * hits + [False] * (n - hits)
    rng.shuffle(flags)
    return flags


def _resolve_now(now: int | None) -> int:
    return int(time.time()) if now is None else int(now)


def _people(rng: random.Random, count: int) -> list[str]:
    emails: list[str] = []
    seen: set[str] = set()
    while len(emails) < count:
        local = f"{rng.choice(_FIRST_NAMES)}.{rng.choice(_LAST_NAMES)}"
        email = f"{local}@example.com"
        suffix = 2
        while email in seen:  # namesakes get a number, as a directory would do
            email = f"{local}{suffix}@example.com"
            suffix += 1
        seen.add(email)
        emails.append(email)
    return emails


def _last_event(rng: random.Random, not_before: int, now: int) -> Record:
    # Status and event are drawn together so the pair tells a coherent story.
    status = rng.choices([1, 0, 2], weights=[80, 15, 5])[0]
    if status == 1:
        event = rng.choice([0, 1, 1, 1, 7, 9])
    elif status == 0:
        event = rng.choice([2, 3, 4, 5, 6, 8, 11])
    else:
        event = 10
    actor = 0 if event in (6, 7) else 1 if event in (8, 9) else rng.choice([0, 2, 2])
    timestamp = rng.randint(min(not_before, now - 60), now - 60)
    return {"actor": actor, "event": event, "status": status, "timestamp": timestamp}


def generate_clients(rng: random.Random, n: int = 300, now: int | None = None) -> list[Record]:
    """`n` Netskope Client records, sorted by `_id`. `now` defaults to the current time."""
    now = _resolve_now(now)
    # Fewer people than devices: some people have a laptop and a phone.
    people = _people(rng, max(1, (n * 4) // 5))
    unknown_slots: set[int] = set()
    if n:
        unknown_slots = set(rng.sample(range(n), max(1, round(n * UNKNOWN_CODE_SHARE))))
    clients: list[Record] = []
    for index in range(n):
        os_code = rng.choices(list(_OS_WEIGHTS), weights=list(_OS_WEIGHTS.values()))[0]
        models, versions = _PLATFORMS[os_code]
        make, model = rng.choice(models)
        install_time = now - rng.randint(2 * DAY, 730 * DAY)
        user_count = rng.choices([1, 2, 3], weights=[85, 12, 3])[0]
        users = [
            _client_user(rng, email, install_time, now)
            for email in rng.sample(people, min(user_count, len(people)))
        ]
        client: Record = {
            "_id": _hex(rng, 24),
            "client_install_time": install_time,
            "device_id": _guid(rng) if os_code != 1 else "C02" + _hex(rng, 9).upper(),
            "host_info": {
                "device_make": make,
                "device_model": model,
                "hostname": f"LT-{_hex(rng, 6).upper()}",
                "os": os_code,
                "os_version": rng.choice(versions),
                "nsdeviceuid": _guid(rng),
            },
            "last_event": _last_event(rng, install_time, now),
            "users": users,
        }
        if index in unknown_slots:
            _plant_unknown_code(rng, client)
        clients.append(client)
    _apply_unmanaged_quota(rng, clients)
    clients.sort(key=lambda record: str(record["_id"]))
    return clients


def _client_user(rng: random.Random, email: str, install_time: int, now: int) -> Record:
    added = rng.randint(install_time, max(install_time, now - DAY))
    return {
        "_id": _hex(rng, 24),
        "client_version": rng.choice(_CLIENT_VERSIONS),
        "device_classification_status": 0,  # the unmanaged quota is applied afterwards
        "last_event": _last_event(rng, added, now),
        "user_added_time": added,
        "user_source": rng.choices([0, 1], weights=[85, 15])[0],
        "userkey": email,
        "username": email,
    }


def _apply_unmanaged_quota(rng: random.Random, clients: list[Record]) -> None:
    entries = [user for client in clients for user in client["users"]]
    unmanaged = _quota(rng, len(entries), UNMANAGED_SHARE)
    for user, is_unmanaged in zip(entries, unmanaged, strict=True):
        if user["device_classification_status"] == 3:
            continue  # keep the planted unknown code
        if is_unmanaged:
            user["device_classification_status"] = 1
        elif rng.random() < 0.07:
            user["device_classification_status"] = 2


def _plant_unknown_code(rng: random.Random, client: Record) -> None:
    path, code = rng.choice(_UNKNOWN_CODES)
    head, key = path.rsplit(".", 1)
    if head == "users":
        client["users"][0][key] = code
    else:
        client[head][key] = code


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
    now = _resolve_now(now)
    if clients is None:
        clients = generate_clients(rng, now=now)
    owners = [(user["username"], client) for client in clients for user in client["users"]]
    if not owners:
        raise ValueError("alerts need at least one client user to attribute them to")
    is_dlp = _quota(rng, n, DLP_SHARE)
    is_acked = _quota(rng, n, ACKED_SHARE)
    is_recent = _quota(rng, n, RECENT_SHARE)
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
        "_id": _hex(rng, 24),
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
