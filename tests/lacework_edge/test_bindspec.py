"""`soarpack lacework-edge bind-spec`: the vendor's OpenAPI file makes its paths authoritative.

The tests generate an OpenAPI document from the manifest with paths unlike the assumed
ones, bind it, and check that actions then call the new paths, with nothing in the
pack edited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml

from soarpack import errors
from soarpack.cli.main import main
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from tests.conftest import Sleeps, settings_env, transport_for
from tests.lacework_edge.helpers import BASE, login_route


def _openapi(pack: Pack, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """An OpenAPI 3.1 document for every generated operation, under /edge/v9/..."""
    paths: dict[str, Any] = {}
    for name, action in sorted(pack.actions.items()):
        if action.operation is None or name in skip or action.http is None:
            continue
        area, verb = name.split(".")[1:]
        params = "".join(f"/{{{p}}}" for p in action.http.path_params)
        path = f"/{area.replace('_', '-')}{params}/{verb}"
        method = "post" if action.http.method != "GET" else "get"
        paths.setdefault(path, {})[method] = {
            "summary": action.operation.summary,
            "operationId": name,
            "responses": {"200": {"description": "ok"}},
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lacework Edge API", "version": "1.0"},
        "servers": [{"url": "https://{tenant}.example/edge/v9"}],
        "paths": paths,
    }


def _bind(tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Any:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(doc), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"connections": {"netskope": {"base_url": BASE}}}))
    code = main(["--config", str(config), "lacework-edge", "bind-spec", str(spec)])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err, config


def test_every_action_binds_and_is_then_called_on_its_real_path(
    pack: Pack, tmp_path: Path, capsys: pytest.CaptureFixture[str], sleeps: Sleeps
) -> None:
    manifest_before = (pack.root / "manifest.yaml").read_bytes()
    generated_before = (pack.root / "schemas/lacework_edge/operations.json").read_bytes()
    code, report, _, config = _bind(tmp_path, _openapi(pack), capsys)
    generated = [n for n, a in pack.actions.items() if a.operation is not None]
    assert code == 0 and report["bound"] == len(generated) == 93 and report["unbound"] == []
    written = yaml.safe_load(config.read_text())
    assert written["connections"] == {"netskope": {"base_url": BASE}}  # other settings kept
    assert written["bindings"]["lacework_edge.users.get"] == {
        "method": "GET",
        "path": "/edge/v9/users/{uuid}/get",
    }
    router = respx.Router(base_url=BASE, assert_all_called=True)
    login_route(router)
    moved = router.post("/edge/v9/users/u-1/update").mock(return_value=httpx.Response(200, json={}))
    engine = Engine(
        pack,
        Config(config, env=settings_env("lacework_edge", base_url=BASE)),
        transports={"lacework_edge": transport_for(router)},
        sleep=sleeps,
    )
    with engine:
        engine.invoke("lacework_edge.users.update", {"uuid": "u-1", "user": {"status": 3}})
    assert json.loads(moved.calls.last.request.content)["user"] == {"status": 3}
    # the pack itself is untouched: the binding lives in the config only
    assert (pack.root / "manifest.yaml").read_bytes() == manifest_before
    assert (pack.root / "schemas/lacework_edge/operations.json").read_bytes() == generated_before


def test_actions_it_cannot_bind_are_reported_and_keep_their_assumed_path(
    pack: Pack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _openapi(pack, skip=("lacework_edge.blobs.get",))
    # a path parameter the action has no input for cannot be bound
    doc["paths"]["/alerts/{alert_id}/get"] = doc["paths"].pop("/alerts/{uuid}/get")
    # an operation the pack does not know is listed, not guessed at
    doc["paths"]["/brand/new"] = {"get": {"summary": "List brand new things", "responses": {}}}
    code, report, err, config = _bind(tmp_path, doc, capsys)
    assert code == 0 and report["bound"] == 91
    assert report["unbound"] == [
        {
            "action": "lacework_edge.alerts.get",
            "why": "path parameters ['alert_id'] of /edge/v9/alerts/{alert_id}/get are not inputs",
        },
        {
            "action": "lacework_edge.blobs.get",
            "why": "no operation has the summary 'Get a blob.'",
        },
    ]
    assert report["unmatched_spec_operations"] == ["list brand new things"]
    assert "2 action(s) not bound" in err
    assert "lacework_edge.alerts.get" not in yaml.safe_load(config.read_text())["bindings"]


def test_a_spec_that_matches_nothing_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "other.json"
    spec.write_text(json.dumps({"openapi": "3.1.0", "paths": {"/x": {"get": {"summary": "X"}}}}))
    code = main(["--config", str(tmp_path / "c.yaml"), "lacework-edge", "bind-spec", str(spec)])
    assert code == 4
    assert "No Lacework Edge action matched" in capsys.readouterr().err
    assert not (tmp_path / "c.yaml").exists()


def test_a_broken_binding_in_the_config_is_refused_before_sending(
    pack: Pack, tmp_path: Path, sleeps: Sleeps
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"bindings": {"lacework_edge.users.get": {"method": "GET", "path": "/u/{user_id}"}}}
        )
    )
    router = respx.Router(base_url=BASE, assert_all_called=False)
    engine = Engine(
        pack,
        Config(config, env=settings_env("lacework_edge", base_url=BASE)),
        transports={"lacework_edge": transport_for(router)},
        sleep=sleeps,
    )
    with engine, pytest.raises(errors.ConfigError, match="user_id"):
        engine.invoke("lacework_edge.users.get", {"uuid": "u-1"})
    assert router.calls.call_count == 0


def test_an_openapi_file_over_32_mib_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "huge.json"
    with spec.open("wb") as handle:
        handle.truncate(32 * 1024 * 1024 + 1)  # sparse: costs no disk
    code = main(["lacework-edge", "bind-spec", "--dry-run", str(spec)])
    err = capsys.readouterr().err
    assert code == 4 and f"{spec} is larger than 32 MiB" in err and "Traceback" not in err


def test_a_yaml_openapi_file_with_an_alias_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "openapi.yaml"
    spec.write_text("openapi: 3.1.0\nok: &r {description: ok}\npaths: {/x: {get: *r}}\n")
    code = main(["lacework-edge", "bind-spec", "--dry-run", str(spec)])
    err = capsys.readouterr().err
    assert code == 4 and "aliases are not accepted" in err and "line 2, column 5" in err


def test_a_spec_path_with_a_lone_surrogate_is_bound_as_u_fffd(
    pack: Pack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _openapi(pack)
    path, item = next(iter(doc["paths"].items()))
    doc["paths"] = {path + "/\ud800": item}
    spec = tmp_path / "openapi.json"
    # As the vendor's file would carry it: an escape in ASCII JSON text.
    spec.write_text(json.dumps(doc, ensure_ascii=True), encoding="utf-8")
    config = tmp_path / "config.yaml"
    code = main(["--config", str(config), "lacework-edge", "bind-spec", str(spec)])
    assert code == 0, capsys.readouterr().err
    bindings = yaml.safe_load(config.read_text(encoding="utf-8"))["bindings"]
    assert [b["path"] for b in bindings.values()] == ["/edge/v9" + path + "/\ufffd"]
