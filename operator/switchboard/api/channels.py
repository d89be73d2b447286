"""Channels: the ways customers reach the contact center, each served by its own gateway."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from switchboard.api.common import MAX_REPLICAS, Resources, SecretReference
from switchboard.api.rules import Rule
from switchboard.api.types import ApiModel, ChannelName, EmailAddress, Hostname, HttpURL, Image

# Children of these names exist beside the channel gateways (`<name>-<channel>`), so a
# channel may not take them.
RESERVED_CHANNEL_NAMES = ("bot", "bot-canary", "agents", "queue", "database")
MAX_CHANNELS = 16

ChannelType = Literal[
    "webchat", "voice", "video", "email", "sms", "whatsapp", "social", "app", "api"
]
CHANNEL_TYPES: tuple[ChannelType, ...] = get_args(ChannelType)
PROVIDER_CHANNEL_TYPES: tuple[ChannelType, ...] = ("sms", "whatsapp", "social")
"""The channel types a messaging provider relays: signed webhooks in, signed POSTs out, one
adapter for all of them (docs/dataplane.md, "provider protocol")."""
TOKEN_CHANNEL_TYPES: tuple[ChannelType, ...] = ("api", *PROVIDER_CHANNEL_TYPES)
"""The channel types with a generated token: the api clients' bearer token, the key that signs
a provider's requests and ours."""
SERVED_CHANNEL_TYPES: tuple[ChannelType, ...] = ("webchat", "email", *TOKEN_CHANNEL_TYPES)
"""The channel types Switchboard's gateway has an adapter for; the others' gateways (voice,
video, app) run and serve no customers (their adapters are not built yet)."""
POSTED_CHANNEL_TYPES: tuple[ChannelType, ...] = (*PROVIDER_CHANNEL_TYPES, "email")
"""The channel types whose every bot, agent and system message is sent on by the gateway (to
the provider, or mailed to the customer) from the channel's webhook queue."""
DEFAULT_SMTP_RELAY_PORT = 587


class ChannelCredentials(ApiModel):
    """Provider credentials of a channel."""

    secret_ref: SecretReference = Field(
        description=(
            "The Secret whose keys become environment variables of the gateway (for example "
            "the SMS provider's API key)."
        ),
    )


class Provider(ApiModel):
    """The messaging provider that relays an `sms`, `whatsapp` or `social` channel."""

    url: HttpURL = Field(
        description=(
            "Where the gateway POSTs every bot, agent and system message for the customer, "
            'signed with the channel\'s token (docs/dataplane.md, "provider protocol").'
        ),
    )


class SmtpRelay(ApiModel):
    """The SMTP server an `email` channel sends its replies through."""

    host: Hostname = Field(description="Host name or address of the relay.")
    port: int = Field(
        DEFAULT_SMTP_RELAY_PORT,
        description="Port of the relay (587: submission).",
        ge=1,
        le=65535,
    )
    start_tls: bool = Field(
        True,
        alias="startTLS",
        description="Upgrade the connection with STARTTLS before sending (and logging in).",
    )
    credentials_ref: SecretReference | None = Field(
        None,
        description=(
            "A Secret with the keys `username` and `password` the gateway logs in to the relay "
            "with; without it, the gateway sends without logging in."
        ),
    )


class Email(ApiModel):
    """An `email` channel: the address customers write to, the relay replies leave through."""

    address: EmailAddress = Field(
        description=(
            "The address customers write to: the From of every reply, and the domain of the "
            "Message-IDs of the replies. Mail for it reaches the gateway's `smtp` port (through "
            "the domain's MX or a relay that forwards to it)."
        ),
    )
    smtp: SmtpRelay = Field(description="The relay replies are sent through.")


class Channel(ApiModel):
    """One way customers reach the contact center, served by its own gateway."""

    RULES = (
        Rule(
            "!(self.name in [" + ", ".join(f"'{name}'" for name in RESERVED_CHANNEL_NAMES) + "])",
            "channel name must not be one of "
            + ", ".join(RESERVED_CHANNEL_NAMES)
            + ": those names are taken by the contact center's other parts",
            lambda channel: channel.name not in RESERVED_CHANNEL_NAMES,
        ),
        Rule(
            "!has(self.provider) || self.type in ["
            + ", ".join(f"'{kind}'" for kind in PROVIDER_CHANNEL_TYPES)
            + "]",
            "provider is only set on channels of type " + ", ".join(PROVIDER_CHANNEL_TYPES),
            lambda channel: channel.provider is None or channel.type in PROVIDER_CHANNEL_TYPES,
        ),
        Rule(
            "has(self.email) == (self.type == 'email')",
            "email is required on channels of type email, and only set on them",
            lambda channel: (channel.email is not None) == (channel.type == "email"),
        ),
    )

    name: ChannelName = Field(
        description=(
            "Name of the channel, unique in this ContactCenter. The gateway's Deployment and "
            "Service are called `<contactcenter>-<name>`. A DNS label of at most 20 characters."
        ),
    )
    type: ChannelType = Field(
        description=(
            "Kind of channel: `webchat`, `voice` (SIP/WebRTC), `video` (WebRTC), `email`, "
            "`sms`, `whatsapp`, `social`, `app` (mobile SDK) or `api`."
        ),
    )
    image: Image | None = Field(
        None,
        description=(
            "Container image of the gateway. Defaults to Switchboard's gateway image for the "
            "channel type, at the operator's release."
        ),
    )
    replicas: int = Field(1, description="Number of gateway pods.", ge=0, le=MAX_REPLICAS)
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        "ClusterIP",
        description=(
            "How the gateway's Service is exposed: `ClusterIP` (behind an Ingress or Gateway), "
            "`NodePort` or `LoadBalancer` (for example SIP trunks of a voice channel)."
        ),
    )
    credentials: ChannelCredentials | None = Field(
        None, description="Credentials of the channel's provider, if it needs any."
    )
    provider: Provider | None = Field(
        None,
        description=(
            "The messaging provider of an `sms`, `whatsapp` or `social` channel: where replies "
            "are sent (without it, the gateway takes customers' messages but drops the replies, "
            "saying so in its log). Its webhooks reach the gateway at "
            "`POST /provider/v1/messages`, signed with the token in the Secret "
            "`<contactcenter>-<name>-token`."
        ),
    )
    email: Email | None = Field(
        None,
        description=(
            "The address and outbound relay of an `email` channel (required for that type, "
            "forbidden on others): customers' mail reaches the gateway over SMTP on its `smtp` "
            "port, and every bot, agent and system message goes back to them through the relay, "
            "threaded under their mail."
        ),
    )
    resources: Resources | None = Field(
        None, description="Overrides of the gateway container's CPU and memory."
    )
