"""Tasks, their status and artifacts, and the events that report on them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from ._base import A2ABaseModel, WireEnum, new_id, utc_now_iso
from .messages import Message
from .parts import Part, TextPart


class TaskState(WireEnum):
    """The lifecycle state of a task, as its wire string."""

    submitted = "submitted"
    working = "working"
    input_required = "input-required"
    completed = "completed"
    canceled = "canceled"
    failed = "failed"
    rejected = "rejected"
    auth_required = "auth-required"
    unknown = "unknown"

    @property
    def is_terminal(self) -> bool:
        """True for states a task never leaves (completed, canceled, failed, rejected)."""
        return self in TERMINAL_TASK_STATES


TERMINAL_TASK_STATES: frozenset[TaskState] = frozenset(
    {TaskState.completed, TaskState.canceled, TaskState.failed, TaskState.rejected}
)
"""The states after which a task changes no more."""


class TaskStatus(A2ABaseModel):
    """A task's state at a point in time, with an optional explanatory message."""

    state: TaskState
    message: Message | None = None
    timestamp: str | None = None
    """ISO 8601 time the status was recorded, e.g. ``2023-10-27T10:00:00Z``."""

    @classmethod
    def now(cls, state: TaskState | str, message: Message | None = None) -> TaskStatus:
        """Build a status stamped with the current UTC time."""
        return cls(state=TaskState(state), message=message, timestamp=utc_now_iso())


class Artifact(A2ABaseModel):
    """An output of a task (a document, data, ...) made of parts.

    ``artifact_id`` defaults to a fresh random id.
    """

    artifact_id: str = Field(default_factory=new_id)
    parts: list[Part]
    name: str | None = None
    description: str | None = None
    extensions: list[str] | None = None
    metadata: dict[str, Any] | None = None

    @classmethod
    def from_text(cls, text: str, **fields: Any) -> Artifact:
        """Build an artifact with one text part; ``fields`` set other attributes."""
        return cls(parts=[TextPart(text=text)], **fields)

    @property
    def text(self) -> str:
        """The text of all text parts, joined with newlines ("" if there are none)."""
        return "\n".join(part.text for part in self.parts if isinstance(part, TextPart))


class Task(A2ABaseModel):
    """A stateful unit of work: its ids, current status, artifacts and history."""

    kind: Literal["task"] = "task"
    id: str
    context_id: str
    status: TaskStatus
    artifacts: list[Artifact] | None = None
    history: list[Message] | None = None
    metadata: dict[str, Any] | None = None


class TaskStatusUpdateEvent(A2ABaseModel):
    """A streamed event saying a task's status changed; ``final`` ends the stream."""

    kind: Literal["status-update"] = "status-update"
    task_id: str
    context_id: str
    status: TaskStatus
    final: bool = False
    metadata: dict[str, Any] | None = None


class TaskArtifactUpdateEvent(A2ABaseModel):
    """A streamed event carrying a new artifact, or a chunk to ``append`` to one."""

    kind: Literal["artifact-update"] = "artifact-update"
    task_id: str
    context_id: str
    artifact: Artifact
    append: bool | None = None
    last_chunk: bool | None = None
    metadata: dict[str, Any] | None = None


class TaskPage(A2ABaseModel):
    """One page of ``task_list`` (an extension; A2A v1.0's ``ListTasksResponse``).

    ``next_page_token`` is empty on the last page; ``page_size`` is the page size used
    and ``total_size`` the number of tasks matching before paging. A v0.3 reply
    carries only ``tasks``.
    """

    tasks: list[Task]
    next_page_token: str = ""
    page_size: int
    total_size: int


SendMessageResult = Annotated[Task | Message, Field(discriminator="kind")]
"""The result of ``message/send``: a task, or a direct reply message."""

StreamEvent = Annotated[
    Message | Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent,
    Field(discriminator="kind"),
]
"""One event of ``message/stream`` or ``tasks/resubscribe``, chosen by ``kind``."""

SEND_MESSAGE_RESULT_ADAPTER: TypeAdapter[SendMessageResult] = TypeAdapter(SendMessageResult)
"""Validates a :data:`SendMessageResult` from a dict or JSON."""

STREAM_EVENT_ADAPTER: TypeAdapter[StreamEvent] = TypeAdapter(StreamEvent)
"""Validates a :data:`StreamEvent` from a dict or JSON."""
