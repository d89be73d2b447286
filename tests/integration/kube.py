"""Helpers for integration tests: the built kubectl, and polling waits with a deadline that
say what they waited for when they time out."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[2]
KUBECONFIG = REPO / ".cluster" / "kubeconfig"
KUBECTL = REPO / "bin" / "kubectl"

T = TypeVar("T")


def kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUBECTL), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KUBECONFIG": str(KUBECONFIG)},
    )


def wait_until(
    what: str, probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.2
) -> T:
    """Polls `probe` until it returns something truthy, and returns that."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except Exception as error:  # the object may not exist yet; say so if time runs out
            last_error = error
        else:
            if value:
                return value
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
