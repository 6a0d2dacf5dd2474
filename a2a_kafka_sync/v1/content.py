"""Parts, messages, artifacts, tasks and their events: v0.3 models <-> v1.0 JSON.

Each ``*_to_v1`` takes one of our models and returns the v1 protobuf-JSON dict (raising
``ValueError`` for a value v1 cannot carry); each ``*_from_v1`` takes a
:class:`~a2a_kafka_sync.v1._json.V1Object` and returns the model (raising
``InvalidParamsError``). See the package docstring for what each direction drops.
"""

from __future__ import annotations

from typing import Any

from ..types import (
    Artifact,
    DataPart,
    FilePart,
    FileWithBytes,
    FileWithUri,
    Message,
    Part,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
    TextPart,
)
from ._json import V1Object, check_base64, check_timestamp, extra, put

TASK_STATES = [
    "TASK_STATE_UNSPECIFIED",
    "TASK_STATE_SUBMITTED",
    "TASK_STATE_WORKING",
    "TASK_STATE_COMPLETED",
    "TASK_STATE_FAILED",
    "TASK_STATE_CANCELED",
    "TASK_STATE_INPUT_REQUIRED",
    "TASK_STATE_REJECTED",
    "TASK_STATE_AUTH_REQUIRED",
]
"""v1 ``TaskState`` names, by number."""

STATE_TO_V1: dict[TaskState, str] = {
    state: "TASK_STATE_" + ("UNSPECIFIED" if state is TaskState.unknown else state.name.upper())
    for state in TaskState
}
STATE_FROM_V1: dict[str, TaskState] = {name: state for state, name in STATE_TO_V1.items()}

ROLES = ["ROLE_UNSPECIFIED", "ROLE_USER", "ROLE_AGENT"]
_ROLE_TO_V1 = {Role.user: "ROLE_USER", Role.agent: "ROLE_AGENT"}
_ROLE_FROM_V1 = {name: role for role, name in _ROLE_TO_V1.items()}

TURN_ENDING: frozenset[TaskState] = frozenset(
    {
        TaskState.completed,
        TaskState.canceled,
        TaskState.failed,
        TaskState.rejected,
        TaskState.input_required,
        TaskState.auth_required,
    }
)
"""States at which a v1 stream closes (terminal or interrupted): v0.3's ``final``."""

DATA_PART_COMPAT = "data_part_compat"
"""Metadata key a2a-sdk's v0.3 compat layer sets on a DataPart that wraps a non-object
v1 ``data`` value as ``{"value": ...}``; we use the same convention."""

# v1 Part fields with no slot in a v0.3 text or data part: kept as extra fields of the part.
_PART_EXTRAS = ("mediaType", "filename")


# -- parts ------------------------------------------------------------------------------------


def part_to_v1(part: TextPart | FilePart | DataPart) -> dict[str, Any]:
    """A v0.3 part as a v1 ``Part`` (one of text / raw / url / data)."""
    out: dict[str, Any] = {}
    metadata = part.metadata
    if isinstance(part, TextPart):
        out["text"] = part.text
    elif isinstance(part, DataPart):
        if metadata is not None and metadata.get(DATA_PART_COMPAT) is True:
            if set(part.data) != {"value"}:
                raise ValueError(
                    f"a DataPart marked {DATA_PART_COMPAT} must hold only 'value', "
                    f"not {sorted(part.data)}"
                )
            out["data"] = part.data["value"]
            metadata = {k: v for k, v in metadata.items() if k != DATA_PART_COMPAT} or None
        else:
            out["data"] = part.data
    else:
        file = part.file
        if isinstance(file, FileWithBytes):
            out["raw"] = check_base64(file.bytes, "FilePart.file.bytes")
        else:
            out["url"] = file.uri
        put(out, "mediaType", file.mime_type)
        put(out, "filename", file.name)
    if not isinstance(part, FilePart):
        for key in _PART_EXTRAS:
            put(out, key, extra(part, key))
    put(out, "metadata", metadata)
    return out


def part_from_v1(obj: V1Object) -> TextPart | FilePart | DataPart:
    """A v1 ``Part`` as the v0.3 part of its content."""
    which = obj.oneof(("text", "raw", "url", "data"), "a Part")
    metadata = obj.struct("metadata")
    media_type = obj.text("mediaType")
    filename = obj.text("filename")
    if which in ("raw", "url"):
        file: FileWithBytes | FileWithUri
        if which == "raw":
            file = FileWithBytes(bytes=obj.b64("raw") or "", mime_type=media_type, name=filename)
        else:
            file = FileWithUri(uri=obj.req_text("url"), mime_type=media_type, name=filename)
        return FilePart(file=file, metadata=metadata)
    kept = {"mediaType": media_type, "filename": filename}
    kept = {key: value for key, value in kept.items() if value is not None}
    if which == "text":
        return TextPart(text=obj.req_text("text", empty_ok=True), metadata=metadata, **kept)
    data = obj.raw("data")
    if not isinstance(data, dict):
        data = {"value": data}
        metadata = {**(metadata or {}), DATA_PART_COMPAT: True}
    return DataPart(data=data, metadata=metadata, **kept)


def parts_to_v1(parts: list[Part]) -> list[dict[str, Any]]:
    """A list of parts, as v1 ``Part``s."""
    return [part_to_v1(part) for part in parts]


# -- messages, artifacts, status, tasks -------------------------------------------------------


def message_to_v1(message: Message) -> dict[str, Any]:
    """A Message as a v1 ``Message`` (no ``kind``; the role as ``ROLE_*``)."""
    out: dict[str, Any] = {
        "messageId": message.message_id,
        "role": _ROLE_TO_V1[message.role],
        "parts": parts_to_v1(message.parts),
    }
    put(out, "contextId", message.context_id)
    put(out, "taskId", message.task_id)
    put(out, "metadata", message.metadata)
    put(out, "extensions", message.extensions)
    put(out, "referenceTaskIds", message.reference_task_ids)
    return out


def message_from_v1(obj: V1Object) -> Message:
    """A v1 ``Message`` as a Message; ``ROLE_UNSPECIFIED`` has no v0.3 counterpart.

    In a request, ``parts`` (REQUIRED) must hold at least one part.
    """
    role = obj.enum("role", ROLES, "Role", required=True)
    if role not in _ROLE_FROM_V1:
        obj.fail("role", f"{role} has no v0.3 counterpart (ROLE_USER or ROLE_AGENT)")
    parts = obj.objs("parts")
    if obj.request and not parts:
        obj.fail("parts", "at least one part is required")
    return Message(
        message_id=obj.req_text("messageId"),
        role=_ROLE_FROM_V1[role],
        parts=[part_from_v1(p) for p in parts],
        context_id=obj.text("contextId"),
        task_id=obj.text("taskId"),
        metadata=obj.struct("metadata"),
        extensions=obj.texts("extensions"),
        reference_task_ids=obj.texts("referenceTaskIds"),
    )


def artifact_to_v1(artifact: Artifact) -> dict[str, Any]:
    """An Artifact as a v1 ``Artifact``."""
    out: dict[str, Any] = {
        "artifactId": artifact.artifact_id,
        "parts": parts_to_v1(artifact.parts),
    }
    put(out, "name", artifact.name)
    put(out, "description", artifact.description)
    put(out, "metadata", artifact.metadata)
    put(out, "extensions", artifact.extensions)
    return out


def artifact_from_v1(obj: V1Object) -> Artifact:
    """A v1 ``Artifact`` as an Artifact."""
    return Artifact(
        artifact_id=obj.req_text("artifactId"),
        parts=[part_from_v1(p) for p in obj.objs("parts")],
        name=obj.text("name"),
        description=obj.text("description"),
        metadata=obj.struct("metadata"),
        extensions=obj.texts("extensions"),
    )


def status_to_v1(status: TaskStatus) -> dict[str, Any]:
    """A TaskStatus as a v1 ``TaskStatus`` (``unknown`` is ``TASK_STATE_UNSPECIFIED``)."""
    out: dict[str, Any] = {"state": STATE_TO_V1[status.state]}
    if status.message is not None:
        out["message"] = message_to_v1(status.message)
    if status.timestamp is not None:
        out["timestamp"] = check_timestamp(status.timestamp, "TaskStatus.timestamp")
    return out


def status_from_v1(obj: V1Object) -> TaskStatus:
    """A v1 ``TaskStatus`` as a TaskStatus."""
    message = obj.obj("message")
    return TaskStatus(
        # An absent enum is its zero value (protobuf JSON writers leave it out): unknown.
        state=STATE_FROM_V1[obj.enum("state", TASK_STATES, "TaskState") or TASK_STATES[0]],
        message=message_from_v1(message) if message else None,
        timestamp=obj.timestamp("timestamp"),
    )


def task_to_v1(task: Task) -> dict[str, Any]:
    """A Task as a v1 ``Task``."""
    out: dict[str, Any] = {
        "id": task.id,
        "contextId": task.context_id,
        "status": status_to_v1(task.status),
    }
    if task.artifacts is not None:
        out["artifacts"] = [artifact_to_v1(a) for a in task.artifacts]
    if task.history is not None:
        out["history"] = [message_to_v1(m) for m in task.history]
    put(out, "metadata", task.metadata)
    return out


def task_from_v1(obj: V1Object) -> Task:
    """A v1 ``Task`` as a Task (an absent ``contextId`` is v1's empty string)."""
    return Task(
        id=obj.req_text("id"),
        context_id=obj.text("contextId") or "",
        status=status_from_v1(obj.req_obj("status")),
        artifacts=[artifact_from_v1(a) for a in obj.objs("artifacts")]
        if obj.has("artifacts")
        else None,
        history=[message_from_v1(m) for m in obj.objs("history")] if obj.has("history") else None,
        metadata=obj.struct("metadata"),
    )


def status_update_to_v1(event: TaskStatusUpdateEvent) -> dict[str, Any]:
    """A TaskStatusUpdateEvent as a v1 one (v1 has no ``final``: the stream just ends)."""
    out: dict[str, Any] = {
        "taskId": event.task_id,
        "contextId": event.context_id,
        "status": status_to_v1(event.status),
    }
    put(out, "metadata", event.metadata)
    return out


def status_update_from_v1(obj: V1Object) -> TaskStatusUpdateEvent:
    """A v1 ``TaskStatusUpdateEvent``; ``final`` is true at a terminal or interrupted state."""
    status = status_from_v1(obj.req_obj("status"))
    return TaskStatusUpdateEvent(
        task_id=obj.req_text("taskId"),
        context_id=obj.req_text("contextId"),
        status=status,
        final=status.state in TURN_ENDING,
        metadata=obj.struct("metadata"),
    )


def artifact_update_to_v1(event: TaskArtifactUpdateEvent) -> dict[str, Any]:
    """A TaskArtifactUpdateEvent as a v1 one."""
    out: dict[str, Any] = {
        "taskId": event.task_id,
        "contextId": event.context_id,
        "artifact": artifact_to_v1(event.artifact),
    }
    put(out, "append", event.append)
    put(out, "lastChunk", event.last_chunk)
    put(out, "metadata", event.metadata)
    return out


def artifact_update_from_v1(obj: V1Object) -> TaskArtifactUpdateEvent:
    """A v1 ``TaskArtifactUpdateEvent``."""
    return TaskArtifactUpdateEvent(
        task_id=obj.req_text("taskId"),
        context_id=obj.req_text("contextId"),
        artifact=artifact_from_v1(obj.req_obj("artifact")),
        append=obj.flag("append"),
        last_chunk=obj.flag("lastChunk"),
        metadata=obj.struct("metadata"),
    )
