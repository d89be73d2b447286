"""The shape the built-in queue and database share.

A one-pod StatefulSet with a data volume behind a headless Service, its user and password read
from the generated credentials Secret, probed on its port, with a read-only root filesystem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from switchboard.api.contactcenter import ContactCenter
from switchboard.api.services import BuiltInService
from switchboard.resources.common import (
    SECRET_PASSWORD_KEY,
    SECRET_URI_KEY,
    SECRET_USERNAME_KEY,
    SERVICE_USERNAME,
    Component,
    Manifest,
    ResourceDefaults,
    child_name,
    container_port,
    credentials_secret,
    credentials_secret_name,
    empty_dir,
    object_meta,
    pod_template,
    resource_requirements,
    secret_key_env,
    service,
    service_host,
    service_port,
    stateful_set,
    tcp_probes,
)
from switchboard.resources.tls import tls_mount, tls_volume

DATA_VOLUME = "data"
CONFIG_VOLUME = "tls-config"
CLASSIFICATION_LABEL = "switchboard.io/data-classification"


@dataclass(frozen=True)
class ServedTls:
    """How a built-in service serves the tiers TLS (`spec.tls.internal`): the issued Secret
    mounted at TLS_DIR, a configuration file of the image's own mounted at `config_path` from
    a ConfigMap `<name>-tls`, and the port that takes TLS when it is not the main one."""

    secret: str
    config_path: str
    config: str
    """The configuration file's text."""
    port: tuple[str, int] | None = None
    args: Sequence[str] = ()


def built_in_service(
    cc: ContactCenter,
    component: Component,
    spec: BuiltInService,
    *,
    container: str,
    image: str,
    port: tuple[str, int],
    credentials_env: tuple[str, str],
    env: Sequence[Mapping[str, Any]] = (),
    data_dir: str,
    user: int,
    defaults: ResourceDefaults,
    scratch_dirs: Mapping[str, str],
    delete_volume_with_owner: bool,
    template_storage: str | None,
    termination_grace_period_seconds: int = 30,
    tls: ServedTls | None = None,
) -> list[Manifest]:
    """Headless Service and StatefulSet of a built-in service, and its TLS configuration
    (a ConfigMap) when it serves TLS.

    `credentials_env` names the variables the image reads the user and password from;
    `scratch_dirs` maps volume names to writable paths (emptyDir) the image needs;
    `template_storage` is the claim template's size of an existing StatefulSet (immutable).
    """
    name = child_name(cc, component.name)
    secret = credentials_secret_name(cc, component.name)
    port_name = port[0]
    ports = [port, *([tls.port] if tls is not None and tls.port is not None else [])]
    user_variable, password_variable = credentials_env
    main: dict[str, Any] = {
        "name": container,
        "image": image,
        "ports": [container_port(*served) for served in ports],
        "env": [
            secret_key_env(user_variable, secret, SECRET_USERNAME_KEY),
            secret_key_env(password_variable, secret, SECRET_PASSWORD_KEY),
            *env,
        ],
        "resources": resource_requirements(defaults, spec.resources),
        "volumeMounts": [
            {"name": DATA_VOLUME, "mountPath": data_dir},
            *({"name": volume, "mountPath": path} for volume, path in scratch_dirs.items()),
        ],
        **tcp_probes(port_name),
    }
    volumes = [empty_dir(volume) for volume in scratch_dirs]
    config_maps = []
    if tls is not None:
        config_map = tls_config_map(cc, component, tls)
        main["volumeMounts"] += [
            tls_mount(),
            {"name": CONFIG_VOLUME, "mountPath": tls.config_path, "subPath": CONFIG_FILE},
        ]
        volumes += [
            tls_volume(tls.secret, with_ca=True),
            {"name": CONFIG_VOLUME, "configMap": {"name": config_map["metadata"]["name"]}},
        ]
        if tls.args:
            main["args"] = list(tls.args)
        config_maps.append(config_map)
    classification = {CLASSIFICATION_LABEL: cc.spec.data_protection.classification}
    template = pod_template(
        cc,
        component,
        labels=classification,
        containers=[main],
        user=user,
        volumes=volumes,
        termination_grace_period_seconds=termination_grace_period_seconds,
    )
    built = [
        *config_maps,
        service(
            cc, name, component, ports=[service_port(*served) for served in ports], headless=True
        ),
        stateful_set(
            cc,
            name,
            component,
            template=template,
            storage=template_storage or spec.effective_storage,
            storage_class_name=spec.storage_class_name,
            delete_volume_with_owner=delete_volume_with_owner,
            data_volume=DATA_VOLUME,
        ),
    ]
    for manifest in built:
        manifest["metadata"]["labels"].update(classification)
    return built


CONFIG_FILE = "tls.conf"


def tls_config_map(cc: ContactCenter, component: Component, tls: ServedTls) -> Manifest:
    """The service's TLS configuration file, `<cc>-<component>-tls`."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(cc, child_name(cc, f"{component.name}-tls"), component),
        "data": {CONFIG_FILE: tls.config},
    }


def built_in_credentials(
    cc: ContactCenter,
    component: Component,
    *,
    scheme: str,
    port: int,
    password: str,
    path: str = "",
    extra: Mapping[str, str] | None = None,
    owned: bool,
) -> Manifest:
    """The generated credentials Secret: username, password and the connection `uri`."""
    userinfo = f"{SERVICE_USERNAME}:{quote(password, safe='')}"
    uri = f"{scheme}://{userinfo}@{service_host(cc, component.name)}:{port}/{path}"
    values = {
        SECRET_USERNAME_KEY: SERVICE_USERNAME,
        SECRET_PASSWORD_KEY: password,
        **(extra or {}),
        SECRET_URI_KEY: uri,
    }
    return credentials_secret(cc, component, values, owned=owned)


def volume_claim_name(cc: ContactCenter, component: Component) -> str:
    """The claim the StatefulSet makes for its one pod: `data-<cc>-<component>-0`."""
    return f"{DATA_VOLUME}-{child_name(cc, component.name)}-0"


def volume_expansion(cc: ContactCenter, component: Component, storage: str) -> Manifest:
    """The part of the data volume's claim that asks for `storage` (to apply to an existing,
    smaller claim; the StorageClass must allow expansion)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": volume_claim_name(cc, component), "namespace": cc.namespace},
        "spec": {"resources": {"requests": {"storage": storage}}},
    }
