"""TLS of the gateways (a certificate the user provides, or one cert-manager issues) and,
with `internal`, between the tiers and the built-in queue and database."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from switchboard.api.common import SecretReference
from switchboard.api.rules import Rule
from switchboard.api.types import ApiModel, SecretName

CERT_MANAGER_GROUP = "cert-manager.io"
MAX_DNS_NAMES = 100

# A host name, optionally with a leading wildcard label (`*.example.com`).
DnsName = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=253,
        pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    ),
    Field(description="A host name, such as `chat.example.com` or `*.example.com`."),
]


class IssuerReference(ApiModel):
    """A cert-manager issuer."""

    name: SecretName = Field(description="Name of the issuer.")
    kind: Literal["Issuer", "ClusterIssuer"] = Field(
        "Issuer",
        description=("Issuer (in the ContactCenter's namespace) or ClusterIssuer (cluster-wide)."),
    )
    group: Annotated[str, StringConstraints(min_length=1, max_length=253)] = Field(
        CERT_MANAGER_GROUP,
        description="API group of the issuer: cert-manager's own, or an external issuer's.",
    )


class InternalTls(ApiModel):
    """TLS between the tiers and the built-in queue and database."""

    issuer_ref: IssuerReference = Field(
        description=(
            "A cert-manager issuer that can sign certificates for in-cluster names (a CA "
            "Issuer of your own, say): the operator creates a Certificate `<name>-internal-tls` "
            "for the built-in queue's and database's Services, they serve it, and every tier "
            "verifies them against the issued `ca.crt`."
        )
    )


class Tls(ApiModel):
    """How the gateways terminate TLS: from a Secret, or from a certificate cert-manager
    issues."""

    RULES = (
        Rule(
            "has(self.secretRef) != has(self.issuerRef)",
            "tls needs exactly one of tls.secretRef and tls.issuerRef",
            lambda tls: (tls.secret_ref is None) != (tls.issuer_ref is None),
        ),
        Rule(
            "!has(self.dnsNames) || has(self.issuerRef)",
            "tls.dnsNames is only for tls.issuerRef: a Secret's certificate names its own hosts",
            lambda tls: not tls.dns_names or tls.issuer_ref is not None,
        ),
    )

    secret_ref: SecretReference | None = Field(
        None,
        description=(
            "A Secret of type kubernetes.io/tls (keys `tls.crt` and `tls.key`) the gateways "
            "serve. A change of its contents rolls the gateways, and only them."
        ),
    )
    issuer_ref: IssuerReference | None = Field(
        None,
        description=(
            "A cert-manager issuer: the operator creates a Certificate `<name>-tls` for "
            "`dnsNames`, and the gateways serve the Secret cert-manager issues. Needs "
            "cert-manager's CRDs in the cluster; until they are there, status says TLS waits "
            "for cert-manager."
        ),
    )
    internal: InternalTls | None = Field(
        None,
        description=(
            "Encrypt what the tiers send the built-in queue and database too: RabbitMQ takes "
            "the tiers on its TLS port (5671) only, PostgreSQL takes TCP clients over TLS only "
            "(`hostssl`). An external queue or database has its own TLS: `external.caRef`. "
            "Needs cert-manager's CRDs in the cluster."
        ),
    )
    dns_names: list[DnsName] | None = Field(
        None,
        description=(
            "The host names the issued certificate is for (with `issuerRef`). Unset: the "
            "gateways' Service names in the cluster (`<name>-<channel>.<namespace>.svc`)."
        ),
        max_length=MAX_DNS_NAMES,
    )
