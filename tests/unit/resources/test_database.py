import pytest

from switchboard.resources import Decisions, build_all, build_volume_expansions
from tests.factory import contact_center
from tests.unit.resources.helpers import env, find, main_container, of_kind, pod_spec


@pytest.mark.parametrize(("policy", "when_deleted"), [("Retain", "Retain"), ("Delete", "Delete")])
def test_deletion_policy_decides_whether_the_volume_outlives_the_contact_center(
    policy: str, when_deleted: str
) -> None:
    cc = contact_center({"spec.database": {"deletionPolicy": policy}})
    database = find(build_all(cc), "StatefulSet", "acme-database")
    retention = database["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert retention == {"whenDeleted": when_deleted, "whenScaled": "Retain"}


def test_retain_is_the_default() -> None:
    database = find(build_all(contact_center()), "StatefulSet", "acme-database")
    assert database["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"


def test_the_volume_claim_has_the_size_and_leaves_the_storage_class_to_the_cluster() -> None:
    database = find(build_all(contact_center()), "StatefulSet", "acme-database")
    (claim,) = database["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert "storageClassName" not in claim["spec"]
    mounts = {m["name"]: m["mountPath"] for m in main_container(database)["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/var/lib/postgresql/data"


def test_a_storage_class_and_size_from_the_spec() -> None:
    cc = contact_center({"spec.database": {"storage": "50Gi", "storageClassName": "fast"}})
    (claim,) = find(build_all(cc), "StatefulSet", "acme-database")["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"


def test_postgres_reads_its_credentials_from_the_generated_secret() -> None:
    database = find(build_all(contact_center()), "StatefulSet", "acme-database")
    variables = env(database)
    for variable, key in (("POSTGRES_USER", "username"), ("POSTGRES_PASSWORD", "password")):
        assert variables[variable] == {
            "secretKeyRef": {"name": "acme-database-credentials", "key": key}
        }
    assert variables["PGDATA"].startswith("/var/lib/postgresql/data/")


def test_the_version_picks_the_official_image() -> None:
    cc = contact_center({"spec.database": {"version": "15"}})
    database = find(build_all(cc), "StatefulSet", "acme-database")
    assert main_container(database)["image"] == "docker.io/library/postgres:15"


def test_the_headless_service_names_the_pod() -> None:
    objects = build_all(contact_center())
    database = find(objects, "StatefulSet", "acme-database")
    service = find(objects, "Service", "acme-database")
    assert service["spec"]["clusterIP"] == "None"
    assert database["spec"]["serviceName"] == "acme-database"


def test_writable_paths_of_a_read_only_root_are_volumes() -> None:
    database = find(build_all(contact_center()), "StatefulSet", "acme-database")
    volumes = {v["name"] for v in pod_spec(database)["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in main_container(database)["volumeMounts"]}
    assert {"/var/run/postgresql", "/tmp"} <= set(mounts.values())
    assert set(mounts) - volumes == {"data"}  # the claim; everything else an emptyDir


def test_an_external_database_runs_nothing_and_is_read_from_its_secret() -> None:
    cc = contact_center(
        {"spec.database": {"external": {"secretRef": {"name": "pg", "key": "connection"}}}}
    )
    objects = build_all(cc)
    assert [s["metadata"]["name"] for s in of_kind(objects, "StatefulSet")] == ["acme-queue"]
    assert "acme-database" not in {s["metadata"]["name"] for s in of_kind(objects, "Service")}
    for workload in ("acme-web", "acme-bot", "acme-agents"):
        assert env(find(objects, "Deployment", workload))["SWITCHBOARD_DATABASE_URI"] == {
            "secretKeyRef": {"name": "pg", "key": "connection"}
        }


def test_every_workload_reaching_an_external_service_is_given_its_ca() -> None:
    cc = contact_center(
        {
            "spec.queue": {"external": {"secretRef": {"name": "mq"}, "caRef": {"name": "mq-ca"}}},
            "spec.database": {
                "external": {"secretRef": {"name": "pg"}, "caRef": {"name": "pki", "key": "db"}}
            },
            "spec.dataProtection": {"retention": {"days": 30}},
        }
    )
    objects = build_all(cc)
    for workload in ("acme-web", "acme-bot", "acme-agents"):
        variables = env(find(objects, "Deployment", workload))
        assert variables["SWITCHBOARD_QUEUE_CA"] == {
            "secretKeyRef": {"name": "mq-ca", "key": "ca.crt"}
        }
        assert variables["SWITCHBOARD_DATABASE_CA"] == {
            "secretKeyRef": {"name": "pki", "key": "db"}
        }
    job = find(objects, "CronJob", "acme-retention")["spec"]["jobTemplate"]["spec"]["template"]
    (purge,) = job["spec"]["containers"]
    # It reaches the database alone.
    assert [variable["name"] for variable in purge["env"]] == [
        "SWITCHBOARD_DATABASE_URI",
        "SWITCHBOARD_DATABASE_CA",
    ]
    assert "SWITCHBOARD_DATABASE_CA" not in env(
        find(build_all(contact_center()), "Deployment", "acme-bot")
    )


def test_an_existing_claim_template_is_kept_and_the_volume_grows_by_expansion() -> None:
    grown = contact_center({"spec.database": {"storage": "80Gi"}})
    objects = build_all(grown, Decisions(claim_template_storage={"database": "20Gi"}))
    database = find(objects, "StatefulSet", "acme-database")
    (claim,) = database["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"  # immutable
    expansions = {e["metadata"]["name"]: e for e in build_volume_expansions(grown)}
    # The StatefulSet controller names the claim <template>-<statefulset>-<ordinal>.
    expansion = expansions[f"{claim['metadata']['name']}-acme-database-0"]
    assert expansion["spec"]["resources"]["requests"]["storage"] == "80Gi"
    assert expansion["metadata"]["namespace"] == "support"


def test_no_expansion_for_external_services() -> None:
    cc = contact_center(
        {
            "spec.queue": {"external": {"secretRef": {"name": "mq"}}},
            "spec.database": {"external": {"secretRef": {"name": "pg"}}},
        }
    )
    assert build_volume_expansions(cc) == []


def test_the_queue_and_database_carry_the_data_classification_and_the_apps_do_not() -> None:
    cc = contact_center({"spec.dataProtection.classification": "restricted"})
    built = build_all(cc)
    classified = {
        (o["kind"], o["metadata"]["name"])
        for o in built
        if o["metadata"]["labels"].get("switchboard.io/data-classification") == "restricted"
    }
    assert classified == {
        ("StatefulSet", "acme-queue"),
        ("Service", "acme-queue"),
        ("StatefulSet", "acme-database"),
        ("Service", "acme-database"),
    }
    for workload in of_kind(built, "StatefulSet"):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert labels["switchboard.io/data-classification"] == "restricted"
        # the claim template is immutable: an existing StatefulSet could not take the label
        for claim in workload["spec"]["volumeClaimTemplates"]:
            assert "switchboard.io/data-classification" not in claim["metadata"].get("labels", {})
