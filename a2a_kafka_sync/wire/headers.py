"""The headers of request and reply records: their names, and a request's headers decoded.

A request carries its route (``correlation_id``, ``reply_topic``) and the rest of what a
server needs to know before it reads the value (deadline, A2A version, extensions,
credentials, W3C trace context, the sequence to resume after) in Kafka headers; a reply
carries the ``correlation_id`` back, and a task event its ``sequence``. The names are
those of ``docs/wire.md``; those marked extension are this library's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import A2AError, InvalidRequestError

__all__ = [
    "HEADER_A2A_EXTENSIONS",
    "HEADER_A2A_VERSION",
    "HEADER_AFTER_SEQUENCE",
    "HEADER_AGENT_ID",
    "HEADER_AUTHORIZATION",
    "HEADER_CORRELATION_ID",
    "HEADER_DEADLINE_MS",
    "HEADER_NOTIFICATION_TOKEN",
    "HEADER_NOTIFICATION_TYPE",
    "HEADER_REPLY_PARTITION",
    "HEADER_REPLY_TOPIC",
    "HEADER_SEQUENCE",
    "HEADER_TRACEPARENT",
    "HEADER_TRACESTATE",
    "HEADER_TRACE_ID",
    "RequestHeaders",
    "is_traceparent",
    "read_request_headers",
    "reply_headers",
]

HEADER_CORRELATION_ID = "correlation_id"
HEADER_REPLY_TOPIC = "reply_topic"
HEADER_AGENT_ID = "agent_id"
HEADER_TRACE_ID = "trace_id"
HEADER_REPLY_PARTITION = "reply_partition"
HEADER_DEADLINE_MS = "deadline_ms"
HEADER_NOTIFICATION_TYPE = "notification_type"
HEADER_TRACEPARENT = "traceparent"
HEADER_TRACESTATE = "tracestate"
HEADER_A2A_VERSION = "a2a_version"
"""Request header (extension): the A2A protocol version of the request; absent means 0.3."""
HEADER_A2A_EXTENSIONS = "a2a_extensions"
"""Request header (extension): the A2A extension URIs the client uses, comma separated."""
HEADER_AUTHORIZATION = "authorization"
"""Request header (extension): the caller's credentials (``Bearer <token>`` or an API key)."""
HEADER_AFTER_SEQUENCE = "after_sequence"
"""Request header (extension) of a resubscription: deliver only the events after this sequence."""
HEADER_NOTIFICATION_TOKEN = "notification_token"
"""Push record header (extension): the ``token`` of the push notification config a
``kafka://`` delivery was made for, so a client can tell the pushes it asked for from
records anyone else with write access to its reply topic produced."""
HEADER_SEQUENCE = "sequence"
"""Reply header (extension): the per-task sequence number of the task event a record carries."""
HEADER_KEEPALIVE = "keepalive"
"""Reply header (extension), ``1``: the record repeats a quiet stream's task status so the
caller keeps waiting; it carries nothing new (this library's client drops it)."""

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?")
_TRACESTATE_LIMIT = 512

Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class RequestHeaders:
    """The headers of a request record, decoded. Without ``correlation_id`` and
    ``reply_topic`` a request cannot be answered."""

    correlation_id: str | None = None
    reply_topic: str | None = None
    agent_id: str | None = None
    trace_id: str | None = None
    reply_partition: int | None = None
    deadline_ms: int | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    a2a_version: str | None = None
    a2a_extensions: str | None = None
    authorization: str | None = field(default=None, repr=False)
    after_sequence: int | None = None

    @property
    def extensions(self) -> tuple[str, ...]:
        """The extension URIs of the ``a2a_extensions`` header, in order, without blanks."""
        if not self.a2a_extensions:
            return ()
        return tuple(uri for uri in (p.strip() for p in self.a2a_extensions.split(",")) if uri)

    @property
    def answerable(self) -> bool:
        """True when a reply can be routed back: both correlation id and reply topic are known."""
        return bool(self.correlation_id and self.reply_topic)

    def to_kafka(self) -> list[tuple[str, bytes]]:
        """The record headers, leaving out those that are not set."""
        out = []
        for name in (
            HEADER_CORRELATION_ID,
            HEADER_REPLY_TOPIC,
            HEADER_AGENT_ID,
            HEADER_TRACE_ID,
            HEADER_REPLY_PARTITION,
            HEADER_DEADLINE_MS,
            HEADER_TRACEPARENT,
            HEADER_TRACESTATE,
            HEADER_A2A_VERSION,
            HEADER_A2A_EXTENSIONS,
            HEADER_AUTHORIZATION,
            HEADER_AFTER_SEQUENCE,
        ):
            value = getattr(self, name)
            if value is not None:
                out.append((name, str(value).encode()))
        return out


def _header_text(name: str, raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError(f"header {name!r} is not UTF-8") from None


def _header_int(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidRequestError(f"header {name!r} is not an integer: {text[:40]!r}") from None


def is_traceparent(text: str) -> bool:
    """True when ``text`` is a valid W3C ``traceparent`` (version 00, or a later one's prefix)."""
    match = _TRACEPARENT.fullmatch(text)
    if match is None:
        return False
    version, trace_id, span_id, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return False
    return trace_id != "0" * 32 and span_id != "0" * 16


def _trace_headers(raw: dict[str, bytes]) -> dict[str, str | None]:
    """``traceparent`` and ``tracestate``, or None each: unusable ones are ignored, never refused.

    A ``tracestate`` is kept only with a valid ``traceparent`` (W3C), and only up to
    512 printable ASCII characters.
    """
    parent = raw.get(HEADER_TRACEPARENT)
    text = parent.decode("ascii", "replace") if parent is not None else None
    if text is None or not is_traceparent(text):
        return {HEADER_TRACEPARENT: None, HEADER_TRACESTATE: None}
    state = raw.get(HEADER_TRACESTATE)
    state_text = state.decode("ascii", "replace") if state else None
    if state_text is not None and (
        len(state_text) > _TRACESTATE_LIMIT
        or not (state_text.isascii() and state_text.isprintable())
    ):
        state_text = None
    return {HEADER_TRACEPARENT: text, HEADER_TRACESTATE: state_text}


def read_request_headers(headers: Headers | None) -> tuple[RequestHeaders, A2AError | None]:
    """Decode a request's headers, as far as they go.

    Returns the headers and, when one of them is unusable, the error to answer
    with (the routing headers are kept when they decoded, so the error can
    still be sent back). Unusable trace context headers are ignored instead.
    """
    raw: dict[str, bytes] = {}
    for name, value in headers or ():
        raw.setdefault(name, value)  # the first of duplicated headers wins
    fields: dict[str, Any] = {}
    error: A2AError | None = None
    for name in (
        HEADER_CORRELATION_ID,
        HEADER_REPLY_TOPIC,
        HEADER_AGENT_ID,
        HEADER_TRACE_ID,
        HEADER_A2A_VERSION,
        HEADER_A2A_EXTENSIONS,
        HEADER_AUTHORIZATION,
    ):
        try:
            fields[name] = _header_text(name, raw.get(name))
        except A2AError as exc:
            error = error or exc
    for name in (HEADER_REPLY_PARTITION, HEADER_DEADLINE_MS, HEADER_AFTER_SEQUENCE):
        try:
            fields[name] = _header_int(name, _header_text(name, raw.get(name)))
        except A2AError as exc:
            error = error or exc
    if HEADER_TRACEPARENT in raw:
        fields.update(_trace_headers(raw))
    # Credentials normalised once, here: the authenticator and the reply ledger (whose key
    # hashes them) see the same value, so " key" and "key" are one caller, not a replay
    # that runs again. Blank credentials are no credentials.
    if fields.get(HEADER_AUTHORIZATION) is not None:
        fields[HEADER_AUTHORIZATION] = fields[HEADER_AUTHORIZATION].strip() or None
    result = RequestHeaders(**fields)
    if error is None and not result.answerable:
        missing = [n for n in (HEADER_CORRELATION_ID, HEADER_REPLY_TOPIC) if not fields.get(n)]
        error = InvalidRequestError(f"missing required header(s): {', '.join(missing)}")
    return result, error


def reply_headers(
    correlation_id: str,
    trace_id: str | None = None,
    traceparent: str | None = None,
    tracestate: str | None = None,
    sequence: int | None = None,
    keepalive: bool = False,
) -> list[tuple[str, bytes]]:
    """The headers of a reply record: the correlation id, the request's trace headers and,
    for a task event, its per-task ``sequence``; ``keepalive`` for a stream's keep-alive."""
    headers = [(HEADER_CORRELATION_ID, correlation_id.encode())]
    if sequence is not None:
        headers.append((HEADER_SEQUENCE, str(sequence).encode()))
    if keepalive:
        headers.append((HEADER_KEEPALIVE, b"1"))
    if trace_id:
        headers.append((HEADER_TRACE_ID, trace_id.encode()))
    if traceparent:
        headers.append((HEADER_TRACEPARENT, traceparent.encode()))
        if tracestate:
            headers.append((HEADER_TRACESTATE, tracestate.encode()))
    return headers
