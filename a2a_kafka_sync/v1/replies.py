"""Replies: what a handler returned <-> the v1 reply record's ``{"type", "data"}``.

``type`` is the proto message name of ``data``: ``SendMessageResponse``,
``StreamResponse`` (every event of a stream, the first Task included), ``Task``,
``ListTasksResponse``, ``TaskPushNotificationConfig``,
``ListTaskPushNotificationConfigsResponse``, ``Empty`` (delete) and ``AgentCard``. The
control types ``error`` and ``stream_complete`` are the wire's, as in v0.3.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidParamsError
from ..types import (
    A2ABaseModel,
    AgentCard,
    Message,
    Task,
    TaskArtifactUpdateEvent,
    TaskPage,
    TaskPushNotificationConfig,
    TaskStatusUpdateEvent,
)
from ._json import V1Object, check_int32
from .card import card_from_v1, card_to_v1
from .content import (
    artifact_update_from_v1,
    artifact_update_to_v1,
    message_from_v1,
    message_to_v1,
    status_update_from_v1,
    status_update_to_v1,
    task_from_v1,
    task_to_v1,
)
from .push import task_push_config_from_v1, task_push_config_to_v1

STREAM_COMPLETE = "stream_complete"
SUCCESS = "success"

# StreamResponse / SendMessageResponse payload field -> (our model, v0.3 reply type, to, from)
_PAYLOADS: dict[str, tuple[type[A2ABaseModel], str, Callable[[Any], Any], Callable[..., Any]]] = {
    "task": (Task, "task", task_to_v1, task_from_v1),
    "message": (Message, "message", message_to_v1, message_from_v1),
    "statusUpdate": (
        TaskStatusUpdateEvent,
        "task_status_update",
        status_update_to_v1,
        status_update_from_v1,
    ),
    "artifactUpdate": (
        TaskArtifactUpdateEvent,
        "task_artifact_update",
        artifact_update_to_v1,
        artifact_update_from_v1,
    ),
}


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _payload(result: Any, allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    for key in allowed:
        model, _, to_v1, _ = _PAYLOADS[key]
        if isinstance(result, model):
            return {key: to_v1(result)}
    raise ValueError(f"{what} cannot carry {type(result).__name__}")


def page_to_v1(result: Any) -> dict[str, Any]:
    """A TaskPage (or a bare list of Tasks, one full page) as a v1 ``ListTasksResponse``."""
    if isinstance(result, list) and all(isinstance(t, Task) for t in result):
        result = TaskPage(tasks=result, page_size=len(result), total_size=len(result))
    if not isinstance(result, TaskPage) or not all(isinstance(t, Task) for t in result.tasks):
        raise ValueError(f"ListTasks answers a TaskPage or a list of Tasks, not {result!r:.80}")
    return {
        "tasks": [task_to_v1(t) for t in result.tasks],
        "nextPageToken": result.next_page_token,
        "pageSize": check_int32(result.page_size, "pageSize"),
        "totalSize": check_int32(result.total_size, "totalSize"),
    }


def page_from_v1(obj: V1Object) -> TaskPage:
    """A v1 ``ListTasksResponse`` as a TaskPage (absent numbers and token are v1's zero values)."""
    return TaskPage(
        tasks=[task_from_v1(t) for t in obj.objs("tasks")],
        next_page_token=obj.text("nextPageToken") or "",
        page_size=obj.int32("pageSize") or 0,
        total_size=obj.int32("totalSize") or 0,
    )


def _expect(result: Any, model: type[Any], method: str) -> Any:
    if not isinstance(result, model):
        raise ValueError(f"{method} answers {model.__name__}, not {type(result).__name__}")
    return result


def reply_to_v1(result: Any, method: str, streaming: bool) -> tuple[str, bytes]:
    """A handler's result for a canonical ``method`` as (v1 reply type, data JSON bytes).

    ``result`` is what :func:`a2a_kafka_sync.wire.encode_reply` takes: a model, a list of
    Tasks or push configs, a TaskPage, or the markers ``"success"`` / ``"stream_complete"``
    (the latter is passed through as it is). Raises ValueError when the result does not
    answer the method, or holds a value v1 cannot carry.
    """
    if isinstance(result, str) and result == STREAM_COMPLETE:
        return STREAM_COMPLETE, b"{}"
    if streaming or method == "task_resubscribe":
        data = _payload(result, tuple(_PAYLOADS), "StreamResponse")
        return "StreamResponse", _dumps(data)
    if method == "message_send":
        return "SendMessageResponse", _dumps(
            _payload(result, ("task", "message"), "SendMessageResponse")
        )
    if method in ("task_get", "task_cancel"):
        return "Task", _dumps(task_to_v1(_expect(result, Task, method)))
    if method == "task_list":
        return "ListTasksResponse", _dumps(page_to_v1(result))
    if method in ("task_push_notification_config_set", "task_push_notification_config_get"):
        config = _expect(result, TaskPushNotificationConfig, method)
        return "TaskPushNotificationConfig", _dumps(task_push_config_to_v1(config))
    if method == "task_push_notification_config_list":
        configs = [
            _expect(c, TaskPushNotificationConfig, method) for c in _expect(result, list, method)
        ]
        data = {"configs": [task_push_config_to_v1(c) for c in configs], "nextPageToken": ""}
        return "ListTaskPushNotificationConfigsResponse", _dumps(data)
    if method == "task_push_notification_config_delete":
        if result != SUCCESS:
            raise ValueError(f"{method} answers 'success', not {result!r:.80}")
        return "Empty", b"{}"
    if method == "agent_card_get":
        return "AgentCard", _dumps(card_to_v1(_expect(result, AgentCard, method)))
    raise ValueError(f"no A2A v1.0 reply for method {method[:100]!r}")


def _one_payload(obj: V1Object, allowed: tuple[str, ...], what: str) -> tuple[str, Any]:
    key = obj.oneof(allowed, what)
    _, reply_type, _, from_v1 = _PAYLOADS[key]
    return reply_type, from_v1(obj.req_obj(key))


def _decode(reply_type: str, obj: V1Object) -> tuple[str, Any]:
    if reply_type == "StreamResponse":
        return _one_payload(obj, tuple(_PAYLOADS), reply_type)
    if reply_type == "SendMessageResponse":
        return _one_payload(obj, ("task", "message"), reply_type)
    if reply_type == "Task":
        return "task", task_from_v1(obj)
    if reply_type == "ListTasksResponse":
        return "task_list", page_from_v1(obj)
    if reply_type == "TaskPushNotificationConfig":
        return "task_push_notification_config", task_push_config_from_v1(obj)
    if reply_type == "ListTaskPushNotificationConfigsResponse":
        configs = [task_push_config_from_v1(c) for c in obj.objs("configs")]
        return "task_push_notification_config_list", configs
    if reply_type == "Empty":
        return SUCCESS, {"success": True}
    if reply_type == "AgentCard":
        return "agent_card", card_from_v1(obj)
    raise ValueError(f"not an A2A v1.0 reply type: {reply_type[:60]!r}")


def reply_from_v1(reply_type: str, data: Any) -> tuple[str, Any]:
    """A v1 reply's (type, data) as (the v0.3 reply type, our models), on the client.

    ``data`` is the decoded JSON (or its text/bytes). A ``ListTasksResponse`` becomes a
    TaskPage, a ``ListTaskPushNotificationConfigsResponse`` a list, ``Empty`` the
    ``success`` reply. Raises ValueError when it is not a v1 reply.
    """
    if isinstance(data, (bytes, bytearray, str)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ValueError(f"{reply_type[:60]} reply data is not JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"{reply_type[:60]} reply data must be a JSON object")
    try:
        return _decode(reply_type, V1Object(data, reply_type))
    except InvalidParamsError as exc:
        raise ValueError(f"not a valid v1 reply: {exc.message}") from None
