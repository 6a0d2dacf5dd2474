"""Can this process reach a bootstrap server at all? A TCP connection, before Kafka's.

kafka-python, given a refused port or a misspelt host, retries until its bootstrap
budget is spent (``connect_timeout``, 15 s by default) and then says "Unable to
bootstrap". A plain TCP connection answers the same question in milliseconds and
with the reason (``ECONNREFUSED``, a name that does not resolve), so a client
facing a dead or mistyped address fails at once and says why. Only when no
address accepts a connection is the answer "unreachable"; TLS, SASL and the Kafka
protocol are left to kafka-python.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Sequence

from .errors import BrokerUnavailableError

__all__ = ["check_reachable", "unreachable_reason"]

PROBE_TIMEOUT = 2.0
"""The longest a probe waits for one address (a host that drops packets never refuses)."""

WHAT_TO_TRY = (
    "check bootstrap_servers (or the A2A_KAFKA_BOOTSTRAP environment variable), or start "
    "a broker for development: a2a-kafka-sync dev-broker"
)
"""What the error of an unreachable broker suggests."""


def _split(server: str) -> tuple[str, int]:
    host, _, port = server.rpartition(":")
    if not host:  # "localhost" alone: Kafka's default port
        return server, 9092
    return host.strip("[]"), int(port)


def _why(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"the name does not resolve ({exc.strerror or exc})"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "no answer (timed out)"
    code = errno.errorcode.get(exc.errno or 0)
    text = exc.strerror or str(exc)
    return f"{code}: {text}" if code else text


def unreachable_reason(servers: Sequence[str], timeout: float = PROBE_TIMEOUT) -> str | None:
    """None when a TCP connection to one of ``servers`` succeeds; else why none did.

    Tries each address in turn, each for at most ``timeout`` seconds (less when the
    overall ``timeout`` is nearly spent): the reason names every address and its error,
    e.g. ``"127.0.0.1:1: ECONNREFUSED: Connection refused"``.
    """
    deadline = time.monotonic() + timeout
    reasons = []
    for server in servers:
        try:
            host, port = _split(server)
        except ValueError:
            reasons.append(f"{server}: not host:port")
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            reasons.append(f"{server}: not tried (the probe's time was spent)")
            continue
        try:
            with socket.create_connection((host, port), timeout=min(left, PROBE_TIMEOUT)):
                return None
        except OSError as exc:
            reasons.append(f"{server}: {_why(exc)}")
    return "; ".join(reasons)


def check_reachable(servers: Sequence[str], timeout: float = PROBE_TIMEOUT) -> None:
    """Raise BrokerUnavailableError, with the reason and what to try, when no bootstrap
    server accepts a TCP connection within ``timeout`` seconds."""
    reason = unreachable_reason(servers, timeout)
    if reason is not None:
        raise BrokerUnavailableError(f"no Kafka broker reachable: {reason}; {WHAT_TO_TRY}")
