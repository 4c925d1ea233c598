"""nginx serving a body as a static file: the practical ceiling for the scrape path.

One worker process (the exporter has one event loop), sendfile, no access log, keep-alive
without a request cap, and `gzip_static` so a gzip request gets the pre-compressed file,
exactly as the exporter serves its pre-gzipped body. Runs in the foreground on a loopback port.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from bench.load import ToolMissing, find_tool
from bench.procs import Child, ChildFailed, child, free_port, wait_for_status

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_START_TIMEOUT = 10.0
_ATTEMPTS = 3


def config(workdir: Path, root: Path, port: int) -> str:
    """A self-contained nginx.conf writing only under `workdir`."""
    temp = "\n".join(
        f"    {kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""\
worker_processes 1;
daemon off;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 75s;
    keepalive_requests 100000000;
    server {{
        listen 127.0.0.1:{port} reuseport;
        root {root};
        location = /metrics {{
            default_type "{CONTENT_TYPE}";
            gzip_static on;
            gzip_vary on;
        }}
    }}
}}
"""


@contextlib.contextmanager
def serve_static(workdir: Path, body: bytes, body_gzip: bytes) -> Iterator[Child]:
    """nginx serving `body` (and `body_gzip` to gzip clients) at /metrics; info has the port."""
    path = find_tool("nginx")
    if path is None:
        raise ToolMissing("nginx")
    root = workdir / "root"
    root.mkdir(parents=True, exist_ok=True)
    for directory in (workdir, root):  # run as root, nginx's worker reads as an unprivileged user
        directory.chmod(0o755)
    (root / "metrics").write_bytes(body)
    (root / "metrics.gz").write_bytes(body_gzip)
    for attempt in range(_ATTEMPTS):  # the port is picked before nginx binds it: retry a race
        port = free_port()
        conf = workdir / "nginx.conf"
        conf.write_text(config(workdir, root, port), encoding="utf-8")
        args = [path, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "error.log")]
        with child(args, announces=False) as running:
            url = f"http://127.0.0.1:{port}/metrics"
            if wait_for_status(url, 200, time.monotonic() + _START_TIMEOUT):
                running.info = {"port": port}
                yield running
                return
            if attempt == _ATTEMPTS - 1:
                log = (workdir / "error.log").read_text(errors="replace")[-2000:]
                raise ChildFailed(f"nginx did not serve {url}:\n{log}{running.stderr()}")
