"""What a data-plane role is told by the operator: the wiring it renders, read from environment
(pure: the environment is an argument).

The operator renders the wiring ConfigMap (as environment), the connection URIs (from Secrets),
each role's own variables and its mounted files; `read_wiring` turns that environment into one
typed value and says in one line what is missing or malformed. Nothing else in the data plane
reads the environment.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

from pydantic import ValidationError

from switchboard.api.bot import Handoff
from switchboard.api.channels import TOKEN_CHANNEL_TYPES
from switchboard.api.quality import Survey
from switchboard.api.routing import Routing
from switchboard.api.types import ApiModel

Section = TypeVar("Section", bound=ApiModel)

DEFAULT_DISCONNECT_GRACE_SECONDS = 60.0
PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"
DEFAULT_REPEAT_WINDOW_SECONDS = 86400.0


class WiringError(ValueError):
    """The environment lacks a variable a role needs, or holds one it cannot read."""


@dataclass(frozen=True)
class ServiceLevel:
    """The promise the answer times are measured against (`spec.sla`)."""

    target: float
    answer_within_seconds: float
    max_abandon_rate: float


@dataclass(frozen=True)
class TlsFiles:
    """A PEM certificate (chain) and its private key, as mounted from a kubernetes.io/tls
    Secret."""

    certificate: str
    private_key: str


@dataclass(frozen=True)
class Wiring:
    """Everything every role reads: who it is, where it listens, where the others are."""

    contact_center: str
    namespace: str
    http_port: int
    metrics_port: int
    queue_uri: str
    database_uri: str
    service_level: ServiceLevel
    routing_file: str | None
    replica: str
    """This process's name among its role's replicas: the pod's name in a cluster; outside one,
    the command names the process (`process_environment`)."""
    pii_masking: bool = True
    """Mask personal data in what agents are shown and in logs (`spec.dataProtection`)."""
    tls: TlsFiles | None = None
    """The certificate the http port serves HTTPS and WSS with (`spec.tls`); None: plain HTTP."""
    queue_ca: str | None = None
    """The CA (PEM) an amqps:// queue's certificate is verified with, beside the system's
    (`spec.queue.external.caRef`, or the one issued under `spec.tls.internal`)."""
    database_ca: str | None = None
    """The CA (PEM) the database's certificate is verified with; given, the database is
    reached over TLS only (`spec.database.external.caRef`, or under `spec.tls.internal`)."""

    @property
    def prefix(self) -> str:
        """Prefix of this contact center's names on a broker that others may share."""
        return f"{self.namespace}.{self.contact_center}"


@dataclass(frozen=True)
class EmailWiring:
    """An `email` channel's SMTP ends (`spec.channels[].email`)."""

    smtp_port: int
    """Where the gateway's SMTP server takes customers' mail."""
    address: str
    """The address customers write to: the From of our replies."""
    relay_host: str
    relay_port: int
    relay_start_tls: bool
    relay_username: str | None = None
    relay_password: str | None = None


@dataclass(frozen=True)
class GatewayWiring:
    channel: str
    channel_type: str
    api_token: str | None
    """The channel's token: the bearer token clients of an `api` channel present, the key that
    signs the webhooks of an `sms`, `whatsapp` or `social` channel's provider and our sends to
    it (None for other channel types)."""
    disconnect_grace_seconds: float
    """How long a webchat customer may stay disconnected before they count as gone."""
    provider_url: str | None = None
    """Where a provider channel's replies are POSTed (`spec.channels[].provider.url`)."""
    repeat_window_seconds: float = DEFAULT_REPEAT_WINDOW_SECONDS
    """A customer starting a conversation this long after one was resolved repeats it: it was
    not resolved at first contact (`spec.quality.firstContactResolutionWindow`)."""
    email: EmailWiring | None = None
    """An `email` channel's SMTP server and relay (None for other channel types)."""


@dataclass(frozen=True)
class BotWiring:
    model_name: str
    model_version: str
    model_uri: str
    concurrency: int
    track: str
    model_dir: str | None
    """Where ConfigMap-referenced models are mounted (`configmap://NAME/KEY` is
    `<model_dir>/NAME/KEY`)."""
    endpoint_token: str | None = None
    """Bearer token for a remote model's endpoint (from a Secret), if it wants one."""


@dataclass(frozen=True)
class HandoffPolicy:
    """When the bot hands a conversation of a channel to a human (`spec.bot.handoff`)."""

    confidence_threshold: float
    ambiguity_margin: float
    max_failed_turns: int
    sentiment_threshold: float
    """VADER's compound score below which a customer message hands off."""
    sentiment_drop: float
    """A fall from the previous customer message's score, beyond which a negative one hands
    off."""
    clarify: bool
    """Ask "did you mean", then to rephrase, before handing off on low confidence."""


@dataclass(frozen=True)
class HandoffWiring:
    """The handoff policy of every channel: the spec's, and each override resolved."""

    default: HandoffPolicy
    channels: Mapping[str, HandoffPolicy]

    def policy(self, channel: str) -> HandoffPolicy:
        return self.channels.get(channel, self.default)


@dataclass(frozen=True)
class AgentsWiring:
    seats_per_replica: int
    offer_timeout_seconds: float
    agent_token: str
    routing: Routing | None = None
    """spec.routing (SWITCHBOARD_AGENTS_ROUTING, its JSON); None: any agent takes anything."""
    survey: Survey | None = None
    """spec.quality.survey when enabled (SWITCHBOARD_QUALITY_SURVEY, its JSON); None: no
    survey on resolve."""


def _text(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise WiringError(f"{name} is not set: the role reads it from the operator's wiring")
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _number(env: Mapping[str, str], name: str, *, default: float | None = None) -> float:
    if default is not None and _optional(env, name) is None:
        return default
    text = _text(env, name)
    try:
        return float(text)
    except ValueError:
        raise WiringError(f"{name}={text!r} is not a number") from None


def _count(env: Mapping[str, str], name: str, *, default: int | None = None) -> int:
    if default is not None and _optional(env, name) is None:
        return default
    text = _text(env, name)
    if not text.isdigit() or int(text) < 1:
        raise WiringError(f"{name}={text!r} is not a positive whole number")
    return int(text)


def _seconds(env: Mapping[str, str], name: str, *, default: float | None = None) -> float:
    seconds = _number(env, name, default=default)
    if not 0 < seconds < math.inf:
        raise WiringError(f"{name}={seconds:g} is not a number of seconds above 0")
    return seconds


def _port(env: Mapping[str, str], name: str) -> int:
    text = _text(env, name)
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise WiringError(f"{name}={text!r} is not a port (0 picks a free one)")
    return int(text)


def read_wiring(env: Mapping[str, str]) -> Wiring:
    """The wiring every role needs."""
    return Wiring(
        contact_center=_text(env, "SWITCHBOARD_CONTACT_CENTER"),
        namespace=_text(env, "SWITCHBOARD_NAMESPACE"),
        http_port=_port(env, "SWITCHBOARD_HTTP_PORT"),
        metrics_port=_port(env, "SWITCHBOARD_METRICS_PORT"),
        queue_uri=(queue_uri := _queue_uri(env)),
        database_uri=(database_uri := read_database_uri(env)),
        queue_ca=_queue_ca(env, queue_uri),
        database_ca=read_database_ca(env, database_uri),
        service_level=ServiceLevel(
            target=_number(env, "SWITCHBOARD_SLA_TARGET"),
            answer_within_seconds=_number(env, "SWITCHBOARD_SLA_ANSWER_WITHIN_SECONDS"),
            max_abandon_rate=_number(env, "SWITCHBOARD_SLA_MAX_ABANDON_RATE"),
        ),
        routing_file=_optional(env, "SWITCHBOARD_ROUTING_FILE"),
        replica=_text(env, "SWITCHBOARD_POD_NAME"),
        pii_masking=_flag(env, "SWITCHBOARD_PII_MASKING", default=True),
        tls=_tls(env),
    )


def read_database_uri(env: Mapping[str, str]) -> str:
    return _text(env, "SWITCHBOARD_DATABASE_URI")


def read_database_ca(env: Mapping[str, str], uri: str) -> str | None:
    """The CA of the database at `uri`, unless the URI turns TLS off (`sslmode=disable`): a CA
    is there to verify a TLS connection."""
    ca = _certificate_authority(env, "SWITCHBOARD_DATABASE_CA")
    sslmode = parse_qs(urlsplit(uri).query).get("sslmode", [""])[-1]
    if ca is not None and sslmode == "disable":
        raise WiringError(
            "SWITCHBOARD_DATABASE_CA is set but SWITCHBOARD_DATABASE_URI says sslmode=disable: "
            "a CA verifies a TLS connection; drop one of them"
        )
    return ca


def _queue_uri(env: Mapping[str, str]) -> str:
    """The queue's URI; with SWITCHBOARD_QUEUE_TLS_PORT (the built-in queue under internal
    TLS, whose generated URI names its plain port), the same host and login on that port, over
    amqps."""
    uri = _text(env, "SWITCHBOARD_QUEUE_URI")
    if _optional(env, "SWITCHBOARD_QUEUE_TLS_PORT") is None:
        return uri
    port = _port(env, "SWITCHBOARD_QUEUE_TLS_PORT")
    parts = urlsplit(uri)
    if parts.scheme != "amqp":
        raise WiringError(
            "SWITCHBOARD_QUEUE_TLS_PORT is set but SWITCHBOARD_QUEUE_URI is not amqp://: it "
            "moves the built-in queue's plain URI to its TLS port"
        )
    netloc = parts.netloc[: parts.netloc.rfind(":")] if parts.port is not None else parts.netloc
    return urlunsplit(parts._replace(scheme="amqps", netloc=f"{netloc}:{port}"))


def _queue_ca(env: Mapping[str, str], uri: str) -> str | None:
    ca = _certificate_authority(env, "SWITCHBOARD_QUEUE_CA")
    if ca is not None and urlsplit(uri).scheme != "amqps":
        raise WiringError(
            "SWITCHBOARD_QUEUE_CA is set but SWITCHBOARD_QUEUE_URI is not amqps://: a CA "
            "verifies a TLS connection; use the queue's amqps:// URI"
        )
    return ca


def _certificate_authority(env: Mapping[str, str], name: str) -> str | None:
    pem = _optional(env, name)
    if pem is not None and PEM_CERTIFICATE not in pem:
        raise WiringError(f"{name} holds no PEM certificate ({PEM_CERTIFICATE}...)")
    return pem


def _tls(env: Mapping[str, str]) -> TlsFiles | None:
    certificate = _optional(env, "SWITCHBOARD_TLS_CERT_FILE")
    private_key = _optional(env, "SWITCHBOARD_TLS_KEY_FILE")
    if certificate is None and private_key is None:
        return None
    if certificate is None or private_key is None:
        raise WiringError(
            "SWITCHBOARD_TLS_CERT_FILE and SWITCHBOARD_TLS_KEY_FILE go together: set both to "
            "serve TLS, or neither"
        )
    return TlsFiles(certificate, private_key)


def read_gateway_wiring(env: Mapping[str, str]) -> GatewayWiring:
    channel_type = _text(env, "SWITCHBOARD_CHANNEL_TYPE")
    return GatewayWiring(
        channel=_text(env, "SWITCHBOARD_CHANNEL_NAME"),
        channel_type=channel_type,
        # Only api and provider channels authenticate their clients: not without a token.
        api_token=(
            _text(env, "SWITCHBOARD_API_TOKEN") if channel_type in TOKEN_CHANNEL_TYPES else None
        ),
        disconnect_grace_seconds=_seconds(
            env,
            "SWITCHBOARD_GATEWAY_DISCONNECT_GRACE_SECONDS",
            default=DEFAULT_DISCONNECT_GRACE_SECONDS,
        ),
        provider_url=_optional(env, "SWITCHBOARD_PROVIDER_URL"),
        repeat_window_seconds=_seconds(
            env,
            "SWITCHBOARD_QUALITY_REPEAT_WINDOW_SECONDS",
            default=DEFAULT_REPEAT_WINDOW_SECONDS,
        ),
        email=_email(env) if channel_type == "email" else None,
    )


def _email(env: Mapping[str, str]) -> EmailWiring:
    username = _optional(env, "SWITCHBOARD_SMTP_RELAY_USERNAME")
    return EmailWiring(
        smtp_port=_port(env, "SWITCHBOARD_SMTP_PORT"),
        address=_text(env, "SWITCHBOARD_EMAIL_ADDRESS"),
        relay_host=_text(env, "SWITCHBOARD_SMTP_RELAY_HOST"),
        relay_port=_port(env, "SWITCHBOARD_SMTP_RELAY_PORT"),
        relay_start_tls=_flag(env, "SWITCHBOARD_SMTP_RELAY_STARTTLS"),
        relay_username=username,
        # A user name without its password is a broken Secret, not anonymous sending.
        relay_password=(
            _text(env, "SWITCHBOARD_SMTP_RELAY_PASSWORD") if username is not None else None
        ),
    )


def read_bot_wiring(env: Mapping[str, str]) -> BotWiring:
    return BotWiring(
        model_name=_text(env, "SWITCHBOARD_MODEL_NAME"),
        model_version=_text(env, "SWITCHBOARD_MODEL_VERSION"),
        model_uri=_text(env, "SWITCHBOARD_MODEL_URI"),
        concurrency=_count(env, "SWITCHBOARD_BOT_CONCURRENCY"),
        track=_text(env, "SWITCHBOARD_BOT_TRACK"),
        model_dir=_optional(env, "SWITCHBOARD_MODEL_DIR"),
        endpoint_token=_optional(env, "SWITCHBOARD_MODEL_ENDPOINT_TOKEN"),
    )


def _flag(env: Mapping[str, str], name: str, *, default: bool | None = None) -> bool:
    if default is not None and not env.get(name, "").strip():
        return default
    text = _text(env, name)
    if text not in ("true", "false"):
        raise WiringError(f"{name}={text!r} is neither true nor false")
    return text == "true"


def read_handoff_wiring(env: Mapping[str, str]) -> HandoffWiring:
    default = HandoffPolicy(
        confidence_threshold=_number(env, "SWITCHBOARD_HANDOFF_CONFIDENCE_THRESHOLD"),
        ambiguity_margin=_number(env, "SWITCHBOARD_HANDOFF_AMBIGUITY_MARGIN"),
        max_failed_turns=_count(env, "SWITCHBOARD_HANDOFF_MAX_FAILED_TURNS"),
        sentiment_threshold=_number(env, "SWITCHBOARD_HANDOFF_SENTIMENT_THRESHOLD"),
        sentiment_drop=_number(env, "SWITCHBOARD_HANDOFF_SENTIMENT_DROP"),
        clarify=_flag(env, "SWITCHBOARD_HANDOFF_CLARIFY"),
    )
    return HandoffWiring(default, _channel_policies(env, "SWITCHBOARD_HANDOFF_CHANNELS"))


def _channel_policies(env: Mapping[str, str], name: str) -> dict[str, HandoffPolicy]:
    """The policies of the channels that override the default: a JSON object of channel name
    to its whole `spec.bot.handoff`, resolved by the operator."""
    text = _text(env, name)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise WiringError(f"{name} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise WiringError(f"{name} is not a JSON object of channel names to handoff settings")
    policies = {}
    for channel, settings in document.items():
        try:
            handoff = Handoff.model_validate(settings)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "its settings"
            raise WiringError(f"{name}: channel {channel}: {where}: {first['msg']}") from None
        policies[channel] = handoff_policy(handoff)
    return policies


def handoff_policy(handoff: Handoff) -> HandoffPolicy:
    """The policy `spec.bot.handoff` (for one channel) sets."""
    return HandoffPolicy(
        confidence_threshold=handoff.confidence_threshold,
        ambiguity_margin=handoff.ambiguity_margin,
        max_failed_turns=handoff.max_failed_turns,
        sentiment_threshold=handoff.sentiment_threshold,
        sentiment_drop=handoff.sentiment_drop,
        clarify=handoff.clarify,
    )


def read_agents_wiring(env: Mapping[str, str]) -> AgentsWiring:
    return AgentsWiring(
        seats_per_replica=_count(env, "SWITCHBOARD_SEATS_PER_REPLICA"),
        offer_timeout_seconds=_seconds(env, "SWITCHBOARD_AGENTS_OFFER_TIMEOUT_SECONDS"),
        agent_token=_text(env, "SWITCHBOARD_AGENTS_TOKEN"),
        routing=_section(env, "SWITCHBOARD_AGENTS_ROUTING", Routing, "spec.routing"),
        survey=_section(env, "SWITCHBOARD_QUALITY_SURVEY", Survey, "spec.quality.survey"),
    )


def _section(env: Mapping[str, str], name: str, model: type[Section], field: str) -> Section | None:
    """A section of the spec the operator passed as JSON (`field` names it in errors)."""
    text = _optional(env, name)
    if text is None:
        return None
    try:
        return model.model_validate_json(text)
    except ValidationError as error:
        raise WiringError(f"{name} is not a valid {field}: {error}") from error
