"""The vendor document's examples and small builders shared by the MetaAccess tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.conftest import CANARY

PATH = "/o/api/v3/devices/status_changed"
TOKEN_PATH = "/o/oauth/token"
ACTION = "metaaccess.devices.status_changed"
CLIENT_ID = "soar-client-4411"
# A token the (mocked) exchange hands out; tests search every output for it.
ISSUED = "ISSUED-tok-91c2e7d4a0"
ISSUED_2 = "ISSUED-tok-second-55b3"

# Example 1 of the vendor document (verbose off), as it is meant, i.e. without the
# trailing commas that make the document's text invalid JSON.
EXAMPLE_SHORT: dict[str, Any] = {
    "monitored_devices": [
        {
            "device_id": "SGN56789",
            "severity": "critical",
            "status": "compliant",
            "issue": {"total_issue": 10, "total_critical_issue": 3, "total_warning_issue": 7},
            "network_info": [{"ipv4": "109.184.237.115", "mac": "02:21:9b:06:4b:96"}],
        }
    ],
    "deleted_devices": [
        {
            "device_id": "SGN012345",
            "network_info": [{"ipv4": "109.184.237.115", "mac": "02:21:9b:06:4b:96"}],
        }
    ],
}

# Example 2 (verbose on), likewise repaired.
EXAMPLE_FULL_DEVICE: dict[str, Any] = {
    "device_id": "S6YE9I3DNJ4IFMP84LIGG8S8207R4E04",
    "device_type": "desktop",
    "device_name": "tle",
    "nick_name": "tle-accounting",
    "group_name": "default",
    "agent_version": "7.6.51.0",
    "oesis_version": "4.2.1041.0",
    "country": "US",
    "last_seen": "2017-10-16T03:11:09Z",
    "public_ip": "54.78.191.2",
    "remediation_link": ".../remediation.html",
    "user_identity": "accounting",
    "link_user": {"username": "testinguser", "group": "testinggroup"},
    "user_info": {"username": "tle", "domain": "INTL"},
    "network_info": [
        {
            "description": "Intel(R) Ethernet Connection I217-LM",
            "ipv4": "109.184.237.115",
            "ipv6": "fe80::2d88:eab7:6001:6ec7",
            "mac": "02:21:9b:06:4b:96",
            "subnet_mask": "255.255.254.0",
            "media_state": "connected",
            "dhcp_enabled": "true",
            "dhcp_obtained": "2015-10-16T03:11:09Z",
            "dhcp_expires": "2015-10-16T03:11:09Z",
            "dhcp_server": "171.64.7.111",
            "adapter_enabled": "true",
            "default_gateway": "171.65.76.1",
            "dns_addresses": ["171.67.1.234", "171.64.1.234"],
        }
    ],
    "os_info": {
        "service_pack_version": "1.0",
        "vendor": "Microsoft Corp.",
        "family": "Windows",
        "os_language": "English",
        "name": "Microsoft Windows 7 Professional ",
        "architecture": "64-bit",
        "version": "6.1.7601",
        "type": "windows",
    },
    "severity": "critical",
    "status": "compliant",
    "status_detail": {"exempted": 0, "pending": 0, "compliant": 0},
    "issue": {"total_issue": 10, "total_critical_issue": 3, "total_warning_issue": 7},
}

# Example 1's answer exactly as the document prints it: trailing commas, so not JSON.
DOCUMENT_EXAMPLE_TEXT = """{
"monitored_devices": [{
"device_id": "SGN56789",
"severity": "critical",
"status": "compliant",
"issue": {
"total_issue": 10,
"total_critical_issue": 3,
"total_warning_issue": 7
},
"network_info": [{
"ipv4": "109.184.237.115",
"mac": "02:21:9b:06:4b:96",
}],
}],
"deleted_devices":[{
"device_id": "SGN012345",
"network_info": [{
"ipv4": "109.184.237.115",
"mac": "02:21:9b:06:4b:96",
}]
}]
}"""


def devices(count: int, start: int = 0, deleted_every: int = 0) -> dict[str, Any]:
    """A page with `count` devices numbered from `start`; every `deleted_every`th deleted."""
    monitored, deleted = [], []
    for n in range(start, start + count):
        if deleted_every and n % deleted_every == deleted_every - 1:
            deleted.append({"device_id": f"DEL{n:05d}"})
        else:
            monitored.append({"device_id": f"DEV{n:05d}", "status": "compliant"})
    return {"monitored_devices": monitored, "deleted_devices": deleted}


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def exchange_settings(**values: Any) -> dict[str, Any]:
    """Settings that obtain the token through OAuth client credentials (no access_token)."""
    return {"access_token": None, "client_id": CLIENT_ID, "client_secret": CANARY, **values}


def token_answer(token: str = ISSUED, expires_in: Any = 3600) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": token, "token_type": "bearer", "expires_in": expires_in}
    )
