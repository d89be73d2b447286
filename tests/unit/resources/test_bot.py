from switchboard.api.bot import BotModel
from switchboard.resources import BotTrack, Decisions, Route, build_all
from switchboard.resources.bot import (
    MODEL_NAME_LABEL,
    MODEL_URI_ANNOTATION,
    MODEL_VERSION_LABEL,
    SIZED_REPLICAS_ANNOTATION,
    running_version,
    sized_replicas,
)
from switchboard.resources.common import TRACK_LABEL
from tests.factory import contact_center
from tests.unit.resources.helpers import Manifest, env, find, matches, of_kind, pod_labels

PROMETHEUS = {"prometheusURL": "http://prometheus:9090"}


def test_the_bot_carries_its_model_in_labels_annotation_and_environment() -> None:
    bot = find(build_all(contact_center()), "Deployment", "acme-bot")
    labels = pod_labels(bot)
    assert labels[MODEL_NAME_LABEL] == "intent-router"
    assert labels[MODEL_VERSION_LABEL] == "3.2.0"
    annotations = bot["spec"]["template"]["metadata"]["annotations"]
    assert annotations[MODEL_URI_ANNOTATION] == "https://models.example/intent-router/3.2.0.yaml"
    variables = env(bot)
    assert variables["SWITCHBOARD_MODEL_NAME"] == "intent-router"
    assert variables["SWITCHBOARD_MODEL_VERSION"] == "3.2.0"
    assert variables["SWITCHBOARD_MODEL_URI"] == "https://models.example/intent-router/3.2.0.yaml"
    assert variables["SWITCHBOARD_BOT_CONCURRENCY"] == "50"


def test_the_model_version_is_not_part_of_the_selector() -> None:
    # The selector is immutable; a new version must roll the same Deployment.
    bot = find(build_all(contact_center()), "Deployment", "acme-bot")
    assert MODEL_VERSION_LABEL not in bot["spec"]["selector"]["matchLabels"]


def test_the_autoscaler_decides_replicas_within_bounds() -> None:
    cc = contact_center(
        {"spec.bot.autoscaling": {"minReplicas": 2, "maxReplicas": 8}, "spec.metrics": PROMETHEUS}
    )
    assert find(build_all(cc), "Deployment", "acme-bot")["spec"]["replicas"] == 2
    decided = build_all(cc, Decisions(replicas={"bot": 6}))
    assert find(decided, "Deployment", "acme-bot")["spec"]["replicas"] == 6
    too_many = build_all(cc, Decisions(replicas={"bot": 80}))
    assert find(too_many, "Deployment", "acme-bot")["spec"]["replicas"] == 8


# --- a canary beside the stable track ----------------------------------------------------------

OLD = BotModel(name="intent-router", version="3.1.0", uri="configmap://router-3.1.0/model.yaml")
NEW = BotModel(name="intent-router", version="3.2.0", uri="configmap://router-3.2.0/model.yaml")
CANARY_STEP = Decisions(
    bot_tracks=(BotTrack("stable", OLD, 5), BotTrack("canary", NEW, 1)),
    routes=(Route("stable", "3.1.0", 75), Route("canary", "3.2.0", 25)),
)


def test_a_canary_runs_beside_the_stable_bot_each_serving_its_track_and_model() -> None:
    objects = build_all(contact_center(), CANARY_STEP)
    stable = find(objects, "Deployment", "acme-bot")
    canary = find(objects, "Deployment", "acme-bot-canary")
    for deployment, track, model, replicas in (
        (stable, "stable", OLD, 5),
        (canary, "canary", NEW, 1),
    ):
        labels = pod_labels(deployment)
        assert labels[TRACK_LABEL] == track
        assert labels[MODEL_VERSION_LABEL] == model.version
        variables = env(deployment)
        assert variables["SWITCHBOARD_BOT_TRACK"] == track
        assert variables["SWITCHBOARD_MODEL_VERSION"] == model.version
        assert variables["SWITCHBOARD_MODEL_URI"] == model.uri
        assert deployment["spec"]["replicas"] == replicas
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["model"]["configMap"]["name"] == f"router-{model.version}"


def test_each_track_has_its_own_selector_and_service() -> None:
    """A Deployment selecting the other track's pods would fight it for them."""
    objects = build_all(contact_center(), CANARY_STEP)
    stable = find(objects, "Deployment", "acme-bot")
    canary = find(objects, "Deployment", "acme-bot-canary")
    assert not matches(stable["spec"]["selector"]["matchLabels"], pod_labels(canary))
    assert not matches(canary["spec"]["selector"]["matchLabels"], pod_labels(stable))
    for name, deployment, other in (
        ("acme-bot", stable, canary),
        ("acme-bot-canary", canary, stable),
    ):
        selector = find(objects, "Service", name)["spec"]["selector"]
        assert matches(selector, pod_labels(deployment))
        assert not matches(selector, pod_labels(other))


def test_the_stable_bot_records_the_replicas_of_the_whole_bot() -> None:
    objects = build_all(contact_center({"spec.bot.replicas": 6}), CANARY_STEP)
    stable = find(objects, "Deployment", "acme-bot")
    assert stable["metadata"]["annotations"][SIZED_REPLICAS_ANNOTATION] == "6"
    assert sized_replicas(stable) == 6
    canary = find(objects, "Deployment", "acme-bot-canary")
    assert SIZED_REPLICAS_ANNOTATION not in canary["metadata"].get("annotations", {})
    # A Deployment from before the record: its own replicas are the whole bot's.
    assert sized_replicas({"metadata": {}, "spec": {"replicas": 3}}) == 3


def test_without_a_rollout_the_stable_bot_serves_the_spec_alone() -> None:
    objects = build_all(contact_center({"spec.bot.replicas": 2}))
    assert [
        d["metadata"]["name"]
        for d in of_kind(objects, "Deployment")
        if "bot" in d["metadata"]["name"]
    ] == ["acme-bot"]
    assert sized_replicas(find(objects, "Deployment", "acme-bot")) == 2


def _live(version: str, *, generation: int = 2, observed: int = 2, updated: int = 2) -> Manifest:
    return {
        "metadata": {"generation": generation},
        "spec": {
            "replicas": 2,
            "template": {"metadata": {"labels": {MODEL_VERSION_LABEL: version}}},
        },
        "status": {
            "observedGeneration": observed,
            "replicas": 2,
            "updatedReplicas": updated,
            "availableReplicas": 2,
        },
    }


def test_a_track_runs_its_template_s_model_once_rolled_out() -> None:
    assert running_version(_live("3.2.0")) == "3.2.0"
    assert running_version(_live("3.2.0", observed=1)) is None  # the change not seen yet
    assert running_version(_live("3.2.0", updated=1)) is None  # old pods still serve
    assert running_version(None) is None
