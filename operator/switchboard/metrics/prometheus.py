"""An async Prometheus HTTP API client: instant and range queries, with timeouts.

Everything that can go wrong between the operator and Prometheus (it is unreachable, too slow,
answers an error, or answers something that is not a number) is one exception,
`MetricsUnavailable`, whose reason a person can act on; the control loop turns it into
`MetricsAvailable=False` and holds the replicas. An empty answer is not an error: it is `None`
(a series that does not exist yet, or a ratio of nothing, `0/0` = NaN).
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import Any, Self

import httpx

DEFAULT_TIMEOUT_SECONDS = 5.0
# Queries are quoted in reasons (they end up in a condition message): long ones are cut.
_QUOTED_QUERY_LENGTH = 120


class MetricsUnavailable(Exception):
    """Prometheus could not give an answer; `reason` says why, for a condition message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Prometheus:
    """One Prometheus server's query API (`/api/v1/query`, `/api/v1/query_range`).

    `timeout` bounds each request as a whole (connecting, waiting, reading) and is passed to
    Prometheus as the query's own evaluation timeout. Close with `aclose()` or `async with`.
    """

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._client = httpx.AsyncClient(
            base_url=self.url,
            timeout=httpx.Timeout(timeout),
            headers={"Accept": "application/json"},
        )

    async def scalar(self, promql: str, at: float | None = None) -> float | None:
        """The value of an instant query (at `at`, Unix seconds, or now): a scalar or a vector
        of at most one sample. None when it is empty or not a finite number (NaN from 0/0).
        More than one series is an error: the query must aggregate (`sum(...)`)."""
        form = {"query": promql, "timeout": self._query_timeout()}
        if at is not None:
            form["time"] = _number(at)
        data = await self._post("/api/v1/query", form, promql)
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar" and isinstance(result, list):
            return _value(result, promql)
        if kind == "vector" and isinstance(result, list):
            if not result:
                return None
            _single(result, promql)
            return _value(result[0].get("value"), promql)
        raise MetricsUnavailable(
            f"Prometheus answered a {kind} for {_quoted(promql)}, expected a number"
        )

    async def vector(self, promql: str) -> list[tuple[dict[str, str], float]]:
        """The (labels, value) of each series of an instant query now; samples that are not
        finite numbers are left out, and an empty result is an empty list."""
        data = await self._post(
            "/api/v1/query", {"query": promql, "timeout": self._query_timeout()}, promql
        )
        kind, result = data.get("resultType"), data.get("result")
        if kind != "vector" or not isinstance(result, list):
            raise MetricsUnavailable(
                f"Prometheus answered a {kind} for {_quoted(promql)}, expected a vector"
            )
        found = []
        for series in result:
            value = _value(series.get("value"), promql)
            if value is not None:
                found.append((dict(series.get("metric", {})), value))
        return found

    async def series(
        self, promql: str, start: float, end: float, step: float
    ) -> list[tuple[float, float]]:
        """The (time, value) points of a range query from `start` to `end` (Unix seconds) every
        `step` seconds, oldest first; points that are not finite numbers are left out, and an
        empty result is an empty list. More than one series is an error, as for `scalar`."""
        if not step > 0:
            raise ValueError(f"step must be positive, got {step}")
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        form = {
            "query": promql,
            "start": _number(start),
            "end": _number(end),
            "step": _number(step),
            "timeout": self._query_timeout(),
        }
        data = await self._post("/api/v1/query_range", form, promql)
        kind, result = data.get("resultType"), data.get("result")
        if kind != "matrix" or not isinstance(result, list):
            raise MetricsUnavailable(
                f"Prometheus answered a {kind} for the range query {_quoted(promql)}"
            )
        if not result:
            return []
        _single(result, promql)
        points = []
        for point in result[0].get("values", []):
            value = _value(point, promql)
            if value is not None:
                points.append((float(point[0]), value))
        return points

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _query_timeout(self) -> str:
        return f"{self.timeout:g}s"

    async def _post(self, path: str, form: dict[str, str], promql: str) -> dict[str, Any]:
        """POST (a query can be longer than a URL may be) and unwrap `data`, or raise."""
        try:
            response = await self._client.post(path, data=form)
        except httpx.TimeoutException:
            raise MetricsUnavailable(
                f"Prometheus at {self.url} did not answer within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as error:
            raise MetricsUnavailable(
                f"cannot reach Prometheus at {self.url}: {_describe(error)}"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise MetricsUnavailable(
                f"Prometheus at {self.url} answered HTTP {response.status_code} "
                f"without a query result for {_quoted(promql)}"
            )
        if body.get("status") != "success":
            kind = body.get("errorType", f"HTTP {response.status_code}")
            message = body.get("error", "no message")
            raise MetricsUnavailable(f"Prometheus rejected {_quoted(promql)} ({kind}): {message}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise MetricsUnavailable(f"Prometheus answered no data for {_quoted(promql)}")
        return data


class PrometheusClients:
    """One client per Prometheus URL, kept open across reads, for a loop that reads from
    several ContactCenters' Prometheus."""

    def __init__(self) -> None:
        self._clients: dict[str, Prometheus] = {}

    def get(self, url: str) -> Prometheus:
        if url not in self._clients:
            self._clients[url] = Prometheus(url)
        return self._clients[url]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()


def _number(value: float) -> str:
    return repr(float(value))


def _value(sample: Any, promql: str) -> float | None:
    """A [time, "value"] pair's value; None for NaN and infinities."""
    try:
        value = float(sample[1])
    except (TypeError, ValueError, IndexError):
        raise MetricsUnavailable(
            f"Prometheus answered a malformed sample for {_quoted(promql)}"
        ) from None
    return value if math.isfinite(value) else None


def _single(result: list[Any], promql: str) -> None:
    if len(result) > 1:
        labels = ", ".join(str(series.get("metric", {})) for series in result[:3])
        raise MetricsUnavailable(
            f"{_quoted(promql)} returned {len(result)} series ({labels}"
            f"{', ...' if len(result) > 3 else ''}); it must return one: aggregate it, "
            "e.g. with sum()"
        )


def _quoted(promql: str) -> str:
    text = " ".join(promql.split())
    if len(text) > _QUOTED_QUERY_LENGTH:
        text = text[: _QUOTED_QUERY_LENGTH - 3] + "..."
    return f"`{text}`"


def _describe(error: httpx.HTTPError) -> str:
    # httpx's messages are sometimes empty (a refused connection says "All connection
    # attempts failed"); the exception type says the rest.
    text = str(error) or type(error).__name__
    return text[0].lower() + text[1:] if text else text
