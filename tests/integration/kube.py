"""Helpers for integration tests: the built kubectl, polling waits with a deadline that say
what they waited for when they time out, and throwaway namespaces."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, ServiceAccount

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


def get(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    """An object as `kubectl get -o json` shows it, or None when there is none."""
    found = kubectl("get", kind, name, "-n", namespace, "-o", "json")
    if found.returncode != 0:
        return None
    body: dict[str, Any] = json.loads(found.stdout)
    return body


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


@contextlib.contextmanager
def restricted_namespace(client: Client, prefix: str) -> Iterator[str]:
    """A fresh namespace `<prefix>-<random>` enforcing Pod Security `restricted`, deleted
    afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    client.create(Namespace(metadata=ObjectMeta(name=name, labels=labels)))
    # Pods are admitted only once the namespace's default ServiceAccount exists.
    wait_until(
        f"the default ServiceAccount in namespace {name}",
        lambda: client.get(ServiceAccount, "default", namespace=name),
    )
    try:
        yield name
    finally:
        client.delete(Namespace, name)
