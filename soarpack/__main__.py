"""`python -m soarpack` is the same as the `soarpack` command."""

from soarpack.cli.main import run

run()
