"""A playbook file: read with line numbers, typed, its expressions compiled.

Reading never runs anything. `load_playbook` returns the raw data with a map from
JSON pointer to line, so every problem the checks find can name its line;
`Playbook.build` makes the typed view once the schema check has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from soarpack import yamlsafe
from soarpack.errors import PlaybookInvalid, PlaybookProblem
from soarpack.playbook.expressions import Template, compile_value

# The defaults below are also written in schemas/playbook.schema.json, which a playbook is
# checked against; tests/playbook/test_model_matches_schema.py fails when the two differ.
DEFAULT_RETRY_ERRORS = ("RateLimitedError", "ServerError", "TransportError")
DEFAULT_CONCURRENCY = 16


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RetrySpec(_Model):
    max_attempts: int = 3
    backoff: Literal["fixed", "exponential"] = "exponential"
    delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.0
    total: float | None = None
    errors: tuple[str, ...] = DEFAULT_RETRY_ERRORS


class ApprovalSpec(_Model):
    prompt: str
    timeout: float = 86400.0
    on_timeout: Literal["fail", "skip"] = "fail"


class StepSpec(_Model):
    id: str
    description: str = ""
    action: str | None = None
    playbook: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    needs: list[str] | None = None
    when: str | None = None
    for_each: str | list[Any] | None = None
    concurrency: int = 1
    retry: RetrySpec | None = None
    timeout: float | None = None
    on_error: str = "fail"
    approval: ApprovalSpec | Literal["none"] | None = None
    outputs: dict[str, Any] = Field(default_factory=dict)

    @property
    def handler_target(self) -> str | None:
        """The step to go to on failure, if on_error names one."""
        return None if self.on_error in ("fail", "continue") else self.on_error


@dataclass(frozen=True)
class CompiledStep:
    """A step with its expressions compiled, and where it sits in the graph."""

    spec: StepSpec
    index: int
    needs: tuple[str, ...]
    is_handler: bool
    with_: Any
    when: Template | None
    for_each: Any
    outputs: dict[str, Any]
    prompt: Any

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass
class Source:
    """A playbook's text and where each value sits in it."""

    path: Path
    text: str
    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, pointer: str) -> int:
        """The line of the value at `pointer`, or of its nearest parent that has one."""
        while pointer:
            if pointer in self.lines:
                return self.lines[pointer]
            pointer = pointer.rsplit("/", 1)[0]
        return self.lines.get("", 1)


@dataclass(frozen=True)
class Playbook:
    name: str
    description: str
    inputs: dict[str, Any]
    concurrency: int
    steps: dict[str, CompiledStep]
    outputs: dict[str, Any]
    source: Source

    @property
    def path(self) -> Path:
        return self.source.path

    @classmethod
    def build(cls, source: Source) -> Playbook:
        """The typed view of schema-valid data (ExpressionError if an expression is bad)."""
        data = source.data
        specs = [StepSpec.model_validate(raw) for raw in data["steps"]]
        handlers = {s.handler_target for s in specs if s.handler_target}
        steps: dict[str, CompiledStep] = {}
        previous: str | None = None
        for index, spec in enumerate(specs):
            # Default: after the previous step in the file.
            default = (previous,) if previous else ()
            needs = tuple(spec.needs) if spec.needs is not None else default
            approval = spec.approval
            steps[spec.id] = CompiledStep(
                spec=spec,
                index=index,
                needs=() if spec.id in handlers else needs,
                is_handler=spec.id in handlers,
                with_=compile_value(spec.with_),
                when=_template(spec.when),
                for_each=compile_value(spec.for_each),
                outputs=compile_value(spec.outputs),
                prompt=compile_value(approval.prompt)
                if isinstance(approval, ApprovalSpec)
                else None,
            )
            previous = spec.id
        return cls(
            name=data["name"],
            description=data["description"],
            inputs=data.get("inputs") or {"type": "object"},
            concurrency=int(data.get("concurrency", DEFAULT_CONCURRENCY)),
            steps=steps,
            outputs=compile_value(data.get("outputs") or {}),
            source=source,
        )


def _template(text: str | None) -> Template | None:
    if text is None:
        return None
    compiled = compile_value(text)
    return compiled if isinstance(compiled, Template) else None


def read_source(path: Path, text: str | None = None) -> Source:
    """Parse the YAML (safe loader only) and record each value's line."""
    if text is None:
        try:
            text = yamlsafe.read_capped(path)
        except yamlsafe.FileTooLarge as exc:
            raise PlaybookInvalid([PlaybookProblem(str(path), 0, "", "", f"is {exc}")]) from None
        except OSError as exc:
            raise PlaybookInvalid(
                [PlaybookProblem(str(path), 0, "", "", f"cannot read: {exc.strerror}")]
            ) from None
        except UnicodeDecodeError as exc:
            raise PlaybookInvalid(
                [PlaybookProblem(str(path), 0, "", "", f"not UTF-8 (bad byte at {exc.start})")]
            ) from None
    try:
        # Aliases, deep nesting and oversized text refused before anything walks it.
        node, data = yamlsafe.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PlaybookInvalid(
            [PlaybookProblem(str(path), line, "", "", f"not valid YAML: {reason}")]
        ) from None
    if not isinstance(data, dict):
        raise PlaybookInvalid([PlaybookProblem(str(path), 1, "", "", "must be a YAML mapping")])
    source = Source(path, text, data)
    if node is not None:
        _record_lines(node, "", source.lines)
    return source


def _record_lines(node: yaml.Node, pointer: str, lines: dict[str, int]) -> None:
    lines[pointer] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value).replace("~", "~0").replace("/", "~1")
            lines[f"{pointer}/{name}"] = key.start_mark.line + 1
            _record_lines(value, f"{pointer}/{name}", lines)
            # The key's own line is where a person looks for "this field".
            lines[f"{pointer}/{name}"] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, f"{pointer}/{index}", lines)
