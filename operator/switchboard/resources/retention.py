"""Retention (`spec.dataProtection.retention`): a CronJob that deletes ended conversations
past their days (`switchboard retention`), run by a ServiceAccount of its own with no API
access (it talks to the database alone), under Pod Security `restricted`."""

from __future__ import annotations

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.app import USER, default_image
from switchboard.resources.common import (
    Component,
    Manifest,
    ResourceDefaults,
    child_name,
    object_meta,
    pod_template,
    resource_requirements,
    standard_labels,
)
from switchboard.resources.wiring import database_env

RETENTION = Component("retention", "switchboard-retention")
DEFAULTS = ResourceDefaults("50m", "64Mi", "500m", "256Mi")


def retention_name(cc: ContactCenter) -> str:
    return child_name(cc, "retention")


def build_retention(cc: ContactCenter) -> list[Manifest]:
    """The ServiceAccount and the CronJob, when the spec asks for retention; else nothing (and
    what an earlier spec made is pruned)."""
    retention = cc.spec.data_protection.retention
    if retention is None:
        return []
    name = retention_name(cc)
    container = {
        "name": "retention",
        "image": default_image(),
        "args": ["retention", "--days", str(retention.days)],
        "env": database_env(cc),
        "resources": resource_requirements(DEFAULTS, None),
    }
    template = pod_template(cc, RETENTION, containers=[container], user=USER)
    template["spec"] |= {"serviceAccountName": name, "restartPolicy": "OnFailure"}
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": object_meta(cc, name, RETENTION),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": object_meta(cc, name, RETENTION),
            "spec": {
                "schedule": retention.schedule,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "metadata": {"labels": standard_labels(cc, RETENTION)},
                    "spec": {"backoffLimit": 2, "template": template},
                },
            },
        },
    ]
