"""Every generated Lacework Edge operation on the wire: method, path, query, body, auth.

One row per operation, written out (not derived from the generated file), so a change
in what the converter or the table produces shows up here as a diff to review.
Inputs are each action's generated example; `account_name` comes from the connection.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from soarpack import errors
from tests.conftest import CANARY, EngineFactory
from tests.lacework_edge.helpers import BASE, JWT, lacework_engine, login_route

WIRE = [
    pytest.param(
        "lacework_edge.accesses.create",
        {"user_list": ["ex-accesses-1"], "app_list": ["ex-accesses-1"]},
        "POST /api/v1/accesses",
        {},
        {"user_list": ["ex-accesses-1"], "app_list": ["ex-accesses-1"], "account_name": "acme"},
        id="accesses.create",
    ),
    pytest.param(
        "lacework_edge.accesses.get",
        {"uuid": "ex-accesses-1"},
        "GET /api/v1/accesses/ex-accesses-1",
        {},
        None,
        id="accesses.get",
    ),
    pytest.param(
        "lacework_edge.accesses.query",
        {"appid": "ex-accesses-1", "userid": "ex-accesses-1"},
        "GET /api/v1/accesses",
        {"appid": "ex-accesses-1", "userid": "ex-accesses-1"},
        None,
        id="accesses.query",
    ),
    pytest.param(
        "lacework_edge.accesses.update",
        {"uuid": "ex-accesses-1"},
        "PATCH /api/v1/accesses/ex-accesses-1",
        {},
        {"uuid": "ex-accesses-1", "account_name": "acme"},
        id="accesses.update",
    ),
    pytest.param(
        "lacework_edge.accounts.get",
        {"name": "ex-accounts-1"},
        "GET /api/v1/accounts/ex-accounts-1",
        {},
        None,
        id="accounts.get",
    ),
    pytest.param(
        "lacework_edge.accounts.update_onboarding",
        {},
        "PATCH /api/v1/accounts/onboarding",
        {},
        {"account_name": "acme"},
        id="accounts.update_onboarding",
    ),
    pytest.param(
        "lacework_edge.alert_configs.create",
        {},
        "POST /api/v1/alert_configs",
        {},
        {"account_name": "acme"},
        id="alert_configs.create",
    ),
    pytest.param(
        "lacework_edge.alert_configs.get",
        {"uuid": "ex-alert_configs-1", "resolveDisplayNames": "ex-alert_configs-1"},
        "GET /api/v1/alert_configs/ex-alert_configs-1",
        {"resolveDisplayNames": "ex-alert_configs-1"},
        None,
        id="alert_configs.get",
    ),
    pytest.param(
        "lacework_edge.alert_configs.query",
        {},
        "GET /api/v1/alert_configs",
        {},
        None,
        id="alert_configs.query",
    ),
    pytest.param(
        "lacework_edge.alerts.get",
        {"uuid": "ex-alerts-1"},
        "GET /api/v1/alerts/ex-alerts-1",
        {},
        None,
        id="alerts.get",
    ),
    pytest.param(
        "lacework_edge.alerts.history",
        {"uuid": "ex-alerts-1"},
        "GET /api/v1/alerts/ex-alerts-1/investigation_actions",
        {},
        None,
        id="alerts.history",
    ),
    pytest.param(
        "lacework_edge.alerts.investigate",
        {"uuid": "ex-alerts-1"},
        "POST /api/v1/alerts/ex-alerts-1/investigation_actions",
        {},
        {"account_name": "acme"},
        id="alerts.investigate",
    ),
    pytest.param(
        "lacework_edge.alerts.investigate_many",
        {"investigation_actions": [{"alert_uuid": "ex-alerts-1"}]},
        "POST /api/v1/alerts/investigation_actions",
        {},
        {"investigation_actions": [{"alert_uuid": "ex-alerts-1"}], "account_name": "acme"},
        id="alerts.investigate_many",
    ),
    pytest.param(
        "lacework_edge.alerts.promote",
        {},
        "POST /api/v1/alerts",
        {},
        {"account_name": "acme"},
        id="alerts.promote",
    ),
    pytest.param(
        "lacework_edge.alerts.query",
        {
            "start_time": "1700000000000",
            "end_time": "1700003600000",
            "status_filter": "ex-alerts-1",
        },
        "GET /api/v1/alerts",
        {
            "start_time": "1700000000000",
            "end_time": "1700003600000",
            "status_filter": "ex-alerts-1",
        },
        None,
        id="alerts.query",
    ),
    pytest.param(
        "lacework_edge.app_control_policies.create",
        {"name": "ex-app_control_policies-1"},
        "POST /api/v1/app_control_policies",
        {},
        {"name": "ex-app_control_policies-1", "account_name": "acme"},
        id="app_control_policies.create",
    ),
    pytest.param(
        "lacework_edge.app_control_policies.get",
        {"uuid": "ex-app_control_policies-1"},
        "GET /api/v1/app_control_policies/ex-app_control_policies-1",
        {},
        None,
        id="app_control_policies.get",
    ),
    pytest.param(
        "lacework_edge.app_control_policies.query",
        {},
        "GET /api/v1/app_control_policies",
        {},
        None,
        id="app_control_policies.query",
    ),
    pytest.param(
        "lacework_edge.app_control_policies.update",
        {"uuid": "ex-app_control_policies-1"},
        "PATCH /api/v1/app_control_policies/ex-app_control_policies-1",
        {},
        {"uuid": "ex-app_control_policies-1", "account_name": "acme"},
        id="app_control_policies.update",
    ),
    pytest.param(
        "lacework_edge.apps.create",
        {"app": {"name": "ex-apps-1"}},
        "POST /api/v1/apps",
        {},
        {"app": {"name": "ex-apps-1"}, "account_name": "acme"},
        id="apps.create",
    ),
    pytest.param(
        "lacework_edge.apps.deploy",
        {"app": {"name": "ex-apps-1"}},
        "POST /api/v1/apps/deploy",
        {},
        {"app": {"name": "ex-apps-1"}, "account_name": "acme"},
        id="apps.deploy",
    ),
    pytest.param("lacework_edge.apps.query", {}, "GET /api/v1/apps", {}, None, id="apps.query"),
    pytest.param(
        "lacework_edge.audit_events.get",
        {"uuid": "ex-audit_events-1"},
        "GET /api/v1/audit_events/ex-audit_events-1",
        {},
        None,
        id="audit_events.get",
    ),
    pytest.param(
        "lacework_edge.audit_events.query",
        {"start_time": "1700000000000"},
        "GET /api/v1/audit_events",
        {"start_time": "1700000000000"},
        None,
        id="audit_events.query",
    ),
    pytest.param(
        "lacework_edge.auth.login",
        {"account": "ex-auth-1"},
        "GET /api/v1/login",
        {"account": "ex-auth-1"},
        None,
        id="auth.login",
    ),
    pytest.param(
        "lacework_edge.auth.token_login",
        {"account": "ex-auth-1"},
        "GET /api/v1/token_login",
        {"account": "ex-auth-1"},
        None,
        id="auth.token_login",
    ),
    pytest.param(
        "lacework_edge.blobs.create",
        {},
        "POST /api/v1/blobs",
        {},
        {"account_name": "acme"},
        id="blobs.create",
    ),
    pytest.param(
        "lacework_edge.blobs.get",
        {"key": "ex-blobs-1"},
        "GET /api/v1/blobs/ex-blobs-1",
        {},
        None,
        id="blobs.get",
    ),
    pytest.param(
        "lacework_edge.blobs.query",
        {"prefix": "ex-blobs-1"},
        "GET /api/v1/blobs",
        {"prefix": "ex-blobs-1"},
        None,
        id="blobs.query",
    ),
    pytest.param(
        "lacework_edge.ca_certificates.create",
        {"public_key_pem": "ex-ca_certificates-1"},
        "POST /api/v1/ca_certificates",
        {},
        {"public_key_pem": "ex-ca_certificates-1", "account_name": "acme"},
        id="ca_certificates.create",
    ),
    pytest.param(
        "lacework_edge.ca_certificates.get",
        {"uuid": "ex-ca_certificates-1"},
        "GET /api/v1/ca_certificates/ex-ca_certificates-1",
        {},
        None,
        id="ca_certificates.get",
    ),
    pytest.param(
        "lacework_edge.ca_certificates.update",
        {"uuid": "ex-ca_certificates-1"},
        "PATCH /api/v1/ca_certificates/ex-ca_certificates-1",
        {},
        {"uuid": "ex-ca_certificates-1", "account_name": "acme"},
        id="ca_certificates.update",
    ),
    pytest.param(
        "lacework_edge.cards.create",
        {},
        "POST /api/v1/cards",
        {},
        {"account_name": "acme"},
        id="cards.create",
    ),
    pytest.param(
        "lacework_edge.cards.get",
        {"uuid": "ex-cards-1"},
        "GET /api/v1/cards/ex-cards-1",
        {},
        None,
        id="cards.get",
    ),
    pytest.param(
        "lacework_edge.client_configs.create",
        {"name": "ex-client_configs-1"},
        "POST /api/v1/client_configs",
        {},
        {"name": "ex-client_configs-1", "account_name": "acme"},
        id="client_configs.create",
    ),
    pytest.param(
        "lacework_edge.client_configs.download",
        {"uuid": "ex-client_configs-1"},
        "GET /api/v1/client_configs/ex-client_configs-1/download",
        {},
        None,
        id="client_configs.download",
    ),
    pytest.param(
        "lacework_edge.client_configs.get",
        {"uuid": "ex-client_configs-1"},
        "GET /api/v1/client_configs/ex-client_configs-1",
        {},
        None,
        id="client_configs.get",
    ),
    pytest.param(
        "lacework_edge.client_configs.update",
        {"uuid": "ex-client_configs-1"},
        "PATCH /api/v1/client_configs/ex-client_configs-1",
        {},
        {"uuid": "ex-client_configs-1", "account_name": "acme"},
        id="client_configs.update",
    ),
    pytest.param(
        "lacework_edge.connectors.create",
        {"unique_name": "ex-connectors-1"},
        "POST /api/v1/connectors",
        {},
        {"unique_name": "ex-connectors-1", "account_name": "acme"},
        id="connectors.create",
    ),
    pytest.param(
        "lacework_edge.connectors.get",
        {"name": "ex-connectors-1"},
        "GET /api/v1/connectors/ex-connectors-1",
        {},
        None,
        id="connectors.get",
    ),
    pytest.param(
        "lacework_edge.dashboards.create",
        {},
        "POST /api/v1/dashboards",
        {},
        {"account_name": "acme"},
        id="dashboards.create",
    ),
    pytest.param(
        "lacework_edge.dashboards.get",
        {"uuid": "ex-dashboards-1"},
        "GET /api/v1/dashboards/ex-dashboards-1",
        {},
        None,
        id="dashboards.get",
    ),
    pytest.param(
        "lacework_edge.dashboards.query",
        {},
        "GET /api/v1/dashboards",
        {},
        None,
        id="dashboards.query",
    ),
    pytest.param(
        "lacework_edge.data_export_configs.bucket_policy",
        {},
        "POST /api/v1/data_export_configs/bucket_policy",
        {},
        {"account_name": "acme"},
        id="data_export_configs.bucket_policy",
    ),
    pytest.param(
        "lacework_edge.data_export_configs.create",
        {
            "s3_bucket_name": "ex-data_export_configs-1",
            "s3_bucket_account_id": "ex-data_export_configs-1",
            "data_export_types": [0],
        },
        "POST /api/v1/data_export_configs",
        {},
        {
            "s3_bucket_name": "ex-data_export_configs-1",
            "s3_bucket_account_id": "ex-data_export_configs-1",
            "data_export_types": [0],
            "account_name": "acme",
        },
        id="data_export_configs.create",
    ),
    pytest.param(
        "lacework_edge.data_export_configs.update",
        {"uuid": "ex-data_export_configs-1"},
        "PATCH /api/v1/data_export_configs/ex-data_export_configs-1",
        {},
        {"uuid": "ex-data_export_configs-1", "account_name": "acme"},
        id="data_export_configs.update",
    ),
    pytest.param(
        "lacework_edge.data_export_configs.validate",
        {},
        "POST /api/v1/data_export_configs/validate",
        {},
        {"account_name": "acme"},
        id="data_export_configs.validate",
    ),
    pytest.param(
        "lacework_edge.datasets.create", {}, "POST /api/v1/datasets", {}, None, id="datasets.create"
    ),
    pytest.param(
        "lacework_edge.deployments.create",
        {"entity_id": "ex-deployments-1"},
        "POST /api/v1/deployments",
        {},
        {"entity_id": "ex-deployments-1"},
        id="deployments.create",
    ),
    pytest.param(
        "lacework_edge.deployments.options",
        {},
        "GET /api/v1/deployments/options",
        {},
        None,
        id="deployments.options",
    ),
    pytest.param(
        "lacework_edge.devices.delete",
        {"devices": [{"uuid": "ex-devices-1", "user_uuid": "ex-users-1"}]},
        "DELETE /api/v1/devices",
        {},
        {"devices": [{"uuid": "ex-devices-1", "user_uuid": "ex-users-1"}], "account_name": "acme"},
        id="devices.delete",
    ),
    pytest.param(
        "lacework_edge.devices.get",
        {"uuid": "ex-devices-1"},
        "POST /api/v1/devices/ex-devices-1/lookup",
        {},
        {"uuid": "ex-devices-1"},
        id="devices.get",
    ),
    pytest.param(
        "lacework_edge.devices.register",
        {"device": {"user_uuid": "ex-devices-1"}},
        "POST /api/v1/devices",
        {},
        {"device": {"user_uuid": "ex-devices-1"}, "account_name": "acme"},
        id="devices.register",
    ),
    pytest.param(
        "lacework_edge.documents.get_metadata",
        {"uuid": "ex-documents-1"},
        "GET /api/v1/documents/ex-documents-1",
        {},
        None,
        id="documents.get_metadata",
    ),
    pytest.param(
        "lacework_edge.documents.revoke_access",
        {"uuid": "ex-documents-1", "access_id": "perm-int-1"},
        "POST /api/v1/documents/ex-documents-1/revoke_access",
        {},
        {"access_id": "perm-int-1", "account_name": "acme"},
        id="documents.revoke_access",
    ),
    pytest.param(
        "lacework_edge.documents.revoke_sharing",
        {"uuid": "ex-documents-1"},
        "POST /api/v1/documents/ex-documents-1/revoke_sharing",
        {},
        {"account_name": "acme"},
        id="documents.revoke_sharing",
    ),
    pytest.param(
        "lacework_edge.groups.get",
        {"uuid": "ex-groups-1"},
        "GET /api/v1/groups/ex-groups-1",
        {},
        None,
        id="groups.get",
    ),
    pytest.param(
        "lacework_edge.groups.query", {}, "GET /api/v1/groups", {}, None, id="groups.query"
    ),
    pytest.param(
        "lacework_edge.groups.update",
        {"uuid": "ex-groups-1"},
        "PATCH /api/v1/groups/ex-groups-1",
        {},
        {"uuid": "ex-groups-1", "account_name": "acme"},
        id="groups.update",
    ),
    pytest.param(
        "lacework_edge.integrations.create",
        {"data_source": 0, "display_name": "ex-integrations-1"},
        "POST /api/v1/integrations",
        {},
        {"data_source": 0, "display_name": "ex-integrations-1", "account_name": "acme"},
        id="integrations.create",
    ),
    pytest.param(
        "lacework_edge.integrations.query",
        {},
        "GET /api/v1/integrations",
        {},
        None,
        id="integrations.query",
    ),
    pytest.param(
        "lacework_edge.integrations.update",
        {"uuid": "ex-integrations-1"},
        "PATCH /api/v1/integrations/ex-integrations-1",
        {},
        {"uuid": "ex-integrations-1", "account_name": "acme"},
        id="integrations.update",
    ),
    pytest.param(
        "lacework_edge.integrations.validate",
        {},
        "POST /api/v1/integrations/validate",
        {},
        {"account_name": "acme"},
        id="integrations.validate",
    ),
    pytest.param(
        "lacework_edge.notification_channels.create",
        {},
        "POST /api/v1/notification_channels",
        {},
        {"account_name": "acme"},
        id="notification_channels.create",
    ),
    pytest.param(
        "lacework_edge.notification_channels.get",
        {"uuid": "ex-notification_channels-1", "resolveDisplayNames": "ex-notification_channels-1"},
        "GET /api/v1/notification_channels/ex-notification_channels-1",
        {"resolveDisplayNames": "ex-notification_channels-1"},
        None,
        id="notification_channels.get",
    ),
    pytest.param(
        "lacework_edge.notification_channels.query",
        {"resolveDisplayNames": "ex-notification_channels-1"},
        "GET /api/v1/notification_channels",
        {"resolveDisplayNames": "ex-notification_channels-1"},
        None,
        id="notification_channels.query",
    ),
    pytest.param(
        "lacework_edge.policies.create",
        {"name": "ex-policies-1"},
        "POST /api/v1/policies",
        {},
        {"name": "ex-policies-1", "account_name": "acme"},
        id="policies.create",
    ),
    pytest.param(
        "lacework_edge.policies.get",
        {"uuid": "ex-policies-1"},
        "GET /api/v1/policies/ex-policies-1",
        {},
        None,
        id="policies.get",
    ),
    pytest.param(
        "lacework_edge.policies.query",
        {
            "appid": "ex-policies-1",
            "userid": "ex-policies-1",
            "resolveDisplayNames": "ex-policies-1",
        },
        "GET /api/v1/policies",
        {
            "appid": "ex-policies-1",
            "userid": "ex-policies-1",
            "resolveDisplayNames": "ex-policies-1",
        },
        None,
        id="policies.query",
    ),
    pytest.param(
        "lacework_edge.policies.update",
        {"uuid": "ex-policies-1"},
        "PATCH /api/v1/policies/ex-policies-1",
        {},
        {"uuid": "ex-policies-1", "account_name": "acme"},
        id="policies.update",
    ),
    pytest.param(
        "lacework_edge.posture_attributes.create",
        {},
        "POST /api/v1/posture_attributes",
        {},
        {"account_name": "acme"},
        id="posture_attributes.create",
    ),
    pytest.param(
        "lacework_edge.posture_attributes.get",
        {"uuid": "ex-posture_attributes-1"},
        "GET /api/v1/posture_attributes/ex-posture_attributes-1",
        {},
        None,
        id="posture_attributes.get",
    ),
    pytest.param(
        "lacework_edge.posture_attributes.update",
        {"uuid": "ex-posture_attributes-1"},
        "PATCH /api/v1/posture_attributes/ex-posture_attributes-1",
        {},
        {"uuid": "ex-posture_attributes-1", "account_name": "acme"},
        id="posture_attributes.update",
    ),
    pytest.param(
        "lacework_edge.posture_profiles.create",
        {"name": "ex-posture_profiles-1"},
        "POST /api/v1/posture_profiles",
        {},
        {"name": "ex-posture_profiles-1", "account_name": "acme"},
        id="posture_profiles.create",
    ),
    pytest.param(
        "lacework_edge.posture_profiles.get",
        {"uuid": "ex-posture_profiles-1"},
        "GET /api/v1/posture_profiles/ex-posture_profiles-1",
        {},
        None,
        id="posture_profiles.get",
    ),
    pytest.param(
        "lacework_edge.posture_profiles.update",
        {"uuid": "ex-posture_profiles-1"},
        "PATCH /api/v1/posture_profiles/ex-posture_profiles-1",
        {},
        {"uuid": "ex-posture_profiles-1", "account_name": "acme"},
        id="posture_profiles.update",
    ),
    pytest.param(
        "lacework_edge.query_views.query",
        {"view": "ex-query_views-1", "start_time": "1700000000000", "end_time": "1700003600000"},
        "GET /api/v1/query_views/ex-query_views-1",
        {"start_time": "1700000000000", "end_time": "1700003600000"},
        None,
        id="query_views.query",
    ),
    pytest.param(
        "lacework_edge.tokens.create",
        {"user_uuid": "ex-users-1", "name": "soar-token"},
        "POST /api/v1/tokens",
        {},
        {"user_uuid": "ex-users-1", "name": "soar-token", "account_name": "acme"},
        id="tokens.create",
    ),
    pytest.param(
        "lacework_edge.tokens.create_temporary_access",
        {"user_uuid": "ex-users-1", "ttl_sec": 600},
        "POST /api/v1/tokens/temporary_access",
        {},
        {"user_uuid": "ex-users-1", "ttl_sec": 600, "account_name": "acme"},
        id="tokens.create_temporary_access",
    ),
    pytest.param(
        "lacework_edge.tokens.query", {}, "GET /api/v1/tokens", {}, None, id="tokens.query"
    ),
    pytest.param(
        "lacework_edge.tokens.update",
        {"uuid": "ex-tokens-1"},
        "PATCH /api/v1/tokens/ex-tokens-1",
        {},
        {"uuid": "ex-tokens-1", "account_name": "acme"},
        id="tokens.update",
    ),
    pytest.param(
        "lacework_edge.users.create",
        {"user_pii": {"email": "ex-users-1"}},
        "POST /api/v1/users",
        {},
        {"user_pii": {"email": "ex-users-1"}, "account_name": "acme"},
        id="users.create",
    ),
    pytest.param(
        "lacework_edge.users.devices",
        {"uuid": "ex-users-1"},
        "GET /api/v1/users/ex-users-1/devices",
        {},
        None,
        id="users.devices",
    ),
    pytest.param(
        "lacework_edge.users.get",
        {"uuid": "ex-users-1"},
        "GET /api/v1/users/ex-users-1",
        {},
        None,
        id="users.get",
    ),
    pytest.param("lacework_edge.users.query", {}, "GET /api/v1/users", {}, None, id="users.query"),
    pytest.param(
        "lacework_edge.users.update",
        {"uuid": "ex-users-1"},
        "PATCH /api/v1/users/ex-users-1",
        {},
        {"uuid": "ex-users-1", "account_name": "acme"},
        id="users.update",
    ),
    pytest.param(
        "lacework_edge.workflow_runs.answer",
        {"uuid": "ex-workflow_runs-1"},
        "POST /api/v1/workflow_runs/ex-workflow_runs-1/answer",
        {},
        {"uuid": "ex-workflow_runs-1", "account_name": "acme"},
        id="workflow_runs.answer",
    ),
    pytest.param(
        "lacework_edge.workflow_runs.create",
        {"workflow_run": {"workflow_uuid": "ex-workflows-1", "user_uuid": "ex-users-1"}},
        "POST /api/v1/workflow_runs",
        {},
        {
            "workflow_run": {"workflow_uuid": "ex-workflows-1", "user_uuid": "ex-users-1"},
            "account_name": "acme",
        },
        id="workflow_runs.create",
    ),
    pytest.param(
        "lacework_edge.workflow_runs.get",
        {"uuid": "ex-workflow_runs-1"},
        "GET /api/v1/workflow_runs/ex-workflow_runs-1",
        {},
        None,
        id="workflow_runs.get",
    ),
    pytest.param(
        "lacework_edge.workflow_runs.query",
        {},
        "GET /api/v1/workflow_runs",
        {},
        None,
        id="workflow_runs.query",
    ),
    pytest.param(
        "lacework_edge.workflows.create",
        {},
        "POST /api/v1/workflows",
        {},
        {"account_name": "acme"},
        id="workflows.create",
    ),
    pytest.param(
        "lacework_edge.workflows.get",
        {"uuid": "ex-workflows-1"},
        "GET /api/v1/workflows/ex-workflows-1",
        {},
        None,
        id="workflows.get",
    ),
    pytest.param(
        "lacework_edge.workflows.update",
        {"uuid": "ex-workflows-1"},
        "PATCH /api/v1/workflows/ex-workflows-1",
        {},
        {"uuid": "ex-workflows-1", "account_name": "acme"},
        id="workflows.update",
    ),
]


@pytest.mark.parametrize(("name", "inputs", "request_line", "query", "body"), WIRE)
def test_operation_sends_the_declared_request(
    name: str,
    inputs: dict[str, Any],
    request_line: str,
    query: dict[str, str],
    body: dict[str, Any] | None,
    make_engine: EngineFactory,
) -> None:
    method, path = request_line.split(" ", 1)
    router = respx.Router(base_url=BASE, assert_all_called=True)
    route = login_route(router)
    if (method, path) != ("GET", "/api/v1/token_login"):  # TokenLogin is also an action
        route = router.route(method=method, path=path)
        route.mock(return_value=httpx.Response(200, json={}))
    result = lacework_engine(make_engine, router).invoke(name, inputs)
    sent = route.calls.last.request
    assert dict(sent.url.params) == query
    assert sent.headers["Authorization"] == f"Bearer {JWT}"
    if body is None:
        assert sent.content == b""
    else:
        assert json.loads(sent.content) == body
    assert [c.url.split("?")[0].removeprefix(BASE) for c in result.calls][-1] == path
    assert CANARY not in json.dumps(result.to_dict()) and JWT not in json.dumps(result.to_dict())


@pytest.mark.parametrize(("name", "inputs"), [(p.values[0], p.values[1]) for p in WIRE])
def test_missing_or_wrong_inputs_are_refused_before_sending(
    name: str, inputs: dict[str, Any], make_engine: EngineFactory
) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=False)
    engine = lacework_engine(make_engine, router)
    spec = engine.pack.action(name)
    required = spec.input.get("required") or []
    broken = {k: v for k, v in inputs.items() if k != (required[0] if required else None)}
    broken["not_an_input"] = 1
    with pytest.raises(errors.InputError) as caught:
        engine.invoke(name, broken)
    rules = {(e.pointer, e.rule) for e in caught.value.errors}
    assert ("/not_an_input", "additionalProperties") in rules
    if required:
        assert ("", "required") in rules or any(r == "required" for _, r in rules)
    assert router.calls.call_count == 0
