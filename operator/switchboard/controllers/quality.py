"""The quality loop: every `spec.metrics.interval`, each ContactCenter with a
`metrics.prometheusURL` gets its quality figures read from Prometheus (`metrics/quality.py`).
When they differ from what status shows, they are kept for the reconcile, the only writer of
status, which records them as `status.quality`: an idle contact center writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.status import QualityStatus
from switchboard.api.types import duration_seconds
from switchboard.controllers.caches import Caches, Key
from switchboard.controllers.ticks import SpecsByGeneration, Work, tick_every_contact_center
from switchboard.metrics.prometheus import MetricsUnavailable, Prometheus, PrometheusClients
from switchboard.metrics.quality import read_quality

logger = logging.getLogger(__name__)

UNREADABLE_SPEC_SECONDS = 30.0


@dataclass
class QualityReader:
    caches: Caches
    enqueue: Callable[[Key], None]
    # The latest figures per ContactCenter that differ from its status, for the reconcile.
    figures: dict[Key, QualityStatus] = field(default_factory=dict)
    due: dict[Key, float] = field(default_factory=dict)
    clients: PrometheusClients = field(default_factory=PrometheusClients)
    specs: SpecsByGeneration = field(default_factory=SpecsByGeneration)

    async def run(self) -> None:
        await tick_every_contact_center(
            self.caches, self._due, lambda: list(self.due), self._forget
        )

    def _due(self, key: Key, body: dict[str, Any], now: float) -> Work | None:
        if now < self.due.get(key, 0.0):
            return None
        cc = self.specs.of(key, body)
        if cc is None:
            self.due[key] = now + UNREADABLE_SPEC_SECONDS
            return None
        self.due[key] = now + duration_seconds(cc.spec.metrics.interval)
        url = cc.spec.metrics.prometheus_url
        return None if url is None else self._read(key, self.clients.get(str(url)), cc)

    def _forget(self, key: Key) -> None:
        self.due.pop(key, None)
        self.figures.pop(key, None)
        self.specs.forget(key)

    async def _read(self, key: Key, prometheus: Prometheus, cc: ContactCenter) -> None:
        try:
            figures = await read_quality(prometheus, cc)
        except MetricsUnavailable as error:
            # The autoscaler's MetricsAvailable condition says so where it matters.
            logger.debug("quality figures of %s/%s not read: %s", *key, error.reason)
            return
        except Exception:
            logger.exception("reading the quality figures of %s/%s failed", *key)
            return
        stored = self.caches.contact_centers.get(key, {}).get("status", {}).get("quality")
        if figures == QualityStatus.model_validate(stored or {}):
            self.figures.pop(key, None)
            return
        self.figures[key] = figures
        self.enqueue(key)

    async def close(self) -> None:
        await self.clients.close()
