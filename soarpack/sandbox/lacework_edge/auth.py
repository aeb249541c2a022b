"""Authentication: an API key buys a JWT, and the JWT opens every other operation.

    GET /api/v1/token_login?account=NAME     <auth_header>: <auth_scheme> <api_key>
        200 the TokenLogin body: `token` (an HS256 JWT signed by the simulator, carrying
            account, sub (the API key's user), iat and exp), `expire_time_sec` (absolute
            epoch seconds), `ttl_sec`, account_name, user_uuid, ...
        403 {"message": ...} for a wrong or missing API key or an account the tenant
            does not have. The `secret` of an ACTIVE token record (tokens.create,
            tokens.create_temporary_access) works as an API key too, logging in as the
            token's user; one with an expiry (a temporary token) only once. A valid JWT
            of this tenant is taken as a session refresh: a new JWT for the named
            account, not counted as a login (an expired or forged one is a 403)
    GET /api/v1/login?account=NAME            the SAML login: no credential needed;
        200 a login body of the same shape with status INIT and no token (a simulator
            has no identity provider to hand over to); 403 for an unknown account

Every other operation needs `<auth_header>: <auth_scheme> <jwt>` (by default
`Authorization: Bearer <jwt>`); a missing, malformed, wrongly signed or expired JWT is
401 {"message": ...}. Each successful token_login adds one to `tenant.logins`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from starlette.datastructures import Headers

from soarpack.sandbox.lacework_edge.spec import enum_codes, load_operations, skeleton
from soarpack.sandbox.lacework_edge.store import Call, EdgeError, LaceworkEdgeTenant, Record

__all__ = ["AUTH_HANDLERS", "auth_headers", "credential", "issue_jwt", "verify_jwt"]

_ISSUER = "lacework-edge-sandbox"
_HEADER = {"alg": "HS256", "typ": "JWT"}
_LOGIN_TYPE_API_TOKEN = 2
_LOGIN_TYPE_SAML = 1
_API_USER_ROLE = 2


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(tenant: LaceworkEdgeTenant, signing_input: str) -> str:
    return _b64(hmac.new(tenant.jwt_secret, signing_input.encode("ascii"), hashlib.sha256).digest())


def issue_jwt(
    tenant: LaceworkEdgeTenant,
    *,
    account: str | None = None,
    ttl: int | None = None,
    user_uuid: str | None = None,
) -> str:
    """A JWT the tenant accepts, valid for `ttl` seconds (default `tenant.jwt_ttl`) from now."""
    now = int(tenant.now())
    claims = {
        "iss": _ISSUER,
        "account": account or tenant.account_name,
        "sub": user_uuid or tenant.api_user_uuid,
        "iat": now,
        "exp": now + (tenant.jwt_ttl if ttl is None else ttl),
    }
    header = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{_sign(tenant, f'{header}.{payload}')}"


def auth_headers(tenant: LaceworkEdgeTenant, credential: str | None = None) -> dict[str, str]:
    """The auth header carrying `credential` (default: a fresh JWT) the way the tenant wants it."""
    value = issue_jwt(tenant) if credential is None else credential
    scheme = tenant.auth_scheme
    return {tenant.auth_header: f"{scheme} {value}" if scheme else value}


def verify_jwt(tenant: LaceworkEdgeTenant, token: str) -> dict[str, Any]:
    """The JWT's claims; EdgeError 401 saying what is wrong with it otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise EdgeError(401, "invalid token: not a JWT (expected three base64url parts)")
    header_part, payload_part, signature = parts
    try:
        header = json.loads(_unb64(header_part))
        claims = json.loads(_unb64(payload_part))
    except (ValueError, UnicodeDecodeError):
        raise EdgeError(401, "invalid token: the JWT does not decode") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise EdgeError(401, "invalid token: unsupported JWT header")
    expected = _sign(tenant, f"{header_part}.{payload_part}")
    if not hmac.compare_digest(signature, expected):
        raise EdgeError(401, "invalid token: bad signature")
    exp = claims.get("exp")
    if not isinstance(exp, int) or tenant.now() >= exp:
        raise EdgeError(401, "token expired: log in again with token_login")
    return claims


def credential(tenant: LaceworkEdgeTenant, headers: Headers) -> str | None:
    """The credential in the tenant's auth header, without its scheme; None if absent."""
    raw = headers.get(tenant.auth_header)
    if raw is None:
        return None
    scheme = tenant.auth_scheme
    if not scheme:
        return raw.strip()
    word, _, rest = raw.strip().partition(" ")
    if word.lower() != scheme.lower() or not rest.strip():
        return ""
    return rest.strip()


def _account(call: Call) -> str:
    account = str(call.query.get("account") or "")
    if account not in call.tenant.accounts:
        raise EdgeError(403, f"account {account!r} is not known to this tenant")
    return account


def _session(call: Call, account: str) -> Record:
    tenant = call.tenant
    op = load_operations()["lacework_edge.auth.token_login"]
    body: Record = skeleton(op.output_schema)
    account_record = tenant.store("accounts").get(account) or {}
    now = tenant.now_ms()
    body.update(
        uuid=tenant.new_uuid(),
        account_name=account,
        account_uuid=account_record.get("uuid", ""),
        account_location=account_record.get("location", ""),
        account_shard="shard-1",
        backend_shard="shard-1",
        client_ip=call.client_ip,
        create_time=now,
        update_time=now,
        user_uuid=tenant.api_user_uuid,
        user_role=_API_USER_ROLE,
    )
    return body


def _key_owner(tenant: LaceworkEdgeTenant, given: object) -> str:
    """The user an API key (or the secret of an ACTIVE token record) logs in as; 403 if none.

    A token record with an expiry (a temporary one) works once: the login uses it up
    (its status becomes DELETED).
    """
    if not isinstance(given, str) or not given:
        raise EdgeError(403, "invalid API key: token_login needs the account's API key")
    if tenant.api_key and hmac.compare_digest(given.encode(), tenant.api_key.encode()):
        return tenant.api_user_uuid
    names = enum_codes("enum_status")
    for token in tenant.store("tokens"):
        secret = str(token.get("secret") or "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            continue
        expires = token.get("expire_time_sec") or 0
        if token.get("status") != names["ACTIVE"] or (expires and tenant.now() >= expires):
            raise EdgeError(403, "invalid API key: this token is used up, suspended or expired")
        if expires:
            token.update(status=names["DELETED"], update_time=tenant.tick())
        return tenant.token_users.get(str(token["uuid"]), tenant.api_user_uuid)
    raise EdgeError(403, "invalid API key: token_login needs the account's API key")


def _refresh_owner(tenant: LaceworkEdgeTenant, given: object) -> str | None:
    """The user of `given` if it is a JWT this tenant issued and still honours."""
    if not isinstance(given, str) or given.count(".") != 2:
        return None
    try:
        return str(verify_jwt(tenant, given).get("sub") or tenant.api_user_uuid)
    except EdgeError:
        return None


def _token_login(call: Call) -> Record:
    tenant = call.tenant
    account = _account(call)
    given = call.claims.get("api_key")
    refreshed = _refresh_owner(tenant, given)
    user_uuid = refreshed or _key_owner(tenant, given)
    token = issue_jwt(tenant, account=account, user_uuid=user_uuid)
    claims = verify_jwt(tenant, token)
    body = _session(call, account)
    body["user_uuid"] = user_uuid
    body.update(
        token=token,
        ttl_sec=tenant.jwt_ttl,
        expire_start_time=claims["iat"],
        expire_time_sec=claims["exp"],
        end_time=claims["exp"] * 1000,
        login_type=_LOGIN_TYPE_API_TOKEN,
        status=enum_codes("enum_status")["ACTIVE"],
    )
    if refreshed is None:
        tenant.logins += 1
    return body


def _login(call: Call) -> Record:
    body = _session(call, _account(call))
    body.update(login_type=_LOGIN_TYPE_SAML, status=enum_codes("enum_status")["INIT"])
    return body


AUTH_HANDLERS = {"auth.token_login": _token_login, "auth.login": _login}
