"""Child processes of the harness: started in their own session, always stopped as a group.

A child announces itself by printing one JSON line on stdout (its port and whatever else the
harness needs) once it serves; stderr goes to a file shown when the child fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

STOP_GRACE = 10.0
REPO = Path(__file__).resolve().parent.parent


class ChildFailed(RuntimeError):
    """A child exited or stayed silent before announcing itself."""


@dataclass
class Child:
    """A running child process and what it announced."""

    process: subprocess.Popen[str]
    stderr_path: Path
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        """The child's process id (also its process group id)."""
        return self.process.pid

    def stderr(self, limit: int = 4000) -> str:
        """The tail of what the child wrote to stderr."""
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")[-limit:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after a grace period."""
        if self.process.poll() is None:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                _signal_group(self.pid, signal.SIGKILL)
                self.process.wait(STOP_GRACE)
        _signal_group(self.pid, signal.SIGKILL)  # helpers the child may have left behind
        if self.process.stdout is not None:
            self.process.stdout.close()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _read_line(stream: IO[str], timeout: float) -> str | None:
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            return None
    return stream.readline()


@contextlib.contextmanager
def child(
    args: Sequence[str],
    *,
    announce_timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
    announces: bool = True,
) -> Iterator[Child]:
    """Start `args` in a new session; wait for its JSON line (if `announces`); stop it after."""
    with tempfile.NamedTemporaryFile("w", prefix="bench-child-", suffix=".log", delete=False) as f:
        stderr_path = Path(f.name)
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            list(args),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
            cwd=REPO,
            env={**os.environ, **(env or {})},
        )
    running = Child(process, stderr_path)
    try:
        if announces:
            running.info = _announcement(running, announce_timeout)
        yield running
    finally:
        running.stop()
        stderr_path.unlink(missing_ok=True)


def _announcement(running: Child, timeout: float) -> dict[str, Any]:
    assert running.process.stdout is not None
    line = _read_line(running.process.stdout, timeout)
    if not line:
        state = "exited" if running.process.poll() is not None else "stayed silent"
        raise ChildFailed(f"{running.process.args!r} {state}:\n{running.stderr()}")
    info: dict[str, Any] = json.loads(line)
    return info


def python_module(module: str, *args: str) -> list[str]:
    """The command running `python -m module args` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def free_port() -> int:
    """A loopback TCP port free right now (for servers that need a fixed port, like nginx)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak RSS) and VmRSS of a process, in KiB, from /proc/<pid>/status."""
    values: dict[str, int] = {}
    with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0])
    return values


def group_memory_kib(pid: int) -> dict[str, int]:
    """memory_kib summed over a process and its children (nginx's master and worker)."""
    total = memory_kib(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        for child_pid in children.read_text().split():
            for key, value in memory_kib(int(child_pid)).items():
                total[key] = total.get(key, 0) + value
    return total


def http_get(url: str, headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> bytes:
    """GET a loopback URL; raises on a non-2xx status."""
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310  (http only)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body: bytes = response.read()
        return body


def wait_for_status(url: str, status: int, deadline: float, every: float = 0.01) -> bool:
    """Poll `url` until it answers `status` or `deadline` (monotonic) passes."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310
                if response.status == status:
                    return True
        except urllib.error.HTTPError as error:
            if error.code == status:
                return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(every)
    return False
