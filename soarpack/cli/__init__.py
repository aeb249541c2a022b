"""The `soarpack` command line. Entry point: soarpack.cli.main:main."""
