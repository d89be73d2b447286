from switchboard.api.routing import Routing
from switchboard.dataplane.wiring import read_agents_wiring
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


ROUTING = {
    "skills": ["billing"],
    "queues": [
        {"name": "billing", "priority": 1, "skills": [{"name": "billing", "minLevel": 2}]},
        {"name": "general", "selector": "tier != 'vip'"},
    ],
}


def test_the_routing_policy_reaches_the_workspace_alone_so_a_change_rolls_only_it() -> None:
    before = build_all(contact_center())
    after = build_all(contact_center({"spec.routing": ROUTING}))
    changed = [
        (new["kind"], new["metadata"]["name"])
        for old, new in zip(before, after, strict=True)
        if old != new
    ]
    assert changed == [("Deployment", "acme-agents")]
    policy = env(find(after, "Deployment", "acme-agents"))["SWITCHBOARD_AGENTS_ROUTING"]
    # What the workspace reads back is the spec's policy, defaults filled in.
    assert read_agents_wiring(
        {**WORKSPACE_ENV, "SWITCHBOARD_AGENTS_ROUTING": policy}
    ).routing == Routing.model_validate(ROUTING)
    assert "SWITCHBOARD_AGENTS_ROUTING" not in env(find(before, "Deployment", "acme-agents"))


WORKSPACE_ENV = {
    "SWITCHBOARD_SEATS_PER_REPLICA": "25",
    "SWITCHBOARD_AGENTS_OFFER_TIMEOUT_SECONDS": "30",
    "SWITCHBOARD_AGENTS_TOKEN": "t",
}


def test_an_enabled_survey_reaches_the_workspace_alone_and_reads_back_as_the_spec() -> None:
    before = build_all(contact_center())
    survey = {"enabled": True, "nps": True, "question": "Rate us 1-5"}
    after = build_all(contact_center({"spec.quality": {"survey": survey}}))
    changed = [
        (new["kind"], new["metadata"]["name"])
        for old, new in zip(before, after, strict=True)
        if old != new
    ]
    assert changed == [("Deployment", "acme-agents")]
    rendered = env(find(after, "Deployment", "acme-agents"))["SWITCHBOARD_QUALITY_SURVEY"]
    read = read_agents_wiring({**WORKSPACE_ENV, "SWITCHBOARD_QUALITY_SURVEY": rendered}).survey
    assert read is not None and (read.question, read.nps) == ("Rate us 1-5", True)
    assert read.nps_question.startswith("How likely are you to recommend us")
    # Off (the default) is no variable at all: no survey.
    assert "SWITCHBOARD_QUALITY_SURVEY" not in env(find(before, "Deployment", "acme-agents"))
    assert read_agents_wiring(WORKSPACE_ENV).survey is None
