"""TLS of the gateways (`spec.tls`).

On the local data plane: a gateway serves HTTPS and WSS with a certificate the test makes and
puts in a Secret, pods.py probes it over HTTPS, and a customer trusting that certificate starts
a conversation; one that does not trust it, or speaks plain HTTP, gets nowhere. Every tier
reaches the real RabbitMQ (amqps) and PostgreSQL (sslmode=verify-full) over TLS, verified
against the CA an external service's `caRef` names, and a conversation flows; a client given
another CA is refused by both.

Against the local cluster and a real operator: a missing Secret is a condition, a changed one
rolls the gateways and nothing else; an issuer reference waits for cert-manager with a
condition where its CRDs are absent, and gets a Certificate once they are installed (the real
CRDs of cert-manager's Go module, bin/cert-manager-crds.yaml).
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import asyncpg
import pytest
from aio_pika.exceptions import AMQPConnectionError
from lightkube import Client

from switchboard.dataplane.bus import Bus
from switchboard.dataplane.store import Store
from switchboard.dataplane.topology import Topology
from tests.certificates import self_signed
from tests.factory import valid_manifest
from tests.integration.contactcenters import apply, condition, wait_for_condition
from tests.integration.dataplane_services import LocalServer
from tests.integration.kube import get, kubectl, restricted_namespace, wait_until
from tests.integration.loadgen_runs import contact_center
from tests.integration.local_data_plane import LocalDataPlane
from tests.integration.operator import (
    Operator,
    install_crd,
    install_optional_apis,
    metric_sum,
)

FRAME_SECONDS = 10.0
CERTIFICATES_CRD = "certificates.cert-manager.io"


# --- the gateway serving TLS, on the local data plane ----------------------------------------


@pytest.fixture
def certificate() -> Any:
    return self_signed("localhost")


@pytest.fixture
def secured(
    database_uri: str, queue_uri: str, prefix: str, tmp_path: Path, certificate: Any
) -> Iterator[LocalDataPlane]:
    manifest = contact_center(prefix)
    manifest["spec"]["tls"] = {"secretRef": {"name": "web-tls"}}
    with LocalDataPlane(
        manifest,
        queue_uri=queue_uri,
        database_uri=database_uri,
        directory=tmp_path,
        provided_secrets={"web-tls": certificate.secret_data},
    ) as running:
        # Ready means pods.py's probes reached /readyz over HTTPS, as the template says.
        running.wait_ready(timeout=90)
        yield running


async def test_a_customer_trusting_the_certificate_starts_a_conversation_over_wss(
    secured: LocalDataPlane, certificate: Any
) -> None:
    trusting = ssl.create_default_context(cadata=certificate.certificate)
    url = secured.url("web", scheme="wss")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{url}/ws", ssl=trusting) as socket:
            conversation = str(uuid.uuid4())
            await socket.send_str(
                json.dumps({"type": "start", "conversation": conversation, "customer": "tls"})
            )
            frame = json.loads((await socket.receive(timeout=FRAME_SECONDS)).data)
            assert frame["type"] == "started", frame
            assert frame["state"] == "bot"
        token = secured.api_token("partners")
        async with http.post(
            secured.url("partners", scheme="https") + "/api/v1/conversations",
            json={"id": str(uuid.uuid4()), "customer": "tls"},
            headers={"Authorization": f"Bearer {token}"},
            ssl=trusting,
        ) as response:
            assert response.status == 201, await response.text()


async def test_a_client_not_trusting_it_or_speaking_plain_http_gets_nowhere(
    secured: LocalDataPlane,
) -> None:
    stranger = ssl.create_default_context(cadata=self_signed("localhost").certificate)
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await http.get(secured.url("web", scheme="https") + "/healthz", ssl=stranger)
        with pytest.raises(aiohttp.ClientError):  # a TLS server answers plain HTTP with nothing
            await http.get(secured.url("web") + "/healthz")


# --- the tiers reaching the queue and the database over TLS ---------------------------------


@pytest.fixture
def verified(
    database_uri: str, rabbitmq: LocalServer, postgres: LocalServer, prefix: str, tmp_path: Path
) -> Iterator[LocalDataPlane]:
    with LocalDataPlane(
        contact_center(prefix),
        queue_uri=tls_uri(rabbitmq),
        database_uri=f"{database_uri}?sslmode=verify-full",
        queue_ca=rabbitmq.ca,
        database_ca=postgres.ca,
        directory=tmp_path,
    ) as running:
        running.wait_ready(timeout=90)
        yield running


def tls_uri(rabbitmq: LocalServer) -> str:
    return (rabbitmq.state_dir / "rabbitmq-tls-uri").read_text().strip()


async def broker_connections(rabbitmq: LocalServer) -> list[dict[str, Any]]:
    management = (rabbitmq.state_dir / "rabbitmq-management-url").read_text().strip()
    amqp = urlsplit(rabbitmq.uri)
    credentials = f"{unquote(amqp.username or '')}:{unquote(amqp.password or '')}"
    login = "Basic " + base64.b64encode(credentials.encode()).decode()
    async with (
        aiohttp.ClientSession(headers={"Authorization": login}) as http,
        http.get(f"{management}/api/connections") as response,
    ):
        assert response.status == 200, await response.text()
        connections: list[dict[str, Any]] = await response.json()
    return connections


async def test_every_tier_reaches_the_queue_and_database_over_verified_tls(
    verified: LocalDataPlane, rabbitmq: LocalServer, database_uri: str
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{verified.url('web', scheme='ws')}/ws") as socket,
    ):

        async def frame() -> dict[str, Any]:
            received: dict[str, Any] = json.loads((await socket.receive(FRAME_SECONDS)).data)
            return received

        conversation = str(uuid.uuid4())
        await socket.send_str(
            json.dumps({"type": "start", "conversation": conversation, "customer": "tls"})
        )
        assert (await frame())["type"] == "started"
        message = {"type": "message", "id": str(uuid.uuid4()), "text": "where is my parcel?"}
        await socket.send_str(json.dumps(message))
        while (await frame()).get("sender") != "bot":
            pass
    # The bot's reply came through the broker, where each role's process has its connection on
    # the TLS port (the management API lists a new one within its statistics interval, 5 s).
    roles = {"web", "partners", "bot", "agents"}
    tls_port = urlsplit(tls_uri(rabbitmq)).port
    deadline = time.monotonic() + 30
    while True:
        over_tls = [c for c in await broker_connections(rabbitmq) if c.get("port") == tls_port]
        if len(over_tls) >= len(roles) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    assert len(over_tls) >= len(roles), [c["client_properties"] for c in over_tls]
    assert all(c["ssl"] and c["ssl_protocol"] in ("tlsv1.2", "tlsv1.3") for c in over_tls)
    # Every session on the test's database but this one is over TLS.
    connection = await asyncpg.connect(database_uri)
    try:
        sessions = await connection.fetch(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
            "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    assert len(sessions) >= len(roles)
    assert all(session["ssl"] for session in sessions)


async def test_a_client_given_another_ca_is_refused_by_both_servers(
    rabbitmq: LocalServer, database_uri: str, prefix: str
) -> None:
    stranger = self_signed("localhost").certificate
    with pytest.raises(AMQPConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        await asyncio.wait_for(
            Bus.connect(tls_uri(rabbitmq), Topology(prefix), ca=stranger), FRAME_SECONDS
        )
    with pytest.raises(ssl.SSLCertVerificationError):
        await Store.connect(f"{database_uri}?sslmode=verify-full", ca=stranger, min_size=1)


# --- the operator ------------------------------------------------------------------------------


@pytest.fixture
def tls_namespace(client: Client) -> Iterator[str]:
    with restricted_namespace(client, "tls") as name:
        yield name


@pytest.fixture
def operator_for_tls(tls_namespace: str, tmp_path: Path) -> Iterator[Operator]:
    """An operator of its own for the `tls-*` namespaces, started once the test's exists."""
    install_crd()
    operator = Operator(scope=["--namespace", "tls-*"], log_path=tmp_path / "operator.log")
    operator.start()
    try:
        yield operator
    finally:
        operator.stop()


def tls_secret(namespace: str, name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/tls",
        "stringData": data,
    }


def pod_annotations(namespace: str, name: str) -> dict[str, str]:
    body = get("deployment", namespace, name)
    assert body is not None, f"Deployment {name}"
    annotations: dict[str, str] = body["spec"]["template"]["metadata"].get("annotations", {})
    return annotations


def test_a_missing_secret_waits_and_a_changed_one_rolls_the_gateways_only(
    operator_for_tls: Operator, tls_namespace: str, client: Client
) -> None:
    manifest = valid_manifest("secured")
    manifest["spec"]["tls"] = {"secretRef": {"name": "web-tls"}}
    apply(tls_namespace, manifest)
    waiting = wait_for_condition(
        client, tls_namespace, "secured", "Degraded", reason="SecretNotFound"
    )
    degraded = condition(waiting, "Degraded")
    assert degraded is not None
    assert f"Secret {tls_namespace}/web-tls not found" in degraded["message"]
    apply(tls_namespace, tls_secret(tls_namespace, "web-tls", self_signed().secret_data))
    wait_for_condition(client, tls_namespace, "secured", "Degraded", status="False")
    gateway = wait_until("the gateway", lambda: get("deployment", tls_namespace, "secured-web"))
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    first = pod_annotations(tls_namespace, "secured-web")["switchboard.io/tls-hash"]
    bot_before = pod_annotations(tls_namespace, "secured-bot")

    # Once everything settled (no child events left to bring a reconcile by), a renewal: the
    # same Secret with a new certificate, which only the operator's watch of Secrets notices.
    wait_for_condition(client, tls_namespace, "secured", "Ready", timeout=90)
    apply(tls_namespace, tls_secret(tls_namespace, "web-tls", self_signed().secret_data))
    wait_until(
        "the gateway's pod template to follow the renewed certificate",
        lambda: pod_annotations(tls_namespace, "secured-web")["switchboard.io/tls-hash"] != first,
        timeout=30,
    )
    assert pod_annotations(tls_namespace, "secured-bot") == bot_before
    assert metric_sum(operator_for_tls.metrics(), "switchboard_reconcile_errors_total") == 0


def test_an_issuer_waits_for_cert_manager_then_gets_a_certificate(
    kubeconfig: Path, tls_namespace: str, client: Client, tmp_path: Path
) -> None:
    # This cluster has no cert-manager until this test installs its CRDs; an earlier test of
    # the session may have installed them (with the other optional APIs), so they go first.
    # (No other test makes Certificates.)
    kubectl("delete", "crd", CERTIFICATES_CRD, "--ignore-not-found", "--wait=true")
    install_crd()
    manifest = valid_manifest("issued")
    manifest["spec"]["tls"] = {
        "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"},
        "dnsNames": ["chat.example.com"],
        "internal": {"issuerRef": {"name": "cluster-ca", "kind": "ClusterIssuer"}},
    }
    operator = Operator(scope=["--namespace", "tls-*"], log_path=tmp_path / "operator.log")
    operator.start()
    try:
        apply(tls_namespace, manifest)
        waiting = wait_for_condition(
            client, tls_namespace, "issued", "Degraded", reason="CertManagerNotInstalled"
        )
        degraded = condition(waiting, "Degraded")
        assert degraded is not None
        assert "TLS waits for cert-manager" in degraded["message"]
        assert "spec.tls.issuerRef and spec.tls.internal.issuerRef need" in degraded["message"]
    finally:
        operator.stop()

    install_optional_apis()
    operator = Operator(scope=["--namespace", "tls-*"], log_path=tmp_path / "operator2.log")
    operator.start()
    try:
        certificate = wait_until(
            "the Certificate",
            lambda: get("certificate", tls_namespace, "issued-tls"),
            timeout=60,
        )
        spec = certificate["spec"]
        assert spec["issuerRef"] == {
            "name": "letsencrypt",
            "kind": "ClusterIssuer",
            "group": "cert-manager.io",
        }
        assert spec["dnsNames"] == ["chat.example.com"]
        assert [o["kind"] for o in certificate["metadata"]["ownerReferences"]] == ["ContactCenter"]
        gateway = wait_until("the gateway", lambda: get("deployment", tls_namespace, "issued-web"))
        volumes = gateway["spec"]["template"]["spec"]["volumes"]
        assert {"secretName": spec["secretName"]}.items() <= next(
            v["secret"] for v in volumes if "secret" in v
        ).items()
        # The built-in queue and database serve one issued for their Services' names.
        internal = wait_until(
            "the internal Certificate",
            lambda: get("certificate", tls_namespace, "issued-internal-tls"),
        )
        assert internal["spec"]["issuerRef"]["name"] == "cluster-ca"
        assert f"issued-database.{tls_namespace}.svc" in internal["spec"]["dnsNames"]
        queue = wait_until("the queue", lambda: get("statefulset", tls_namespace, "issued-queue"))
        queue_volumes = queue["spec"]["template"]["spec"]["volumes"]
        assert any(
            v.get("secret", {}).get("secretName") == "issued-internal-tls" for v in queue_volumes
        )
        service = get("service", tls_namespace, "issued-queue")
        assert service is not None
        assert {"name": "amqps", "port": 5671} in [
            {"name": p["name"], "port": p["port"]} for p in service["spec"]["ports"]
        ]
        wait_for_condition(client, tls_namespace, "issued", "Degraded", status="False")
    finally:
        operator.stop()
