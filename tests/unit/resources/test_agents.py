from switchboard.resources import Decisions, build_all
from tests.factory import contact_center
from tests.unit.resources.helpers import env, find

PROMETHEUS = {"prometheusURL": "http://prometheus:9090"}


def test_the_workspace_knows_its_seats_per_replica() -> None:
    cc = contact_center({"spec.agents": {"seatsPerReplica": 12, "replicas": 3}})
    agents = find(build_all(cc), "Deployment", "acme-agents")
    assert env(agents)["SWITCHBOARD_SEATS_PER_REPLICA"] == "12"
    assert agents["spec"]["replicas"] == 3


def test_the_autoscaler_decides_workspace_replicas() -> None:
    cc = contact_center(
        {"spec.agents": {"autoscaling": {"maxReplicas": 4}}, "spec.metrics": PROMETHEUS}
    )
    objects = build_all(cc, Decisions(replicas={"agents": 3}))
    assert find(objects, "Deployment", "acme-agents")["spec"]["replicas"] == 3
