"""The Secrets a ContactCenter uses: those its spec refers to, and the generated credentials of
the built-in queue and database.

The controller creates each generated one once, with random passwords it generates, and never
rewrites it; the workload builders refer to these Secrets by name and key only and need no values.
"""

from __future__ import annotations

from collections.abc import Mapping

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources import database, queue
from switchboard.resources.common import DATABASE, QUEUE, Manifest, credentials_secret_name


def generated_secret_names(cc: ContactCenter) -> dict[str, str]:
    """The Secrets to generate, by component (`queue`, `database`): built-in services only."""
    names = {}
    if cc.spec.queue.external is None:
        names[QUEUE.name] = credentials_secret_name(cc, QUEUE.name)
    if cc.spec.database.external is None:
        names[DATABASE.name] = credentials_secret_name(cc, DATABASE.name)
    return names


def build_generated_secrets(cc: ContactCenter, passwords: Mapping[str, str]) -> list[Manifest]:
    """The credentials Secrets, holding the passwords the controller generated, by component."""
    names = generated_secret_names(cc)
    missing = sorted(set(names) - set(passwords))
    if missing:
        raise ValueError(f"no generated password for {', '.join(missing)}")
    builders = {
        QUEUE.name: queue.build_queue_secret,
        DATABASE.name: database.build_database_secret,
    }
    return [builders[component](cc, passwords[component]) for component in names]


def referenced_secrets(cc: ContactCenter) -> list[tuple[str, str | None]]:
    """Secrets the spec refers to, with the key it needs (None: the whole Secret)."""
    references: list[tuple[str, str | None]] = []
    for service in (cc.spec.queue, cc.spec.database):
        if service.external is not None and service.external.secret_ref is not None:
            references.append((service.external.secret_ref.name, service.external.secret_ref.key))
    for channel in cc.spec.channels:
        if channel.credentials is not None:
            references.append((channel.credentials.secret_ref.name, None))
    return references
