"""Hypothesis strategies for valid ContactCenter manifests, as a user would write them.

`contact_center_manifests()` draws plain dicts that the CRD accepts (every CEL rule holds);
`contact_centers()` the same, validated into the model. Unit tests fuzz the builders with them,
and integration tests server-side dry-run what the builders make of them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from switchboard.api.bot import BUILT_IN_ANALYSIS_METRICS, LATENCY_METRIC
from switchboard.api.channels import CHANNEL_TYPES, MAX_CHANNELS, RESERVED_CHANNEL_NAMES
from switchboard.api.contactcenter import ContactCenter
from switchboard.api.types import parse_quantity

Manifest = dict[str, Any]

contact_center_names = st.from_regex(r"[a-z]([-a-z0-9]{0,38}[a-z0-9])?", fullmatch=True)
namespaces = st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
channel_names = st.from_regex(r"[a-z]([-a-z0-9]{0,18}[a-z0-9])?", fullmatch=True).filter(
    lambda name: name not in RESERVED_CHANNEL_NAMES
)
secret_names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?", fullmatch=True)
images = st.from_regex(
    r"[a-z0-9]+(\.[a-z0-9]+)*(/[a-z0-9_-]+){1,3}(:[A-Za-z0-9._-]{1,20})?", fullmatch=True
)
model_versions = st.from_regex(
    r"v?[0-9]{1,3}(\.[0-9]{1,3}){0,2}(-[0-9A-Za-z]([-0-9A-Za-z.]{0,10}[0-9A-Za-z])?)?",
    fullmatch=True,
)
durations = st.builds(
    lambda n, unit: f"{n}{unit}", st.integers(0, 90), st.sampled_from(["s", "m", "h"])
)
cpus = st.one_of(
    st.builds(lambda m: f"{m}m", st.integers(10, 4000)), st.integers(1, 8), st.just("0.5")
)
memories = st.builds(
    lambda n, unit: f"{n}{unit}", st.integers(1, 4096), st.sampled_from(["Mi", "Gi"])
)
storages = st.one_of(
    st.builds(lambda n: f"{n}Gi", st.integers(1, 500)),
    st.builds(lambda n: f"{n}Mi", st.integers(64, 10000)),
)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _drop_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}


def _object(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of the given fields, those drawn as None left out."""
    return st.fixed_dictionaries(fields).map(_drop_none)


resource_lists = _object(cpu=_optional(cpus), memory=_optional(memories))


def _request_within_limit(drawn: dict[str, Any]) -> bool:
    requests, limits = drawn.get("requests", {}), drawn.get("limits", {})
    return all(
        parse_quantity(str(requests[r])) <= parse_quantity(str(limits[r]))
        for r in ("cpu", "memory")
        if r in requests and r in limits
    )


resources = _object(requests=_optional(resource_lists), limits=_optional(resource_lists)).filter(
    _request_within_limit
)


@st.composite
def autoscalings(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(st.integers(1, 50))
    high = draw(st.integers(low, 100))
    behaviour = _object(
        stabilizationWindow=_optional(durations),
        maxReplicasPerStep=_optional(st.integers(1, 20)),
        maxPercentPerStep=_optional(st.integers(1, 100)),
    )
    return _drop_none(
        {
            "minReplicas": low,
            "maxReplicas": high,
            "readinessLeadTime": draw(_optional(durations)),
            "scaleUp": draw(_optional(behaviour)),
            "scaleDown": draw(_optional(behaviour)),
        }
    )


channels = _object(
    type=st.sampled_from(CHANNEL_TYPES),
    image=_optional(images),
    replicas=_optional(st.integers(0, 5)),
    serviceType=_optional(st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer"])),
    credentials=_optional(st.builds(lambda name: {"secretRef": {"name": name}}, secret_names)),
    resources=_optional(resources),
).map(
    # An email channel must say where its mail comes from and goes to.
    lambda channel: (
        {**channel, "email": {"address": "help@example.com", "smtp": {"host": "smtp.example"}}}
        if channel.get("type") == "email"
        else channel
    )
)


@st.composite
def rollouts(draw: st.DrawFn) -> dict[str, Any]:
    weights = sorted(draw(st.sets(st.integers(1, 100), min_size=1, max_size=10)))
    steps = [_drop_none({"weight": w, "pause": draw(_optional(durations))}) for w in weights]
    metric_names = draw(
        st.lists(
            st.one_of(st.sampled_from(BUILT_IN_ANALYSIS_METRICS), channel_names),
            unique=True,
            max_size=4,
        )
    )
    metrics = []
    for name in metric_names:
        metric: dict[str, Any] = {"name": name}
        if name not in BUILT_IN_ANALYSIS_METRICS or draw(st.booleans()):
            metric["query"] = 'sum(rate(custom_total{model_version="$version"}[5m]))'
        # latency-p95 without a query is bounded by seconds; the rates by shares.
        bound = "maxSeconds" if name == LATENCY_METRIC and "query" not in metric else "max"
        metric[bound] = draw(st.floats(0, 1))
        metrics.append(metric)
    analysis = {"interval": f"{draw(st.integers(10, 300))}s", "metrics": metrics}
    return _drop_none(
        {
            "strategy": draw(_optional(st.sampled_from(["Canary", "Immediate"]))),
            "steps": draw(_optional(st.just(steps))),
            "analysis": draw(_optional(st.just(analysis))),
            "progressDeadline": draw(_optional(durations)),
            "drainTimeout": draw(_optional(durations)),
        }
    )


def _service(engine: str, versions: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    built_in = _object(
        engine=_optional(st.just(engine)),
        version=_optional(st.sampled_from(versions)),
        storage=_optional(storages),
        storageClassName=_optional(secret_names),
        image=_optional(images),
        resources=_optional(resources),
    )
    external = st.builds(
        lambda name, key: {"external": {"secretRef": _drop_none({"name": name, "key": key})}},
        secret_names,
        _optional(st.from_regex(r"[a-z][a-z0-9_.-]{0,15}", fullmatch=True)),
    )
    return st.one_of(built_in, external)


queues = _service("RabbitMQ", ["3.13", "4.0", "4.1"])
databases = st.tuples(
    _service("PostgreSQL", ["14", "15", "16", "17"]),
    _optional(st.sampled_from(["Retain", "Delete"])),
).map(lambda drawn: _drop_none({**drawn[0], "deletionPolicy": drawn[1]}))


SELECTORS = [
    "tier == 'vip'",
    "language in ['es', 'pt'] && channelType != 'voice'",
    "intent == 'billing' || intent == 'refund' && tier == ''",
]


@st.composite
def routings(draw: st.DrawFn) -> dict[str, Any]:
    """A valid spec.routing: queues target declared skills and overflow to one another."""
    skills = draw(st.lists(st.sampled_from(["billing", "spanish", "tech"]), unique=True))
    names = draw(st.lists(channel_names, min_size=1, max_size=4, unique=True))
    priorities = draw(
        st.lists(st.integers(-5, 5), min_size=len(names), max_size=len(names), unique=True)
    )
    queues = [
        _drop_none(
            {
                "name": name,
                "priority": priority,
                "selector": draw(_optional(st.sampled_from(SELECTORS))),
                "skills": [
                    {"name": skill, "minLevel": draw(st.integers(1, 10))}
                    for skill in draw(st.lists(st.sampled_from(skills), unique=True))
                ]
                if skills
                else None,
                "strategy": draw(
                    _optional(st.sampled_from(["LongestIdle", "FewestActive", "RoundRobin"]))
                ),
                "ageingPerMinute": draw(_optional(st.floats(0, 10))),
                "overflow": [
                    {"queue": other, "after": f"{draw(st.integers(1, 300))}s"}
                    for other in draw(st.lists(st.sampled_from(names), unique=True))
                    if other != name
                ],
            }
        )
        for name, priority in zip(names, priorities, strict=True)
    ]
    return _drop_none(
        {
            "skills": skills,
            "queues": queues,
            "defaultQueue": draw(_optional(st.sampled_from(names))),
        }
    )


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(channel_names, min_size=1, max_size=MAX_CHANNELS, unique=True))
    bot_scaling = draw(_optional(autoscalings()))
    agents_scaling = draw(_optional(autoscalings()))
    needs_prometheus = bot_scaling is not None or agents_scaling is not None
    prometheus = "http://prometheus.monitoring:9090"
    metrics = _drop_none(
        {
            "prometheusURL": prometheus if needs_prometheus or draw(st.booleans()) else None,
            "interval": draw(_optional(st.builds(lambda n: f"{n}s", st.integers(5, 600)))),
        }
    )
    version = draw(model_versions)
    spec = {
        "channels": [{"name": name, **draw(channels)} for name in names],
        "bot": _drop_none(
            {
                "image": draw(_optional(images)),
                "model": {
                    "name": draw(channel_names),
                    "version": version,
                    "uri": f"https://models.example/bot/{version}",
                },
                "concurrency": draw(_optional(st.integers(1, 500))),
                "replicas": draw(_optional(st.integers(0, 5))),
                "autoscaling": bot_scaling,
                "rollout": draw(_optional(rollouts())),
                "resources": draw(_optional(resources)),
            }
        ),
        "agents": _drop_none(
            {
                "image": draw(_optional(images)),
                "replicas": draw(_optional(st.integers(0, 5))),
                "seatsPerReplica": draw(_optional(st.integers(1, 100))),
                "autoscaling": agents_scaling,
                "resources": draw(_optional(resources)),
            }
        ),
        "routing": draw(_optional(routings())),
        "queue": draw(queues),
        "database": draw(databases),
        "sla": _drop_none(
            {
                "serviceLevel": {
                    "target": draw(st.floats(0.01, 1.0)),
                    "answerWithinSeconds": draw(st.integers(1, 600)),
                },
                "maxAbandonRate": draw(_optional(st.floats(0, 1))),
                "maxOccupancy": draw(_optional(st.floats(0.1, 1.0))),
                "patienceSeconds": draw(_optional(st.floats(1, 3600))),
            }
        ),
        "metrics": metrics,
    }
    return _drop_none(spec)


@st.composite
def contact_center_manifests(draw: st.DrawFn, namespace: str | None = None) -> Manifest:
    """A valid ContactCenter manifest; metadata.namespace is `namespace` or drawn."""
    return {
        "apiVersion": "switchboard.io/v1alpha1",
        "kind": "ContactCenter",
        "metadata": {
            "name": draw(contact_center_names),
            "namespace": namespace or draw(namespaces),
            "uid": "4f1c7b7e-0000-4000-8000-000000000000",
        },
        "spec": draw(specs()),
    }


def contact_centers(namespace: str | None = None) -> st.SearchStrategy[ContactCenter]:
    """Valid ContactCenters, as the operator receives them."""
    return contact_center_manifests(namespace).map(ContactCenter.model_validate)
