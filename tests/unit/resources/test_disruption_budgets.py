from switchboard.resources import build_all
from tests.factory import contact_center, example
from tests.unit.resources.helpers import find, of_kind

PROMETHEUS = {"prometheusURL": "http://prometheus:9090"}


def test_single_replica_workloads_get_no_budget() -> None:
    assert of_kind(build_all(contact_center()), "PodDisruptionBudget") == []


def test_multi_replica_workloads_lose_at_most_one_pod_to_a_drain() -> None:
    objects = build_all(example("omnichannel"))
    budgets = {b["metadata"]["name"]: b for b in of_kind(objects, "PodDisruptionBudget")}
    assert set(budgets) == {
        "omnichannel-web",
        "omnichannel-phone",
        "omnichannel-mobile",
        "omnichannel-bot",
        "omnichannel-agents",
    }
    for name, budget in budgets.items():
        deployment = find(objects, "Deployment", name)
        assert budget["spec"]["selector"] == deployment["spec"]["selector"]
        assert budget["spec"]["maxUnavailable"] == 1


def test_an_autoscaled_workload_keeps_its_budget_whatever_it_runs_now() -> None:
    cc = contact_center(
        {"spec.bot.autoscaling": {"minReplicas": 1, "maxReplicas": 5}, "spec.metrics": PROMETHEUS}
    )
    objects = build_all(cc)
    assert find(objects, "Deployment", "acme-bot")["spec"]["replicas"] == 1
    find(objects, "PodDisruptionBudget", "acme-bot")
