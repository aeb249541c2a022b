"""Deterministic, seeded Netskope Client records for the v1 sandbox (see `seeded.py`).

Clients follow the record layout of the vendor's "Get Client Data" page, numeric
codes included. A small, fixed share of clients carries a code the vendor's mapping
does not list, so consumers have something real to exercise "unknown code" handling.
"""

from __future__ import annotations

import random

from soarpack.sandbox.netskope.seeded import DAY, Record, guid, hex_string, quota, resolve_now

__all__ = ["CLIENT_CODE_MAPPINGS", "generate_clients"]

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
_CLIENT_VERSIONS = ("92.1.0.805", "95.1.0.912", "97.0.0.1036", "101.1.1.1211")

UNMANAGED_SHARE = 0.30
UNKNOWN_CODE_SHARE = 0.02


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
    now = resolve_now(now)
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
            "_id": hex_string(rng, 24),
            "client_install_time": install_time,
            "device_id": guid(rng) if os_code != 1 else "C02" + hex_string(rng, 9).upper(),
            "host_info": {
                "device_make": make,
                "device_model": model,
                "hostname": f"LT-{hex_string(rng, 6).upper()}",
                "os": os_code,
                "os_version": rng.choice(versions),
                "nsdeviceuid": guid(rng),
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
        "_id": hex_string(rng, 24),
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
    unmanaged = quota(rng, len(entries), UNMANAGED_SHARE)
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
