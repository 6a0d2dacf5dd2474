"""Kafka records <-> models: the wire contract (``docs/wire.md``), in one place.

A request record's value is ``{"method", "params", "streaming", "agent_card"}``
with ``correlation_id`` and ``reply_topic`` headers; a reply record's value is
``{"type": T, "data": D}`` with the ``correlation_id`` header. Each record is
decoded once here into models, and each outgoing record is encoded once here;
only the records of other topics (task store, push, cards) are encoded elsewhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .errors import (
    A2AError,
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    JSONParseError,
    MethodNotFoundError,
    ProtocolError,
    VersionNotSupportedError,
)
from .types import (
    AgentCard,
    DeleteTaskPushNotificationConfigParams,
    GetTaskPushNotificationConfigParams,
    ListTaskPushNotificationConfigParams,
    ListTasksParams,
    Message,
    MessageSendParams,
    Task,
    TaskArtifactUpdateEvent,
    TaskIdParams,
    TaskPage,
    TaskPushNotificationConfig,
    TaskQueryParams,
    TaskStatusUpdateEvent,
)
from .types._base import A2ABaseModel
from .v1 import V1_METHODS, reply_from_v1, reply_to_v1, request_from_v1, request_to_v1

__all__ = [
    "HEADER_A2A_EXTENSIONS",
    "HEADER_A2A_VERSION",
    "HEADER_AFTER_SEQUENCE",
    "HEADER_AGENT_ID",
    "HEADER_AUTHORIZATION",
    "HEADER_CORRELATION_ID",
    "HEADER_DEADLINE_MS",
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
    "read_request_headers",
    "reply_headers",
    "resolve_method",
    "version_of",
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
HEADER_SEQUENCE = "sequence"
"""Reply header (extension): the per-task sequence number of the task event a record carries."""

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?")
_TRACESTATE_LIMIT = 512

Headers = Sequence[tuple[str, bytes]]

STREAM_COMPLETE = "stream_complete"
SUCCESS = "success"

V0_3 = "0.3"
V1_0 = "1.0"
SUPPORTED_VERSIONS = (V0_3, V1_0)
"""The A2A protocol versions (``Major.Minor``) a server answers in, and a client can speak."""


@dataclass(frozen=True)
class MethodSpec:
    """One method of the wire: its name, its params model and whether it streams.

    ``streaming`` is ``"never"``, ``"optional"`` (the request's ``streaming`` flag
    decides) or ``"always"``.
    """

    name: str
    params: type[A2ABaseModel]
    streaming: Literal["never", "optional", "always"] = "never"


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec("message_send", MessageSendParams, "optional"),
        MethodSpec("task_get", TaskQueryParams),
        MethodSpec("task_cancel", TaskIdParams),
        MethodSpec("task_resubscribe", TaskIdParams, "always"),
        MethodSpec("task_list", ListTasksParams),
        MethodSpec("task_push_notification_config_set", TaskPushNotificationConfig),
        MethodSpec("task_push_notification_config_get", GetTaskPushNotificationConfigParams),
        MethodSpec("task_push_notification_config_list", ListTaskPushNotificationConfigParams),
        MethodSpec("task_push_notification_config_delete", DeleteTaskPushNotificationConfigParams),
        MethodSpec("agent_card_get", A2ABaseModel),
    )
}
"""The methods a server answers, by their canonical (the seed's) names."""

# A2A JSON-RPC names accepted as aliases: alias -> (canonical name, forces streaming).
_ALIASES: dict[str, tuple[str, bool]] = {
    "message/send": ("message_send", False),
    "message/stream": ("message_send", True),
    "tasks/get": ("task_get", False),
    "tasks/cancel": ("task_cancel", False),
    "tasks/resubscribe": ("task_resubscribe", True),
    "tasks/pushNotificationConfig/set": ("task_push_notification_config_set", False),
    "tasks/pushNotificationConfig/get": ("task_push_notification_config_get", False),
    "tasks/pushNotificationConfig/list": ("task_push_notification_config_list", False),
    "tasks/pushNotificationConfig/delete": ("task_push_notification_config_delete", False),
    "agent/getAuthenticatedExtendedCard": ("agent_card_get", False),
}


def resolve_method(name: str) -> tuple[MethodSpec, bool]:
    """The spec of a method name or alias, and whether the alias itself asks for a stream."""
    if name in METHODS:
        return METHODS[name], False
    if name in _ALIASES:
        canonical, streams = _ALIASES[name]
        return METHODS[canonical], streams
    raise MethodNotFoundError(f"method not found: {name[:100]!r}")


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


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded request: the method, its validated params, whether to stream, and routing."""

    method: MethodSpec
    params: A2ABaseModel
    streaming: bool
    headers: RequestHeaders
    caller_card: dict[str, Any] | None = None
    version: str = V0_3


def version_of(text: str | None) -> str:
    """The supported ``Major.Minor`` version a request's ``a2a_version`` header names.

    Absent (or empty) means 0.3, as A2A says of a missing ``A2A-Version``; a patch
    level is ignored (``1.0.1`` is 1.0). Raises VersionNotSupportedError (-32009)
    for any other version.
    """
    if not text:
        return V0_3
    major_minor = ".".join(text.strip().split(".")[:2])
    if major_minor in SUPPORTED_VERSIONS:
        return major_minor
    raise VersionNotSupportedError(
        f"A2A version {text[:20]!r} is not supported; supported: {', '.join(SUPPORTED_VERSIONS)}",
        data={"supportedVersions": list(SUPPORTED_VERSIONS)},
    )


def encode_request(
    method: str,
    params: A2ABaseModel,
    headers: RequestHeaders,
    *,
    streaming: bool = False,
    caller_card: AgentCard | None = None,
    version: str = V0_3,
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers of a request record, in A2A ``version`` (0.3 or 1.0).

    ``method`` is the canonical (the seed's) name; a 1.0 request carries the v1.0
    method name and request object instead, and the ``a2a_version`` header.
    """
    if version == V1_0:
        v1_method, v1_params = request_to_v1(method, params, streaming)
        body: dict[str, Any] = {"method": v1_method, "params": v1_params}
        if caller_card is not None:
            body["agent_card"] = caller_card.to_wire()
        record_headers = headers.to_kafka()
        if headers.a2a_version is None:
            record_headers.append((HEADER_A2A_VERSION, V1_0.encode()))
        return json.dumps(body, separators=(",", ":")).encode(), record_headers
    parts = [
        b'{"method":',
        json.dumps(method).encode(),
        b',"params":',
        params.to_json(),
        b',"streaming":',
        b"true" if streaming else b"false",
    ]
    if caller_card is not None:
        parts += [b',"agent_card":', caller_card.to_json()]
    parts.append(b"}")
    return b"".join(parts), headers.to_kafka()


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
    result = RequestHeaders(**fields)
    if error is None and not result.answerable:
        missing = [n for n in (HEADER_CORRELATION_ID, HEADER_REPLY_TOPIC) if not fields.get(n)]
        error = InvalidRequestError(f"missing required header(s): {', '.join(missing)}")
    return result, error


def _summarise(exc: ValidationError, limit: int = 3) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    text = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in errors[:limit]
    )
    if len(errors) > limit:
        text += f"; and {len(errors) - limit} more"
    return text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads_or_none(value: bytes) -> Any:
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return None


def decode_request(value: bytes | None, headers: RequestHeaders) -> Request:
    """Decode a request record's value; raises the A2AError to answer it with."""
    if not value:
        raise InvalidRequestError("empty request record")
    try:
        # UTF-8 only (json.loads on bytes would also take UTF-16/32 and lone surrogates),
        # and no NaN/Infinity, which are not JSON.
        body = json.loads(value.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise JSONParseError(f"request is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidRequestError("request JSON is nested too deeply") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("request must be a JSON object")
    method_name = body.get("method")
    if not isinstance(method_name, str) or not method_name:
        raise InvalidRequestError("request has no 'method' string")
    version = version_of(headers.a2a_version)
    caller_card = body.get("agent_card")
    caller_card = caller_card if isinstance(caller_card, dict) else None
    if version == V1_0:
        return _decode_v1_request(method_name, body.get("params"), headers, caller_card)
    spec, alias_streams = resolve_method(method_name)
    streaming = body.get("streaming")
    if streaming is None:  # absent or null: an optional field
        streaming = False
    if not isinstance(streaming, bool):
        raise InvalidRequestError("'streaming' must be true or false")
    if spec.streaming == "always" or alias_streams:
        streaming = True
    elif spec.streaming == "never":
        streaming = False
    raw_params = body.get("params")
    if raw_params is None:
        raw_params = {}
    if not isinstance(raw_params, dict):
        raise InvalidParamsError(f"params of {spec.name} must be a JSON object")
    try:
        params = spec.params.model_validate(raw_params)
    except ValidationError as exc:
        raise InvalidParamsError(f"invalid params for {spec.name}: {_summarise(exc)}") from None
    except RecursionError:
        raise InvalidParamsError(f"params of {spec.name} are nested too deeply") from None
    return Request(
        method=spec, params=params, streaming=streaming, headers=headers, caller_card=caller_card
    )


def _decode_v1_request(
    method_name: str, raw_params: Any, headers: RequestHeaders, caller_card: dict[str, Any] | None
) -> Request:
    """A 1.0 request: a v1.0 method name and request object, translated to the model."""
    if method_name not in V1_METHODS:
        raise MethodNotFoundError(f"method not found in A2A 1.0: {method_name[:100]!r}")
    if raw_params is None:
        raw_params = {}
    if not isinstance(raw_params, dict):
        raise InvalidParamsError(f"params of {method_name} must be a JSON object")
    try:
        canonical, params, streaming = request_from_v1(method_name, raw_params)
    except RecursionError:
        raise InvalidParamsError(f"params of {method_name} are nested too deeply") from None
    if isinstance(params, ListTasksParams) and params.include_artifacts is None:
        params = params.model_copy(update={"include_artifacts": False})  # 1.0's default
    return Request(
        method=METHODS[canonical],
        params=params,
        streaming=streaming,
        headers=headers,
        caller_card=caller_card,
        version=V1_0,
    )


# -- replies ---------------------------------------------------------------------------------

_REPLY_TYPES: tuple[tuple[type[Any], str], ...] = (
    (Message, "message"),
    (Task, "task"),
    (TaskStatusUpdateEvent, "task_status_update"),
    (TaskArtifactUpdateEvent, "task_artifact_update"),
    (TaskPushNotificationConfig, "task_push_notification_config"),
    (AgentCard, "agent_card"),
)


def reply_headers(
    correlation_id: str,
    trace_id: str | None = None,
    traceparent: str | None = None,
    tracestate: str | None = None,
    sequence: int | None = None,
) -> list[tuple[str, bytes]]:
    """The headers of a reply record: the correlation id, the request's trace headers and,
    for a task event, its per-task ``sequence``."""
    headers = [(HEADER_CORRELATION_ID, correlation_id.encode())]
    if sequence is not None:
        headers.append((HEADER_SEQUENCE, str(sequence).encode()))
    if trace_id:
        headers.append((HEADER_TRACE_ID, trace_id.encode()))
    if traceparent:
        headers.append((HEADER_TRACEPARENT, traceparent.encode()))
        if tracestate:
            headers.append((HEADER_TRACESTATE, tracestate.encode()))
    return headers


def _envelope(reply_type: str, data: bytes) -> bytes:
    return b'{"type":"' + reply_type.encode() + b'","data":' + data + b"}"


def encode_reply(
    result: Any, *, method: str | None = None, version: str = V0_3, streaming: bool = False
) -> bytes:
    """The value of a reply record carrying ``result``, in A2A ``version``.

    ``result`` is a model (Message, Task, an update event, a push config, an
    AgentCard), a list of Tasks or of push configs, a TaskPage, or one of the
    markers :data:`SUCCESS` and :data:`STREAM_COMPLETE`. ``method`` names the
    request's (canonical) method, which decides the type of an empty list and,
    in 1.0, with ``streaming``, the v1.0 response object (``docs/binding.md``).
    """
    if version == V1_0 and result != STREAM_COMPLETE:
        if method is None:
            raise InternalError("a 1.0 reply needs the method it answers")
        reply_type, data = reply_to_v1(result, method, streaming)
        return _envelope(reply_type, data)
    if isinstance(result, TaskPage):
        result = result.tasks
    if isinstance(result, str):
        if result == STREAM_COMPLETE:
            return _envelope(STREAM_COMPLETE, b"{}")
        if result == SUCCESS:
            return _envelope(SUCCESS, b'{"success":true}')
    for model, reply_type in _REPLY_TYPES:
        if isinstance(result, model):
            return _envelope(reply_type, result.to_json())
    if isinstance(result, list):
        if method == "task_push_notification_config_list" and all(
            isinstance(item, TaskPushNotificationConfig) for item in result
        ):
            items = b",".join(c.to_json() for c in result)
            return _envelope("task_push_notification_config_list", b"[" + items + b"]")
        if all(isinstance(item, Task) for item in result):
            return _envelope("task_list", b"[" + b",".join(t.to_json() for t in result) + b"]")
        if all(isinstance(item, TaskPushNotificationConfig) for item in result):
            items = b",".join(c.to_json() for c in result)
            return _envelope("task_push_notification_config_list", b"[" + items + b"]")
    raise InternalError(f"a handler returned {type(result).__name__}, which has no reply type")


def encode_error(error: A2AError) -> bytes:
    """The value of an ``error`` reply: the old peer's ``error`` text plus ``code`` and ``data``."""
    body = {"error": error.message, "code": error.code, "data": error.data}
    try:
        data = json.dumps(body).encode()
    except (TypeError, ValueError):  # data that is not JSON: keep the error, drop the data
        data = json.dumps({"error": error.message, "code": error.code, "data": None}).encode()
    return _envelope("error", data)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _ErrorData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    error: str = "error without a message"
    code: int | None = None
    data: Any = None


class _MessageReply(_Envelope):
    type: Literal["message", "push_message"]
    data: Message


class _TaskReply(_Envelope):
    type: Literal["task", "push_task"]
    data: Task


class _StatusReply(_Envelope):
    type: Literal["task_status_update", "push_task_status_update"]
    data: TaskStatusUpdateEvent


class _ArtifactReply(_Envelope):
    type: Literal["task_artifact_update", "push_task_artifact_update"]
    data: TaskArtifactUpdateEvent


class _PushConfigReply(_Envelope):
    type: Literal["task_push_notification_config"]
    data: TaskPushNotificationConfig


class _PushConfigListReply(_Envelope):
    type: Literal["task_push_notification_config_list"]
    data: list[TaskPushNotificationConfig]


class _TaskListReply(_Envelope):
    type: Literal["task_list"]
    data: list[Task]


class _AgentCardReply(_Envelope):
    type: Literal["agent_card"]
    data: AgentCard


class _SuccessReply(_Envelope):
    type: Literal["success"]
    data: Any = None


class _CompleteReply(_Envelope):
    type: Literal["stream_complete"]
    data: Any = None


class _ErrorReply(_Envelope):
    type: Literal["error"]
    data: _ErrorData


_REPLY_ADAPTER: TypeAdapter[Any] = TypeAdapter(
    Annotated[
        Union[
            _MessageReply,
            _TaskReply,
            _StatusReply,
            _ArtifactReply,
            _PushConfigReply,
            _PushConfigListReply,
            _TaskListReply,
            _AgentCardReply,
            _SuccessReply,
            _CompleteReply,
            _ErrorReply,
        ],
        Field(discriminator="type"),
    ]
)


@dataclass(frozen=True, slots=True)
class Reply:
    """A decoded reply record: its ``type`` and its ``data`` as models.

    For ``error`` replies ``data`` is the :class:`~a2a_kafka_sync.errors.A2AError`
    to raise; for push records ``type`` starts with ``push_``.
    """

    type: str
    data: Any
    sequence: int | None = None
    """The ``sequence`` header of a stream record carrying a task event, when it had one."""

    @property
    def is_final(self) -> bool:
        """True for the record that ends a stream: ``stream_complete`` or ``error``."""
        return self.type in (STREAM_COMPLETE, "error")


_V1_SIGN = b'{"type":"'


def _is_v1_type(reply_type: Any) -> bool:
    """A 1.0 reply's type is a v1.0 message name (``Task``, ``StreamResponse``, ...)."""
    return isinstance(reply_type, str) and reply_type[:1].isupper()


def _decode_v1_reply(body: Any, correlation_id: str | None) -> Reply:
    try:
        reply_type, data = reply_from_v1(body["type"], body.get("data"))
    except (ValueError, A2AError) as exc:
        message = exc.message if isinstance(exc, A2AError) else str(exc)
        raise ProtocolError(
            f"not a valid A2A 1.0 reply: {message}", correlation_id=correlation_id
        ) from None
    return Reply(reply_type, data)


def decode_reply(value: bytes | None, *, correlation_id: str | None = None) -> Reply:
    """Decode a reply record's value in one pass; raises ProtocolError when it is not one.

    A 1.0 reply (its type a v1.0 message name, ``docs/binding.md``) is translated
    to the same types and models as a 0.3 one, so callers need not know which
    version answered.
    """
    if not value:
        raise ProtocolError("empty reply record", correlation_id=correlation_id)
    try:
        if value.startswith(_V1_SIGN) and value[len(_V1_SIGN) : len(_V1_SIGN) + 1].isupper():
            return _decode_v1_reply(json.loads(value), correlation_id)
        envelope = _REPLY_ADAPTER.validate_json(value)
    except RecursionError:
        raise ProtocolError(
            "reply JSON is nested too deeply", correlation_id=correlation_id
        ) from None
    except ValueError as exc:  # also pydantic's ValidationError
        body = _loads_or_none(value)
        if isinstance(body, dict) and _is_v1_type(body.get("type")):
            return _decode_v1_reply(body, correlation_id)  # written with another key order
        detail = _summarise(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ProtocolError(
            f"not a valid reply record: {detail}", correlation_id=correlation_id
        ) from None
    if isinstance(envelope, _ErrorReply):
        err = envelope.data
        return Reply(
            "error",
            A2AError.for_code(
                err.code if err.code is not None else InternalError.code,
                err.error,
                data=err.data,
                correlation_id=correlation_id,
            ),
        )
    return Reply(envelope.type, envelope.data)
