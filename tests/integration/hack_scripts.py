"""hack/'s scripts as the integration tests run them, and what a session does with the servers
they start.

Each script that starts something (`cluster.py`, `prometheus.py`, `rabbitmq.py`, `postgres.py`)
answers `status` (exit code 0: it runs), `up` and `down`. A session reuses what already runs
(`make demo` or an earlier run left it up) and stops afterwards only what it started itself.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tests.integration.kube import REPO


def hack(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python hack/<script> <args>`, its output captured."""
    return subprocess.run(
        [sys.executable, str(REPO / "hack" / script), *args],
        capture_output=True,
        text=True,
        check=False,
    )


@contextlib.contextmanager
def running(
    what: str, command: Callable[[str], subprocess.CompletedProcess[str]]
) -> Iterator[None]:
    """`what` runs during the block: started with `command("up")` unless `command("status")`
    says it already runs, and then stopped with `command("down")`. A start that fails fails
    the tests, never skips them."""
    started_here = command("status").returncode != 0
    if started_here:
        started = command("up")
        if started.returncode != 0:
            pytest.fail(f"{what} did not start:\n{started.stderr}", pytrace=False)
    try:
        yield
    finally:
        if started_here:
            stopped = command("down")
            assert stopped.returncode == 0, f"{what} did not stop:\n{stopped.stderr}"
