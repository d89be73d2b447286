"""A role's TLS: the server side serves the mounted certificate and key; the client side (to
the queue and the database) verifies the server against the CA it is given."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from switchboard.dataplane.tls import server_ssl_context, verifying_context
from switchboard.dataplane.wiring import TlsFiles
from tests.certificates import Certificate, self_signed


def mounted(directory: Path, certificate: Certificate) -> TlsFiles:
    (directory / "tls.crt").write_text(certificate.certificate)
    (directory / "tls.key").write_text(certificate.private_key)
    return TlsFiles(str(directory / "tls.crt"), str(directory / "tls.key"))


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, host: str) -> ssl.SSLObject:
    """A TLS handshake between the two contexts in memory; the client's side once done."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_side = client.wrap_bio(to_client, to_server, server_hostname=host)
    server_side = server.wrap_bio(to_server, to_client, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, side in (("client", client_side), ("server", server_side)):
            if done[name]:
                continue
            try:
                side.do_handshake()
                done[name] = True
            except ssl.SSLWantReadError:
                pass
        if all(done.values()):
            return client_side
    raise AssertionError("the handshake did not finish")


def test_without_tls_files_the_port_serves_plain_http() -> None:
    assert server_ssl_context(None) is None


def test_a_client_trusting_the_certificate_completes_a_handshake(tmp_path: Path) -> None:
    certificate = self_signed("chat.example.com")
    server = server_ssl_context(mounted(tmp_path, certificate))
    assert server is not None
    client = ssl.create_default_context(cadata=certificate.certificate)
    session = handshake(server, client, "chat.example.com")
    assert session.version() in ("TLSv1.2", "TLSv1.3")


def test_a_client_that_does_not_trust_it_is_refused(tmp_path: Path) -> None:
    server = server_ssl_context(mounted(tmp_path, self_signed("chat.example.com")))
    assert server is not None
    stranger = ssl.create_default_context(cadata=self_signed("chat.example.com").certificate)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(server, stranger, "chat.example.com")


def test_a_key_that_is_not_the_certificate_s_fails_at_start(tmp_path: Path) -> None:
    files = mounted(tmp_path, self_signed())
    (tmp_path / "tls.key").write_text(self_signed().private_key)
    with pytest.raises(ssl.SSLError):
        server_ssl_context(files)


def test_without_a_ca_the_uri_alone_decides() -> None:
    assert verifying_context(None) is None


def test_a_client_given_the_servers_ca_completes_a_handshake(tmp_path: Path) -> None:
    certificate = self_signed("queue.example.com")
    server = server_ssl_context(mounted(tmp_path, certificate))
    client = verifying_context(certificate.certificate)
    assert server is not None and client is not None
    session = handshake(server, client, "queue.example.com")
    assert session.version() in ("TLSv1.2", "TLSv1.3")


def test_a_client_given_the_ca_still_checks_the_servers_name(tmp_path: Path) -> None:
    certificate = self_signed("queue.example.com")
    server = server_ssl_context(mounted(tmp_path, certificate))
    client = verifying_context(certificate.certificate)
    assert server is not None and client is not None
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake(server, client, "database.example.com")


def test_a_client_given_another_ca_refuses_the_server(tmp_path: Path) -> None:
    server = server_ssl_context(mounted(tmp_path, self_signed("queue.example.com")))
    client = verifying_context(self_signed("queue.example.com").certificate)
    assert server is not None and client is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(server, client, "queue.example.com")
