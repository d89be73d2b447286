from switchboard.resources import Decisions, build_all
from switchboard.resources.bot import MODEL_NAME_LABEL, MODEL_URI_ANNOTATION, MODEL_VERSION_LABEL
from tests.factory import contact_center
from tests.unit.resources.helpers import env, find, pod_labels

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
