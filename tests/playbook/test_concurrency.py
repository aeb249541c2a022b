"""Loop items and independent steps run at the same time, up to their limits."""

from __future__ import annotations

import pytest

from soarpack.playbook import run_playbook
from tests.playbook.conftest import Things

LOOP = """
name: test-book
description: a loop of echoes
concurrency: {total}
steps:
  - id: loop
    action: mock.service.echo
    for_each: ${{{{ `[1,2,3,4,5,6,7,8,9,10]` }}}}
    concurrency: {per_step}
    with: {{value: "${{{{ item }}}}"}}
    outputs: {{v: "${{{{ result.value }}}}"}}
outputs:
  values: ${{{{ steps.loop.outputs.v }}}}
"""


@pytest.mark.parametrize(
    ("total", "per_step", "peak"),
    [
        pytest.param(16, 4, 4, id="loop-limit"),
        pytest.param(3, 8, 3, id="playbook-limit"),
        pytest.param(16, 1, 1, id="sequential-by-default-value"),
    ],
)
def test_loop_items_run_concurrently_up_to_the_limit(
    things: Things, total: int, per_step: int, peak: int
) -> None:
    things.server.latency = 0.03
    book = things.book(LOOP.format(total=total, per_step=per_step))
    result = run_playbook(book, engine=things.engine, runs_dir_path=things.runs)
    assert result.status == "succeeded"
    assert result.outputs == {"values": list(range(1, 11))}  # item order, whatever the timing
    assert things.server.peak == peak


def test_independent_steps_overlap(things: Things) -> None:
    things.server.latency = 0.05
    steps = "\n".join(
        f"  - {{id: s{i}, action: mock.service.echo, needs: [], with: {{value: {i}}}}}"
        for i in range(5)
    )
    book = things.book(f"name: test-book\ndescription: fan out\nsteps:\n{steps}\n")
    assert run_playbook(book, engine=things.engine, runs_dir_path=things.runs).status == "succeeded"
    assert things.server.peak == 5
