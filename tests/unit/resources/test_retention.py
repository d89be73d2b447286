"""The retention CronJob: only when asked for, with an identity that can do nothing but be
itself, reaching the database through its network policy and URI."""

from __future__ import annotations

from typing import Any

from switchboard.resources import build_all
from tests.factory import contact_center
from tests.unit.resources.helpers import env, find, of_kind

RETAINED = {"spec.dataProtection": {"retention": {"days": 90, "schedule": "0 4 * * 0"}}}


def test_no_retention_no_job() -> None:
    built = build_all(contact_center())
    assert of_kind(built, "CronJob") == of_kind(built, "ServiceAccount") == []


def test_the_job_purges_past_the_spec_s_days_as_an_identity_without_api_access() -> None:
    built = build_all(contact_center(RETAINED))
    account = find(built, "ServiceAccount", "acme-retention")
    assert account["automountServiceAccountToken"] is False
    job = find(built, "CronJob", "acme-retention")
    assert job["spec"]["schedule"] == "0 4 * * 0"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"  # two purges never overlap
    pod = job["spec"]["jobTemplate"]["spec"]["template"]
    assert pod["spec"]["serviceAccountName"] == "acme-retention"
    assert pod["spec"]["automountServiceAccountToken"] is False
    (container,) = pod["spec"]["containers"]
    assert container["args"] == ["retention", "--days", "90"]
    # the same database URI the bot reads, from the same Secret
    bot = find(built, "Deployment", "acme-bot")
    assert container["env"] == [
        {"name": "SWITCHBOARD_DATABASE_URI", "valueFrom": env(bot)["SWITCHBOARD_DATABASE_URI"]}
    ]
    assert container["securityContext"]["runAsNonRoot"] is True


def test_the_database_lets_the_retention_pods_in_only_when_there_is_a_job() -> None:
    def sources(changes: dict[str, Any]) -> list[dict[str, Any]]:
        policy = find(build_all(contact_center(changes)), "NetworkPolicy", "acme-database")
        return [peer["podSelector"]["matchLabels"] for peer in policy["spec"]["ingress"][0]["from"]]

    job_pods = {"app.kubernetes.io/instance": "acme", "app.kubernetes.io/component": "retention"}
    assert job_pods in sources(RETAINED)
    assert job_pods not in sources({})
