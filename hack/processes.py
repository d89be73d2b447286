"""Background processes of the local dev tools (hack/cluster.py, hack/prometheus.py): each
runs in its own process group, so it is stopped as a whole."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time

STOP_TIMEOUT_SECONDS = 10.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop_group(pid: int, name: str, prefix: str) -> None:
    """SIGTERM to the process group of `pid`, SIGKILL if it is still there after a timeout
    (a scheduler whose apiserver is gone may ignore SIGTERM); returns once it is gone."""
    if not alive(pid):
        return
    print(f"[{prefix}] stopping {name} (pid {pid})", file=sys.stderr, flush=True)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        print(
            f"[{prefix}] {name} ignored SIGTERM for {STOP_TIMEOUT_SECONDS:.0f} s; killing it",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.05)
