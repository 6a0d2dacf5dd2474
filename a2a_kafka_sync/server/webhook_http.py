"""The HTTP connections webhooks go through: checked at the address they connect to.

The push guard (:mod:`a2a_kafka_sync.server.push_targets`) resolves a webhook's host name
before each delivery and refuses one that resolves to a non-public address. Were the
connection to resolve the name again, a name whose address changes in between (DNS
rebinding, a time to live of 0) could still reach a loopback or private address. Here the
connection resolves the name once, refuses it when any address is not public, and connects
to one of the very addresses it checked (TLS still verifies the certificate against the
name, and sends it as SNI). Redirects are refused: they would resend the body and the
secrets to another host.
"""

from __future__ import annotations

import http.client
import socket
import urllib.request
from typing import Any

from .push_targets import is_public_address

__all__ = ["WebhookAddressRefused", "webhook_opener"]


class WebhookAddressRefused(OSError):
    """A webhook's host resolved, at connection time, to an address that is not public."""


def _connect_public(
    address: tuple[str, int],
    timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    source_address: tuple[str, int] | None = None,
    **kwargs: Any,
) -> socket.socket:
    """``socket.create_connection`` that resolves ``address`` once, refuses it when any of
    its addresses is not public, and connects to those addresses only."""
    host, port = address
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for info in infos:
        ip = str(info[4][0])
        if not is_public_address(ip):
            raise WebhookAddressRefused(f"{host} resolves to {ip}, not a public address")
    last: OSError | None = None
    for info in infos:
        ip, checked_port = str(info[4][0]), int(info[4][1])
        try:
            return socket.create_connection((ip, checked_port), timeout, source_address)
        except OSError as exc:
            last = exc
    raise last or OSError(f"{host} resolves to no address")


def _pinned(connection_class: type[http.client.HTTPConnection]) -> Any:
    """A factory of ``connection_class`` connections that connect through _connect_public."""

    def build(host: str, **kwargs: Any) -> http.client.HTTPConnection:
        connection = connection_class(host, **kwargs)
        connection._create_connection = _connect_public  # type: ignore[attr-defined]
        return connection

    return build


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_pinned(http.client.HTTPConnection), req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(
            _pinned(http.client.HTTPSConnection),
            req,
            context=self._context,  # type: ignore[attr-defined]
        )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: they would drop the body and resend the secrets to another host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def webhook_opener(public_only: bool) -> urllib.request.OpenerDirector:
    """The opener webhooks are POSTed with: no redirects, and, when ``public_only``, every
    connection refused (:class:`WebhookAddressRefused`) unless all the addresses its host
    resolves to are public.

    With a proxy in the environment (``HTTPS_PROXY``...), connections go to the proxy, which
    is then the egress control; they are not pinned (the proxy's own address is often
    private), and the names are still checked before each delivery.
    """
    handlers: list[Any] = [_NoRedirect]
    if public_only and not urllib.request.getproxies():
        handlers += [_PublicHTTPHandler, _PublicHTTPSHandler]
    return urllib.request.build_opener(*handlers)
