"""The Secrets a ContactCenter uses: those its spec refers to, and the generated ones: the
credentials of the built-in queue and database, the agent workspace's sign-in token, and the
token of each `api` channel (its clients' bearer token) and of each `sms`, `whatsapp` or
`social` channel (the key that signs its provider's webhooks and the gateway's sends).

The controller creates each generated one once, with a random value it generates, and never
rewrites it; the workload builders refer to these Secrets by name and key only and need no values.
"""

from __future__ import annotations

from collections.abc import Mapping

from switchboard.api.channels import TOKEN_CHANNEL_TYPES, Channel
from switchboard.api.contactcenter import ContactCenter
from switchboard.resources import database, queue
from switchboard.resources.common import (
    AGENTS,
    DATABASE,
    QUEUE,
    Component,
    Manifest,
    child_name,
    credentials_secret_name,
    gateway_component,
    object_meta,
)
from switchboard.resources.tls import CERTIFICATE_KEY, PRIVATE_KEY_KEY

TOKEN_KEY = "token"
AGENTS_TOKEN = "agents-token"


def agents_token_secret_name(cc: ContactCenter) -> str:
    """The agent workspace's sign-in token: `<cc>-agents-token`."""
    return child_name(cc, AGENTS_TOKEN)


def api_token_secret_name(cc: ContactCenter, channel: Channel) -> str:
    """The token of an `api` channel (the bearer token its clients present) or of a provider
    channel (the signing key it shares with its provider): `<cc>-<channel>-token`."""
    return child_name(cc, f"{channel.name}-token")


def token_channels(cc: ContactCenter) -> list[Channel]:
    """The channels with a generated token."""
    return [channel for channel in cc.spec.channels if channel.type in TOKEN_CHANNEL_TYPES]


def generated_secret_names(cc: ContactCenter) -> dict[str, str]:
    """The Secrets to generate, by what each holds a random value for: `queue` and `database`
    (built-in services only), `agents-token`, and `<channel>-token` per `api`, `sms`, `whatsapp`
    or `social` channel."""
    names = {}
    if cc.spec.queue.external is None:
        names[QUEUE.name] = credentials_secret_name(cc, QUEUE.name)
    if cc.spec.database.external is None:
        names[DATABASE.name] = credentials_secret_name(cc, DATABASE.name)
    names[AGENTS_TOKEN] = agents_token_secret_name(cc)
    for channel in token_channels(cc):
        names[f"{channel.name}-token"] = api_token_secret_name(cc, channel)
    return names


def token_secret(cc: ContactCenter, name: str, component: Component, token: str) -> Manifest:
    """A generated token, owned by the ContactCenter (it goes with it)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_meta(cc, name, component),
        "type": "Opaque",
        "stringData": {TOKEN_KEY: token},
    }


def build_generated_secrets(cc: ContactCenter, values: Mapping[str, str]) -> list[Manifest]:
    """The generated Secrets, holding the random values the controller made, by what each is
    for (the keys of `generated_secret_names`)."""
    names = generated_secret_names(cc)
    missing = sorted(set(names) - set(values))
    if missing:
        raise ValueError(f"no generated value for {', '.join(missing)}")
    components = {
        AGENTS_TOKEN: AGENTS,
        **{f"{c.name}-token": gateway_component(c.name) for c in token_channels(cc)},
    }
    manifests = []
    for key, name in names.items():
        if key == QUEUE.name:
            manifests.append(queue.build_queue_secret(cc, values[key]))
        elif key == DATABASE.name:
            manifests.append(database.build_database_secret(cc, values[key]))
        else:
            manifests.append(token_secret(cc, name, components[key], values[key]))
    return manifests


def referenced_secrets(cc: ContactCenter) -> list[tuple[str, str | None]]:
    """Secrets the spec refers to, with the key it needs (None: the whole Secret)."""
    references: list[tuple[str, str | None]] = []
    for service in (cc.spec.queue, cc.spec.database):
        if service.external is None:
            continue
        for reference in (service.external.secret_ref, service.external.ca_ref):
            if reference is not None:
                references.append((reference.name, reference.key))
    for channel in cc.spec.channels:
        if channel.credentials is not None:
            references.append((channel.credentials.secret_ref.name, None))
        if channel.email is not None and channel.email.smtp.credentials_ref is not None:
            login = channel.email.smtp.credentials_ref.name
            references += [(login, "username"), (login, "password")]
    if cc.spec.tls is not None and cc.spec.tls.secret_ref is not None:
        # An issued certificate's Secret is cert-manager's to make, not the user's.
        name = cc.spec.tls.secret_ref.name
        references += [(name, CERTIFICATE_KEY), (name, PRIVATE_KEY_KEY)]
    return references
