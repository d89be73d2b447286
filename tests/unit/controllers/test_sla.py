from switchboard.controllers.sla import (
    autoscaled,
    demand,
    metric_windows,
    scaling_limits,
    service_target,
)
from tests.factory import contact_center
from tests.unit.sizing.helpers import observation

PROMETHEUS = "http://prometheus:9090"


def test_only_workloads_with_autoscaling_are_sized() -> None:
    cc = contact_center(
        {
            "spec.agents.autoscaling": {"minReplicas": 1, "maxReplicas": 5},
            "spec.metrics.prometheusURL": PROMETHEUS,
        }
    )
    assert autoscaled(cc) == ["agents"]


def test_the_spec_objective_becomes_the_service_target() -> None:
    cc = contact_center(
        {
            "spec.sla": {
                "serviceLevel": {"target": 0.9, "answerWithinSeconds": 30},
                "maxAbandonRate": 0.03,
                "maxOccupancy": 0.85,
            }
        }
    )
    target = service_target(cc)
    assert (target.target, target.within_seconds) == (0.9, 30.0)
    assert (target.max_abandon, target.max_occupancy) == (0.03, 0.85)


def test_the_spec_pace_maps_one_to_one_onto_the_scaling_limits() -> None:
    cc = contact_center(
        {
            "spec.agents": {
                "seatsPerReplica": 4,
                "autoscaling": {
                    "minReplicas": 2,
                    "maxReplicas": 100,
                    "readinessLeadTime": "90s",
                    "scaleUp": {
                        "stabilizationWindow": "0s",
                        "maxReplicasPerStep": 4,
                        "maxPercentPerStep": 100,
                    },
                    "scaleDown": {
                        "stabilizationWindow": "5m",
                        "maxReplicasPerStep": 1,
                        "maxPercentPerStep": 10,
                    },
                },
            },
            "spec.metrics": {"prometheusURL": PROMETHEUS, "interval": "15s"},
        }
    )
    limits = scaling_limits(cc, "agents")
    assert (limits.min_replicas, limits.max_replicas, limits.servers_per_replica) == (2, 100, 4)
    assert (limits.max_step_up, limits.max_step_up_percent) == (4, 100)
    assert (limits.max_step_down, limits.max_step_down_percent) == (1, 10)
    assert (limits.scale_up_window_seconds, limits.scale_down_window_seconds) == (0.0, 300.0)
    assert (limits.readiness_seconds, limits.interval_seconds) == (90.0, 15.0)


def test_recent_windows_are_the_recent_one_and_five_times_it_when_shorter() -> None:
    metrics = {"prometheusURL": "http://p:9090", "rateWindow": "15m", "recentWindow": "1m"}
    assert metric_windows(contact_center({"spec.metrics": metrics})) == (
        900.0,
        (60.0, 300.0),
        3600.0,
    )
    metrics |= {"rateWindow": "10s", "recentWindow": "5s", "handleTimeWindow": "20s"}
    assert metric_windows(contact_center({"spec.metrics": metrics})) == (10.0, (5.0,), 20.0)


def test_no_observation_is_missing_metrics_and_patience_falls_back_to_the_spec() -> None:
    cc = contact_center({"spec.sla.patienceSeconds": 90})
    missing = demand(cc, None)
    assert missing.arrival_rate is None and missing.aht_seconds is None
    observed = demand(cc, observation(arrival_rate=2.0, aht_seconds=200.0, backlog=3.0))
    assert (observed.arrival_rate, observed.patience_seconds, observed.backlog) == (2.0, 90, 3.0)
