"""The bot: Deployment and Service `<cc>-bot`, carrying its model's identity."""

from __future__ import annotations

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.app import app_workload, default_image
from switchboard.resources.common import (
    BOT,
    STABLE_TRACK,
    Manifest,
    ResourceDefaults,
    child_name,
)

MODEL_NAME_LABEL = "switchboard.io/model-name"
MODEL_VERSION_LABEL = "switchboard.io/model-version"
MODEL_URI_ANNOTATION = "switchboard.io/model-uri"
DEFAULT_RESOURCES = ResourceDefaults(
    cpu_request="500m", memory_request="1Gi", cpu_limit="2", memory_limit="4Gi"
)


def bot_name(cc: ContactCenter) -> str:
    return child_name(cc, BOT.name)


def build_bot(cc: ContactCenter, wiring_hash: str, *, replicas: int) -> list[Manifest]:
    """The bot pods, serving the spec's model."""
    spec = cc.spec.bot
    model = spec.model
    return app_workload(
        cc,
        bot_name(cc),
        BOT,
        image=spec.image or default_image("bot"),
        replicas=replicas,
        wiring_hash=wiring_hash,
        env=[
            {"name": "SWITCHBOARD_MODEL_NAME", "value": model.name},
            {"name": "SWITCHBOARD_MODEL_VERSION", "value": model.version},
            {"name": "SWITCHBOARD_MODEL_URI", "value": model.uri},
            {"name": "SWITCHBOARD_BOT_CONCURRENCY", "value": str(spec.concurrency)},
            {"name": "SWITCHBOARD_BOT_TRACK", "value": STABLE_TRACK},
        ],
        resources=(DEFAULT_RESOURCES, spec.resources),
        labels={MODEL_NAME_LABEL: model.name, MODEL_VERSION_LABEL: model.version},
        annotations={MODEL_URI_ANNOTATION: model.uri},
    )
