"""The scaling decision: what an SRE relies on when the operator sets replicas."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from pyworkforce.queuing import ErlangC

from switchboard.sizing.decision import (
    Decision,
    Demand,
    Recommendation,
    ScalingLimits,
    ScalingState,
    ServiceTarget,
    decide,
)
from switchboard.sizing.erlang import required_servers
from switchboard.sizing.workloads import IntervalProgress, SkillGroupShare

EIGHTY_TWENTY = ServiceTarget(target=0.8, within_seconds=20)
LIMITS = ScalingLimits(min_replicas=1, max_replicas=50)
CLASSIC = Demand(arrival_rate=100 / 1800, aht_seconds=180)  # needs 14 servers for 80/20


def _decide(
    demand: Demand,
    current: int = 10,
    *,
    now: float = 0.0,
    forecast: float | None = None,
    limits: ScalingLimits = LIMITS,
    state: ScalingState | None = None,
    target: ServiceTarget = EIGHTY_TWENTY,
) -> Decision:
    return decide(now, current, demand, forecast, target, limits, state or ScalingState())


def test_scales_up_at_once_to_the_erlang_staffing_and_says_why() -> None:
    decision = _decide(CLASSIC, current=10)
    assert (decision.replicas, decision.servers, decision.metrics_available) == (14, 14, True)
    assert decision.predicted is not None
    assert decision.predicted.service_level > 0.8
    assert "arrivals 0.06/s, AHT 180 s → 14 servers for 80/20" in decision.reason
    assert "scaling 10 → 14 replicas" in decision.reason
    assert "predicted SL 0.89" in decision.reason
    assert decision.state.last_scale_time == 0.0


def test_replicas_hold_several_servers() -> None:
    limits = ScalingLimits(min_replicas=1, max_replicas=50, servers_per_replica=5)
    decision = _decide(CLASSIC, current=1, limits=limits)
    assert (decision.servers, decision.replicas) == (14, 3)
    assert decision.predicted is not None
    assert decision.predicted.servers == 15


def test_scales_down_only_after_the_scale_down_window() -> None:
    busy = _decide(CLASSIC, current=14, now=0.0)
    quiet = Demand(arrival_rate=20 / 1800, aht_seconds=180)
    held = _decide(quiet, current=14, now=30.0, state=busy.state)
    assert held.replicas == 14
    assert "keeping 14 replicas (scale-down stabilization 300 s)" in held.reason
    later = _decide(quiet, current=14, now=301.0, state=held.state)
    assert later.replicas < 14
    assert later.servers == later.replicas


def test_scale_up_window_waits_for_demand_to_persist() -> None:
    limits = ScalingLimits(min_replicas=1, max_replicas=50, scale_up_window_seconds=60)
    calm = _decide(Demand(arrival_rate=20 / 1800, aht_seconds=180), current=5, limits=limits)
    spike = _decide(CLASSIC, current=calm.replicas, now=30, limits=limits, state=calm.state)
    assert spike.replicas == calm.replicas
    assert "scale-up stabilization 60 s" in spike.reason
    persisted = _decide(CLASSIC, current=spike.replicas, now=91, limits=limits, state=spike.state)
    assert persisted.replicas == 14


def test_steps_are_bounded() -> None:
    limits = ScalingLimits(
        min_replicas=1,
        max_replicas=50,
        max_step_up=2,
        max_step_down=1,
        scale_down_window_seconds=0,
    )
    up = _decide(CLASSIC, current=10, limits=limits)
    assert up.replicas == 12
    assert "step limit +2" in up.reason
    down = _decide(CLASSIC, current=20, limits=limits)
    assert down.replicas == 19


def test_a_step_is_the_larger_of_its_replica_and_percent_limits() -> None:
    """As maxReplicasPerStep and maxPercentPerStep: 30% of 10 is 3 (more than 2 replicas),
    10% of 40 is 4 (more than 1 replica); 10% of 5 rounds up to 1."""
    limits = ScalingLimits(
        min_replicas=1,
        max_replicas=50,
        max_step_up=2,
        max_step_up_percent=30,
        max_step_down=1,
        max_step_down_percent=10,
        scale_down_window_seconds=0,
    )
    assert _decide(CLASSIC, current=10, limits=limits).replicas == 13
    assert _decide(CLASSIC, current=40, limits=limits).replicas == 36
    percent_only = ScalingLimits(1, 50, max_step_down_percent=10, scale_down_window_seconds=0)
    quiet = Demand(arrival_rate=0.0, aht_seconds=180)
    assert _decide(quiet, current=5, limits=percent_only).replicas == 4


def test_replicas_stay_within_min_and_max() -> None:
    limits = ScalingLimits(min_replicas=2, max_replicas=12, scale_down_window_seconds=0)
    assert (
        _decide(Demand(arrival_rate=0.0, aht_seconds=180), current=6, limits=limits).replicas == 2
    )
    assert _decide(CLASSIC, current=0, limits=limits).replicas == 12
    assert _decide(CLASSIC, current=30, limits=limits).replicas == 12


def test_an_unreachable_target_scales_to_the_maximum_and_says_so() -> None:
    decision = _decide(Demand(arrival_rate=1.0, aht_seconds=180), current=10)
    assert decision.replicas == 50
    assert decision.servers is None
    assert "no staffing within 50 replicas meets 80/20" in decision.reason
    assert decision.predicted is not None
    assert decision.predicted.servers == 50


def _pyworkforce_servers(contacts_per_30_min: float, aht_seconds: float) -> int:
    """Erlang C staffing for 80/20 by an implementation that shares no code with ours."""
    reference = ErlangC(
        transactions=contacts_per_30_min, aht=aht_seconds / 60, asa=20 / 60, interval=30
    )
    servers: int = reference.required_positions(service_level=0.8)["raw_positions"]
    return servers


# 160 contacts per 30 minutes: 100 billing of 180 s (the classic 14 agents) and 60 in Spanish
# of 300 s; 216 s mean handle time over both.
ROUTED = Demand(
    arrival_rate=160 / 1800,
    aht_seconds=(100 * 180 + 60 * 300) / 160,
    skill_groups=(
        SkillGroupShare("billing", 100 / 160, 180),
        SkillGroupShare("spanish", 60 / 160, 300),
    ),
)


def test_skill_groups_are_sized_one_by_one_and_staffed_as_their_sum() -> None:
    decision = _decide(ROUTED, current=10)
    groups = 14 + _pyworkforce_servers(60, 300)
    pooled = _pyworkforce_servers(160, ROUTED.aht_seconds or 0)
    assert pooled < groups  # the case would not tell the two apart otherwise
    assert (decision.servers, decision.replicas) == (groups, groups)
    assert f"{groups} servers for 80/20 in 2 skill groups" in decision.reason


def test_one_skill_group_is_sized_as_one_pool() -> None:
    alone = Demand(
        arrival_rate=100 / 1800,
        aht_seconds=180,
        skill_groups=(SkillGroupShare("billing", 1.0, 300),),
    )
    decision = _decide(alone, current=10)
    assert decision.servers == 14
    assert "skill groups" not in decision.reason


def test_skill_groups_beyond_the_maximum_scale_to_it_and_say_so() -> None:
    limits = ScalingLimits(min_replicas=1, max_replicas=20)
    decision = _decide(ROUTED, current=10, limits=limits)
    assert (decision.servers, decision.replicas) == (None, 20)
    assert "no staffing within 20 replicas meets 80/20" in decision.reason


def test_missing_arrivals_hold_the_current_replicas() -> None:
    busy = _decide(CLASSIC, current=14)
    for demand in (Demand(None, 180), Demand(math.nan, 180)):
        decision = _decide(demand, current=14, now=600, state=busy.state)
        assert (decision.replicas, decision.metrics_available) == (14, False)
        assert decision.servers is None
        assert decision.reason == "no arrival rate metric: holding 14 replicas"


def test_missing_handle_time_holds_while_contacts_arrive() -> None:
    decision = _decide(Demand(arrival_rate=0.5, aht_seconds=None), current=7)
    assert (decision.replicas, decision.metrics_available) == (7, False)
    assert "handle time" in decision.reason


def test_a_quiet_night_without_handle_times_still_scales_down() -> None:
    limits = ScalingLimits(min_replicas=1, max_replicas=50, scale_down_window_seconds=0)
    decision = _decide(Demand(arrival_rate=0.0, aht_seconds=math.nan), current=7, limits=limits)
    assert (decision.replicas, decision.metrics_available) == (1, True)
    assert decision.predicted is not None
    assert decision.predicted.service_level == 1.0


def test_sizes_for_the_forecast_when_the_measurement_agrees_with_it() -> None:
    """Over 15 minutes the classic rate brings 50 contacts; a forecast of 60 is within Poisson
    noise of that (4 sigma = 31), so the forecast, which looks ahead, is what is sized for."""
    decision = _decide(CLASSIC, current=10, forecast=60 / 900)
    assert decision.servers is not None
    assert decision.servers > 14
    assert "(forecast 0.07/s)" in decision.reason


def test_a_measurement_far_above_the_forecast_overrules_it() -> None:
    """A forecast of 20 contacts per 15 minutes against 50 measured: 50 is more than
    4 sigma (17.9) + 1 above, so the forecast is short and the measured rate is sized for.
    A forecast far above the measurement stays: it may be ahead of a ramp."""
    decision = _decide(CLASSIC, current=10, forecast=20 / 900)
    assert decision.servers == 14
    assert "(0.06/s over 900 s, forecast 0.02/s)" in decision.reason
    ramp = _decide(CLASSIC, current=10, forecast=200 / 900)
    assert ramp.servers is not None
    assert ramp.servers > 30


def test_a_jump_in_the_last_minute_is_sized_for_at_once() -> None:
    """Poisson noise of the 3.3 contacts a minute the classic rate brings: 4 sigma = 7.3, so 12
    in the last minute is a jump (sized for 12/min, i.e. 0.2/s), 10 is noise."""
    jump = Demand(100 / 1800, 180, recent_arrival_rates=((60, 12 / 60),))
    decision = _decide(jump, current=14)
    assert "0.20/s over 60 s" in decision.reason
    assert decision.servers == _decide(Demand(12 / 60, 180), current=14).servers
    noise = Demand(100 / 1800, 180, recent_arrival_rates=((60, 10 / 60),))
    assert _decide(noise, current=14).servers == 14


def test_the_shortest_departing_window_counts() -> None:
    """Against 3.3 contacts a minute: 14 in the last minute and 40 in the last five both depart;
    the last minute, all of it after the jump, is sized for. 10 in the last minute is within
    noise (4 sigma + 1 = 8.3 from 3.3), so then the 5-minute rate is."""
    since_jump = Demand(100 / 1800, 180, recent_arrival_rates=((300, 40 / 300), (60, 14 / 60)))
    assert "0.23/s over 60 s" in _decide(since_jump, current=14).reason
    settled = Demand(100 / 1800, 180, recent_arrival_rates=((300, 40 / 300), (60, 10 / 60)))
    assert "0.13/s over 300 s" in _decide(settled, current=14).reason


def test_contacts_in_the_system_beyond_the_load_add_capacity() -> None:
    """With AHT 180 s, a contact in the system now is still there when capacity asked for now
    is ready and the next decision has taken effect (90 s) with probability exp(-0.5) = 0.61;
    40 in the system against a load of 10 Erlangs leave 0.61 x 40 + 0.39 x 10 = 28.2 Erlangs."""
    crowded = Demand(100 / 1800, 180, in_system=40)
    decision = _decide(crowded, current=14)
    expected_load = 40 * math.exp(-0.5) + 10 * (1 - math.exp(-0.5))
    assert decision.servers == _decide(Demand(expected_load / 180, 180), current=14).servers
    assert decision.servers is not None
    assert decision.servers > 14
    assert "in system as" in decision.reason
    quiet = Demand(100 / 1800, 180, in_system=5)  # fewer than the load: never less capacity
    assert _decide(quiet, current=14).servers == 14


def test_a_backlog_adds_servers_and_blocks_scaling_down() -> None:
    limits = ScalingLimits(min_replicas=1, max_replicas=50, scale_down_window_seconds=0)
    backlog = Demand(arrival_rate=100 / 1800, aht_seconds=180, backlog=5)
    decision = _decide(backlog, current=30, limits=limits)
    assert decision.replicas == 30
    assert "14 servers for 80/20 + 7 to drain a backlog of 5" in decision.reason
    assert "not scaling down" in decision.reason
    scaling_up = _decide(backlog, current=10, limits=limits)
    assert scaling_up.replicas > 14


def test_a_backlog_the_queue_normally_holds_changes_nothing() -> None:
    limits = ScalingLimits(min_replicas=1, max_replicas=50, scale_down_window_seconds=0)
    usual = Demand(arrival_rate=100 / 1800, aht_seconds=180, backlog=0.3)
    assert _decide(usual, current=20, limits=limits).replicas == 14


def test_a_falling_forecast_is_followed_at_once() -> None:
    """The forecast is the day's expected shape, not a lull in a measurement: the scale-down
    window does not hold the capacity it no longer needs."""
    busy = _decide(CLASSIC, current=14, now=0.0, forecast=100 / 1800)
    assert busy.replicas == 14
    quieter = Demand(arrival_rate=20 / 1800, aht_seconds=180)
    after = _decide(quieter, current=14, now=30.0, forecast=20 / 1800, state=busy.state)
    assert after.servers is not None
    assert after.replicas == after.servers < 14
    assert "scaling 14 →" in after.reason


def test_capacity_for_contacts_in_the_system_fades_over_the_window() -> None:
    """What a crowd in the system added is what a short lull in the counts would take away:
    the window holds it, less in proportion to its age (all of it just after, none at the
    window's end), while the forecast itself stays."""
    crowded = _decide(
        Demand(100 / 1800, 180, in_system=40), current=14, now=0.0, forecast=100 / 1800
    )
    added = crowded.replicas - 14
    assert added > 10  # enough that a tenth of it is a replica
    calm = Demand(100 / 1800, 180, in_system=10)
    held = _decide(
        calm, current=crowded.replicas, now=30.0, forecast=100 / 1800, state=crowded.state
    )
    assert held.replicas == 14 + math.ceil(added * 0.9) < crowded.replicas
    assert "scale-down stabilization 300 s" in held.reason
    halfway = _decide(calm, current=held.replicas, now=150.0, forecast=100 / 1800, state=held.state)
    assert halfway.replicas == 14 + math.ceil(added * 0.5)
    later = _decide(
        calm, current=halfway.replicas, now=331.0, forecast=100 / 1800, state=halfway.state
    )
    assert later.replicas == 14


def test_a_falling_forecast_releases_its_own_fall_and_holds_the_rest() -> None:
    crowded = _decide(
        Demand(100 / 1800, 180, in_system=40), current=14, now=0.0, forecast=100 / 1800
    )
    added_for_the_crowd = crowded.replicas - 14
    quieter = Demand(20 / 1800, 180, in_system=2)
    alone = _decide(quieter, current=crowded.replicas, forecast=20 / 1800)
    assert alone.servers is not None
    after = _decide(
        quieter, current=crowded.replicas, now=30.0, forecast=20 / 1800, state=crowded.state
    )
    # 30 s into the 300 s window, nine tenths of what the crowd added is still held.
    assert after.replicas == alone.servers + math.ceil(added_for_the_crowd * 0.9)


def test_a_recommendation_without_its_rate_part_is_held_in_full() -> None:
    """Without a forecast, and for a state the operator seeds with the current replicas after a
    restart, the window holds recommendations as the HorizontalPodAutoscaler does."""
    seeded = ScalingState(recommendations=(Recommendation(0.0, 20),))
    quiet = Demand(arrival_rate=20 / 1800, aht_seconds=180)
    assert _decide(quiet, current=20, now=30.0, forecast=20 / 1800, state=seeded).replicas == 20
    busy = _decide(CLASSIC, current=14, now=0.0)
    assert _decide(quiet, current=14, now=30.0, state=busy.state).replicas == 14


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=0.0, max_value=0.5),
    in_system=st.floats(min_value=0.0, max_value=150.0),
    forecast=st.floats(min_value=0.0, max_value=0.5),
    current=st.integers(min_value=1, max_value=80),
    history=st.lists(
        st.tuples(st.integers(min_value=1, max_value=80), st.integers(min_value=0, max_value=80)),
        max_size=8,
    ),
)
def test_releasing_a_fall_holds_between_the_recommendation_and_the_full_hold(
    rate: float,
    in_system: float,
    forecast: float,
    current: int,
    history: list[tuple[int, int]],
) -> None:
    """Whatever the past, the replicas are never fewer than the present recommendation asks for
    (nor than current, if that is less) and never more than holding every past recommendation
    in full, as the HorizontalPodAutoscaler does."""
    held_in_full = tuple(Recommendation(float(t), r) for t, (r, _) in enumerate(history))
    with_rate = tuple(Recommendation(float(t), r, min(r, f)) for t, (r, f) in enumerate(history))
    demand = Demand(rate, 180, in_system=in_system)
    limits = ScalingLimits(min_replicas=1, max_replicas=100)
    full = _decide(
        demand,
        current,
        now=10.0,
        forecast=forecast,
        limits=limits,
        state=ScalingState(held_in_full),
    )
    released = _decide(
        demand,
        current,
        now=10.0,
        forecast=forecast,
        limits=limits,
        state=ScalingState(with_rate),
    )
    recommended = full.state.recommendations[-1].replicas
    assert min(current, recommended) <= released.replicas <= full.replicas


def test_patience_uses_erlang_a_and_the_abandonment_cap() -> None:
    target = ServiceTarget(target=0.8, within_seconds=20, max_abandon=0.02)
    demand = Demand(arrival_rate=100 / 1800, aht_seconds=180, patience_seconds=120)
    decision = _decide(demand, current=10, target=target)
    assert decision.predicted is not None
    assert decision.predicted.abandonment <= 0.02
    assert "patience 120 s" in decision.reason
    assert "abandonment" in decision.reason


def test_old_recommendations_are_forgotten_when_a_new_one_is_recorded() -> None:
    # 30 was last made at 70 (one interval before 20 replaced it), out of the window at 400.
    state = ScalingState(recommendations=(Recommendation(0.0, 30), Recommendation(100.0, 20)))
    decision = _decide(CLASSIC, current=20, now=400.0, state=state)
    assert decision.replicas == 20  # made until 370, one interval ago
    assert [r.since for r in decision.state.recommendations] == [100.0, 400.0]
    # A recommendation that does not change keeps the state as it is, old ones included:
    # they no longer count, and nothing else changed to write.
    same = ScalingState(recommendations=(Recommendation(0.0, 30), Recommendation(100.0, 14)))
    steady = _decide(CLASSIC, current=20, now=400.0, state=same)
    assert steady.replicas == 14
    assert steady.state.recommendations == same.recommendations


def test_a_steady_recommendation_leaves_the_state_as_it_is() -> None:
    first = _decide(CLASSIC, current=10, now=0.0)
    steady = _decide(CLASSIC, current=14, now=30.0, state=first.state)
    later = _decide(CLASSIC, current=14, now=3600.0, state=steady.state)
    assert (
        first.state
        == steady.state
        == later.state
        == ScalingState((Recommendation(0.0, 14),), last_scale_time=0.0)
    )


def test_a_recommendation_counts_until_the_decision_before_the_next() -> None:
    # 20 was made every 30 s from 0 until 60 (the decision before 90 recommended 10): the
    # 300 s window holds it until 360, and not after.
    state = ScalingState((Recommendation(0.0, 20), Recommendation(90.0, 10)))
    quiet = Demand(arrival_rate=20 / 1800, aht_seconds=180)
    limits = ScalingLimits(min_replicas=1, max_replicas=50, interval_seconds=30.0)
    assert _decide(quiet, current=20, now=360.0, limits=limits, state=state).replicas == 20
    assert _decide(quiet, current=20, now=390.0, limits=limits, state=state).replicas == 10


rates = st.one_of(st.none(), st.just(math.nan), st.floats(min_value=0.0, max_value=5.0))
handle_times = st.one_of(st.none(), st.floats(min_value=1.0, max_value=900.0))


@settings(max_examples=80, deadline=None)
@given(
    rate=rates,
    aht=handle_times,
    backlog=st.one_of(st.none(), st.floats(min_value=0.0, max_value=500.0)),
    forecast=st.one_of(st.none(), st.floats(min_value=0.0, max_value=5.0)),
    current=st.integers(min_value=0, max_value=80),
    history=st.lists(st.integers(min_value=0, max_value=80), max_size=5),
)
def test_replicas_are_bounded_and_no_data_never_scales_down(
    rate: float | None,
    aht: float | None,
    backlog: float | None,
    forecast: float | None,
    current: int,
    history: list[int],
) -> None:
    limits = ScalingLimits(min_replicas=2, max_replicas=40, servers_per_replica=2)
    state = ScalingState(tuple(Recommendation(float(t), r) for t, r in enumerate(history)))
    decision = _decide(
        Demand(rate, aht, backlog=backlog),
        current,
        now=10,
        forecast=forecast,
        limits=limits,
        state=state,
    )
    assert 2 <= decision.replicas <= 40
    if not decision.metrics_available:
        assert decision.replicas == min(max(current, 2), 40)
        assert decision.predicted is None


# Half of a 15-minute interval gone, 200 contacts offered, 200 more expected (rate x 450 s).
HALFWAY_RATE = 200 / 450
ROOMY = ScalingLimits(min_replicas=1, max_replicas=200)


def _halfway(
    answered_within: float,
    backlog: float = 0.0,
    elapsed: float = 450.0,
    abandoned: float = 0.0,
    patience: float | None = None,
) -> Demand:
    progress = IntervalProgress(900.0, elapsed, 200, answered_within, abandoned)
    return Demand(HALFWAY_RATE, 180, patience, backlog=backlog, interval=progress)


def _erlang_c_servers(service_level: float) -> int:
    per_30_min = HALFWAY_RATE * 1800
    reference = ErlangC(transactions=per_30_min, aht=3, asa=20 / 60, interval=30)
    servers: int = reference.required_positions(service_level=service_level)["raw_positions"]
    return servers


def test_an_interval_ahead_of_its_target_runs_leaner_for_the_rest_of_it() -> None:
    # All 200 so far met: the 400 of the interval may miss 80, all of them among the 200 to
    # come: 60% of them must be met, plus one binomial sigma of 200: 0.6 + sqrt(0.24 / 200).
    needed = 0.6 + math.sqrt(0.6 * 0.4 / 200)
    decision = _decide(_halfway(answered_within=200), limits=ROOMY)
    assert decision.servers == _erlang_c_servers(needed) < _erlang_c_servers(0.8)
    assert "the interval's rest needs 63.46/20 to end at 80/20" in decision.reason


def test_an_interval_behind_its_target_gets_what_the_rest_of_it_needs() -> None:
    # 140 of 200 met and 10 still waiting: 50 missed, 30 more may be among the 210 undecided.
    decision = _decide(_halfway(answered_within=140, backlog=10), limits=ROOMY)
    assert decision.servers == _erlang_c_servers(1 - 30 / 210) > _erlang_c_servers(0.8)


def test_an_interval_on_target_or_about_to_end_is_sized_for_the_target() -> None:
    on_target = _decide(_halfway(answered_within=160), limits=ROOMY)
    # Capacity asked for 60 s before the end is ready with the next interval, which starts
    # from nothing: however far ahead this one is.
    ending = _decide(_halfway(answered_within=200, elapsed=840.0), limits=ROOMY)
    assert on_target.servers == ending.servers == _erlang_c_servers(0.8)


def test_the_abandonment_cap_of_an_interval_s_rest_is_what_its_contacts_may_still_use() -> None:
    target = ServiceTarget(0.8, 20, max_abandon=0.05)
    # 200 so far, 160 met, none abandoned: the 400 may lose 20, all among the 200 to come
    # (10%, less one binomial sigma of 200: 0.1 - sqrt(0.09 / 200), within twice the cap).
    calm = _decide(_halfway(160, patience=120), limits=ROOMY, target=target)
    cap = 0.1 - math.sqrt(0.1 * 0.9 / 200)
    assert calm.servers == _erlang_a_servers(0.8, cap)
    # 15 abandoned already: 5 of the 200 to come may (2.5%), never less than half the cap.
    strained = _decide(_halfway(160, abandoned=15, patience=120), limits=ROOMY, target=target)
    assert strained.servers == _erlang_a_servers(0.8, 0.025)
    assert "needs 80/20 with at most 2.5% abandoned to end at 80/20" in strained.reason
    assert calm.servers is not None and strained.servers is not None
    assert calm.servers < _erlang_a_servers(0.8, 0.05) < strained.servers


def _held_after_a_crowd(answered_within: float, now: float) -> tuple[int, int]:
    """The replicas `now` seconds after a crowd of 160 in the system (twice what the rate keeps
    there) passed halfway through an interval, and what the calm after it needs alone."""
    progress = IntervalProgress(900.0, 450.0, 200, answered_within, 0.0)
    crowd = Demand(HALFWAY_RATE, 180, in_system=160, interval=progress)
    calm = Demand(HALFWAY_RATE, 180, in_system=40, interval=progress)
    crowded = _decide(crowd, current=60, forecast=HALFWAY_RATE, limits=ROOMY)
    after = _decide(
        calm, crowded.replicas, now=30.0, forecast=HALFWAY_RATE, limits=ROOMY, state=crowded.state
    )
    held = _decide(
        calm, after.replicas, now=now, forecast=HALFWAY_RATE, limits=ROOMY, state=after.state
    )
    return held.replicas, _decide(calm, forecast=HALFWAY_RATE, limits=ROOMY).replicas


def test_an_interval_ahead_of_its_target_holds_a_crowd_s_capacity_for_less_time() -> None:
    # All 200 met so far: the rest needs 0.6 + sqrt(0.24 / 200) (see above), so it may miss
    # 1 - that where the target allows 0.2; the hold fades over the 300 s window times the
    # square root of 0.2 over that.
    rest = 0.6 + math.sqrt(0.6 * 0.4 / 200)
    fade = 300 * math.sqrt(0.2 / (1 - rest))
    assert 200 < fade < 250
    held, alone = _held_after_a_crowd(200, now=fade - 5)
    assert held > alone
    assert _held_after_a_crowd(200, now=fade + 5) == (alone, alone)
    # An interval on its target holds it for the whole window.
    held, alone = _held_after_a_crowd(160, now=fade + 5)
    assert held > alone
    assert _held_after_a_crowd(160, now=305) == (alone, alone)


def _erlang_a_servers(level: float, abandonment: float) -> int:
    return required_servers(
        HALFWAY_RATE,
        180,
        target=level,
        within_seconds=20,
        patience_seconds=120,
        max_abandon=abandonment,
    ).servers
