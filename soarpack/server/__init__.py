"""The HTTP action server (`soarpack serve`): actions and playbook runs for SOAR platforms.

    create_app(build_service(pack, config, engine=engine))
                                              the Starlette app (app.py, service.py)
    build_openapi(pack)                       its OpenAPI 3.1 document (openapi.py); each
                                              caller gets its key's part (openapi_scope.py)

The handlers: endpoints.py. Keys and scopes: auth.py; limits: limits.py; the error
table: errors.py; the `server:` config section: settings.py; background runs: runs.py.
The engine (local, or Celery by `server.executor`) is the caller's choice: `soarpack
serve` makes it (cli/workers.py), so the server imports nothing of the workers.
"""

from __future__ import annotations

from soarpack.server.app import create_app
from soarpack.server.service import Service, build_service

__all__ = ["Service", "build_service", "create_app"]
