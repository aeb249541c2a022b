"""The HTTP action server (`soarpack serve`): actions and playbook runs for SOAR platforms.

    create_app(build_service(pack, config))   the Starlette app (app.py)
    build_openapi(pack)                       its OpenAPI 3.1 document (openapi.py)

Keys and scopes: auth.py; limits: limits.py; the error table: errors.py; the
`server:` config section: settings.py; background runs: runs.py.
"""

from __future__ import annotations

from soarpack.server.app import Service, build_service, create_app

__all__ = ["Service", "build_service", "create_app"]
