"""What status.quality shows, read from Prometheus (docs/metrics.md, "Quality figures"): the
PromQL of each figure, built by pure functions so it can be read and tested as text, and
`read_quality`, which runs it. Series are a ContactCenter's as in `queries.py` (its name, and
its namespace or none); every figure is over `spec.metrics.handleTimeWindow`.

A figure whose series do not exist yet (no survey answered, nobody resolved) is empty: None,
left out of status. An abandon bucket, a repeat or a score that never happened has no series
either, so each such term reads 0 when it is empty (`or vector(0)`), not "no data".
"""

from __future__ import annotations

import asyncio

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.status import QualityStatus
from switchboard.api.types import duration_seconds
from switchboard.contract import (
    ABANDON_WAIT,
    ABANDONED,
    ANSWERED,
    ARRIVED,
    HANDLE_TIME,
    QUEUE_WAIT,
    REPEAT_CONTACTS,
    RESOLVED,
    SURVEY_RESPONSES,
)
from switchboard.metrics.prometheus import MetricsUnavailable, Prometheus
from switchboard.metrics.queries import selector, window
from switchboard.resources.sla_status import rounded


def _total(cc: ContactCenter, metric: str, **labels: str) -> str:
    """How much a counter (or a histogram's part) grew over the window, summed."""
    span = window(duration_seconds(cc.spec.metrics.handle_time_window))
    return f"sum(increase({metric}{{{selector(cc.name, cc.namespace, **labels)}}}[{span}]))"


def _zero_if_none(promql: str) -> str:
    return f"({promql} or vector(0))"


def _mean(cc: ContactCenter, histogram: str, handler: str) -> str:
    total = _total(cc, f"{histogram}_sum", handler=handler)
    return f"{total} / {_total(cc, f'{histogram}_count', handler=handler)}"


def quality_queries(cc: ContactCenter) -> dict[str, str]:
    """Each figure of QualityStatus (by field name) as PromQL."""
    offered = _total(cc, ARRIVED)
    within = _total(cc, ANSWERED, handler="bot", within_sla="true")
    # prometheus_client writes a bucket bound as a float: le="5.0".
    short = f"{float(cc.spec.quality.short_abandon_seconds)}"
    short_abandons = _zero_if_none(_total(cc, f"{ABANDON_WAIT}_bucket", handler="bot", le=short))
    csat = _total(cc, SURVEY_RESPONSES, survey="csat")
    nps = _total(cc, SURVEY_RESPONSES, survey="nps")
    csat_points = " + ".join(
        f"{score} * {_zero_if_none(_total(cc, SURVEY_RESPONSES, survey='csat', score=str(score)))}"
        for score in range(1, 6)
    )
    promoters = _zero_if_none(_scores(cc, "nps", "9|10"))
    detractors = _zero_if_none(_scores(cc, "nps", "[0-6]"))
    return {
        # Every contact meets the bot first, and its first turn always stores an answer.
        "first_response_seconds": _mean(cc, QUEUE_WAIT, "bot"),
        "service_level": f"{within} / {offered}",
        "service_level_without_short_abandons": f"{within} / ({offered} - {short_abandons})",
        "abandon_rate": f"{_zero_if_none(_total(cc, ABANDONED))} / {offered}",
        "agent_handle_time_seconds": _mean(cc, HANDLE_TIME, "agent"),
        "first_contact_resolution": (
            f"1 - {_zero_if_none(_total(cc, REPEAT_CONTACTS))} / {_total(cc, RESOLVED)}"
        ),
        "csat": f"({csat_points}) / {csat}",
        "csat_satisfied": f"{_zero_if_none(_scores(cc, 'csat', '4|5'))} / {csat}",
        "nps": f"100 * ({promoters} - {detractors}) / {nps}",
    }


def _scores(cc: ContactCenter, survey: str, scores: str) -> str:
    span = window(duration_seconds(cc.spec.metrics.handle_time_window))
    matchers = f'{selector(cc.name, cc.namespace, survey=survey)},score=~"{scores}"'
    return f"sum(increase({SURVEY_RESPONSES}{{{matchers}}}[{span}]))"


async def read_quality(prometheus: Prometheus, cc: ContactCenter) -> QualityStatus:
    """status.quality now, each figure rounded as status shows it. Raises MetricsUnavailable
    (naming the figure) when Prometheus cannot answer."""
    queries = quality_queries(cc)
    results = await asyncio.gather(
        *(prometheus.scalar(promql) for promql in queries.values()), return_exceptions=True
    )
    figures: dict[str, float | None] = {}
    for name, result in zip(queries, results, strict=True):
        if isinstance(result, MetricsUnavailable):
            raise MetricsUnavailable(f"{name}: {result.reason}") from result
        if isinstance(result, BaseException):
            raise result
        figures[name] = rounded(result)
    return QualityStatus.model_validate(figures)
