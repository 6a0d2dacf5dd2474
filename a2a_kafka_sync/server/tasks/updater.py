"""``TaskUpdater``: how a handler drives one task, and how events become stored task state."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ...errors import A2AError
from ...types import (
    Artifact,
    Message,
    Part,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
    TextPart,
    new_id,
)

__all__ = ["TaskEvent", "TaskUpdater", "apply_event", "is_closing_chunk"]

logger = logging.getLogger(__name__)

TaskEvent = Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent
"""An event that changes a task: the task itself, or one of its update events."""

# States after which a turn is over: the stream of the request that got there ends.
_TURN_ENDING = frozenset(
    {
        TaskState.completed,
        TaskState.canceled,
        TaskState.failed,
        TaskState.rejected,
        TaskState.input_required,
        TaskState.auth_required,
    }
)


def _agent_message(message: str | Message | None, task: Task) -> Message | None:
    if message is None or isinstance(message, Message):
        return message
    return Message.agent_text(message, task_id=task.id, context_id=task.context_id)


def is_closing_chunk(event: TaskArtifactUpdateEvent) -> bool:
    """True for a chunk that only closes its artifact: appended, the last, no content
    (one empty text part, as a generator's stream ends its artifact)."""
    return (
        bool(event.append)
        and bool(event.last_chunk)
        and all(
            isinstance(part, TextPart) and not part.text and not part.metadata
            for part in event.artifact.parts
        )
    )


def apply_event(task: Task, event: TaskEvent) -> Task:
    """The task after ``event``: a new status (its message joins the history) or an artifact.

    An artifact update with ``append`` extends the parts of the artifact with
    the same id (a closing chunk, :func:`is_closing_chunk`, adds no empty part);
    without it, the artifact replaces any artifact with that id.
    """
    if isinstance(event, Task):
        return event.model_copy()
    # A shallow copy with new lists: stored tasks are never changed in place, so the
    # parts they share stay as they were, and a long stream costs no deep copies.
    task = task.model_copy()
    if isinstance(event, TaskStatusUpdateEvent):
        task.status = event.status
        if event.status.message is not None:
            task.history = [*(task.history or []), event.status.message]
        return task
    artifacts = list(task.artifacts or [])
    incoming = event.artifact
    for i, existing in enumerate(artifacts):
        if existing.artifact_id == incoming.artifact_id:
            if event.append and is_closing_chunk(event):
                break
            if event.append:
                merged = existing.model_copy(update={"parts": [*existing.parts, *incoming.parts]})
                artifacts[i] = merged
            else:
                artifacts[i] = incoming
            break
    else:
        artifacts.append(incoming)
    task.artifacts = artifacts
    return task


class TaskUpdater:
    """Drives one task: each change is stored, streamed to the caller, and pushed.

    A handler receives one as ``context.task`` (see :class:`DefaultRequestHandler`).
    The task comes into being on first use. Once it reaches a terminal state
    (completed, canceled, failed, rejected) further updates are ignored (and
    logged), and the status update that ends a turn carries ``final=True``.
    Thread-safe: a cancel from another worker thread and the handler's own
    updates are applied one at a time. ``touched`` says whether the handler used
    the task at all; ``turn_ended`` whether an update of this call ended the turn;
    ``status_updates`` counts the status changes this updater applied (a Task recorded
    counts as one).
    """

    def __init__(
        self,
        *,
        task_id: str | None,
        context_id: str | None,
        load: Callable[[], Task | None],
        publish: Callable[[Task, TaskEvent], None],
        request: Message | None = None,
        refresh: Callable[[], Task | None] | None = None,
        on_ended_elsewhere: Callable[[], None] | None = None,
    ) -> None:
        self._task_id = task_id
        self._context_id = context_id
        self._load = load
        self._publish = publish
        self._request = request
        self._refresh = refresh
        self._on_ended_elsewhere = on_ended_elsewhere
        self._lock = threading.RLock()
        self._task: Task | None = None
        self.touched = False
        self.turn_ended = False
        self.status_updates = 0

    @property
    def task_id(self) -> str:
        """The task's id (a new one is drawn on first use, so unused tasks cost nothing)."""
        if self._task_id is None:
            self._task_id = new_id()
        return self._task_id

    @task_id.setter
    def task_id(self, value: str) -> None:
        self._task_id = value

    @property
    def request(self) -> Message | None:
        """The message of the request this turn answers (None when made without one)."""
        return self._request

    @property
    def context_id(self) -> str:
        """The task's context id (drawn on first use when the message has none)."""
        if self._context_id is None:
            self._context_id = new_id()
        return self._context_id

    @context_id.setter
    def context_id(self, value: str) -> None:
        self._context_id = value

    @property
    def task(self) -> Task:
        """The task as it is now (created as ``submitted`` on first use)."""
        with self._lock:
            return self._current().model_copy(deep=True)

    def _current(self) -> Task:
        if self._task is None:
            self._task = self._load()
        if self._task is None:
            history = [self._request] if self._request is not None else None
            self._task = Task(
                id=self.task_id,
                context_id=self.context_id,
                status=TaskStatus.now(TaskState.submitted),
                history=history,
            )
            self.touched = True
            self._publish(self._task, self._task)
        return self._task

    @property
    def state(self) -> TaskState:
        """The task's current state."""
        return self.task.status.state

    @property
    def is_terminal(self) -> bool:
        """True once the task is completed, canceled, failed or rejected."""
        return self.state.is_terminal

    def _apply(self, event: TaskEvent) -> bool:
        with self._lock:
            task = self._current()
            self.touched = True
            if self._refresh is not None and not task.status.state.is_terminal:
                stored = self._refresh()
                if stored is not None and stored.status.state.is_terminal:
                    # Ended by another instance (a task_cancel it received): adopt that,
                    # and tell this request's stream how the task ended.
                    self._task = task = stored
                    self.turn_ended = True
                    ended = TaskStatusUpdateEvent(
                        task_id=task.id, context_id=task.context_id, status=task.status, final=True
                    )
                    self._publish(task, ended)
                    if self._on_ended_elsewhere is not None:
                        self._on_ended_elsewhere()
            if task.status.state.is_terminal:
                logger.info(
                    "task %s is %s: ignored a later %s",
                    task.id,
                    task.status.state.value,
                    type(event).__name__,
                )
                return False
            self._task = apply_event(task, event)
            if isinstance(event, TaskStatusUpdateEvent):
                self.status_updates += 1
                if event.final:
                    self.turn_ended = True
            self._publish(self._task, event)
            return True

    def update_status(
        self,
        state: TaskState | str,
        message: str | Message | None = None,
        *,
        final: bool | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Move the task to ``state``, with an optional agent message; False when ignored.

        ``final`` defaults to True for states that end the turn (terminal ones,
        input-required, auth-required).
        """
        state = TaskState(state)
        with self._lock:
            task = self._current()
            event = TaskStatusUpdateEvent(
                task_id=task.id,
                context_id=task.context_id,
                status=TaskStatus.now(state, message=_agent_message(message, task)),
                final=state in _TURN_ENDING if final is None else final,
                metadata=metadata,
            )
            return self._apply(event)

    def start_work(self, message: str | Message | None = None) -> bool:
        """The task is being worked on (``working``)."""
        return self.update_status(TaskState.working, message, final=False)

    def complete(self, message: str | Message | None = None) -> bool:
        """The task is done (``completed``, final)."""
        return self.update_status(TaskState.completed, message)

    def fail(self, message: str | Message | None = None) -> bool:
        """The task failed (``failed``, final)."""
        return self.update_status(TaskState.failed, message)

    def fail_for(self, error: BaseException) -> bool:
        """The handler raised ``error``: the task, if it exists and its turn is open, fails
        (final); False otherwise. The status message is what the caller is told anyway: an
        A2AError's message, or, for any other exception, only its class (its message may
        hold secrets)."""
        if not self.touched or self.turn_ended:
            return False
        if isinstance(error, A2AError):
            return self.fail(error.message)
        return self.fail(f"internal error ({type(error).__name__})")

    def reject(self, message: str | Message | None = None) -> bool:
        """The agent refuses the task (``rejected``, final)."""
        return self.update_status(TaskState.rejected, message)

    def cancel(self, message: str | Message | None = None) -> bool:
        """The task is canceled (``canceled``, final)."""
        return self.update_status(TaskState.canceled, message)

    def requires_input(self, message: str | Message | None = None) -> bool:
        """The agent waits for the caller's next message (``input-required``, ends the turn)."""
        return self.update_status(TaskState.input_required, message)

    def requires_auth(self, message: str | Message | None = None) -> bool:
        """The agent waits for credentials (``auth-required``, ends the turn)."""
        return self.update_status(TaskState.auth_required, message)

    def add_artifact(
        self,
        parts: str | list[Part],
        *,
        artifact_id: str | None = None,
        name: str | None = None,
        append: bool = False,
        last_chunk: bool | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Add an artifact (text or parts), or with ``append`` add parts to one with that id."""
        if isinstance(parts, str):
            parts = [TextPart(text=parts)]
        with self._lock:
            task = self._current()
            artifact = Artifact(
                artifact_id=artifact_id or new_id(), name=name, parts=parts, metadata=metadata
            )
            event = TaskArtifactUpdateEvent(
                task_id=task.id,
                context_id=task.context_id,
                artifact=artifact,
                append=append or None,
                last_chunk=last_chunk,
            )
            return self._apply(event)

    def record(self, event: TaskEvent) -> bool:
        """Apply an event the handler built itself (yielded or returned); False when ignored."""
        if isinstance(event, Task):
            with self._lock:
                self.touched = True
                self.task_id, self.context_id = event.id, event.context_id
                self._task = event.model_copy()
                self.status_updates += 1
                self._publish(self._task, event)
                return True
        with self._lock:
            if not self.touched and self._task is None and event.task_id != self.task_id:
                # The handler names its own task: adopt its ids.
                self.task_id, self.context_id = event.task_id, event.context_id
        return self._apply(event)
