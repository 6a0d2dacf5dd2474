"""Where a push may go: a push config's URL parsed once, and checked as it will be used.

A push URL is checked when it is set (:class:`~a2a_kafka_sync.server.guard.RequestGuard`) and
again before each delivery (:class:`~a2a_kafka_sync.server.push.PushNotifier`), from the same
parse, so what is checked is what is used:

- it is clean: no whitespace or control character anywhere (``urlsplit`` strips leading ones,
  so ``" kafka://x"`` would otherwise pass a prefix check as one thing and be used as another);
- its scheme is ``https``, ``http`` or ``kafka`` (``file:``, ``ftp:`` ... are refused);
- a ``kafka://`` URL names one valid topic, which must be the caller's own reply topic or one
  of the server's ``push_topics`` (and, like any reply topic, not one of the server's own);
- a webhook is ``https://`` to a public address, unless ``allow_insecure_webhooks`` (for
  development): plain ``http://`` and loopback, private, link-local, reserved and multicast
  addresses are refused. A host name is resolved before each delivery and refused when any
  address it resolves to is not public.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import is_topic_name
from ..errors import ForbiddenError, InvalidParamsError

__all__ = [
    "PushTarget",
    "check_webhook_address",
    "is_public_address",
    "parse_push_url",
    "push_target_error",
]

_SCHEMES = ("https", "http", "kafka")


@dataclass(frozen=True)
class PushTarget:
    """A push URL, parsed: ``scheme``, and ``host`` (webhooks) or ``topic`` (kafka)."""

    scheme: str
    host: str | None = None
    topic: str | None = None


def _shown(url: str) -> str:
    """``url`` as an error may show it: no user info, query or fragment (they hold secrets)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable url>"
    return repr(f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"[:100])


def parse_push_url(url: str) -> PushTarget:
    """Parse a push config's URL; InvalidParamsError (-32602) names what is wrong with it
    (showing the URL without its user info, query or fragment)."""
    shown = _shown(url)
    for position, char in enumerate(url):
        if char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F:
            raise InvalidParamsError(
                f"push URL {shown} contains whitespace or a control character "
                f"({char!r} at position {position})",
                data={"field": "url"},
            )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidParamsError(f"push URL {shown} cannot be parsed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise InvalidParamsError(
            f"push URL {shown}: the scheme must be https://, http:// or kafka://, "
            f"not {scheme + ':' if scheme else 'none'}",
            data={"field": "url"},
        )
    if scheme == "kafka":
        segments = [s for s in parts.path.split("/") if s]
        topic = segments[0] if len(segments) == 1 else (parts.netloc if not segments else "")
        if parts.query or parts.fragment or not is_topic_name(topic):
            raise InvalidParamsError(
                f"push URL {shown} names no valid Kafka topic (kafka://<topic> or "
                "kafka://<host:port>/<topic>; a topic is 1-249 of A-Z a-z 0-9 . _ -)",
                data={"field": "url"},
            )
        return PushTarget(scheme, topic=topic)
    if not parts.hostname:
        raise InvalidParamsError(f"push URL {shown} has no host", data={"field": "url"})
    return PushTarget(scheme, host=parts.hostname)


def is_public_address(address: str) -> bool:
    """True when the IP address ``address`` is global and not multicast (an IPv4-mapped
    IPv6 address judged as its IPv4 address). Raises ValueError for a non-address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_webhook_address(host: str, resolve: bool = True) -> str | None:
    """Why a webhook to ``host`` is refused (not a public address), or None.

    An IP literal is judged as it is; a name is resolved (``resolve``) and refused when
    any address it resolves to is not public. ``localhost`` is refused without resolving.
    A name that does not resolve is not refused here (the delivery fails on its own).
    """
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return f"{host} is this machine"
    try:
        return None if is_public_address(host) else f"{host} is not a public address"
    except ValueError:
        pass  # a name, not an IP literal
    if not resolve:
        return None
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return None
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            return f"{host} resolves to {address}, not a public address"
    return None


def push_target_error(
    target: PushTarget,
    *,
    reply_topic: str | None,
    push_topics: Collection[str],
    topic_allowed: Callable[[str], bool],
    allow_insecure_webhooks: bool,
    resolve: bool = True,
) -> ForbiddenError | None:
    """ForbiddenError (-32041) when the server will not push to ``target``, else None.

    ``reply_topic`` is the caller's own (None at delivery, when the set-time check stands).
    """
    if target.topic is not None:
        topic = target.topic
        if not topic_allowed(topic):
            return ForbiddenError(f"push topic {topic!r} is not allowed on this server")
        if reply_topic is not None and topic != reply_topic and topic not in push_topics:
            return ForbiddenError(
                f"push topic {topic!r} is neither the caller's reply topic nor one of this "
                "server's push_topics"
            )
        return None
    if allow_insecure_webhooks:
        return None
    if target.scheme != "https":
        return ForbiddenError(
            "webhooks must be https:// on this server (allow_insecure_webhooks is off)"
        )
    assert target.host is not None
    reason = check_webhook_address(target.host, resolve=resolve)
    if reason is not None:
        return ForbiddenError(
            f"webhook refused: {reason} (allow_insecure_webhooks is off on this server)"
        )
    return None
