"""ContactCenter manifests the apiserver must reject, each with the message it must say.

Every CEL rule of the CRD, wrong types, unknown enum values, missing and out-of-range fields,
and update-time transitions (applied on top of `old`). Each manifest breaks exactly one rule:
the apiserver skips CEL rules when a type, enum, required or size check already failed, so
mixing would hide the message under test.

The integration tests apply them against the real apiserver; unit tests check that
`ContactCenter.model_validate` (and so `switchboard render`) rejects the create-time ones too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.factory import DELETE, Manifest, changed, valid_manifest


@dataclass(frozen=True)
class InvalidManifest:
    """A manifest the apiserver rejects, and a substring of the error it answers with."""

    id: str
    manifest: Manifest
    message: str
    old: Manifest | None = None
    """For update-time rules: the object stored before (created first, then updated)."""
    from_cel: bool = False
    """The message is one of our CEL rules (pydantic says the same to `switchboard render`)."""


def _cel(id: str, changes: dict[str, Any], message: str) -> InvalidManifest:
    return InvalidManifest(id, changed(changes), message, from_cel=True)


def _schema(id: str, changes: dict[str, Any], message: str) -> InvalidManifest:
    return InvalidManifest(id, changed(changes), message)


def _update(id: str, old: dict[str, Any], new: dict[str, Any], message: str) -> InvalidManifest:
    return InvalidManifest(id, changed(new), message, old=changed(old), from_cel=True)


TWO_CHANNELS = [{"name": "web", "type": "webchat"}, {"name": "web", "type": "voice"}]
PROMETHEUS = "http://prometheus.monitoring:9090"

INVALID_MANIFESTS: list[InvalidManifest] = [
    # --- CEL rules, at create time -------------------------------------------------------
    _cel("channel-names-unique", {"spec.channels": TWO_CHANNELS}, "channels names must be unique"),
    _cel(
        "channel-name-reserved",
        {"spec.channels.0.name": "bot"},
        "channel name must not be one of bot, bot-canary, agents, queue, database",
    ),
    _cel(
        "provider-on-a-webchat-channel",
        {"spec.channels.0.provider": {"url": "https://sms.example.com/send"}},
        "provider is only set on channels of type sms, whatsapp, social",
    ),
    _cel(
        "email-channel-without-email",
        {"spec.channels.0.type": "email"},
        "email is required on channels of type email, and only set on them",
    ),
    _cel(
        "email-on-a-webchat-channel",
        {
            "spec.channels.0.email": {
                "address": "help@example.com",
                "smtp": {"host": "smtp.example"},
            }
        },
        "email is required on channels of type email, and only set on them",
    ),
    _cel(
        "bot-min-over-max",
        {
            "spec.bot.autoscaling": {"minReplicas": 5, "maxReplicas": 2},
            "spec.metrics": {"prometheusURL": PROMETHEUS},
        },
        "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
    ),
    _cel(
        "agents-min-over-max",
        {
            "spec.agents.autoscaling": {"minReplicas": 3, "maxReplicas": 1},
            "spec.metrics": {"prometheusURL": PROMETHEUS},
        },
        "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
    ),
    _cel(
        "quality-repeat-window-too-short",
        {"spec.quality": {"firstContactResolutionWindow": "30s"}},
        "quality.firstContactResolutionWindow must be at least 1m",
    ),
    _cel(
        "tls-internal-without-built-in-services",
        {
            "spec.tls": {
                "secretRef": {"name": "web-tls"},
                "internal": {"issuerRef": {"name": "cluster-ca"}},
            },
            "spec.queue": {"external": {"secretRef": {"name": "mq"}}},
            "spec.database": {"external": {"secretRef": {"name": "pg"}}},
        },
        "tls.internal is for the built-in queue and database, and both are external",
    ),
    _cel(
        "quality-survey-answer-window-too-short",
        {"spec.quality": {"survey": {"enabled": True, "answerWithin": "10s"}}},
        "quality.survey.answerWithin must be at least 1m",
    ),
    _cel(
        "quality-short-abandon-not-a-bucket-bound",
        {"spec.quality": {"shortAbandonSeconds": 7}},
        "quality.shortAbandonSeconds must be one of 1, 2, 5, 10, 15, 20, 30",
    ),
    _cel(
        "quality-nps-without-survey",
        {"spec.quality": {"survey": {"nps": True}}},
        "quality.survey.nps needs quality.survey.enabled",
    ),
    _schema(
        "quality-survey-blank-question",
        {"spec.quality": {"survey": {"enabled": True, "question": "   "}}},
        "spec.quality.survey.question",
    ),
    _cel(
        "sla-target-zero",
        {"spec.sla": {"serviceLevel": {"target": 0}}},
        "sla.serviceLevel.target must be greater than 0 and at most 1",
    ),
    _cel(
        "sla-target-above-one",
        {"spec.sla": {"serviceLevel": {"target": 1.5}}},
        "sla.serviceLevel.target must be greater than 0 and at most 1",
    ),
    _cel(
        "queue-external-without-secret-ref",
        {"spec.queue": {"external": {}}},
        "external.secretRef is required",
    ),
    _cel(
        "database-external-without-secret-ref",
        {"spec.database": {"external": {}}},
        "external.secretRef is required",
    ),
    _cel(
        "queue-external-with-storage",
        {"spec.queue": {"storage": "2Gi", "external": {"secretRef": {"name": "queue"}}}},
        "queue.external cannot be combined with version, storage",
    ),
    _cel(
        "database-external-with-version",
        {"spec.database": {"version": "16", "external": {"secretRef": {"name": "db"}}}},
        "database.external cannot be combined with version, storage",
    ),
    _cel(
        "autoscaling-without-prometheus",
        {"spec.bot.autoscaling": {"minReplicas": 1, "maxReplicas": 4}},
        "metrics.prometheusURL is required when bot.autoscaling or agents.autoscaling is set",
    ),
    _cel(
        "rollout-weights-not-increasing",
        {"spec.bot.rollout": {"steps": [{"weight": 50}, {"weight": 25}]}},
        "rollout.steps weights must increase strictly from step to step",
    ),
    _cel(
        "rollout-weights-repeated",
        {"spec.bot.rollout": {"steps": [{"weight": 25}, {"weight": 25}]}},
        "rollout.steps weights must increase strictly from step to step",
    ),
    _cel(
        "analysis-custom-metric-without-query",
        {"spec.bot.rollout": {"analysis": {"metrics": [{"name": "csat", "min": 4.0}]}}},
        "analysis metric needs a query",
    ),
    _cel(
        "analysis-metric-without-bound",
        {"spec.bot.rollout": {"analysis": {"metrics": [{"name": "error-rate"}]}}},
        "analysis metric needs a bound",
    ),
    _cel(
        "analysis-metric-names-unique",
        {
            "spec.bot.rollout": {
                "analysis": {
                    "metrics": [
                        {"name": "error-rate", "max": 0.01},
                        {"name": "error-rate", "max": 0.02},
                    ]
                }
            }
        },
        "rollout.analysis.metrics names must be unique",
    ),
    _cel(
        "analysis-rate-bound-in-percent",
        {"spec.bot.rollout": {"analysis": {"metrics": [{"name": "containment-rate", "min": 70}]}}},
        "analysis metric bounds of a rate are shares",
    ),
    _cel(
        "analysis-rate-margin-beyond-one",
        {
            "spec.bot.rollout": {
                "analysis": {"metrics": [{"name": "error-rate", "maxRelative": 2.0}]}
            }
        },
        "analysis metric bounds of a rate are shares",
    ),
    _cel(
        "analysis-latency-relative-without-query",
        {
            "spec.bot.rollout": {
                "analysis": {"metrics": [{"name": "latency-p95", "maxRelative": 0.1}]}
            }
        },
        "analysis metric latency-p95 is bounded by maxSeconds alone",
    ),
    _cel(
        "analysis-seconds-on-a-rate",
        {
            "spec.bot.rollout": {
                "analysis": {"metrics": [{"name": "error-rate", "maxSeconds": 0.8}]}
            }
        },
        "analysis metric maxSeconds applies to latency-p95 or a custom query",
    ),
    _cel(
        "handoff-override-of-unknown-channel",
        {"spec.bot.handoff": {"channels": [{"name": "phone", "sentimentThreshold": -0.5}]}},
        "bot.handoff.channels may only name channels of spec.channels",
    ),
    _cel(
        "handoff-overrides-repeat-a-channel",
        {"spec.bot.handoff": {"channels": [{"name": "web"}, {"name": "web", "clarify": True}]}},
        "bot.handoff.channels must name each channel at most once",
    ),
    _cel(
        "analysis-interval-too-short",
        {"spec.bot.rollout": {"analysis": {"interval": "5s"}}},
        "rollout.analysis.interval must be at least 10s",
    ),
    _cel(
        "offer-timeout-too-short",
        {"spec.agents": {"offerTimeout": "4s"}},
        "agents.offerTimeout must be at least 5s",
    ),
    _cel(
        "metrics-interval-too-short",
        {"spec.metrics": {"interval": "1s"}},
        "metrics.interval must be at least 5s",
    ),
    _cel(
        "metrics-rate-window-too-short",
        {"spec.metrics": {"rateWindow": "4s"}},
        "metrics.rateWindow must be at least 5s",
    ),
    _cel(
        "metrics-recent-window-too-short",
        {"spec.metrics": {"recentWindow": "4999ms"}},
        "metrics.recentWindow must be at least 5s",
    ),
    _cel(
        "metrics-handle-time-window-too-short",
        {"spec.metrics": {"handleTimeWindow": "0"}},
        "metrics.handleTimeWindow must be at least 5s",
    ),
    _cel(
        "database-storage-too-small",
        {"spec.database": {"storage": "1Mi"}},
        "database.storage must be at least 64Mi",
    ),
    _cel(
        "queue-storage-too-small",
        {"spec.queue": {"storage": "63Mi"}},
        "queue.storage must be at least 64Mi",
    ),
    _cel(
        "request-above-limit",
        {"spec.channels.0.resources": {"requests": {"cpu": 2}, "limits": {"cpu": "500m"}}},
        "resources.requests.cpu must not exceed resources.limits.cpu",
    ),
    _cel(
        "memory-request-above-limit",
        {"spec.bot.resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}},
        "resources.requests.memory must not exceed resources.limits.memory",
    ),
    _cel(
        "name-too-long",
        {"metadata.name": "a" * 41},
        "metadata.name must be at most 40 characters",
    ),
    _cel(
        "name-not-a-dns-label",
        {"metadata.name": "acme.support"},
        "metadata.name must be a DNS label",
    ),
    _cel(
        "routing-skills-not-unique",
        {"spec.routing": {"skills": ["billing", "billing"], "queues": [{"name": "general"}]}},
        "routing.skills must be unique",
    ),
    _cel(
        "routing-queue-names-not-unique",
        {"spec.routing": {"queues": [{"name": "general"}, {"name": "general", "priority": 1}]}},
        "routing.queues names must be unique",
    ),
    _cel(
        "routing-queue-priorities-not-unique",
        {"spec.routing": {"queues": [{"name": "vip"}, {"name": "general"}]}},
        "routing.queues priorities must be unique",
    ),
    _cel(
        "routing-queue-skill-undeclared",
        {
            "spec.routing": {
                "skills": ["billing"],
                "queues": [{"name": "es", "skills": [{"name": "spanish"}]}],
            }
        },
        "routing.queues[].skills may only name skills of routing.skills",
    ),
    _cel(
        "routing-queue-skills-not-unique",
        {
            "spec.routing": {
                "skills": ["billing"],
                "queues": [{"name": "b", "skills": [{"name": "billing"}, {"name": "billing"}]}],
            }
        },
        "routing.queues[].skills names must be unique",
    ),
    _cel(
        "routing-overflow-to-unknown-queue",
        {
            "spec.routing": {
                "queues": [{"name": "vip", "overflow": [{"queue": "general", "after": "60s"}]}]
            }
        },
        "routing.queues[].overflow may only name queues of routing.queues",
    ),
    _cel(
        "routing-overflow-to-itself",
        {
            "spec.routing": {
                "queues": [{"name": "vip", "overflow": [{"queue": "vip", "after": "60s"}]}]
            }
        },
        "routing.queues[].overflow must not name the queue itself",
    ),
    _cel(
        "routing-overflow-too-soon",
        {
            "spec.routing": {
                "queues": [
                    {"name": "vip", "overflow": [{"queue": "general", "after": "500ms"}]},
                    {"name": "general", "priority": -1},
                ]
            }
        },
        "routing.queues[].overflow[].after must be at least 1s",
    ),
    _cel(
        "routing-default-queue-unknown",
        {"spec.routing": {"queues": [{"name": "general"}], "defaultQueue": "other"}},
        "routing.defaultQueue must name a queue of routing.queues",
    ),
    _cel(
        "routing-selector-not-a-selector",
        {"spec.routing": {"queues": [{"name": "vip", "selector": "__import__('os')"}]}},
        "routing.queues[].selector must be comparisons of channel",
    ),
    _cel(
        "tls-neither-secret-nor-issuer",
        {"spec.tls": {}},
        "tls needs exactly one of tls.secretRef and tls.issuerRef",
    ),
    _cel(
        "tls-both-secret-and-issuer",
        {"spec.tls": {"secretRef": {"name": "web-tls"}, "issuerRef": {"name": "letsencrypt"}}},
        "tls needs exactly one of tls.secretRef and tls.issuerRef",
    ),
    _cel(
        "tls-dns-names-with-a-secret",
        {"spec.tls": {"secretRef": {"name": "web-tls"}, "dnsNames": ["chat.example.com"]}},
        "tls.dnsNames is only for tls.issuerRef",
    ),
    # --- types, enums, formats, required fields, sizes (the apiserver's own messages) -----
    _schema(
        "tls-issuer-kind-unknown",
        {"spec.tls": {"issuerRef": {"name": "letsencrypt", "kind": "Vault"}}},
        'Unsupported value: "Vault"',
    ),
    _schema(
        "tls-dns-name-not-a-host",
        {"spec.tls": {"issuerRef": {"name": "letsencrypt"}, "dnsNames": ["chat example.com"]}},
        "should match",
    ),
    _schema("channel-type-unknown", {"spec.channels.0.type": "fax"}, 'Unsupported value: "fax"'),
    _schema("replicas-not-integer", {"spec.channels.0.replicas": "two"}, "must be of type integer"),
    _schema(
        "replicas-negative",
        {"spec.channels.0.replicas": -1},
        "should be greater than or equal to 0",
    ),
    _schema(
        "rollout-strategy-unknown",
        {"spec.bot.rollout": {"strategy": "BlueGreen"}},
        'Unsupported value: "BlueGreen"',
    ),
    _schema(
        "deletion-policy-unknown",
        {"spec.database": {"deletionPolicy": "Keep"}},
        'Unsupported value: "Keep"',
    ),
    _schema(
        "queue-engine-unknown", {"spec.queue": {"engine": "Kafka"}}, 'Unsupported value: "Kafka"'
    ),
    _schema(
        "database-version-unknown",
        {"spec.database": {"version": "9.6"}},
        'Unsupported value: "9.6"',
    ),
    _schema("model-version-not-semver", {"spec.bot.model.version": "latest"}, "should match"),
    _schema("storage-not-a-quantity", {"spec.queue": {"storage": "lots"}}, "should match"),
    _schema("duration-not-a-duration", {"spec.metrics": {"interval": "soon"}}, "should match"),
    _schema(
        "classification-not-a-label-value",
        {"spec.dataProtection": {"classification": "top secret!"}},
        "spec.dataProtection.classification: Invalid value",
    ),
    _schema("bot-missing", {"spec.bot": DELETE}, "Required value"),
    _schema("model-uri-missing", {"spec.bot.model.uri": DELETE}, "Required value"),
    _schema(
        "model-uri-unreadable-scheme",
        {"spec.bot.model.uri": "s3://models/telco/2.0.0"},
        "should match",
    ),
    _schema(
        "handoff-threshold-above-one",
        {"spec.bot.handoff": {"confidenceThreshold": 1.5}},
        "should be less than or equal to 1",
    ),
    _schema(
        "handoff-sentiment-threshold-below-minus-one",
        {"spec.bot.handoff": {"sentimentThreshold": -1.5}},
        "should be greater than or equal to -1",
    ),
    _schema(
        "handoff-sentiment-drop-zero",
        {"spec.bot.handoff": {"channels": [{"name": "web", "sentimentDrop": 0}]}},
        "should be greater than 0",
    ),
    _schema("channels-empty", {"spec.channels": []}, "should have at least 1 items"),
    _schema(
        "too-many-channels",
        {"spec.channels": [{"name": f"c{i}", "type": "webchat"} for i in range(17)]},
        "must have at most 16 items",
    ),
    _schema(
        "step-weight-zero",
        {"spec.bot.rollout": {"steps": [{"weight": 0}]}},
        "should be greater than or equal to 1",
    ),
    _schema(
        "abandon-rate-above-one",
        {"spec.sla": {"maxAbandonRate": 2}},
        "should be less than or equal to 1",
    ),
    _schema(
        "sla-target-not-a-number",
        {"spec.sla": {"serviceLevel": {"target": "high"}}},
        "must be of type number",
    ),
    # --- update-time transitions ----------------------------------------------------------
    _update(
        "database-storage-shrinks",
        {"spec.database": {"storage": "20Gi"}},
        {"spec.database": {"storage": "10Gi"}},
        "database.storage may grow but never shrink",
    ),
    _update(
        "database-storage-shrinks-below-default",
        {},
        {"spec.database": {"storage": "10Gi"}},
        "database.storage may grow but never shrink",
    ),
    _update(
        "queue-storage-shrinks",
        {"spec.queue": {"storage": "4Gi"}},
        {"spec.queue": {"storage": "3Gi"}},
        "queue.storage may grow but never shrink",
    ),
    _update(
        "database-version-changes",
        {"spec.database": {"version": "16"}},
        {"spec.database": {"version": "17"}},
        "database.version cannot change",
    ),
    _update(
        "storage-class-changes",
        {"spec.database": {"storageClassName": "fast"}},
        {"spec.database": {"storageClassName": "slow"}},
        "database.storageClassName cannot change after creation",
    ),
    _update(
        "queue-storage-class-set-after-creation",
        {},
        {"spec.queue": {"storageClassName": "fast"}},
        "queue.storageClassName cannot change after creation",
    ),
    # The engines have one value each today, so a changed engine fails the enum before the
    # immutability rule (`self == oldSelf`) can speak; it guards the day a second one exists.
    InvalidManifest(
        "queue-engine-changes",
        changed({"spec.queue": {"engine": "Kafka"}}),
        'Unsupported value: "Kafka"',
        old=changed({"spec.queue": {"engine": "RabbitMQ"}}),
    ),
]

VALID_UPDATES: list[tuple[str, Manifest, Manifest]] = [
    (
        "database-storage-grows",
        changed({"spec.database": {"storage": "20Gi"}}),
        changed({"spec.database": {"storage": "30Gi"}}),
    ),
    (
        "queue-storage-grows-from-default",
        valid_manifest(),
        changed({"spec.queue": {"storage": "8Gi"}}),
    ),
    (
        "database-becomes-external",
        changed({"spec.database": {"storage": "50Gi"}}),
        changed({"spec.database": {"external": {"secretRef": {"name": "db"}}}}),
    ),
    (
        "model-version-changes",
        valid_manifest(),
        changed({"spec.bot.model.version": "3.3.0"}),
    ),
]
"""Updates the apiserver must accept (old, new): the transition rules allow these."""
