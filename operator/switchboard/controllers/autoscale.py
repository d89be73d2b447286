"""The SLA autoscaler loop: every `spec.metrics.interval`, read demand from Prometheus, size
the autoscaled workloads with the queueing model, and hand the outcome to the reconciler,
which applies the replicas and writes status (one writer of status, no races).

Missing metrics hold the current replicas and say so in `MetricsAvailable=False`; the
decision of every tick is explained in status, and each change of replicas in an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.status import SLAStatus
from switchboard.api.types import duration_seconds
from switchboard.controllers.caches import Caches, Key
from switchboard.controllers.kube import Kube
from switchboard.controllers.sla import (
    autoscaled,
    autoscaling,
    demand,
    metric_windows,
    readiness_lead_seconds,
    scaling_limits,
    service_target,
)
from switchboard.controllers.ticks import SpecsByGeneration, Work, tick_every_contact_center
from switchboard.metrics import operator as metrics
from switchboard.metrics.prometheus import MetricsUnavailable, Prometheus, PrometheusClients
from switchboard.metrics.queries import arrival_history, observe
from switchboard.resources.bot import sized_replicas
from switchboard.resources.sla_status import (
    forecast_points,
    metrics_condition,
    scaling_state,
    sla_condition,
    sla_status,
)
from switchboard.resources.status import Assessment
from switchboard.sizing.decision import Decision, Recommendation, ScalingState, decide
from switchboard.sizing.forecast import Forecast
from switchboard.sizing.lookahead import forecast_slots, rate_to_size_for, slots_until_ready
from switchboard.sizing.workloads import Observation, Workload

logger = logging.getLogger(__name__)

FORECAST_SLOT_SECONDS = 300.0
HISTORY_REFRESH_SECONDS = 900.0


@dataclass(frozen=True)
class AutoscaleOutcome:
    """What the autoscaler decided for one ContactCenter, for the reconcile to apply and record."""

    replicas: Mapping[str, int]
    sla: SLAStatus
    conditions: tuple[Assessment, ...]  # those the autoscaler owns


@dataclass(frozen=True)
class _History:
    fetched_at: float
    past_days: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class _Outlook:
    start: float  # when the forecast's first slot begins, Unix seconds
    forecast: Forecast


@dataclass
class Autoscaler:
    caches: Caches
    kube: Kube
    enqueue: Callable[[Key], None]
    # The latest outcome per ContactCenter, which the reconcile applies and records.
    outcomes: dict[Key, AutoscaleOutcome] = field(default_factory=dict)
    states: dict[tuple[Key, Workload], ScalingState] = field(default_factory=dict)
    due: dict[Key, float] = field(default_factory=dict)
    history: dict[tuple[Key, Workload], _History] = field(default_factory=dict)
    clients: PrometheusClients = field(default_factory=PrometheusClients)
    specs: SpecsByGeneration = field(default_factory=SpecsByGeneration)

    async def run(self) -> None:
        """Ticks every ContactCenter with autoscaling when its interval has passed."""
        await tick_every_contact_center(self.caches, self._due, self.specs.keys, self._forget)

    def _due(self, key: Key, body: dict[str, Any], now: float) -> Work | None:
        if now < self.due.get(key, 0.0):
            return None
        cc = self.specs.of(key, body)
        if cc is None or not autoscaled(cc) or cc.spec.metrics.prometheus_url is None:
            return None
        if key[0] not in self.caches.listed_namespaces:
            # The replicas running are not known until a reconcile has listed the namespace's
            # children (just after a restart): sizing from a guess would scale, and write, for
            # nothing.
            return None
        self.due[key] = now + duration_seconds(cc.spec.metrics.interval)
        return self._tick_safely(key, cc)

    def _forget(self, key: Key) -> None:
        self.specs.forget(key)
        self.due.pop(key, None)
        for history_key in [k for k in self.history if k[0] == key]:
            del self.history[history_key]
        self.outcomes.pop(key, None)
        for state_key in [k for k in self.states if k[0] == key]:
            del self.states[state_key]
        metrics.forget_contact_center(*key)

    async def _tick_safely(self, key: Key, cc: ContactCenter) -> None:
        try:
            await self.tick(key, cc)
        except Exception:
            logger.exception("autoscaling %s/%s failed; trying again next interval", *key)

    async def tick(self, key: Key, cc: ContactCenter) -> None:
        assert cc.spec.metrics.prometheus_url is not None
        prometheus = self.clients.get(str(cc.spec.metrics.prometheus_url))
        target = service_target(cc)
        now = time.time()
        rate_window, recent_windows, aht_window = metric_windows(cc)
        workloads = autoscaled(cc)
        # Both tiers in one loop, read at once.
        results = await asyncio.gather(
            *(
                observe(
                    prometheus,
                    cc,
                    workload,
                    window_seconds=rate_window,
                    recent_windows=recent_windows,
                    aht_window_seconds=aht_window,
                    now=now,
                )
                for workload in workloads
            ),
            return_exceptions=True,
        )
        observations: dict[Workload, Observation | None] = {}
        unavailable: str | None = None
        for workload, result in zip(workloads, results, strict=True):
            if isinstance(result, MetricsUnavailable):
                observations[workload], unavailable = None, str(result)
            elif isinstance(result, BaseException):
                raise result
            else:
                observations[workload] = result
        outlooks: dict[Workload, _Outlook] = {}
        if unavailable is None:
            with contextlib.suppress(MetricsUnavailable):  # the present is enough to size by
                outlooks = await self._forecast(key, cc, prometheus, now)

        decisions: dict[Workload, Decision] = {}
        replicas: dict[str, int] = {}
        events: list[str] = []
        for workload, observed in observations.items():
            current = self._current_replicas(cc, workload)
            state = (
                self.states.get((key, workload))
                or self._stored_state(key, workload)
                or ScalingState(recommendations=(Recommendation(now, current),))
            )
            outlook = outlooks.get(workload)
            rate = rate_to_size_for(
                outlook.forecast if outlook else None,
                cc.spec.forecast.demand_quantile,
                FORECAST_SLOT_SECONDS,
            )
            decision = decide(
                now,
                current,
                demand(cc, observed),
                rate,
                target,
                scaling_limits(cc, workload),
                state,
            )
            self.states[(key, workload)] = decision.state
            decisions[workload] = decision
            replicas[workload] = decision.replicas
            labels = {"namespace": key[0], "contact_center": key[1], "workload": workload}
            metrics.DESIRED_REPLICAS.labels(**labels).set(decision.replicas)
            metrics.CURRENT_REPLICAS.labels(**labels).set(current)
            if decision.predicted is not None:
                metrics.PREDICTED_SERVICE_LEVEL.labels(**labels).set(
                    decision.predicted.service_level
                )
            if observed is not None and observed.service_level is not None:
                metrics.OBSERVED_SERVICE_LEVEL.labels(**labels).set(observed.service_level)
            if rate is not None:
                metrics.FORECAST_ARRIVAL_RATE.labels(**labels).set(rate)
            metrics.SCALING_DECISIONS.labels(**labels, direction=direction(current, decision)).inc()
            if decision.replicas != current:
                events.append(f"{workload} {current} -> {decision.replicas}: {decision.reason}")

        center = {"namespace": key[0], "contact_center": key[1]}
        metrics.METRICS_AVAILABLE.labels(**center).set(0 if unavailable else 1)
        metrics.SLA_OBJECTIVE.labels(**center, objective="service_level").set(target.target)
        if target.max_abandon is not None:
            metrics.SLA_OBJECTIVE.labels(**center, objective="max_abandon_rate").set(
                target.max_abandon
            )

        # Status shows the bot's forecast (every contact reaches the bot first), else the agents'.
        shown = outlooks.get("bot") or next(iter(outlooks.values()), None)
        points = (
            forecast_points(shown.start, shown.forecast, FORECAST_SLOT_SECONDS) if shown else []
        )
        self.outcomes[key] = AutoscaleOutcome(
            replicas=replicas,
            sla=sla_status(observations, decisions, points),
            conditions=(
                metrics_condition(unavailable, decisions),
                sla_condition(observations, target),
            ),
        )
        self.enqueue(key)
        body = self.caches.contact_centers.get(key)
        if events and body is not None:
            await self.kube.event(body, "Normal", "Scaled", "; ".join(events))

    def _current_replicas(self, cc: ContactCenter, workload: Workload) -> int:
        live = self.caches.child(("Deployment", cc.namespace, f"{cc.name}-{workload}"))
        if live is not None:
            # The bot's stable Deployment runs a share of the bot during a rollout.
            return sized_replicas(live) if workload == "bot" else int(live["spec"]["replicas"])
        outcome = self.outcomes.get((cc.namespace, cc.name))
        if outcome and workload in outcome.replicas:
            return outcome.replicas[workload]
        scaling = autoscaling(cc, workload)
        return scaling.min_replicas if scaling else 1

    async def _forecast(
        self, key: Key, cc: ContactCenter, prometheus: Prometheus, now: float
    ) -> dict[Workload, _Outlook]:
        """Forecast arrivals per workload until capacity asked for now is ready, from the
        intraday profile of the same weekday in recent weeks (refreshed every 15 minutes)
        scaled to today's level; none while it is disabled or has no history."""
        forecasts: dict[Workload, _Outlook] = {}
        if not cc.spec.forecast.enabled:
            return forecasts
        for workload in autoscaled(cc):
            cached = self.history.get((key, workload))
            if cached is None or now - cached.fetched_at > HISTORY_REFRESH_SECONDS:
                history = await arrival_history(
                    prometheus,
                    cc,
                    cc.spec.forecast.lookback_days // 7,  # weeks: the same weekday of each
                    FORECAST_SLOT_SECONDS,
                    now,
                    workload=workload,
                    stride_days=7,
                )
                cached = self.history[(key, workload)] = _History(now, history.past_days)
            if not cached.past_days:
                continue  # no history yet: the autoscaler reacts to the present alone
            today = await arrival_history(
                prometheus, cc, 0, FORECAST_SLOT_SECONDS, now, workload=workload
            )
            ahead = slots_until_ready(
                now - today.day_start,
                readiness_lead_seconds(cc, workload),
                FORECAST_SLOT_SECONDS,
                len(cached.past_days[0]),
            )
            forecast = forecast_slots(cached.past_days, today.today_from_midnight, ahead)
            if forecast is not None:
                start = today.day_start + ahead.start * FORECAST_SLOT_SECONDS
                forecasts[workload] = _Outlook(start, forecast)
        return forecasts

    def _stored_state(self, key: Key, workload: Workload) -> ScalingState | None:
        """The scaling state kept in status: what a restarted operator carries on from."""
        stored = self.caches.contact_centers.get(key, {}).get("status", {}).get("sla")
        sla = SLAStatus.model_validate(stored or {})
        return scaling_state(sla.bot if workload == "bot" else sla.agents)

    async def close(self) -> None:
        await self.clients.close()


def direction(current: int, decision: Decision) -> str:
    if decision.replicas > current:
        return "up"
    return "down" if decision.replicas < current else "hold"
