"""`soarpack validate PLAYBOOK`: every problem, with file, line, step and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from soarpack import errors
from soarpack.pack import Pack
from soarpack.playbook import load_playbook, validate_playbook
from tests.playbook.conftest import write_playbook

HEAD = "name: test-book\ndescription: checks\n"


@pytest.mark.parametrize(
    ("body", "line", "step", "field", "message"),
    [
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.ecco\n",
            5,
            "a",
            "action",
            "unknown action 'mock.service.ecco' (did you mean 'mock.service.echo'?)",
            id="unknown-action",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.echo\n    needs: [b]\n",
            6,
            "a",
            "needs",
            "needs unknown step 'b'",
            id="unknown-need",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.echo\n    needs: [b]\n"
            "  - id: b\n    action: mock.service.echo\n    needs: [a]\n",
            6,
            "a",
            "needs",
            "is part of a cycle of `needs`",
            id="cycle",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.echo\n"
            "    with: {value: '${{ steps.b.outputs.x }}'}\n"
            "  - id: b\n    action: mock.service.echo\n",
            6,
            "a",
            "with.value",
            "step 'b' is not among this step's `needs`",
            id="reference-to-a-later-step",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.echo\n    outputs: {v: '${{ result.value }}'}\n"
            "  - id: b\n    action: mock.service.echo\n"
            "    with: {value: '${{ steps.a.outputs.w }}'}\n",
            9,
            "b",
            "with.value",
            "step 'a' declares no output 'w'",
            id="unknown-output",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.echo\n    with: {value: '${{ item }}'}\n",
            6,
            "a",
            "with.value",
            "`item` exists only in a step with for_each",
            id="item-outside-loop",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.echo\n    with: {value: '${{ inputs.nope }}'}\n",
            6,
            "a",
            "with.value",
            "the playbook has no input 'nope'",
            id="unknown-input",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.things.create\n    with: {id: x, value: seven}\n",
            6,
            "a",
            "with.value",
            '"seven" is not of type integer',
            id="literal-breaks-schema",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.things.create\n    with: {value: 1}\n",
            6,
            "a",
            "with.id",
            "is required",
            id="required-input-missing",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.things.delete\n    with: {id: x}\n",
            5,
            "a",
            "action",
            "is destructive: add an `approval`",
            id="destructive-without-approval",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.echo\n    with: {value: '${{ steps..x }}'}\n",
            6,
            "a",
            "with.value",
            "syntax error at position",
            id="expression-syntax",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.echo\n    retry: {on: [ServerError]}\n",
            6,
            "a",
            "retry.True",
            "quote it",
            id="yaml-on-is-true",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.echo\n  - id: a\n    action: mock.service.echo\n",
            6,
            "a",
            "id",
            "is used by an earlier step",
            id="duplicate-id",
        ),
        pytest.param(
            "steps:\n  - id: a\n    action: mock.service.echo\n    on_error: handler\n",
            6,
            "a",
            "on_error",
            "goes to unknown step 'handler'",
            id="unknown-handler",
        ),
    ],
)
def test_problems_name_file_line_step_and_field(
    mock_pack: Pack, tmp_path: Path, body: str, line: int, step: str, field: str, message: str
) -> None:
    path = write_playbook(tmp_path, HEAD + body)
    problems = validate_playbook(path, mock_pack)
    assert any(
        p.file == str(path)
        and p.line == line
        and p.step == step
        and p.field == field
        and message in p.message
        for p in problems
    ), [str(p) for p in problems]


def test_every_problem_is_reported_at_once_sorted_by_line(mock_pack: Pack, tmp_path: Path) -> None:
    path = write_playbook(
        tmp_path,
        HEAD + "steps:\n  - id: a\n    action: mock.nope.x\n"
        "  - id: b\n    action: mock.things.delete\n    with: {id: '${{ inputs.q }}'}\n",
    )
    with pytest.raises(errors.PlaybookInvalid) as caught:
        load_playbook(path, mock_pack)
    lines = [p.line for p in caught.value.problems]
    assert lines == sorted(lines) and len(lines) == 3
    assert f"{path}:5: step a: action: unknown action" in str(caught.value)


def test_bad_yaml_names_its_line(mock_pack: Pack, tmp_path: Path) -> None:
    path = write_playbook(tmp_path, HEAD + "steps:\n  - id: a\n   action: [\n")
    [problem] = validate_playbook(path, mock_pack)
    assert problem.line == 5 and "not valid YAML" in problem.message


@pytest.mark.parametrize(
    "tagged",
    [
        pytest.param("!!python/object/apply:os.system ['touch pwned']", id="python-apply"),
        pytest.param("!!python/name:os.system", id="python-name"),
        pytest.param("!custom {a: 1}", id="local-tag"),
    ],
)
def test_yaml_tags_that_build_objects_are_refused(
    mock_pack: Pack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tagged: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_playbook(tmp_path, HEAD + f"steps:\n  - id: a\n    action: {tagged}\n")
    [problem] = validate_playbook(path, mock_pack)
    assert "not valid YAML" in problem.message
    assert not (tmp_path / "pwned").exists()


def test_shipped_playbooks_are_valid() -> None:
    pack = Pack.load()
    books = sorted((pack.root / "playbooks").glob("*.yaml"))
    assert books, "the pack ships playbooks"
    for book in books:
        assert validate_playbook(book, pack) == [], book.name
        assert load_playbook(book, pack).name == book.stem


RETRIED = """
name: test-book
description: retries of writes and reads
steps:
  - id: touch
    action: mock.things.touch
    with: {id: a}
    retry: {errors: [InvalidRequestError, ServerError, ConflictError, RequestTimeout]}
  - id: delete
    action: mock.things.delete
    with: {id: a}
    approval: none
    retry: {errors: [AuthenticationError, MalformedResponseError, TransportError]}
  - id: read
    action: mock.things.get
    with: {id: a}
    retry: {errors: [NotFoundError]}
"""


def test_a_write_retrying_a_class_that_is_never_resent_is_a_warning(
    mock_pack: Pack, tmp_path: Path
) -> None:
    path = write_playbook(tmp_path, RETRIED)
    load_playbook(path, mock_pack)  # warnings do not stop a run
    found = validate_playbook(path, mock_pack)
    assert {p.level for p in found} == {"warning"}
    assert [(p.line, p.step, p.field, p.message.split(" ")[0]) for p in found] == [
        (8, "touch", "retry.errors", "InvalidRequestError"),
        (13, "delete", "retry.errors", "AuthenticationError"),
        (13, "delete", "retry.errors", "MalformedResponseError"),
    ]
    assert "never lets this write step be sent again" in found[0].message
    assert str(found[0]).endswith(": warning: step touch: retry.errors: " + found[0].message)


def _with_exchange(pack: Pack, tmp_path: Path) -> Pack:
    """The mock pack, its connection obtaining its token by an exchange."""
    root = tmp_path / "exchanging"
    shutil.copytree(pack.root, root)
    manifest = root / "manifest.yaml"
    text = manifest.read_text(encoding="utf-8")
    auth = 'auth: {place: header, name: Authorization, setting: token, prefix: "Bearer "}'
    assert auth in text
    manifest.write_text(
        text.replace(
            auth,
            auth[:-1] + ", exchange: {kind: oauth_client_credentials, path: /token}}",
        ),
        encoding="utf-8",
    )
    return Pack.load(root)


def test_on_a_connection_with_a_token_exchange_no_class_is_said_never_resent(
    mock_pack: Pack, tmp_path: Path
) -> None:
    # A failed exchange sent nothing (processed False), whatever class it raised, so
    # AuthenticationError, InvalidRequestError or NotFoundError may let the write go again.
    exchanging = _with_exchange(mock_pack, tmp_path)
    assert exchanging.connections["mock"].auth.exchange is not None
    path = write_playbook(tmp_path, RETRIED)
    assert validate_playbook(path, exchanging) == []
    assert [p.message.split(" ")[0] for p in validate_playbook(path, mock_pack)] == [
        "InvalidRequestError",
        "AuthenticationError",
        "MalformedResponseError",
    ]
