"""Kafka records <-> models: the wire contract (``docs/wire.md``), in one place.

A request record's value is ``{"method", "params", "streaming", "agent_card"}``
with ``correlation_id`` and ``reply_topic`` headers; a reply record's value is
``{"type": T, "data": D}`` with the ``correlation_id`` header. Each record is
decoded once here into models, and each outgoing record is encoded once here;
only the records of other topics (task store, push, cards) are encoded elsewhere.

Modules: ``headers`` (the header names, a request's headers decoded, a reply's
built), ``versions`` (the A2A versions and the one a request names), ``requests``
(the methods, request records), ``replies`` (reply and push records). Import the
names from here.
"""

from __future__ import annotations

from .headers import (
    HEADER_A2A_EXTENSIONS,
    HEADER_A2A_VERSION,
    HEADER_AFTER_SEQUENCE,
    HEADER_AGENT_ID,
    HEADER_AUTHORIZATION,
    HEADER_CORRELATION_ID,
    HEADER_DEADLINE_MS,
    HEADER_KEEPALIVE,
    HEADER_NOTIFICATION_TOKEN,
    HEADER_NOTIFICATION_TYPE,
    HEADER_REPLY_PARTITION,
    HEADER_REPLY_TOPIC,
    HEADER_SEQUENCE,
    HEADER_TRACE_ID,
    HEADER_TRACEPARENT,
    HEADER_TRACESTATE,
    RequestHeaders,
    is_traceparent,
    read_request_headers,
    reply_headers,
)
from .replies import (
    STREAM_COMPLETE,
    SUCCESS,
    Reply,
    decode_reply,
    encode_error,
    encode_reply,
    push_payload,
)
from .requests import (
    METHODS,
    MethodSpec,
    Request,
    decode_request,
    encode_request,
    resolve_any_method,
    resolve_method,
)
from .versions import SUPPORTED_VERSIONS, V0_3, V1_0, version_of

__all__ = [
    "HEADER_A2A_EXTENSIONS",
    "HEADER_A2A_VERSION",
    "HEADER_AFTER_SEQUENCE",
    "HEADER_AGENT_ID",
    "HEADER_AUTHORIZATION",
    "HEADER_CORRELATION_ID",
    "HEADER_DEADLINE_MS",
    "HEADER_KEEPALIVE",
    "HEADER_NOTIFICATION_TOKEN",
    "HEADER_NOTIFICATION_TYPE",
    "HEADER_REPLY_PARTITION",
    "HEADER_REPLY_TOPIC",
    "HEADER_SEQUENCE",
    "HEADER_TRACEPARENT",
    "HEADER_TRACESTATE",
    "HEADER_TRACE_ID",
    "METHODS",
    "STREAM_COMPLETE",
    "SUCCESS",
    "SUPPORTED_VERSIONS",
    "V0_3",
    "V1_0",
    "MethodSpec",
    "Reply",
    "Request",
    "RequestHeaders",
    "decode_reply",
    "decode_request",
    "encode_error",
    "encode_reply",
    "encode_request",
    "is_traceparent",
    "push_payload",
    "read_request_headers",
    "reply_headers",
    "resolve_any_method",
    "resolve_method",
    "version_of",
]
