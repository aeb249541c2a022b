"""`soarpack worker`, `soarpack redis serve`, and the engines of the commands with an
executor: `soarpack run --executor` and `soarpack serve` (its `server.executor`).

    soarpack redis serve [--port 6379]              a local Redis (with a password) as the broker
    soarpack worker [--broker URL] [--concurrency N] [--config FILE]
    soarpack worker new-key                         print a fresh task key (SOARPACK_TASK_KEY)
    soarpack run PLAYBOOK --executor celery [--broker URL]

A worker is one process running N threads (`--pool threads`): killing it stops all it
runs, and its unacknowledged tasks go to another worker once the broker's visibility
timeout has passed. It invokes actions with its own configuration (vendor credentials
stay with the workers); the coordinator (`soarpack run`) keeps the journal. Both need
the same task key: the coordinator signs each task with it, a worker runs only tasks
it verifies (soarpack/workers/signing.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

from soarpack import exitcodes
from soarpack.cli.common import load_pack, local_engine
from soarpack.redact import RedactingFormatter

if TYPE_CHECKING:
    from soarpack.config import Config
    from soarpack.engine import Engine
    from soarpack.pack import Pack


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "worker", help="run a Celery worker that invokes actions for `run --executor celery`"
    )
    p.add_argument(
        "--broker",
        metavar="URL",
        help="Redis URL (default: workers.broker or $SOARPACK_BROKER_URL)",
    )
    p.add_argument(
        "--concurrency", type=_positive_int, default=8, metavar="N", help="threads (default 8)"
    )
    # `soarpack worker new-key`, like `soarpack server new-key`; a bare `worker` runs one.
    p.add_argument(
        "task",
        nargs="?",
        choices=["new-key"],
        help="new-key: print a fresh task key for SOARPACK_TASK_KEY (or workers.task_key)",
    )
    # Also accepted before the command; SUPPRESS keeps `soarpack --config F worker` working.
    p.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="YAML settings file")
    p.set_defaults(run=_cmd_worker)

    redis = sub.add_parser("redis", help="a local Redis for the workers").add_subparsers(
        dest="sub", required=True
    )
    p = redis.add_parser(
        "serve", help="run redis-server on 127.0.0.1 (no persistence) until Ctrl-C"
    )
    p.add_argument("--port", type=int, default=6379, help="0 picks a free port (default 6379)")
    p.set_defaults(run=_cmd_redis_serve)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """`soarpack run --executor {local,celery} --broker URL`."""
    p.add_argument(
        "--executor",
        choices=["local", "celery"],
        default="local",
        help="where steps run: in this process (default) or on Celery workers",
    )
    p.add_argument("--broker", metavar="URL", help="with --executor celery: the Redis URL")


def engine_for_run(args: argparse.Namespace) -> Any:
    """The Engine of `soarpack run`: local, or a CeleryEngine on the chosen broker."""
    from soarpack.config import Config
    from soarpack.errors import FieldError, InputError

    refuse_password_in_argv(getattr(args, "broker", None))
    if getattr(args, "executor", "local") != "celery":
        if getattr(args, "broker", None):
            raise InputError(
                "run", [FieldError("", "usage", "--broker goes with --executor celery")]
            )
        return local_engine(args)
    from soarpack.workers.dispatch import CeleryEngine

    return CeleryEngine(load_pack(args), Config(args.config), broker=args.broker)


def engine_for_server(pack: Pack, config: Config, executor: str) -> Engine:
    """The Engine `soarpack serve` gives the server: a local one, or the Celery one when
    `server.executor` is celery (its broker: `workers.broker` or SOARPACK_BROKER_URL)."""
    from soarpack.engine import Engine
    from soarpack.errors import ConfigError

    if executor == "local":
        return Engine(pack, config)
    # Imported only here: the workers extra (celery, redis) is optional.
    try:
        from soarpack.workers.dispatch import CeleryEngine
    except ImportError as exc:
        raise ConfigError(
            f"server.executor is celery, but Celery cannot be imported ({exc}).",
            hint="Install the workers extra: pip install 'soarpack[workers]'.",
        ) from None
    return CeleryEngine(pack, config)


def refuse_password_in_argv(url: str | None) -> None:
    """ConfigError if a `--broker` URL carries a password: every user of the machine can
    read a process's arguments (`ps`), so secrets come from the config or environment.
    The message never quotes the URL."""
    if not url or not _has_password(url):
        return
    from soarpack.errors import ConfigError

    raise ConfigError(
        "--broker gives a URL with a password, which `ps` shows to every user of this "
        "machine; secrets are never taken from the command line.",
        hint="Set SOARPACK_BROKER_URL, or `workers.broker: ${VAR}` in the config file "
        "(the password then comes from the environment).",
    )


def _has_password(url: str) -> bool:
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(url)
        given = parts.password
    except ValueError:
        # Not a URL Python can split: judge the authority by hand, the safe way round.
        authority = url.partition("://")[2].split("/", 1)[0]
        return ":" in authority.rpartition("@")[0]
    # redis-py also reads `?password=` from the query.
    query = {key.lower() for key in parse_qs(parts.query, keep_blank_values=True)}
    return bool(given) or "password" in query


def _cmd_worker(args: argparse.Namespace) -> int:
    refuse_password_in_argv(args.broker)
    import redis

    from soarpack.config import Config
    from soarpack.engine import Engine
    from soarpack.pack import Pack
    from soarpack.workers.celeryapp import QUEUE, WorkerSettings, make_app
    from soarpack.workers.ledger import TaskLedger
    from soarpack.workers.ratewindow import RedisWindows
    from soarpack.workers.signing import new_task_key, task_key
    from soarpack.workers.tasks import register

    if args.task == "new-key":
        print(new_task_key())
        return exitcodes.OK
    _log_to_stderr(args.log_level if not args.debug else "DEBUG")
    config = Config(args.config)
    settings = WorkerSettings.from_config(config, broker=args.broker)
    key = task_key(config)
    # Every worker counts the vendors' rate limits in the broker's Redis: N workers
    # calling one account share its budget instead of sending N times it.
    engine = Engine(Pack.load(args.pack), config, windows=RedisWindows.from_url(settings.broker))
    hostname = f"soarpack-{os.getpid()}@{socket.gethostname()}"
    app = make_app(settings, name="soarpack-worker")
    # A lease lapses within half a visibility timeout of its worker dying, so by the
    # time Redis redelivers the task, the new delivery sees the old one is gone.
    lease = max(1.0, min(10.0, settings.visibility_timeout / 2))
    ledger = TaskLedger(
        redis.Redis.from_url(settings.result_backend), holder=hostname, lease_seconds=lease
    )
    register(app, engine, ledger, key)
    argv = [
        "worker",
        "--pool=threads",
        f"--concurrency={args.concurrency}",
        f"--hostname={hostname}",
        f"--queues={QUEUE}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--loglevel={args.log_level}",
    ]
    try:
        app.worker_main(argv)
    finally:
        ledger.close()
        engine.close()
    return exitcodes.OK


def _cmd_redis_serve(args: argparse.Namespace) -> int:
    from soarpack.config import state_dir
    from soarpack.workers.redis_server import RedisServer, broker_password

    password, where = broker_password(state_dir(None))
    with RedisServer(port=args.port, password=password) as server:
        print(
            f"redis: {server.binary} on {server.shown_url} "
            "(loopback only, password required, nothing kept on disk)",
            file=sys.stderr,
        )
        print(f"  password: {where} (mode 0600; delete it for a new one)", file=sys.stderr)
        # The password is read from its file by the shell, so it is never printed.
        read = f"$(cat {shlex.quote(str(where))})"
        print(
            f'  export SOARPACK_BROKER_URL="redis://:{read}@127.0.0.1:{server.port}/0"',
            file=sys.stderr,
        )
        print(
            "  the coordinator and the workers also share one task key: "
            "export SOARPACK_TASK_KEY=$(soarpack worker new-key)",
            file=sys.stderr,
        )
        print("Ctrl-C stops it.", file=sys.stderr, flush=True)
        try:
            while server.process is not None and server.process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("redis: stopped", file=sys.stderr)
            return exitcodes.OK
    print("redis: the server exited", file=sys.stderr)
    return exitcodes.INTERNAL


def _log_to_stderr(level: str) -> None:
    """Celery's own loggers too, through the redacting formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
