"""The checks before anything runs: every problem, with file, line, step and field.

Like a compiler, the checks collect every problem rather than stopping at the first:
schema, unknown actions and playbooks, references to unknown steps or outputs or to
steps that may not have run yet, cycles, literal inputs the action's schema refuses,
and destructive steps with neither an approval nor an explicit `approval: none`.

Warnings (level "warning") are shown but do not stop a run: a write step whose
`retry.errors` lists a class after which the resend rule never sends it again.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from soarpack import errors
from soarpack.errors import ExpressionError, PlaybookInvalid, PlaybookProblem
from soarpack.http import errormap
from soarpack.pack import Pack
from soarpack.playbook.expressions import Template, compile_value, has_expression, templates
from soarpack.playbook.model import CompiledStep, Playbook, Source, read_source
from soarpack.playbook.query_check import WARNING, query_warnings

SCHEMA_FILE = "playbook.schema.json"
STEP_FIELDS = ("outputs", "result", "status", "error", "items")
RUN_FIELDS = ("id", "playbook", "started_at", "dry_run")
_ACK = "approval: none"


def find_playbook(
    name_or_path: str | os.PathLike[str], pack: Pack, near: Path | None = None
) -> Path:
    """A path as given, else `<name>.yaml` beside `near`, else in the pack's playbooks/."""
    given = Path(name_or_path).expanduser()
    if given.suffix in (".yaml", ".yml") or given.exists():
        return given
    for folder in (near, pack.root / "playbooks"):
        if folder is not None and (folder / f"{name_or_path}.yaml").is_file():
            return folder / f"{name_or_path}.yaml"
    return pack.root / "playbooks" / f"{name_or_path}.yaml"


def load_playbook(
    name_or_path: str | os.PathLike[str], pack: Pack, *, text: str | None = None
) -> Playbook:
    """Read and check a playbook; PlaybookInvalid lists every problem found (warnings
    alone do not stop it)."""
    playbook, problems = _checked(name_or_path, pack, text)
    if playbook is None or any(p.level != WARNING for p in problems):
        raise PlaybookInvalid(problems)
    return playbook


def validate_playbook(name_or_path: str | os.PathLike[str], pack: Pack) -> list[PlaybookProblem]:
    """Every problem in the playbook, warnings included (none: it may run as it is)."""
    try:
        return _checked(name_or_path, pack, None)[1]
    except PlaybookInvalid as exc:
        return exc.problems


def _checked(
    name_or_path: str | os.PathLike[str], pack: Pack, text: str | None
) -> tuple[Playbook | None, list[PlaybookProblem]]:
    path = find_playbook(name_or_path, pack)
    source = read_source(path, text)
    problems = list(_schema_problems(source, pack))
    if problems:
        return None, problems
    try:
        playbook = Playbook.build(source)
    except ExpressionError:
        # find every bad expression, each with its line
        return None, list(_expression_problems(source))
    return playbook, [*_Checker(playbook, pack).problems(), *playbook_warnings(playbook, pack)]


def playbook_warnings(playbook: Playbook, pack: Pack) -> list[PlaybookProblem]:
    """What a valid playbook may not do as its author expects."""
    file = str(playbook.path)
    found = []
    for step in playbook.steps.values():
        for field, message in _retry_warnings(step, pack):
            pointer = f"/steps/{step.index}/{field.replace('.', '/')}"
            line = playbook.source.line(pointer)
            found.append(PlaybookProblem(file, line, step.id, field, message, WARNING))
    return sorted(found)


def _retry_warnings(step: CompiledStep, pack: Pack) -> Iterator[tuple[str, str]]:
    """Error classes a write step's retry names that can never let it be sent again."""
    policy = step.spec.retry
    action = pack.actions.get(str(step.spec.action))
    if policy is None or action is None or action.side_effect == "read":
        return
    connection = pack.connections.get(action.connection)
    overrides = connection.status_overrides if connection is not None else None
    # A failed token exchange sent nothing: then even these classes may be resent.
    exchange = connection is not None and connection.auth.exchange is not None
    for name in policy.errors:
        cls = getattr(errors, name, None)
        if not isinstance(cls, type) or not issubclass(cls, errors.SoarpackError):
            continue  # the schema names the classes
        if errormap.never_resent(
            cls, verifiable=action.verify is not None, overrides=overrides, exchange=exchange
        ):
            yield (
                "retry.errors",
                f"{name} never lets this {action.side_effect} step be sent again: after it "
                "the vendor's answer is final (a change is resent only when the failure "
                "proves it was not processed, or a `verify` read shows it absent)",
            )


def _schema_problems(source: Source, pack: Pack) -> Iterator[PlaybookProblem]:
    schema = pack.schemas.files[SCHEMA_FILE]
    for error in pack.schemas.errors(schema, source.data):
        step, field = _locate(source.data, error.pointer)
        message = error.message
        if error.pointer.lower().endswith("/true"):
            message += " (YAML reads a bare `on`/`yes` key as true; quote it)"
        yield PlaybookProblem(str(source.path), source.line(error.pointer), step, field, message)


def _expression_problems(source: Source) -> Iterator[PlaybookProblem]:
    """Expressions that do not compile, found value by value so each names its line."""

    def walk(value: Any, pointer: str) -> Iterator[tuple[str, ExpressionError]]:
        if isinstance(value, str):
            try:
                compile_value(value)
            except ExpressionError as exc:
                yield pointer, exc
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from walk(item, f"{pointer}/{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, f"{pointer}/{index}")

    for pointer, exc in walk(source.data, ""):
        step, field = _locate(source.data, pointer)
        yield PlaybookProblem(
            str(source.path),
            source.line(pointer),
            step,
            field,
            f"expression ${{{{ {exc.expression} }}}}: {exc.reason}",
        )


def _locate(data: Any, pointer: str) -> tuple[str, str]:
    """(step id, dotted field) for a pointer like /steps/2/with/user_uuid."""
    parts = pointer.strip("/").split("/") if pointer else []
    if len(parts) >= 2 and parts[0] == "steps" and parts[1].isascii() and parts[1].isdigit():
        steps = data.get("steps") if isinstance(data, dict) else None
        index = int(parts[1])
        step = ""
        if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], dict):
            step = str(steps[index].get("id", f"#{index + 1}"))
        return step, ".".join(parts[2:])
    return "", ".".join(parts)


class _Checker:
    """The checks that need the whole playbook and the pack."""

    def __init__(self, playbook: Playbook, pack: Pack) -> None:
        self.playbook = playbook
        self.pack = pack
        self.file = str(playbook.path)
        self.found: list[PlaybookProblem] = []
        self.upstream: dict[str, set[str]] = {}

    def problems(self) -> list[PlaybookProblem]:
        steps = self.playbook.steps
        raw_ids = [s.get("id") for s in self.playbook.source.data["steps"]]
        for index, step_id in enumerate(raw_ids):
            if raw_ids.index(step_id) != index:
                self._add(f"/steps/{index}/id", str(step_id), "id", "is used by an earlier step")
        for step in steps.values():
            self._check_links(step)
        if not self._check_cycles():
            for step in steps.values():
                self._check_target(step)
                self._check_references(step)
                self._check_approval(step)
                self._check_query_quoting(step)
            self._check_outputs()
        return sorted(self.found)

    # -- helpers ---------------------------------------------------------------------
    def _add(self, pointer: str, step: str, field: str, message: str, level: str = "error") -> None:
        line = self.playbook.source.line(pointer)
        self.found.append(PlaybookProblem(self.file, line, step, field, message, level))

    def _at(self, step: CompiledStep, field: str = "") -> str:
        pointer = f"/steps/{step.index}"
        for part in field.replace("[", ".").replace("]", "").split(".") if field else []:
            pointer += f"/{part}"
        return pointer

    def _problem(self, step: CompiledStep, field: str, message: str) -> None:
        self._add(self._at(step, field), step.id, field, message)

    # -- graph -----------------------------------------------------------------------
    def _check_links(self, step: CompiledStep) -> None:
        known = self.playbook.steps
        for name in step.spec.needs or []:
            if name not in known:
                self._problem(step, "needs", f"needs unknown step {name!r}{_suggest(name, known)}")
            elif name == step.id:
                self._problem(step, "needs", "a step cannot need itself")
        target = step.spec.handler_target
        if target is not None and target not in known:
            self._problem(
                step, "on_error", f"goes to unknown step {target!r}{_suggest(target, known)}"
            )
        elif target == step.id:
            self._problem(step, "on_error", "a step cannot be its own error handler")

    def _check_cycles(self) -> bool:
        """Compute each step's upstream steps; report needs cycles (True if any)."""
        steps = self.playbook.steps
        handled_by: dict[str, list[str]] = {}
        for step in steps.values():
            if step.spec.handler_target in steps:
                handled_by.setdefault(str(step.spec.handler_target), []).append(step.id)
        visiting: set[str] = set()
        cyclic = False

        def upstream(step_id: str) -> set[str]:
            nonlocal cyclic
            if step_id in self.upstream:
                return self.upstream[step_id]
            if step_id in visiting:
                cyclic = True
                return set()
            visiting.add(step_id)
            found: set[str] = set()
            parents = list(steps[step_id].needs) + handled_by.get(step_id, [])
            for parent in parents:
                if parent in steps and parent != step_id:
                    found |= {parent} | upstream(parent)
            visiting.discard(step_id)
            self.upstream[step_id] = found
            return found

        for step_id in steps:
            upstream(step_id)
        if cyclic:
            for step in steps.values():
                if step.id in self.upstream[step.id] or any(
                    step.id in self.upstream.get(n, set()) for n in step.needs
                ):
                    self._problem(step, "needs", "is part of a cycle of `needs`")
        return cyclic

    # -- what a step runs ------------------------------------------------------------
    def _check_target(self, step: CompiledStep) -> None:
        spec = step.spec
        if spec.playbook is not None:
            path = find_playbook(spec.playbook, self.pack, self.playbook.path.parent)
            if not path.is_file():
                self._problem(step, "playbook", f"unknown playbook {spec.playbook!r}")
            elif path.resolve() == self.playbook.path.resolve():
                self._problem(step, "playbook", "a playbook cannot run itself")
            return
        name = str(spec.action)
        if name not in self.pack.actions:
            self._problem(
                step, "action", f"unknown action {name!r}{_suggest(name, self.pack.actions)}"
            )
            return
        action = self.pack.actions[name]
        literal = {k: v for k, v in step.with_.items() if not has_expression(v)}
        dynamic = {k for k, v in step.with_.items() if has_expression(v)}
        store = self.pack.schemas
        for error in store.errors(
            action.input, store.apply_defaults(action.input, literal), strict=True
        ):
            top = error.pointer.strip("/").split("/")[0]
            if top in dynamic or (error.rule in ("oneOf", "anyOf") and dynamic):
                continue  # known only at run time; checked then
            field = f"with.{top}" if top else "with"
            self._problem(
                step,
                field,
                f"{action.name} input {error.pointer or '/'}: {error.message} [{error.rule}]",
            )

    def _check_approval(self, step: CompiledStep) -> None:
        if step.spec.action is None or step.spec.action not in self.pack.actions:
            return
        if (
            self.pack.actions[step.spec.action].side_effect == "destructive"
            and step.spec.approval is None
        ):
            self._problem(
                step,
                "action",
                f"{step.spec.action} is destructive: add an `approval` (prompt, timeout) "
                f"or `{_ACK}` to say none is needed",
            )

    def _check_query_quoting(self, step: CompiledStep) -> None:
        for field, message in query_warnings(step.with_, self.playbook.inputs):
            self._add(self._at(step, field), step.id, field, message, WARNING)

    # -- references ------------------------------------------------------------------
    def _check_references(self, step: CompiledStep) -> None:
        fields: list[tuple[str, Any, bool]] = [
            ("with", step.with_, False),
            ("when", step.when, False),
            ("for_each", step.for_each, False),
            ("approval.prompt", step.prompt, False),
            ("outputs", step.outputs, True),
        ]
        for field, compiled, in_outputs in fields:
            for path, template in templates(compiled, field):
                self._check_template(step, path, template, in_outputs)

    def _check_template(
        self, step: CompiledStep | None, field: str, template: Template, in_outputs: bool
    ) -> None:
        for expression in template.expressions():
            for ref in expression.references():
                message = self._reference_problem(step, ref, in_outputs, field)
                if message:
                    where = f"${{{{ {expression.text} }}}}: {message}"
                    if step is None:
                        self._add(f"/{field.replace('.', '/')}", "", field, where)
                    else:
                        self._problem(step, field, where)

    def _reference_problem(
        self, step: CompiledStep | None, ref: tuple[str, ...], in_outputs: bool, field: str
    ) -> str | None:
        head = ref[0]
        loops = step is not None and step.spec.for_each is not None and field != "for_each"
        if head == "inputs":
            props = self.playbook.inputs.get("properties") or {}
            if len(ref) > 1 and ref[1] not in props:
                return f"the playbook has no input {ref[1]!r}{_suggest(ref[1], props)}"
            return None
        if head == "steps":
            return self._step_reference(step, ref)
        if head in ("item", "index"):
            return None if loops else f"`{head}` exists only in a step with for_each"
        if head == "result":
            return None if in_outputs else "`result` exists only in a step's outputs"
        if head == "error":
            return (
                None
                if step is not None and step.is_handler
                else ("`error` exists only in a step reached by another step's on_error")
            )
        if head == "run":
            if len(ref) > 1 and ref[1] not in RUN_FIELDS:
                return f"run has no field {ref[1]!r} (it has {', '.join(RUN_FIELDS)})"
            return None
        return (
            f"unknown name {head!r}: an expression reads inputs, steps, item, index, result, "
            "error or run"
        )

    def _step_reference(self, step: CompiledStep | None, ref: tuple[str, ...]) -> str | None:
        steps = self.playbook.steps
        if len(ref) < 2:
            return None
        target = ref[1]
        if target not in steps:
            return f"unknown step {target!r}{_suggest(target, steps)}"
        if step is not None and target not in self.upstream.get(step.id, set()):
            if target == step.id:
                return "a step cannot read its own results; use `result` in its outputs"
            return f"step {target!r} is not among this step's `needs` (directly or indirectly), so it may not have run yet"
        if len(ref) > 2 and ref[2] not in STEP_FIELDS:
            return f"steps.{target} has no field {ref[2]!r} (it has {', '.join(STEP_FIELDS)})"
        if len(ref) > 3 and ref[2] == "outputs" and ref[3] not in steps[target].outputs:
            declared = steps[target].outputs
            return f"step {target!r} declares no output {ref[3]!r}{_suggest(ref[3], declared)}"
        return None

    def _check_outputs(self) -> None:
        for path, template in templates(self.playbook.outputs, "outputs"):
            self._check_template(None, path, template, False)


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
