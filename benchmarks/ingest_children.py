"""The four clients of the iterator-ingest benchmark, each run as a child process by path.

    python benchmarks/ingest_children.py soarpack [--client-rate-limit] <CLI arguments>
    python benchmarks/ingest_children.py sdk --parse json|msgspec --base-url URL ...
    python benchmarks/ingest_children.py floor --base-url URL --index I --out F --requests N
    python benchmarks/ingest_children.py count F     # what the floor's file of pages holds

- soarpack: `soarpack ingest netskope ...`, the CLI as users run it (project venv).
- sdk, `--parse json`: netskopesdk's iterator loop as its documentation has users write
  it: `res.json()["result"]`, one `json.dumps(record)` line per record.
- sdk, `--parse msgspec`: the same loop with the best parsing a user could add: the page
  split into raw records by msgspec, each record's bytes written as they came.
- floor: no client at all. The same pages read with `http.client`, gunzipped with the
  inflate soarpack uses (ISA-L, `isal`; zlib where it is not installed) in the pieces
  they arrive in, and each piece written to the file: no parsing. It asks for a fixed
  number of pages, since it never looks inside one.

Every side asks for gzip, as tenants answer, and writes its file with the fsync policy of
soarpack's sink: the page written, then flushed and fsynced before the next request.
Each prints one JSON summary line on stdout. This module imports only the standard
library at the top, so the SDK's venv (netskopesdk and msgspec, nothing of ours) runs it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

EVENT_TYPE = "page"
PAGE_PATH = f"/api/v2/events/dataexport/events/{EVENT_TYPE}"
PAGE_SIZE = 10_000
TOKEN_HEADER = "Netskope-Api-Token"
TOKEN_ENV = "SOARPACK_NETSKOPE_V2_TOKEN"
READ_SIZE = 64 << 10  # what httpx and urllib3 read a body in


def child_soarpack(argv: list[str]) -> int:
    """Our ingest CLI in this process. argv: [--client-rate-limit] then the CLI's arguments."""
    from soarpack.cli.main import main

    if argv[:1] == ["--client-rate-limit"]:
        return main(argv[1:])
    with tempfile.TemporaryDirectory(prefix="bench-pack-") as pack:
        return main(["--pack", _pack_without_client_rate_limit(Path(pack)), *argv])


def _pack_without_client_rate_limit(target: Path) -> str:
    """A copy of the pack whose netskope_v2 connection declares no rate limit.

    The limit is part of the manifest (4 per 1.1 s); the benchmark measures the loop at
    full speed through the public `--pack` option instead of touching our code.
    """
    import yaml

    from soarpack.pack import find_pack_dir

    source = find_pack_dir(None)
    for part in ("schemas", "actions", "playbooks"):
        shutil.copytree(source / part, target / part, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = yaml.safe_load((source / "manifest.yaml").read_text(encoding="utf-8"))
    manifest["connections"]["netskope_v2"].pop("rate_limit", None)
    (target / "manifest.yaml").write_text(
        yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8"
    )
    return str(target)


def child_sdk(argv: list[str]) -> int:
    """netskopesdk's iterator loop (runs in the netskopesdk venv)."""
    from importlib.metadata import version

    from netskope_api.iterator.const import Const
    from netskope_api.iterator.netskope_iterator import NetskopeIterator

    parser = argparse.ArgumentParser(prog="sdk")
    parser.add_argument("--parse", choices=("json", "msgspec"), required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-pages", type=int)
    args = parser.parse_args(argv)
    iterator = NetskopeIterator(
        {
            Const.NSKP_TOKEN: os.environ[TOKEN_ENV],
            Const.NSKP_TENANT_HOSTNAME: urllib.parse.urlsplit(args.base_url).netloc,
            Const.NSKP_ITERATOR_NAME: args.index,
            Const.NSKP_EVENT_TYPE: EVENT_TYPE,
        }
    )
    # Its client builds https://<host>; the simulator is plain http on loopback.
    iterator.client.configs["base_url"] = args.base_url
    documented = args.parse == "json"
    write_page = _json_writer() if documented else _msgspec_writer()
    records = pages = gzip_pages = 0
    # The baseline run appends nothing.
    with open(
        args.out, "a" if documented else "ab", encoding="utf-8" if documented else None
    ) as out:
        while args.max_pages is None or pages < args.max_pages:
            response = iterator.next()
            response.raise_for_status()
            gzip_pages += response.headers.get("Content-Encoding") == "gzip"
            count, wait = write_page(response, out)
            out.flush()
            os.fsync(out.fileno())
            records += count
            pages += 1
            if count < PAGE_SIZE:
                break
            if wait > 0:
                time.sleep(wait)
    summary: dict[str, Any] = {"records": records, "pages": pages, "gzip_pages": gzip_pages}
    summary.update({name: version(name) for name in ("netskopesdk", "requests")})
    if args.parse == "msgspec":
        summary["msgspec"] = version("msgspec")
    print(json.dumps(summary))
    return 0


def _json_writer() -> Any:
    """The documented use: the page parsed with json, each record written with json."""

    def write(response: Any, out: Any) -> tuple[int, float]:
        data = response.json()
        result = data["result"]
        for record in result:
            out.write(json.dumps(record) + "\n")
        return len(result), float(data.get("wait_time") or 0)

    return write


def _msgspec_writer() -> Any:
    """What a user who knew msgspec would add: raw records, written as they came."""
    import msgspec

    # Made here, not as a class statement: msgspec is imported in this function only.
    page_type = msgspec.defstruct(
        "Page", [("result", list[msgspec.Raw], []), ("wait_time", float, 0)]
    )
    decoder = msgspec.json.Decoder(page_type)

    def write(response: Any, out: Any) -> tuple[int, float]:
        page: Any = decoder.decode(response.content)
        if page.result:
            out.write(b"\n".join(page.result))
            out.write(b"\n")
        return len(page.result), page.wait_time

    return write


def child_floor(argv: list[str]) -> int:
    """The same pages with nothing but receiving, gunzipping and writing them."""
    parser = argparse.ArgumentParser(prog="floor")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--requests", type=int, required=True)
    args = parser.parse_args(argv)
    inflate, gunzip = _fastest_inflate()
    url = urllib.parse.urlsplit(args.base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port)
    query = urllib.parse.urlencode({"index": args.index, "operation": "next"})
    headers = {TOKEN_HEADER: os.environ[TOKEN_ENV], "Accept-Encoding": "gzip"}
    written = gzip_pages = 0
    with open(args.out, "ab", buffering=0) as out:
        for _ in range(args.requests):
            connection.request("GET", f"{PAGE_PATH}?{query}", headers=headers)
            response = connection.getresponse()
            if response.status != 200:
                raise SystemExit(f"floor: the simulator answered {response.status}")
            gzipped = response.getheader("Content-Encoding") == "gzip"
            gzip_pages += gzipped
            decoder = inflate(31) if gzipped else None
            while chunk := response.read(READ_SIZE):
                piece = decoder.decompress(chunk) if decoder else chunk
                written += out.write(piece)
            out.write(b"\n")  # one page a line, so the parent can check what was read
            os.fsync(out.fileno())
    connection.close()
    summary = {"pages": args.requests, "bytes": written, "gzip_pages": gzip_pages}
    print(json.dumps({**summary, "gunzip": gunzip}))
    return 0


def _fastest_inflate() -> tuple[Any, str]:
    """ISA-L's inflate, which soarpack's HTTP layer uses, or zlib's where it is missing."""
    try:
        from isal import isal_zlib
    except ImportError:
        import zlib

        return zlib.decompressobj, f"zlib {zlib.ZLIB_RUNTIME_VERSION}"
    from importlib.metadata import version

    return isal_zlib.decompressobj, f"isal {version('isal')}"


def child_count(argv: list[str]) -> int:
    """The records in the floor's file of pages (one a line), and the first and last id.

    Read in a process of its own: a child's peak RSS counts its parent's at the fork, so
    parsing these pages in the benchmark's own process would inflate every later side's.
    """
    records, first, last = 0, None, None
    with open(argv[0], "rb") as handle:
        for line in handle:
            result = json.loads(line)["result"] if line.strip() else []
            records += len(result)
            if result:
                first = first if first is not None else str(result[0].get("_id"))
                last = str(result[-1].get("_id"))
    print(json.dumps({"records": records, "first_id": first, "last_id": last}))
    return 0


CHILDREN = {
    "soarpack": child_soarpack,
    "sdk": child_sdk,
    "floor": child_floor,
    "count": child_count,
}

PEAK_RSS_PREFIX = "ingest_children: peak RSS kB "


def report_peak_rss() -> None:
    """This process's own peak RSS (VmHWM), last on stderr. The parent's rusage would
    also count the memory the parent itself had when it spawned this process."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return  # not Linux: the parent falls back to its rusage figure
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            print(PEAK_RSS_PREFIX + line.split()[1], file=sys.stderr, flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CHILDREN:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(CHILDREN)}}} ...")
    code = CHILDREN[sys.argv[1]](sys.argv[2:])
    report_peak_rss()
    sys.exit(code)
