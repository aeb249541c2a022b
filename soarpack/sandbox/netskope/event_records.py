"""Field values for the REST v2 sandbox records: data-export events and alerts.

One call makes one plausible record body (everything but `_id` and the timestamps,
which the stream splices in per record; see `events.py`). Users, hostnames and
operating systems come from the tenant's own clients, so an event can be joined to a
device the way a real tenant's can. A record serializes to about 1.3 KB of JSON, in
the range of the vendor's web events, so page sizes and transfer times are realistic.

A few bodies (`awkward=True`) carry the strings that break naive consumers: embedded
quotes and backslashes, commas, non-Latin scripts and an emoji. They stay valid JSON;
it is the consumer's parsing and storage that they exercise.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import NamedTuple

from soarpack.sandbox.netskope.security_assessment import security_assessment_fields
from soarpack.sandbox.netskope.seeded import Record

# fmt: off
DATAEXPORT_EVENT_TYPES = (
    "alert", "application", "audit", "connection", "endpoint", "incident", "infrastructure",
    "network", "page",
)
DATAEXPORT_ALERT_TYPES = (
    "compromisedcredential", "ctep", "dlp", "malsite", "malware", "policy", "quarantine",
    "remediation", "securityassessment", "uba", "watchlist",
)
# fmt: on

# How each alert type names itself in the record's alert_type field.
_ALERT_TYPE_LABELS = {
    "compromisedcredential": "Compromised Credential",
    "ctep": "ctep",
    "dlp": "DLP",
    "malsite": "malsite",
    "malware": "Malware",
    "policy": "policy",
    "quarantine": "quarantine",
    "remediation": "Remediation",
    "securityassessment": "Security Assessment",
    "uba": "uba",
    "watchlist": "watchlist",
}


class Person(NamedTuple):
    """One user on one device: the identity fields every record carries."""

    email: str
    hostname: str
    device: str
    os: str
    os_version: str
    device_id: str
    client_version: str
    srcip: str


# (app, category, ccl, cci, domain)
_APPS: list[tuple[str, str, str, int, str]] = [
    ("Box", "Cloud Storage", "excellent", 92, "app.box.com"),
    ("Dropbox", "Cloud Storage", "high", 84, "www.dropbox.com"),
    ("Google Drive", "Cloud Storage", "high", 88, "drive.google.com"),
    ("Microsoft OneDrive for Business", "Cloud Storage", "excellent", 94, "contoso.sharepoint.com"),
    ("Slack", "Collaboration", "high", 86, "app.slack.com"),
    ("Microsoft Teams", "Collaboration", "excellent", 91, "teams.microsoft.com"),
    ("Salesforce", "CRM", "excellent", 95, "contoso.my.salesforce.com"),
    ("GitHub", "Development Tools", "high", 83, "github.com"),
    ("Gmail", "Webmail", "high", 80, "mail.google.com"),
    ("Amazon Web Services", "IaaS/PaaS", "excellent", 94, "console.aws.amazon.com"),
    ("ChatGPT", "Generative AI", "medium", 68, "chatgpt.com"),
    ("WeTransfer", "Cloud Storage", "medium", 61, "wetransfer.com"),
]
_PATHS = ("/", "/home", "/files/shared", "/api/v2/upload", "/s/3kq8zz1", "/settings/security")
_ACCESS_METHODS = ("Client", "Client", "Client", "Reverse Proxy", "API Connector", "IPSec")
_BROWSERS = (("Chrome", "124.0.6367.91"), ("Edge", "124.0.2478.67"), ("Firefox", "125.0.3"))
_USERAGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
)
_POPS = ("US-SJC1", "US-NYC2", "DE-FRA1", "GB-LON1", "SG-SIN1")
# (country, region, city)
_PLACES = (
    ("US", "California", "San Jose"),
    ("US", "New York", "New York"),
    ("DE", "Hesse", "Frankfurt am Main"),
    ("GB", "England", "London"),
    ("JP", "Tokyo", "Tokyo"),
)
_OUS = ("Engineering", "Finance", "Sales", "Legal", "IT Operations", "Marketing")
_POLICIES = (
    "Allow sanctioned storage",
    "Block personal cloud storage",
    "Coach on generative AI",
    "Default allow",
)
_ACTIVITIES = ("Browse", "Upload", "Download", "Share", "Edit", "Login Successful", "Post")
_FILES = ("customers.xlsx", "payroll_2024.csv", "q3_forecast.docx", "backup.zip", "notes.txt")
_SEVERITIES = ("low", "medium", "high", "critical")

# The strings that catch consumers out; each still round-trips through JSON.
_AWKWARD_FILE = 'report, "final" v2 – Zoë\'s copy.xlsx'
_AWKWARD_TITLE = 'He said "ship it" \\ C:\\Temp\\out — 報告書 ✅'
_AWKWARD_OBJECT = "Prüfbericht, Ñandú & Łódź \U0001f4ce"


def people_from_clients(clients: Sequence[Record], rng: random.Random) -> list[Person]:
    """The (user, device) pairs of the tenant's clients, with a source IP each."""
    people: list[Person] = []
    for client in clients:
        host = client.get("host_info", {})
        os_code = host.get("os")
        device = {0: "Windows Device", 1: "Mac Device", 3: "Android Device"}.get(os_code, "other")
        os_name = {0: "Windows", 1: "macOS", 3: "Android", 4: "Windows Server"}.get(
            os_code, "unknown"
        )
        for user in client.get("users", []):
            people.append(
                Person(
                    email=str(user.get("username")),
                    hostname=str(host.get("hostname")),
                    device=device,
                    os=os_name,
                    os_version=str(host.get("os_version")),
                    device_id=str(client.get("device_id")),
                    client_version=str(user.get("client_version")),
                    srcip=f"10.{rng.randint(0, 31)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}",
                )
            )
    if not people:
        # A tenant generated without clients still needs someone to attribute events to.
        people.append(
            Person(
                email="sam.quinn@example.com",
                hostname="LT-0A1B2C",
                device="Windows Device",
                os="Windows",
                os_version="Windows 11 Enterprise 22H2",
                device_id="5D1E3C2B-0000-4000-8000-00000000A1B2",
                client_version="101.1.1.1211",
                srcip="10.0.0.10",
            )
        )
    return people


def make_record(kind: str, rng: random.Random, person: Person, awkward: bool) -> Record:
    """The body of one record of stream `kind` ("events/page", "alerts/dlp", ...)."""
    family, name = kind.split("/", 1)
    app, category, ccl, cci, domain = rng.choice(_APPS)
    place = rng.choice(_PLACES)
    dst = rng.choice(_PLACES)
    browser, browser_version = rng.choice(_BROWSERS)
    path = rng.choice(_PATHS)
    record: Record = {
        "type": name if family == "events" else "nspolicy",
        "access_method": rng.choice(_ACCESS_METHODS),
        "action": rng.choice(("allow", "allow", "allow", "block", "alert")),
        "activity": rng.choice(_ACTIVITIES),
        "app": app,
        "appcategory": category,
        "category": category,
        "ccl": ccl,
        "cci": cci,
        "browser": browser,
        "browser_version": browser_version,
        "device": person.device,
        "os": person.os,
        "os_version": person.os_version,
        "hostname": person.hostname,
        "user": person.email,
        "userkey": person.email,
        "organization_unit": rng.choice(_OUS),
        "srcip": person.srcip,
        "src_country": place[0],
        "src_region": place[1],
        "src_location": place[2],
        "dstip": f"{rng.randint(13, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "dst_country": dst[0],
        "dst_location": dst[2],
        "dstport": 443,
        "domain": domain,
        "site": app,
        "url": f"https://{domain}{path}",
        "policy": rng.choice(_POLICIES),
        "traffic_type": "CloudApp",
        "useragent": rng.choice(_USERAGENTS),
        "netskope_pop": rng.choice(_POPS),
        "transaction_id": rng.getrandbits(62),
        "client_bytes": rng.randint(200, 90_000),
        "server_bytes": rng.randint(500, 4_000_000),
        "count": 1,
    }
    extra = _EXTRAS[family](name, rng)
    record.update(extra)
    if awkward:
        record.update(
            {"file_name": _AWKWARD_FILE, "page_title": _AWKWARD_TITLE, "object": _AWKWARD_OBJECT}
        )
    return record


def _event_extra(name: str, rng: random.Random) -> Record:
    if name == "page":
        return {
            "http_method": rng.choice(("GET", "GET", "POST")),
            "http_status": rng.choice((200, 200, 200, 302, 403, 404)),
            "page_duration": rng.randint(1, 600),
            "referer": "https://www.google.com/",
        }
    if name == "application":
        return {"object": rng.choice(_FILES), "object_type": "File", "instance_id": "contoso.com"}
    if name == "audit":
        return {
            "audit_log_event": rng.choice(
                ("Login Successful", "Admin logged in", "Policy changed")
            ),
            "supporting_data": {"data_type": "user", "data_values": ["admin@example.com"]},
            "severity_level": rng.randint(1, 4),
        }
    if name == "connection":
        start = rng.randint(1, 3600)
        return {"conn_duration": start, "protocol": "HTTPS/1.1", "req_cnt": rng.randint(1, 90)}
    if name == "endpoint":
        return {"device_classification": rng.choice(("managed", "unmanaged")), "dlp_incident": 0}
    if name == "incident":
        return {"incident_id": rng.getrandbits(60), "severity": rng.choice(_SEVERITIES)}
    if name == "infrastructure":
        return {"alarm_name": "IPSec tunnel flap", "device_name": "edge-fw-01", "severity": "high"}
    if name == "network":
        return {
            "ip_protocol": rng.choice(("TCP", "UDP")),
            "network_session_id": rng.getrandbits(48),
        }
    # The "alert" event stream: a digest of alerts, carrying their name and type.
    return {"alert": "yes", "alert_name": "Watchlisted user activity", "alert_type": "watchlist"}


def _alert_extra(name: str, rng: random.Random) -> Record:
    extra: Record = {
        "alert": "yes",
        "alert_type": _ALERT_TYPE_LABELS[name],
        "alert_name": f"{_ALERT_TYPE_LABELS[name]} alert",
        "acked": "false",
        "severity": rng.choice(_SEVERITIES),
    }
    if name == "dlp":
        extra.update(
            dlp_profile="DLP-PCI",
            dlp_rule="Credit Card Number",
            dlp_rule_severity="Critical",
            file_name=rng.choice(_FILES),
            file_size=rng.randint(1_000, 9_000_000),
        )
    elif name == "malware":
        extra.update(
            malware_name="Gen:Variant.Razy.912",
            malware_type="Trojan",
            md5=f"{rng.getrandbits(128):032x}",
        )
    elif name == "malsite":
        extra.update(malsite_category="Phishing", threat_source="Netskope Threat Intelligence")
    elif name == "compromisedcredential":
        extra.update(breach_id=f"{rng.getrandbits(40):010x}", breach_date=1_650_000_000)
    elif name == "uba":
        extra.update(risk_level="high", uba_score=rng.randint(40, 100))
    elif name == "securityassessment":
        extra.update(security_assessment_fields(rng))
    return extra


_EXTRAS = {"events": _event_extra, "alerts": _alert_extra}
