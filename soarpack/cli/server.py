"""`soarpack serve` (the HTTP action server) and `soarpack server new-key`.

The socket is bound here, not by uvicorn, so `--port 0` works and the line
"soarpack server listening on http://HOST:PORT" (stderr) gives the real port once
the server accepts. SIGTERM and SIGINT stop it gracefully: no new connections,
in-flight requests finish, then background runs get `server.shutdown_grace`
seconds to pause; the exit code is then 0. Access log lines (JSON) go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
from types import FrameType
from typing import Any

from soarpack import exitcodes
from soarpack.cli.arguments import port
from soarpack.cli.workers import engine_for_server
from soarpack.errors import ConfigError
from soarpack.redact import RedactingFormatter

DEFAULT_PORT = 8080


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "serve", help="serve actions and playbook runs over HTTP to SOAR platforms (API keys)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=DEFAULT_PORT, help="0 picks a free port")
    # SUPPRESS: without it, this option's default would erase a global --config.
    p.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="YAML settings with the `server` section (default: $SOARPACK_CONFIG)",
    )
    p.add_argument(
        "--allow-anonymous",
        action="store_true",
        help="serve requests without a key (scope: server.anonymous); loopback hosts only",
    )
    p.set_defaults(run=_cmd_serve)

    keys = sub.add_parser("server", help="API keys for `soarpack serve`").add_subparsers(
        dest="sub", required=True
    )
    p = keys.add_parser(
        "new-key", help="print a new random API key and the sha256 line for server.keys"
    )
    p.add_argument("--id", default="my-platform", help="the key's name in the config and logs")
    p.set_defaults(run=_cmd_new_key)


def _cmd_new_key(args: argparse.Namespace) -> int:
    from soarpack.server.auth import hash_key, new_key

    key = new_key()
    digest = hash_key(key)
    print(key)
    print(f"sha256: {digest}")
    print(
        "The first line is the API key: give it to the calling platform now; it is not "
        "stored anywhere and cannot be shown again.\n"
        "The second line goes in the config file, under server.keys:\n"
        f"  - id: {args.id}\n"
        f"    sha256: {digest}\n"
        '    actions: ["*"]\n'
        "    side_effects: [read]      # add write / destructive explicitly\n"
        "    playbooks: []\n"
        "    approve: false",
        file=sys.stderr,
    )
    return exitcodes.OK


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from soarpack.config import Config
    from soarpack.pack import Pack
    from soarpack.server import build_service, create_app
    from soarpack.server.auth import check_anonymous
    from soarpack.server.protocol import protocol_class
    from soarpack.server.settings import load_server_settings

    check_anonymous(args.host, args.allow_anonymous)
    pack = Pack.load(args.pack)
    config = Config(args.config)
    settings = load_server_settings(config)
    if not settings.keys and not args.allow_anonymous:
        where = f" in {config.path}" if config.path else " (no config file given)"
        raise ConfigError(
            f"No API keys are configured (server.keys{where}): every request would be refused.",
            hint="`soarpack server new-key` makes one; --allow-anonymous serves loopback callers.",
        )
    engine = engine_for_server(pack, config, settings.executor)
    service = build_service(
        pack, config, engine=engine, allow_anonymous=args.allow_anonymous, settings=settings
    )
    try:
        sock = _bind(args.host, args.port)
    except ConfigError:
        service.close()
        raise
    _access_log_to_stderr()
    server = _announcing_server(
        uvicorn.Config(
            create_app(service),
            log_config=None,
            access_log=False,
            lifespan="on",
            # Callers' X-Forwarded-* headers are not trusted; no Server header advertised.
            proxy_headers=False,
            server_header=False,
            # h11 with a deadline on each request's headers (uvicorn has none).
            http=protocol_class(settings.header_timeout),
        )
    )
    stopped: list[int] = []

    def note_signal(signum: int, frame: FrameType | None) -> None:
        # uvicorn re-raises the signal that stopped it once it is done: a no-op handler
        # lets the process end with 0 after a graceful stop instead of dying by it.
        stopped.append(signum)

    previous = {sig: signal.signal(sig, note_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        left = service.close()
        sock.close()
    if not server.started:
        print("soarpack: the server did not start (see the log above).", file=sys.stderr)
        return exitcodes.INTERNAL
    print(
        "soarpack server stopped" + (f"; runs left resumable: {', '.join(left)}" if left else ""),
        file=sys.stderr,
    )
    return exitcodes.OK


def _bind(host: str, port: int) -> socket.socket:
    # The literal loopback address: a resolver could map "localhost" elsewhere.
    address = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
    try:
        family, kind, proto, _, where = socket.getaddrinfo(
            address, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"Cannot serve on {host}:{port}: {exc.strerror or exc}.") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(where)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"Cannot serve on {host}:{port}: {exc.strerror or exc}.") from None
    return sock


def _access_log_to_stderr() -> None:
    """One JSON line per request on stderr, whatever --log-level says."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(message)s"))
    access = logging.getLogger("soarpack.server.access")
    access.handlers[:] = [handler]
    access.setLevel(logging.INFO)
    access.propagate = False


def _listening(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _announcing_server(config: Any) -> Any:
    """uvicorn's Server, announcing the address once it accepts connections (uvicorn is
    imported here, not at the top: every `soarpack` command imports this module)."""
    import uvicorn

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and sockets:
                print(f"soarpack server listening on {_listening(sockets[0])}", file=sys.stderr)
                sys.stderr.flush()

    return Announcing(config)
