"""The bot: a Deployment and a Service per track, each carrying its model's identity.

The stable track is `<cc>-bot`; during a rollout a canary track runs beside it as
`<cc>-bot-canary` (docs/rollouts.md). Each track's pods serve one model and take the
conversations of their track only (`SWITCHBOARD_BOT_TRACK`): new ones by the routing weights,
and each conversation on the track it started on to its end.

A model named `configmap://NAME/KEY` is in a ConfigMap of the namespace: it is mounted read-only
under MODEL_DIR, where the bot looks for it (`<SWITCHBOARD_MODEL_DIR>/NAME/KEY`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from switchboard.api.bot import BotModel, Handoff
from switchboard.api.contactcenter import ContactCenter
from switchboard.api.types import CONFIG_MAP_MODEL_PATTERN
from switchboard.resources.app import app_workload, default_image
from switchboard.resources.common import (
    BOT,
    STABLE_TRACK,
    Manifest,
    ResourceDefaults,
    bot_component,
    child_name,
    value_env,
)
from switchboard.resources.decisions import BotTrack
from switchboard.resources.status import workload_readiness

MODEL_NAME_LABEL = "switchboard.io/model-name"
MODEL_VERSION_LABEL = "switchboard.io/model-version"
MODEL_URI_ANNOTATION = "switchboard.io/model-uri"
SIZED_REPLICAS_ANNOTATION = "switchboard.io/sized-replicas"
"""On the stable bot Deployment: the bot's replicas over all its tracks, as sized (each track
runs a share of them during a rollout), so the autoscaler reads back what it decided."""
DEFAULT_RESOURCES = ResourceDefaults(
    cpu_request="500m", memory_request="1Gi", cpu_limit="2", memory_limit="4Gi"
)
MODEL_DIR = "/etc/switchboard/models"


def bot_name(cc: ContactCenter, track: str = STABLE_TRACK) -> str:
    """`<cc>-bot` for the stable track, `<cc>-bot-<track>` for another."""
    return child_name(cc, BOT.name if track == STABLE_TRACK else f"{BOT.name}-{track}")


def model_config_map(model: BotModel) -> str | None:
    """The ConfigMap a `configmap://NAME/KEY` model is in; None for other URIs."""
    match = re.fullmatch(CONFIG_MAP_MODEL_PATTERN, model.uri)
    return match.group(1) if match else None


def channel_handoffs(handoff: Handoff) -> str:
    """The handoff settings of each channel with overrides, resolved, as the bot reads them:
    a JSON object of channel name to its whole settings (sorted: the same spec, the same text,
    so the pods roll only when a setting changes)."""
    resolved = {
        entry.name: handoff.for_channel(entry.name).model_dump(mode="json", exclude={"channels"})
        for entry in handoff.channels
    }
    return json.dumps(resolved, sort_keys=True, separators=(",", ":"))


def build_bot(
    cc: ContactCenter, wiring_hash: str, *, tracks: Sequence[BotTrack], sized_replicas: int
) -> list[Manifest]:
    """The bot's Deployment and Service of each track, serving the track's model;
    `sized_replicas` (the bot's replicas over all tracks) is recorded on the stable one."""
    manifests = []
    for track in tracks:
        recorded = (
            {SIZED_REPLICAS_ANNOTATION: str(sized_replicas)}
            if track.track == STABLE_TRACK
            else None
        )
        manifests.extend(_track(cc, wiring_hash, track, recorded))
    return manifests


def _track(
    cc: ContactCenter, wiring_hash: str, track: BotTrack, annotations: Mapping[str, str] | None
) -> list[Manifest]:
    spec = cc.spec.bot
    model = track.model
    handoff = spec.handoff
    config_map = model_config_map(model)
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    if config_map is not None:
        volumes.append({"name": "model", "configMap": {"name": config_map}})
        mounts.append({"name": "model", "mountPath": f"{MODEL_DIR}/{config_map}", "readOnly": True})
    return app_workload(
        cc,
        bot_name(cc, track.track),
        bot_component(track.track),
        role="bot",
        image=spec.image or default_image(),
        replicas=track.replicas,
        wiring_hash=wiring_hash,
        env=[
            value_env("SWITCHBOARD_MODEL_NAME", model.name),
            value_env("SWITCHBOARD_MODEL_VERSION", model.version),
            value_env("SWITCHBOARD_MODEL_URI", model.uri),
            value_env("SWITCHBOARD_MODEL_DIR", MODEL_DIR),
            value_env("SWITCHBOARD_BOT_CONCURRENCY", spec.concurrency),
            value_env("SWITCHBOARD_BOT_TRACK", track.track),
            value_env("SWITCHBOARD_HANDOFF_CONFIDENCE_THRESHOLD", handoff.confidence_threshold),
            value_env("SWITCHBOARD_HANDOFF_AMBIGUITY_MARGIN", handoff.ambiguity_margin),
            value_env("SWITCHBOARD_HANDOFF_MAX_FAILED_TURNS", handoff.max_failed_turns),
            value_env("SWITCHBOARD_HANDOFF_SENTIMENT_THRESHOLD", handoff.sentiment_threshold),
            value_env("SWITCHBOARD_HANDOFF_SENTIMENT_DROP", handoff.sentiment_drop),
            value_env("SWITCHBOARD_HANDOFF_CLARIFY", "true" if handoff.clarify else "false"),
            value_env("SWITCHBOARD_HANDOFF_CHANNELS", channel_handoffs(handoff)),
        ],
        resources=(DEFAULT_RESOURCES, spec.resources),
        volumes=volumes,
        volume_mounts=mounts,
        labels={MODEL_NAME_LABEL: model.name, MODEL_VERSION_LABEL: model.version},
        annotations={MODEL_URI_ANNOTATION: model.uri},
        deployment_annotations=annotations,
    )


def sized_replicas(live: Mapping[str, Any]) -> int:
    """The bot's replicas over all its tracks, from its live stable Deployment: as recorded
    when it was sized, else (a Deployment from before the record) its own replicas."""
    recorded = live.get("metadata", {}).get("annotations", {}).get(SIZED_REPLICAS_ANNOTATION)
    if recorded is not None and str(recorded).isdigit():
        return int(recorded)
    return int(live.get("spec", {}).get("replicas", 1))


def running_version(live: Mapping[str, Any] | None) -> str | None:
    """The model version every pod of a live bot Deployment runs: its template's, once the
    Deployment has rolled it out and its pods are available; None before, or without one."""
    if live is None or not workload_readiness("Deployment", live).rolled_out:
        return None
    labels = live.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
    version = labels.get(MODEL_VERSION_LABEL)
    return str(version) if version is not None else None
