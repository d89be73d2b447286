"""The routing file the operator mounts (SWITCHBOARD_ROUTING_FILE), re-read when it changes.

The operator moves canary weights by updating a ConfigMap; the kubelet swaps the mounted file
in place. A look at the file's identity (inode, size, modification time) at most once a second
sees the swap; a file that cannot be read or parsed is reported and the last good routing
stays in use, so a bad edit never stops new conversations that were flowing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from switchboard.dataplane.gateway.routing import Routing, RoutingError, parse_routing

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0


class RoutingFile:
    def __init__(
        self,
        path: str,
        *,
        recheck_seconds: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self.problem: str | None = f"{path} not read yet"
        """Why the file is not in use as it is now; None when it is."""
        self._routing: Routing | None = None
        self._identity: tuple[int, int, int] | None = None
        self._checked: float | None = None

    def current(self) -> Routing | None:
        """The routing to use now: the file's, or the last good one; None if there never was."""
        now = self.clock()
        if self._checked is not None and now - self._checked < self.recheck_seconds:
            return self._routing
        self._checked = now
        try:
            stat = os.stat(self.path)
        except OSError as error:
            self._report(f"cannot read {self.path}: {error.strerror}", None)
            return self._routing
        identity = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if identity == self._identity:
            return self._routing
        try:
            routing = parse_routing(Path(self.path).read_text())
        except (OSError, UnicodeDecodeError, RoutingError) as error:
            self._report(f"{self.path} is not usable: {error}", identity)
            return self._routing
        self._identity, self._routing, self.problem = identity, routing, None
        logger.info(
            "bot routing from %s: %s",
            self.path,
            ", ".join(f"{t.track} {t.version} weight {t.weight:g}" for t in routing.bot),
        )
        return routing

    def _report(self, problem: str, identity: tuple[int, int, int] | None) -> None:
        if problem != self.problem:
            keeping = "keeping the previous routing" if self._routing else "no bot routing yet"
            logger.error("%s; %s", problem, keeping)
        self.problem, self._identity = problem, identity
