"""Background processes of the local dev tools (hack/cluster.py and the servers of
hack/services.py): each runs in its own process group, so it is stopped as a whole."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

STOP_TIMEOUT_SECONDS = 10.0


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name: state first, then ppid, pgrp."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as gone.
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def start_time(pid: int) -> int | None:
    """When the process started, in clock ticks since boot: with its pid, it names a process
    for good (a pid alone may be another process's after a reboot)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None else None


def group_members(group: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields is not None and fields[0] != "Z" and int(fields[2]) == group:
                members.append(int(entry.name))
    return members


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As servers bind: a port whose old connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def kill_group(group: int) -> None:
    """SIGKILL to every process of the group, as a crash would; returns once all are gone."""
    _signal_group(group, signal.SIGKILL)
    _wait(lambda: not group_members(group), float("inf"))


def stop_group(
    pid: int,
    name: str,
    prefix: str,
    *,
    group: int | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
    timeout: float = STOP_TIMEOUT_SECONDS,
) -> None:
    """Stops `pid` with `stop_signal` (a server stops its own helpers), then SIGTERM to what
    is left of its process group (`pid`'s own unless `group` is given), and SIGKILL to the
    group if anything is still there after a timeout (a scheduler whose apiserver is gone
    may ignore SIGTERM). Returns once the group is empty."""
    group = pid if group is None else group
    if not group_members(group):
        return
    print(f"[{prefix}] stopping {name} (pid {pid})", file=sys.stderr, flush=True)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, stop_signal)
    if _wait(lambda: not alive(pid), timeout):
        _signal_group(group, signal.SIGTERM)
        if _wait(lambda: not group_members(group), timeout):
            return
    print(
        f"[{prefix}] {name} did not stop within {timeout:.0f} s; killing it",
        file=sys.stderr,
        flush=True,
    )
    kill_group(group)
