"""TLS contexts of the data plane: the gateways' server side, and the client side towards the
queue and the database."""

from __future__ import annotations

import ssl

from switchboard.dataplane.wiring import TlsFiles


def server_ssl_context(tls: TlsFiles | None) -> ssl.SSLContext | None:
    """A server context with the mounted certificate and key (the standard library's defaults:
    TLS 1.2 at least), or None for plain HTTP. Read once at start: a renewed certificate comes
    with a new pod."""
    if tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.certificate, tls.private_key)
    return context


def verifying_context(ca: str | None) -> ssl.SSLContext | None:
    """A client context that trusts the system's CAs and `ca` (PEM) and checks the server's
    name; None without a CA, where the URI alone decides (the client library's defaults)."""
    if ca is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.load_verify_locations(cadata=ca)
    return context
