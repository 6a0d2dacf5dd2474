"""A resubscription, served from the task-event log: the task or the events after N, then live.

Every record it sends carries the ``sequence`` header: an event its own number, the
task snapshot the sequence of the last event it reflects. With ``after_sequence=N``
(the request header) the caller gets exactly the events after N, each once, in order
(no snapshot: the caller already holds the task up to N), then the live ones until
the turn ends. Without it, the task as it is now, then the live events, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import InternalError
from ..types import Task, TaskState
from .context import RequestContext
from .tasks.event_log import CLOSED, RUN_ENDED, LoggedEvent, TaskEventLog, ends_turn

__all__ = ["NO_PROGRESS", "SERVER_STOPPING", "follow_task"]

SERVER_STOPPING = "server_stopping"
"""``data.reason`` of the InternalError that ends a resubscription when its server stops:
the caller may resubscribe (elsewhere) after the last sequence it saw."""

NO_PROGRESS = "no_progress"
"""``data.reason`` of the InternalError that ends a resubscription whose task sent no event
for ``idle_timeout`` seconds (its worker may be gone): it holds no worker thread for ever;
the caller may resubscribe after the last sequence it saw."""

_TURN_OVER = frozenset({TaskState.input_required, TaskState.auth_required})
_WAIT_SLICE = 1.0


def follow_task(
    log: TaskEventLog,
    get_task: Callable[[str], Task],
    task_id: str,
    context: RequestContext,
    idle_timeout: float | None = None,
) -> Iterator[Any]:
    """Send the task's events through ``context.emit``; ends when the task's turn does.

    ``get_task`` returns the stored task or raises TaskNotFoundError. A generator
    that yields nothing itself: each record is emitted with its sequence number.
    With ``idle_timeout``, a task that sends no event for that long ends the
    follow with InternalError (``data.reason`` :data:`NO_PROGRESS`), so a task
    whose worker died never holds this worker thread (and its request's offset).
    """
    get_task(task_id)  # an unknown task: TaskNotFoundError, before anything is sent
    emit = context.emit
    if emit is None:
        raise InternalError("a resubscription needs a stream to send its events on")
    after = context.after_sequence
    with log.subscribe(task_id, after) as events:
        if after is None:
            task = get_task(task_id)  # read after subscribing: no event falls between
            emit(task, events.last or None)
            if events.settled or task.status.state.is_terminal or task.status.state in _TURN_OVER:
                return
        else:
            for logged in events.replayed:
                emit(logged.event, logged.sequence)
            if events.settled:
                return
        last = events.last
        quiet_since = time.monotonic()
        while not context.cancelled.is_set():
            item = events.next(_WAIT_SLICE)
            if item is None:
                if idle_timeout is not None and time.monotonic() - quiet_since >= idle_timeout:
                    raise InternalError(
                        f"task {task_id} sent no event for {idle_timeout:g}s (its worker may "
                        "be gone); resubscribe to keep following it",
                        data={"reason": NO_PROGRESS, "taskId": task_id, "lastSequence": last},
                    )
                continue  # wait on: the server's stop (CLOSED) wakes us
            if item is RUN_ENDED:
                if after is None:
                    emit(get_task(task_id), last or None)  # as the agent left it
                return
            if item is CLOSED:
                raise InternalError(
                    "the server is stopping; resubscribe to follow the task elsewhere",
                    data={"reason": SERVER_STOPPING, "taskId": task_id, "lastSequence": last},
                )
            assert isinstance(item, LoggedEvent)
            if item.sequence <= last:
                continue  # replayed already
            last = item.sequence
            quiet_since = time.monotonic()
            emit(item.event, item.sequence)
            if ends_turn(item.event):
                return
    yield from ()
