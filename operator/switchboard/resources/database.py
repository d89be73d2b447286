"""The built-in database: a PostgreSQL StatefulSet, its volume, headless Service and credentials."""

from __future__ import annotations

from switchboard.api.contactcenter import ContactCenter
from switchboard.resources.built_in import ServedTls, built_in_credentials, built_in_service
from switchboard.resources.common import DATABASE, DATABASE_PORT, Manifest, ResourceDefaults
from switchboard.resources.tls import (
    CERTIFICATE_KEY,
    PRIVATE_KEY_KEY,
    TLS_DIR,
    internal_tls_secret_name,
)

PORT_NAME = "postgresql"
USER = 999  # the postgres user of the official image
DATABASE_NAME = "switchboard"
DATA_DIR = "/var/lib/postgresql/data"
HBA_FILE = "/etc/switchboard/postgresql/pg_hba.conf"
# Under internal TLS: the image's own start-up (initdb, its scripts) on the socket as before;
# every TCP client over TLS, with its password.
TLS_HBA = "local all all trust\nhostssl all all all scram-sha-256\n"
DEFAULT_RESOURCES = ResourceDefaults(
    cpu_request="250m", memory_request="512Mi", cpu_limit="2", memory_limit="2Gi"
)


def database_image(cc: ContactCenter) -> str:
    """The PostgreSQL image: spec'd, or the official image of the spec'd major version."""
    spec = cc.spec.database
    return spec.image or f"docker.io/library/postgres:{spec.effective_version}"


def retains_data(cc: ContactCenter) -> bool:
    """Whether volume and credentials outlive the ContactCenter (`deletionPolicy: Retain`)."""
    return cc.spec.database.deletion_policy == "Retain"


def build_database(cc: ContactCenter, *, template_storage: str | None = None) -> list[Manifest]:
    """Headless Service and StatefulSet of the built-in PostgreSQL; nothing for an external one."""
    if cc.spec.database.external is not None:
        return []
    return built_in_service(
        cc,
        DATABASE,
        cc.spec.database,
        container="postgres",
        image=database_image(cc),
        port=(PORT_NAME, DATABASE_PORT),
        credentials_env=("POSTGRES_USER", "POSTGRES_PASSWORD"),
        env=[
            {"name": "POSTGRES_DB", "value": DATABASE_NAME},
            # A directory below the mount point, which may hold lost+found.
            {"name": "PGDATA", "value": f"{DATA_DIR}/pgdata"},
        ],
        data_dir=DATA_DIR,
        user=USER,
        defaults=DEFAULT_RESOURCES,
        scratch_dirs={"run": "/var/run/postgresql", "tmp": "/tmp"},
        template_storage=template_storage,
        delete_volume_with_owner=not retains_data(cc),
        termination_grace_period_seconds=60,
        tls=database_tls(cc),
    )


def database_tls(cc: ContactCenter) -> ServedTls | None:
    """Under internal TLS, PostgreSQL serves the issued certificate and takes TCP clients over
    TLS only (its own pg_hba.conf)."""
    secret = internal_tls_secret_name(cc)
    if secret is None:
        return None
    settings = {
        "ssl": "on",
        "ssl_cert_file": f"{TLS_DIR}/{CERTIFICATE_KEY}",
        "ssl_key_file": f"{TLS_DIR}/{PRIVATE_KEY_KEY}",
        "hba_file": HBA_FILE,
    }
    # The image's entry point passes its arguments to the server, at initdb time too.
    args = ["postgres", *(part for item in settings.items() for part in ("-c", "=".join(item)))]
    return ServedTls(secret, HBA_FILE, TLS_HBA, args=args)


def build_database_secret(cc: ContactCenter, password: str) -> Manifest:
    """The database's credentials, with the password the controller generated.

    Under `deletionPolicy: Retain` the Secret has no owner reference: it stays with the
    retained volume, whose data only this password opens.
    """
    return built_in_credentials(
        cc,
        DATABASE,
        scheme="postgresql",
        port=DATABASE_PORT,
        password=password,
        path=DATABASE_NAME,
        extra={"database": DATABASE_NAME},
        owned=not retains_data(cc),
    )
