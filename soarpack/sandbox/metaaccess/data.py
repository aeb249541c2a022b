"""Seeded devices of a simulated OPSWAT MetaAccess account.

Each device carries the full record the vendor documents for `verbose: 1` (the field
set of the vendor's second example) and the time its status last changed. `render`
cuts it to what an answer shows: `verbose: 0` keeps device_id, severity, status, issue
and the adapters' ipv4/mac (the first example); deleted devices show only device_id
and network_info whatever `verbose` says (both examples). About one device in ten is
marked private: its host name reads "<private>" and its user name and addresses are
left out, as the vendor does for non-collectible fields.

Issue counts use the names of the vendor's examples (total_issue, ...), not those of
its parameter table (total_issues, ...): clients must accept both.
"""

from __future__ import annotations

import random
import string
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["MetaAccessDevice", "generate_devices", "render"]

# How far back status changes go: twice the API's longest `age` (86400 s), so `age`
# really filters.
CHANGE_WINDOW_SECONDS = 2 * 86400
DELETED_SHARE = 0.12
PRIVATE_SHARE = 0.1

_SHORT_FIELDS = ("device_id", "severity", "status", "issue", "network_info")
_SHORT_ADAPTER_FIELDS = ("ipv4", "mac")
_STATUSES = ("compliant", "non_compliant", "exempted", "pending")
_SEVERITIES = ("critical", "warning", "low", "none")
_GROUPS = ("default", "accounting", "engineering", "sales", "contractors")
_USERS = ("tle", "jdoe", "asmith", "mgarcia", "kchen", "rpatel", "lnguyen", "okeefe")
_DOMAINS = ("INTL", "CORP", "EU")
_COUNTRIES = ("US", "DE", "VN", "GB", "FR", "JP", "CA", "IN")
_DEVICE_TYPES = ("desktop", "laptop", "server", "virtual machine")
_AGENT_VERSIONS = ("7.6.51.0", "7.6.62.0", "8.1.4.0", "8.2.11.0")
_OESIS_VERSIONS = ("4.2.1041.0", "4.3.1201.0", "4.3.1388.0")
_ADAPTERS = (
    "Intel(R) Ethernet Connection I217-LM",
    "Intel(R) Wi-Fi 6 AX201 160MHz",
    "Realtek PCIe GbE Family Controller",
    "Apple Wi-Fi",
)
_OSES: tuple[dict[str, Any], ...] = (
    {
        "family": "Windows",
        "name": "Microsoft Windows 10 Pro",
        "vendor": "Microsoft Corp.",
        "version": "10.0.19045",
        "service_pack_version": "0.0",
        "type": "windows",
    },
    {
        "family": "Windows",
        "name": "Microsoft Windows 11 Enterprise",
        "vendor": "Microsoft Corp.",
        "version": "10.0.22631",
        "service_pack_version": "0.0",
        "type": "windows",
    },
    {
        "family": "Windows",
        "name": "Microsoft Windows 7 Professional ",
        "vendor": "Microsoft Corp.",
        "version": "6.1.7601",
        "service_pack_version": "1.0",
        "type": "windows",
    },
    {
        "family": "Mac OS X",
        "name": "macOS Sonoma",
        "vendor": "Apple Inc.",
        "version": "14.4.1",
        "service_pack_version": "",
        "type": "mac",
    },
    {
        "family": "Linux",
        "name": "Ubuntu 22.04.4 LTS",
        "vendor": "Canonical Ltd.",
        "version": "22.04",
        "service_pack_version": "",
        "type": "linux",
    },
)


@dataclass(frozen=True)
class MetaAccessDevice:
    """One device: its full (verbose 1) record, when its status changed, and whether it
    was deleted from the account."""

    record: dict[str, Any]
    changed_at: int
    deleted: bool

    @property
    def device_id(self) -> str:
        return str(self.record["device_id"])


def render(device: MetaAccessDevice, verbose: int) -> dict[str, Any]:
    """The device as an answer with this `verbose` shows it."""
    if device.deleted:
        return _short(device.record, ("device_id", "network_info"))
    if verbose:
        return {key: _copy(value) for key, value in device.record.items()}
    return _short(device.record, _SHORT_FIELDS)


def _short(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    out = {key: _copy(record[key]) for key in fields if key in record}
    if "network_info" in out:
        out["network_info"] = [
            {key: adapter[key] for key in _SHORT_ADAPTER_FIELDS if key in adapter}
            for adapter in out["network_info"]
        ]
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def generate_devices(seed: int, now: int, count: int) -> list[MetaAccessDevice]:
    """`count` devices, newest status change first (ties by device id)."""
    rng = random.Random(f"metaaccess-{seed}")
    devices = [_device(rng, now, index) for index in range(count)]
    devices.sort(key=lambda d: (-d.changed_at, d.device_id))
    return devices


def _device(rng: random.Random, now: int, index: int) -> MetaAccessDevice:
    changed_at = now - rng.randrange(CHANGE_WINDOW_SECONDS)
    private = rng.random() < PRIVATE_SHARE
    deleted = rng.random() < DELETED_SHARE
    user = rng.choice(_USERS)
    host = f"{user}-{rng.choice(('wks', 'lt', 'mbp', 'vm'))}{index:03d}"
    status = rng.choice(_STATUSES)
    critical, warning = rng.randint(0, 4), rng.randint(0, 8)
    record: dict[str, Any] = {
        "device_id": "".join(rng.choices(string.ascii_uppercase + string.digits, k=32)),
        "device_type": rng.choice(_DEVICE_TYPES),
        "device_name": "<private>" if private else host,
        "nick_name": f"{host}-{rng.choice(_GROUPS)}",
        "group_name": rng.choice(_GROUPS),
        "agent_version": rng.choice(_AGENT_VERSIONS),
        "oesis_version": rng.choice(_OESIS_VERSIONS),
        "country": rng.choice(_COUNTRIES),
        "last_seen": _gmt(changed_at + rng.randrange(0, 600)),
        "public_ip": f"203.0.113.{rng.randrange(1, 255)}",
        "remediation_link": f"https://gears.opswat.com/remediation.html?device={index}",
        "user_identity": rng.choice(_GROUPS),
        "link_user": {"username": f"{user}@example.com", "group": rng.choice(_GROUPS)},
        "user_info": {"domain": rng.choice(_DOMAINS)}
        if private
        else {"username": user, "domain": rng.choice(_DOMAINS)},
        "network_info": [_adapter(rng, changed_at, private) for _ in range(rng.randint(1, 2))],
        "os_info": {
            **rng.choice(_OSES),
            "architecture": rng.choice(("64-bit", "32-bit", "arm64")),
            "os_language": rng.choice(("English", "German", "Japanese")),
            "user_password_set": rng.randint(0, 1),
        },
        "severity": "critical" if critical else rng.choice(_SEVERITIES[1:]),
        "status": status,
        "status_detail": {s: int(s == status) for s in ("exempted", "pending", "compliant")},
        "issue": {
            "total_issue": critical + warning,
            "total_critical_issue": critical,
            "total_warning_issue": warning,
        },
    }
    return MetaAccessDevice(record, changed_at, deleted)


def _adapter(rng: random.Random, changed_at: int, private: bool) -> dict[str, Any]:
    adapter: dict[str, Any] = {
        "description": rng.choice(_ADAPTERS),
        "subnet_mask": "255.255.254.0",
        "media_state": "connected",
        "dhcp_enabled": "true",
        "dhcp_obtained": _gmt(changed_at - 3600),
        "dhcp_expires": _gmt(changed_at + 86400),
        "dhcp_server": f"10.{rng.randrange(256)}.0.1",
        "adapter_enabled": "true",
        "default_gateway": f"10.{rng.randrange(256)}.0.1",
        "dns_addresses": ["10.0.0.53", "10.0.1.53"],
    }
    if not private:
        adapter["ipv4"] = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        adapter["ipv6"] = "fe80::" + ":".join(f"{rng.randrange(65536):x}" for _ in range(4))
        adapter["mac"] = "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))
    return adapter


def _gmt(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
