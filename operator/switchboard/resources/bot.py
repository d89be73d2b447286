"""The bot: Deployment and Service `<cc>-bot`, carrying its model's identity.

A model named `configmap://NAME/KEY` is in a ConfigMap of the namespace: it is mounted read-only
under MODEL_DIR, where the bot looks for it (`<SWITCHBOARD_MODEL_DIR>/NAME/KEY`).
"""

from __future__ import annotations

import json
import re
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
    child_name,
    value_env,
)

MODEL_NAME_LABEL = "switchboard.io/model-name"
MODEL_VERSION_LABEL = "switchboard.io/model-version"
MODEL_URI_ANNOTATION = "switchboard.io/model-uri"
DEFAULT_RESOURCES = ResourceDefaults(
    cpu_request="500m", memory_request="1Gi", cpu_limit="2", memory_limit="4Gi"
)
MODEL_DIR = "/etc/switchboard/models"


def bot_name(cc: ContactCenter) -> str:
    return child_name(cc, BOT.name)


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


def build_bot(cc: ContactCenter, wiring_hash: str, *, replicas: int) -> list[Manifest]:
    """The bot pods, serving the spec's model."""
    spec = cc.spec.bot
    model = spec.model
    handoff = spec.handoff
    config_map = model_config_map(model)
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    if config_map is not None:
        volumes.append({"name": "model", "configMap": {"name": config_map}})
        mounts.append({"name": "model", "mountPath": f"{MODEL_DIR}/{config_map}", "readOnly": True})
    return app_workload(
        cc,
        bot_name(cc),
        BOT,
        role="bot",
        image=spec.image or default_image(),
        replicas=replicas,
        wiring_hash=wiring_hash,
        env=[
            value_env("SWITCHBOARD_MODEL_NAME", model.name),
            value_env("SWITCHBOARD_MODEL_VERSION", model.version),
            value_env("SWITCHBOARD_MODEL_URI", model.uri),
            value_env("SWITCHBOARD_MODEL_DIR", MODEL_DIR),
            value_env("SWITCHBOARD_BOT_CONCURRENCY", spec.concurrency),
            value_env("SWITCHBOARD_BOT_TRACK", STABLE_TRACK),
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
    )
