"""The config's `bindings` section: the real method and path of an action whose path is assumed.

Generated actions (Lacework Edge) are declared with the paths the vendor document implies;
`soarpack lacework-edge bind-spec` matches them to the vendor's OpenAPI file and writes what
it found to the config. The engine sends each action's declared request as bound here.
"""

from __future__ import annotations

import msgspec

from soarpack import errors
from soarpack.config import Config
from soarpack.manifest import ActionSpec, HttpSpec

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def bind(spec: ActionSpec, config: Config) -> HttpSpec | None:
    """The action's declared request, with the method and path the config binds it to."""
    if spec.http is None:
        return None
    bound = config.section("bindings").get(spec.name)
    if not bound:
        return spec.http
    if not isinstance(bound, dict) or not {"method", "path"} <= set(bound):
        raise errors.ConfigError(
            f"bindings.{spec.name} in {config.path} needs `method` and `path`."
        )
    rebound = msgspec.structs.replace(
        spec.http, method=str(bound["method"]).upper(), path=str(bound["path"])
    )
    unknown = set(rebound.path_params) - set(spec.http.input_names())
    if unknown or rebound.method not in _METHODS:
        raise errors.ConfigError(
            f"bindings.{spec.name} in {config.path} is not usable: "
            + (f"path parameters {sorted(unknown)} are not inputs" if unknown else "bad method"),
            hint="Run `soarpack lacework-edge bind-spec` again with the vendor's OpenAPI file.",
        )
    return rebound
