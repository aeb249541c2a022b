"""The seeded tenant data: reproducible, shaped like the vendor's records, usefully varied."""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

from soarpack.sandbox.netskope.alerts import ALERT_TYPES, generate_alerts
from soarpack.sandbox.netskope.clients import CLIENT_CODE_MAPPINGS, generate_clients
from soarpack.sandbox.netskope.query import field_values
from soarpack.sandbox.netskope.seeded import DAY
from tests.sandbox.sandbox_helpers import NOW

CLIENT_KEYS = {"_id", "client_install_time", "device_id", "host_info", "last_event", "users"}
HOST_KEYS = {"device_make", "device_model", "hostname", "os", "os_version", "nsdeviceuid"}
EVENT_KEYS = {"actor", "event", "status", "timestamp"}
USER_KEYS = {
    "_id",
    "client_version",
    "device_classification_status",
    "last_event",
    "user_added_time",
    "user_source",
    "userkey",
    "username",
}
EMAIL = re.compile(r"^[a-z]+\.[a-z]+\d*@example\.com$")


def dataset(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    clients = generate_clients(rng, now=NOW)
    return clients, generate_alerts(rng, now=NOW, clients=clients)


def test_same_seed_gives_identical_data_and_another_seed_does_not() -> None:
    assert dataset(7) == dataset(7)
    assert dataset(7) != dataset(8)


def test_global_random_state_does_not_leak_in() -> None:
    random.seed(1)
    first = dataset(7)
    random.seed(2)
    assert dataset(7) == first


def test_clients_follow_the_vendor_layout() -> None:
    clients, _ = dataset(7)
    assert len(clients) == 300
    assert [c["_id"] for c in clients] == sorted(c["_id"] for c in clients)
    for client in clients:
        assert set(client) == CLIENT_KEYS
        assert set(client["host_info"]) == HOST_KEYS
        assert set(client["last_event"]) == EVENT_KEYS
        assert re.fullmatch(r"LT-[0-9A-F]{6}", client["host_info"]["hostname"])
        assert client["users"]
        for user in client["users"]:
            assert set(user) == USER_KEYS
            assert set(user["last_event"]) == EVENT_KEYS
            assert EMAIL.match(user["username"])
            assert user["userkey"] == user["username"]


def test_about_two_percent_of_clients_carry_an_unmapped_code() -> None:
    clients, _ = dataset(7)
    paths = [path for path in CLIENT_CODE_MAPPINGS if path != "device_classification_status"]
    paths += ["users.device_classification_status", "users.user_source"]

    def unknown(client: dict[str, Any]) -> bool:
        for path in paths:
            mapping = CLIENT_CODE_MAPPINGS[path.removeprefix("users.")]
            if any(value not in mapping for value in field_values(client, path)):
                return True
        return False

    assert sum(unknown(client) for client in clients) == 6


def test_about_thirty_percent_of_user_entries_are_unmanaged() -> None:
    clients, _ = dataset(7)
    statuses = [u["device_classification_status"] for c in clients for u in c["users"]]
    share = statuses.count(1) / len(statuses)
    assert 0.27 <= share <= 0.31


def test_alert_shares_and_time_spread() -> None:
    _, alerts = dataset(7)
    assert len(alerts) == 600
    kinds = Counter(alert["alert_type"] for alert in alerts)
    assert kinds["DLP"] == 180
    assert set(kinds) <= set(ALERT_TYPES)
    assert len(kinds) >= 10  # the rarer kinds show up too
    assert sum(alert["acked"] == "true" for alert in alerts) == 240
    assert {alert["acked"] for alert in alerts} == {"true", "false"}
    recent = [alert for alert in alerts if alert["timestamp"] > NOW - DAY]
    assert len(recent) >= 150
    assert all(NOW - 90 * DAY < alert["timestamp"] < NOW for alert in alerts)
    for alert in alerts:
        assert 0 < alert["_insertion_epoch_timestamp"] - alert["timestamp"] <= 30
        assert alert["_insertion_epoch_timestamp"] <= NOW


def test_dlp_alerts_carry_dlp_fields_and_others_do_not() -> None:
    _, alerts = dataset(7)
    dlp_fields = {"dlp_profile", "dlp_rule", "file_name", "dlp_rule_severity"}
    for alert in alerts:
        assert re.fullmatch(r"[0-9a-f]{24}", alert["_id"])
        if alert["alert_type"] == "DLP":
            assert dlp_fields <= set(alert)
        else:
            assert not dlp_fields & set(alert)


def test_alert_users_are_client_users() -> None:
    clients, alerts = dataset(7)
    emails = {user["username"] for client in clients for user in client["users"]}
    assert {alert["user"] for alert in alerts} <= emails
    assert all(alert["userkey"] == alert["user"] for alert in alerts)
