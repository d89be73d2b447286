from switchboard.resources import build_all
from tests.factory import contact_center
from tests.unit.resources.helpers import env, find, main_container, of_kind


def test_a_built_in_rabbitmq_with_its_volume() -> None:
    objects = build_all(contact_center({"spec.queue": {"storage": "4Gi", "version": "4.0"}}))
    queue = find(objects, "StatefulSet", "acme-queue")
    (claim,) = queue["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "4Gi"
    assert main_container(queue)["image"] == "docker.io/library/rabbitmq:4.0"
    assert queue["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
    assert find(objects, "Service", "acme-queue")["spec"]["clusterIP"] == "None"


def test_rabbitmq_reads_its_credentials_from_the_generated_secret() -> None:
    variables = env(find(build_all(contact_center()), "StatefulSet", "acme-queue"))
    assert variables["RABBITMQ_DEFAULT_USER"] == {
        "secretKeyRef": {"name": "acme-queue-credentials", "key": "username"}
    }
    assert variables["RABBITMQ_DEFAULT_PASS"] == {
        "secretKeyRef": {"name": "acme-queue-credentials", "key": "password"}
    }


def test_workloads_read_the_queue_uri_from_the_generated_secret() -> None:
    objects = build_all(contact_center())
    for workload in ("acme-web", "acme-bot", "acme-agents"):
        assert env(find(objects, "Deployment", workload))["SWITCHBOARD_QUEUE_URI"] == {
            "secretKeyRef": {"name": "acme-queue-credentials", "key": "uri"}
        }


def test_an_external_queue_runs_nothing_and_is_read_from_its_secret() -> None:
    cc = contact_center({"spec.queue": {"external": {"secretRef": {"name": "mq"}}}})
    objects = build_all(cc)
    assert [s["metadata"]["name"] for s in of_kind(objects, "StatefulSet")] == ["acme-database"]
    assert "acme-queue" not in {s["metadata"]["name"] for s in of_kind(objects, "Service")}
    assert env(find(objects, "Deployment", "acme-bot"))["SWITCHBOARD_QUEUE_URI"] == {
        "secretKeyRef": {"name": "mq", "key": "uri"}
    }
    wiring = find(objects, "ConfigMap", "acme-wiring")["data"]
    assert "SWITCHBOARD_QUEUE_HOST" not in wiring
