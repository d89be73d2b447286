"""Erlang C (M/M/n) and Erlang A (M/M/n+M) performance and staffing.

Definitions used throughout (docs/sizing.md):

- offered load A = arrival rate x mean handle time, in Erlangs;
- service level = share of ALL offered contacts answered within `within_seconds`
  (a contact that abandons counts as missed);
- wait probability = probability that an arriving contact finds every server busy;
- ASA = mean time offered contacts spend waiting (until answered or, in Erlang A, until they
  abandon);
- abandonment = share of offered contacts that leave before an answer (always 0 in Erlang C);
- occupancy = carried load / servers.

Erlang C is computed from the Erlang B recursion, which stays within [0, 1] for any size.
Erlang A uses the formulas of Garnett, Mandelbaum and Reiman (2002) and, for the service level,
the virtual-wait density of M/M/n+M (Mandelbaum and Zeltyn), written with a scaled lower
incomplete gamma function that is evaluated in log space, so ten thousand servers neither
overflow nor lose precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

# Relative size below which a further series term cannot change a double.
_EPSILON = 1e-17
# Continued-fraction denominators smaller than this are replaced to avoid dividing by zero
# (modified Lentz method).
_TINY = 1e-300
# Comparisons against targets allow for rounding in the last bits, so that a staffing which meets
# a bound exactly (occupancy 0.8 = 12/15) is not rejected for 0.8000000000000002.
_SLACK = 1e-12


class InfeasibleTarget(ValueError):
    """No staffing up to the allowed maximum meets the service targets."""


@dataclass(frozen=True)
class Performance:
    """Steady-state figures of one staffing level; see the module docstring for definitions."""

    servers: int
    service_level: float
    wait_probability: float
    asa_seconds: float
    abandonment: float
    occupancy: float


def no_arrivals(servers: int) -> Performance:
    """Figures when nothing arrives: nobody waits, nobody abandons, nobody keeps a server busy."""
    return Performance(servers, 1.0, 0.0, 0.0, 0.0, 0.0)


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of M/M/n/n with `load` Erlangs offered to `servers` servers."""
    if servers < 0 or not load >= 0 or math.isinf(load):
        raise ValueError(
            f"erlang_b needs servers >= 0 and a finite load >= 0, not {servers}, {load}"
        )
    if load == 0:
        return 1.0 if servers == 0 else 0.0
    # Up to just above the load, the terms of 1/B shrink and a short sum is exact; past the load
    # they grow, so continue with the forward recursion, which only ever shrinks B.
    start = min(servers, math.floor(load) + 1)
    blocking = 1.0 / _inverse_blocking(start, load)
    for extra in range(start + 1, servers + 1):
        blocking = _next_blocking(blocking, extra, load)
        if blocking == 0.0:  # underflow: every further value is zero as well
            break
    return blocking


def _inverse_blocking(servers: int, load: float) -> float:
    """1/B(n, A) = sum over k of n!/((n-k)! A^k), summed until the terms stop mattering.

    For n <= A + 1 the terms fall like a Gaussian after the first few, so about 9 sqrt(A) terms
    suffice instead of the n steps of the recursion from zero.
    """
    total = term = 1.0
    for k in range(servers):
        term *= (servers - k) / load
        total += term
        if term < _EPSILON * total:
            break
    return total


def _next_blocking(blocking: float, servers: int, load: float) -> float:
    """B(n, A) from B(n - 1, A): the classic stable Erlang B recursion."""
    return load * blocking / (servers + load * blocking)


def _validate(
    arrival_rate: float, aht_seconds: float, within_seconds: float, patience_seconds: float | None
) -> None:
    if not (math.isfinite(arrival_rate) and arrival_rate >= 0):
        raise ValueError(f"arrival rate must be a finite number >= 0, got {arrival_rate}")
    if not (math.isfinite(aht_seconds) and aht_seconds > 0):
        raise ValueError(f"handle time must be a finite number > 0, got {aht_seconds}")
    if not (math.isfinite(within_seconds) and within_seconds >= 0):
        raise ValueError(f"answer-within time must be a finite number >= 0, got {within_seconds}")
    if patience_seconds is not None and not patience_seconds > 0:
        raise ValueError(f"patience must be a number > 0, got {patience_seconds}")


def _finite_patience(patience_seconds: float | None) -> float | None:
    """Infinite patience is Erlang C; it is computed as such rather than as a limit."""
    if patience_seconds is None or math.isinf(patience_seconds):
        return None
    return patience_seconds


def performance(
    arrival_rate: float,
    aht_seconds: float,
    servers: int,
    within_seconds: float,
    patience_seconds: float | None = None,
) -> Performance:
    """Figures for `servers` servers: Erlang C without patience, Erlang A with it.

    `arrival_rate` is per second; `patience_seconds` is the mean time a contact waits before
    abandoning (exponentially distributed).
    """
    _validate(arrival_rate, aht_seconds, within_seconds, patience_seconds)
    if servers < 0:
        raise ValueError(f"servers must be >= 0, got {servers}")
    patience = _finite_patience(patience_seconds)
    if arrival_rate == 0:
        return no_arrivals(servers)
    load = arrival_rate * aht_seconds
    if patience is None:
        return _erlang_c(load, aht_seconds, servers, within_seconds, erlang_b(servers, load))
    return _erlang_a(arrival_rate, aht_seconds, servers, within_seconds, patience)


def _erlang_c(
    load: float, aht_seconds: float, servers: int, within_seconds: float, blocking: float
) -> Performance:
    """Erlang C figures from the Erlang B blocking probability of the same system."""
    if servers <= load:  # the queue grows without bound: nobody is answered in time
        return Performance(servers, 0.0, 1.0, math.inf, 0.0, 1.0 if servers else 0.0)
    surplus = servers - load
    wait = servers * blocking / (surplus + load * blocking)
    return Performance(
        servers=servers,
        service_level=1.0 - wait * math.exp(-surplus * within_seconds / aht_seconds),
        wait_probability=wait,
        asa_seconds=wait * aht_seconds / surplus,
        abandonment=0.0,
        occupancy=load / servers,
    )


def _erlang_a(
    arrival_rate: float,
    aht_seconds: float,
    servers: int,
    within_seconds: float,
    patience_seconds: float,
) -> Performance:
    """M/M/n+M figures (Garnett, Mandelbaum and Reiman 2002; Mandelbaum and Zeltyn).

    With service rate mu, abandonment rate theta, x = n mu / theta and y = lambda / theta, the
    queue's stationary weights sum to s(x, y) (see `_log_scaled_gamma`), which gives P(wait) and
    P(abandon | wait) in closed form. A waiting contact's virtual wait V has density proportional
    to exp(lambda H(v) - n mu v), H(v) = (1 - e^(-theta v)) / theta; integrating that times the
    chance of still waiting, e^(-theta v), from 0 to t gives the share answered within t.
    """
    if servers == 0:  # everybody waits until they give up
        return Performance(0, 0.0, 1.0, patience_seconds, 1.0, 0.0)
    load = arrival_rate * aht_seconds
    theta = 1.0 / patience_seconds
    x = servers * patience_seconds / aht_seconds
    y = arrival_rate * patience_seconds
    log_weights = _log_scaled_gamma(x, y)
    inverse_weights = math.exp(-log_weights)  # <= 1, since the weights sum to at least 1
    blocking = erlang_b(servers, load)
    wait = blocking / (blocking + (1.0 - blocking) * inverse_weights)
    servers_over_demand = x / y  # 1 / rho
    abandon_if_waiting = 1.0 - servers_over_demand + servers_over_demand * inverse_weights
    abandonment = wait * _clamp_probability(abandon_if_waiting)
    # Share answered within t among those who wait:
    # x/(x+1) [s(x+1, y) - exp(lambda H(t) - (n mu + theta) t) s(x+1, y e^(-theta t))] / s(x, y)
    theta_t = theta * within_seconds
    log_answered_ever = _log_scaled_gamma(x + 1.0, y) - log_weights
    log_answered_after_t = (
        -y * math.expm1(-theta_t)  # lambda H(t)
        - (x + 1.0) * theta_t
        + _log_scaled_gamma(x + 1.0, y * math.exp(-theta_t))
        - log_weights
    )
    answered_early_if_waiting = (
        x / (x + 1.0) * (math.exp(log_answered_ever) - math.exp(log_answered_after_t))
    )
    return Performance(
        servers=servers,
        service_level=_clamp_probability(1.0 - wait + wait * answered_early_if_waiting),
        wait_probability=wait,
        asa_seconds=abandonment * patience_seconds,  # Little's law: theta E[queue] = lambda P(ab)
        abandonment=abandonment,
        occupancy=min(1.0, load * (1.0 - abandonment) / servers),
    )


def _clamp_probability(value: float) -> float:
    """Rounding in differences of nearly equal terms can step just outside [0, 1]."""
    return min(1.0, max(0.0, value))


def _log_scaled_gamma(a: float, x: float) -> float:
    """log s(a, x), where s(a, x) = sum_k x^k / ((a+1)(a+2)...(a+k)) = Gamma(a+1) e^x x^-a P(a, x).

    P is the regularized lower incomplete gamma function. Below x = a + 1 the series converges
    directly; above, s grows like e^x, so it is built from the continued fraction of the upper
    function Q(a, x) = 1 - P(a, x) (Lentz's method), all in logs.
    """
    if x < a + 1.0:
        total = term = 1.0
        k = 0
        while term >= _EPSILON * total:
            k += 1
            term *= x / (a + k)
            total += term
        return math.log(total)
    log_prefactor = math.lgamma(a + 1.0) + x - a * math.log(x)
    upper = a * _upper_gamma_fraction(a, x) * math.exp(-log_prefactor)  # Q(a, x)
    return log_prefactor + math.log1p(-upper)


def _upper_gamma_fraction(a: float, x: float) -> float:
    """Continued fraction of Gamma(a, x) e^x x^-a, for x >= a + 1 (Numerical Recipes, gcf)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    fraction = d
    i = 0
    while True:
        i += 1
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        fraction *= delta
        if abs(delta - 1.0) < _EPSILON * 10:
            return fraction


def validate_targets(target: float, max_occupancy: float, max_abandon: float | None) -> None:
    """Raise ValueError unless the targets are shares that some staffing could meet."""
    if not 0 < target <= 1:
        raise ValueError(f"service-level target must be in (0, 1], got {target}")
    if not 0 < max_occupancy <= 1:
        raise ValueError(f"maximum occupancy must be in (0, 1], got {max_occupancy}")
    if max_abandon is not None and not 0 <= max_abandon <= 1:
        raise ValueError(f"maximum abandonment must be in [0, 1], got {max_abandon}")


def _meets(
    figures: Performance, target: float, max_occupancy: float, max_abandon: float | None
) -> bool:
    return (
        figures.service_level >= target - _SLACK
        and figures.occupancy <= max_occupancy + _SLACK
        and (max_abandon is None or figures.abandonment <= max_abandon + _SLACK)
    )


def required_servers(
    arrival_rate: float,
    aht_seconds: float,
    *,
    target: float,
    within_seconds: float,
    max_occupancy: float = 1.0,
    patience_seconds: float | None = None,
    max_abandon: float | None = None,
    max_servers: int = 100_000,
) -> Performance:
    """The smallest staffing that meets the service-level target, the occupancy cap and the
    abandonment cap together, with its figures.

    Zero arrivals need zero servers (callers apply their own minimum). Raises `InfeasibleTarget`
    when no staffing up to `max_servers` meets the targets, `ValueError` on invalid input.
    """
    _validate(arrival_rate, aht_seconds, within_seconds, patience_seconds)
    validate_targets(target, max_occupancy, max_abandon)
    if arrival_rate == 0:
        return no_arrivals(0)
    patience = _finite_patience(patience_seconds)

    def meets(figures: Performance) -> bool:
        return _meets(figures, target, max_occupancy, max_abandon)

    load = arrival_rate * aht_seconds
    erlang_c_answer = _erlang_c_servers(load, aht_seconds, within_seconds, meets, max_servers)
    if patience is None:
        if erlang_c_answer is None:
            raise _infeasible(load, target, within_seconds, max_occupancy, max_abandon, max_servers)
        return erlang_c_answer

    def erlang_a(servers: int) -> Performance:
        return _erlang_a(arrival_rate, aht_seconds, servers, within_seconds, patience)

    # Abandonment usually lowers the staffing Erlang C needs; start there and search outwards.
    guess = max_servers if erlang_c_answer is None else erlang_c_answer.servers
    found = _smallest_meeting(lambda servers: meets(erlang_a(servers)), guess, 1, max_servers)
    if found is None:
        raise _infeasible(load, target, within_seconds, max_occupancy, max_abandon, max_servers)
    return erlang_a(found)


def _erlang_c_servers(
    load: float,
    aht_seconds: float,
    within_seconds: float,
    meets: Callable[[Performance], bool],
    max_servers: int,
) -> Performance | None:
    """Erlang C staffing: the first stable size, then one O(1) recursion step per server.

    A stable queue needs more servers than the load, and the answer lies O(sqrt(load)) above it,
    so this costs O(sqrt(load)) in all, against O(load) per candidate when B is recomputed.
    """
    servers = math.floor(load) + 1
    if servers > max_servers:
        return None
    blocking = erlang_b(servers, load)
    while True:
        figures = _erlang_c(load, aht_seconds, servers, within_seconds, blocking)
        if meets(figures):
            return figures
        if servers == max_servers:
            return None
        servers += 1
        blocking = _next_blocking(blocking, servers, load)


def _smallest_meeting(
    meets: Callable[[int], bool], guess: int, lowest: int, highest: int
) -> int | None:
    """Smallest n in [lowest, highest] with meets(n), for a predicate that stays true once true.

    Gallops away from `guess` in doubling steps, then bisects: O(log distance) evaluations.
    """
    guess = min(max(guess, lowest), highest)
    if meets(guess):
        met, missed, step = guess, lowest - 1, 1
        while met - step >= lowest:
            if not meets(met - step):
                missed = met - step
                break
            met -= step
            step *= 2
    else:
        missed, step = guess, 1
        while True:
            if missed == highest:
                return None
            candidate = min(missed + step, highest)
            if meets(candidate):
                met = candidate
                break
            missed = candidate
            step *= 2
    while met - missed > 1:
        middle = (met + missed) // 2
        if meets(middle):
            met = middle
        else:
            missed = middle
    return met


def _infeasible(
    load: float,
    target: float,
    within_seconds: float,
    max_occupancy: float,
    max_abandon: float | None,
    max_servers: int,
) -> InfeasibleTarget:
    caps = "".join(
        (
            f", occupancy <= {max_occupancy:g}" if max_occupancy < 1 else "",
            f", abandonment <= {max_abandon:g}" if max_abandon is not None else "",
        )
    )
    return InfeasibleTarget(
        f"no staffing up to {max_servers} servers meets {target:g} answered within "
        f"{within_seconds:g} s{caps} at an offered load of {load:.6g} Erlangs"
    )
