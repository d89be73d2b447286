"""The bot: Deployment and Service of one track, carrying its model's identity.

The stable track is `<cc>-bot`; rollout/ builds a canary track (`<cc>-bot-canary`) with the same
function and the new model.
"""

from __future__ import annotations

from switchboard.api.bot import BotModel
from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.app import app_workload, default_image
from switchboard.resources.common import Manifest, ResourceDefaults, bot_component
from switchboard.resources.decisions import STABLE
from switchboard.resources.wiring import bot_service_name

MODEL_NAME_LABEL = "switchboard.io/model-name"
MODEL_VERSION_LABEL = "switchboard.io/model-version"
MODEL_URI_ANNOTATION = "switchboard.io/model-uri"
DEFAULT_RESOURCES = ResourceDefaults(
    cpu_request="500m", memory_request="1Gi", cpu_limit="2", memory_limit="4Gi"
)


def bot_image(cc: ContactCenter) -> str:
    return cc.spec.bot.image or default_image("bot")


def build_bot(
    cc: ContactCenter,
    wiring_hash: str,
    *,
    model: BotModel,
    replicas: int,
    track: str = STABLE,
) -> list[Manifest]:
    """The bot pods of `track`, serving `model`."""
    spec = cc.spec.bot
    return app_workload(
        cc,
        bot_service_name(cc, track),
        bot_component(track),
        image=bot_image(cc),
        replicas=replicas,
        wiring_hash=wiring_hash,
        env=[
            {"name": "SWITCHBOARD_MODEL_NAME", "value": model.name},
            {"name": "SWITCHBOARD_MODEL_VERSION", "value": model.version},
            {"name": "SWITCHBOARD_MODEL_URI", "value": model.uri},
            {"name": "SWITCHBOARD_BOT_CONCURRENCY", "value": str(spec.concurrency)},
            {"name": "SWITCHBOARD_BOT_TRACK", "value": track},
        ],
        resources=(DEFAULT_RESOURCES, spec.resources),
        labels={MODEL_NAME_LABEL: model.name, MODEL_VERSION_LABEL: model.version},
        annotations={MODEL_URI_ANNOTATION: model.uri},
    )
