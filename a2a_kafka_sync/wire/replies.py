"""Reply records <-> models: the envelope ``{"type": T, "data": D}``, written and read.

A reply record's value is ``{"type": T, "data": D}`` with the ``correlation_id`` header
(``docs/wire.md``); a push record has the same envelope, its type prefixed ``push_``. A
1.0 reply (its type a v1.0 message name, ``docs/binding.md``) is written and read through
``v1`` here, so that callers get the same types and models whichever version answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..errors import A2AError, InternalError, ProtocolError
from ..types import (
    AgentCard,
    Message,
    Task,
    TaskArtifactUpdateEvent,
    TaskPage,
    TaskPushNotificationConfig,
    TaskStatusUpdateEvent,
)
from ..v1 import reply_from_v1, reply_to_v1
from ._validation import summarise
from .versions import V0_3, V1_0

__all__ = [
    "STREAM_COMPLETE",
    "SUCCESS",
    "Reply",
    "decode_reply",
    "encode_error",
    "encode_reply",
    "push_payload",
]

STREAM_COMPLETE = "stream_complete"
SUCCESS = "success"

_REPLY_TYPES: tuple[tuple[type[Any], str], ...] = (
    (Message, "message"),
    (Task, "task"),
    (TaskStatusUpdateEvent, "task_status_update"),
    (TaskArtifactUpdateEvent, "task_artifact_update"),
    (TaskPushNotificationConfig, "task_push_notification_config"),
    (AgentCard, "agent_card"),
)


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


def push_payload(event: Any, version: str = V0_3) -> bytes:
    """The payload of a push notification of ``event`` (a Task, Message or update event) in
    A2A ``version``: in 0.3 the event's JSON; in 1.0 the ``StreamResponse`` that holds it,
    as A2A v1.0 (section 4.3.3) defines a webhook's body."""
    if version == V1_0:
        return reply_to_v1(event, "message_send", True)[1]
    data: bytes = event.to_json()
    return data


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
    keepalive: bool = False
    """True for a stream's keep-alive (the ``keepalive`` header): nothing new, only a sign
    that the stream goes on."""
    token: str | None = None
    """The ``notification_token`` header of a push record: the token of the push config it
    was delivered for, when it had one."""
    value: bytes | None = field(default=None, repr=False, compare=False)
    """The record's value as it arrived (the raw calls read their result from it)."""

    @property
    def is_final(self) -> bool:
        """True for the record that ends a stream: ``stream_complete`` or ``error``."""
        return self.type in (STREAM_COMPLETE, "error")


_V1_SIGN = b'{"type":"'


def _is_v1_type(reply_type: Any) -> bool:
    """A 1.0 reply's type is a v1.0 message name (``Task``, ``StreamResponse``, ...)."""
    return isinstance(reply_type, str) and reply_type[:1].isupper()


def _decode_v1_reply(body: Any, correlation_id: str | None, value: bytes) -> Reply:
    try:
        reply_type, data = reply_from_v1(body["type"], body.get("data"))
    except (ValueError, A2AError) as exc:
        message = exc.message if isinstance(exc, A2AError) else str(exc)
        raise ProtocolError(
            f"not a valid A2A 1.0 reply: {message}", correlation_id=correlation_id
        ) from None
    return Reply(reply_type, data, value=value)


def _loads_or_none(value: bytes) -> Any:
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return None


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
            return _decode_v1_reply(json.loads(value), correlation_id, value)
        envelope = _REPLY_ADAPTER.validate_json(value)
    except RecursionError:
        raise ProtocolError(
            "reply JSON is nested too deeply", correlation_id=correlation_id
        ) from None
    except ValueError as exc:  # also pydantic's ValidationError
        body = _loads_or_none(value)
        if isinstance(body, dict) and _is_v1_type(body.get("type")):
            return _decode_v1_reply(body, correlation_id, value)  # another key order
        detail = summarise(exc) if isinstance(exc, ValidationError) else str(exc)
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
            value=value,
        )
    return Reply(envelope.type, envelope.data, value=value)
