"""The task-event log: every event of a task, numbered 1, 2, 3 ..., kept so a stream can resume.

The default handler appends each task event here before it reaches anyone; the number
it gets is the ``sequence`` header of the stream record that carries it. A caller whose
stream broke resubscribes "after sequence N" and gets the kept events after N, then the
live ones. :class:`InMemoryTaskEventLog` (the default) serves that while one server
process runs; :class:`~a2a_kafka_sync.server.tasks.KafkaTaskEventLog` keeps the events
on a topic, so any instance of the agent can replay them.

Memory is bounded: at most ``max_events_per_task`` events of a task are kept (the
oldest go first) and the events of at most ``max_tasks`` tasks (the task whose last
event is the oldest goes first). Only the last sequence number of every task seen is
kept for ever (one int per task), so numbering never restarts.
"""

from __future__ import annotations

import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ...errors import InvalidParamsError
from ...types import TaskStatusUpdateEvent
from .updater import TaskEvent

__all__ = [
    "DEFAULT_MAX_EVENTS_PER_TASK",
    "DEFAULT_MAX_TASKS",
    "InMemoryTaskEventLog",
    "LoggedEvent",
    "TaskEventLog",
    "TaskEventSubscription",
    "ends_turn",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_EVENTS_PER_TASK = 1000
DEFAULT_MAX_TASKS = 10_000

CLOSED = object()
"""Queued to every subscription when the server stops."""

RUN_ENDED = object()
"""Queued when a handler returned with its task's turn still open: nothing more will come."""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One event of a task with its sequence number (1 for the task's first event)."""

    task_id: str
    sequence: int
    event: TaskEvent


def ends_turn(event: Any) -> bool:
    """True for the event that ends a turn: a status update with ``final=True``."""
    return isinstance(event, TaskStatusUpdateEvent) and bool(event.final)


class TaskEventSubscription:
    """What a resubscriber reads: the kept events after its sequence, then the live ones.

    ``replayed`` holds the kept events after the asked-for sequence, in order; live
    events (later than ``last``, the task's last sequence when it subscribed) arrive
    through :meth:`next`, and so do :data:`RUN_ENDED` and :data:`CLOSED`. ``settled``
    says whether the task's turn was over when it subscribed. Close it (or use
    ``with``) to stop receiving.
    """

    def __init__(self, log: _EventView, task_id: str, last: int, settled: bool) -> None:
        self._log = log
        self.task_id = task_id
        self.last = last
        self.settled = settled
        self.replayed: list[LoggedEvent] = []
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def put(self, item: Any) -> None:
        """Hand a live event (or a marker) to the subscriber."""
        self._queue.put(item)

    def next(self, timeout: float) -> Any:
        """The next live event or marker, or None when none came within ``timeout`` s."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop receiving live events."""
        self._log.unsubscribe(self)

    def __enter__(self) -> TaskEventSubscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _EventView:
    """The kept events, last sequences and subscribers of every task; thread-safe.

    Both logs keep their view in one of these: the in-memory log fills it as events
    are appended, the Kafka log from its own writes and from its reader thread.
    """

    def __init__(self, max_events_per_task: int, max_tasks: int) -> None:
        for name, value in (("max_events_per_task", max_events_per_task), ("max_tasks", max_tasks)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if max_events_per_task < 1 or max_tasks < 1:
            raise ValueError("max_events_per_task and max_tasks must be at least 1")
        self.lock = threading.Lock()
        self._max_events = max_events_per_task
        self._max_tasks = max_tasks
        self._events: OrderedDict[str, deque[LoggedEvent]] = OrderedDict()
        self._last: dict[str, int] = {}
        self._settled: dict[str, bool] = {}
        self._subscribers: dict[str, list[TaskEventSubscription]] = {}
        self._closed = False

    def last(self, task_id: str) -> int:
        """The task's last sequence number (0 when it has none)."""
        with self.lock:
            return self._last.get(task_id, 0)

    def add(self, logged: LoggedEvent) -> bool:
        """Keep ``logged`` and hand it to the task's subscribers; False when it is not new."""
        task_id, sequence = logged.task_id, logged.sequence
        with self.lock:
            last = self._last.get(task_id, 0)
            if sequence <= last:
                return False
            kept = self._events.get(task_id)
            if sequence > last + 1 and kept:
                logger.warning(
                    "task %s: events %d..%d were never seen here; the kept events restart at %d",
                    task_id,
                    last + 1,
                    sequence - 1,
                    sequence,
                )
                kept.clear()  # the kept events are contiguous, or a replay would have a hole
            if kept is None:
                kept = self._events[task_id] = deque(maxlen=self._max_events)
            kept.append(logged)
            self._events.move_to_end(task_id)
            while len(self._events) > self._max_tasks:
                self._events.popitem(last=False)
            self._last[task_id] = sequence
            self._settled[task_id] = ends_turn(logged.event)
            subscribers = list(self._subscribers.get(task_id, ()))
        for subscriber in subscribers:
            subscriber.put(logged)
        return True

    def run_ended(self, task_id: str, sequence: int) -> None:
        """The run that wrote up to ``sequence`` returned with the turn open: wake subscribers."""
        with self.lock:
            if self._last.get(task_id, 0) != sequence or self._settled.get(task_id, True):
                return  # a later event came, or the turn was over anyway
            self._settled[task_id] = True
            subscribers = list(self._subscribers.get(task_id, ()))
        for subscriber in subscribers:
            subscriber.put(RUN_ENDED)

    def subscribe(self, task_id: str, after: int | None) -> TaskEventSubscription:
        """Subscribe to the task's live events, with the kept events after ``after`` replayed.

        Raises InvalidParamsError when the events after ``after`` are not all kept.
        """
        with self.lock:
            last = self._last.get(task_id, 0)
            subscription = TaskEventSubscription(
                self, task_id, last, self._settled.get(task_id, False)
            )
            if after is not None:
                kept = list(self._events.get(task_id, ()))
                first = kept[0].sequence if kept else last + 1
                if after > last or after < first - 1 or last == 0:
                    raise _not_kept(task_id, after, first if kept else None, last)
                subscription.replayed = [e for e in kept if e.sequence > after]
            if self._closed:
                subscription.put(CLOSED)
            else:
                self._subscribers.setdefault(task_id, []).append(subscription)
        return subscription

    def unsubscribe(self, subscription: TaskEventSubscription) -> None:
        """Stop delivering to ``subscription``."""
        with self.lock:
            subscribers = self._subscribers.get(subscription.task_id, [])
            if subscription in subscribers:
                subscribers.remove(subscription)
            if not subscribers:
                self._subscribers.pop(subscription.task_id, None)

    def close_subscriptions(self) -> None:
        """Wake every subscriber with CLOSED and refuse new ones."""
        with self.lock:
            self._closed = True
            everyone = [s for subs in self._subscribers.values() for s in subs]
            self._subscribers.clear()
        for subscriber in everyone:
            subscriber.put(CLOSED)


def _not_kept(task_id: str, after: int, first: int | None, last: int) -> InvalidParamsError:
    if last == 0:
        why = "this server keeps no events of it"
    elif after > last:
        why = f"its last event is {last}"
    else:
        why = f"the oldest event kept is {first}"
    return InvalidParamsError(
        f"task {task_id}: the events after sequence {after} are not available ({why}); "
        "resubscribe without after_sequence for the task as it is now",
        data={"taskId": task_id, "afterSequence": after, "firstKept": first, "lastSequence": last},
    )


class TaskEventLog(ABC):
    """Where the events of tasks are numbered and kept for resuming streams.

    Thread-safe. :meth:`append` gives an event the task's next sequence number and
    keeps it before returning; :meth:`subscribe` replays kept events and follows
    live ones. The owning handler calls :meth:`start` when its server starts,
    :meth:`close_subscriptions` when it stops taking requests, :meth:`close` last.
    """

    def __init__(self, max_events_per_task: int, max_tasks: int) -> None:
        self._view = _EventView(max_events_per_task, max_tasks)

    def start(self) -> None:  # noqa: B027 - optional hook
        """Connect or load (called by the owning server's start)."""

    def close(self) -> None:
        """Release connections and threads; wakes subscribers (called by the server's stop)."""
        self._view.close_subscriptions()

    @abstractmethod
    def append(self, task_id: str, event: TaskEvent) -> int:
        """Number ``event`` (the task's last sequence + 1), keep it, return its sequence."""

    @abstractmethod
    def end_run(self, task_id: str) -> None:
        """The handler of the task returned with its turn open: resubscribers stop waiting."""

    def last_sequence(self, task_id: str) -> int:
        """The task's last sequence number as known here (0 when none)."""
        return self._view.last(task_id)

    def subscribe(self, task_id: str, after: int | None = None) -> TaskEventSubscription:
        """Follow the task's live events; with ``after``, the kept events after it first.

        Raises InvalidParamsError (-32602) when the events after ``after`` are not
        all kept any more (or were never seen here).
        """
        return self._view.subscribe(task_id, after)

    def close_subscriptions(self) -> None:
        """Wake every subscriber with CLOSED (the server is stopping) and refuse new ones."""
        self._view.close_subscriptions()


class InMemoryTaskEventLog(TaskEventLog):
    """Task events in memory: resuming works while this server process runs. The default.

    Args:
        max_events_per_task: events kept per task, the latest (default 1000).
        max_tasks: tasks whose events are kept, those with the latest events (default 10000).
    """

    def __init__(
        self,
        max_events_per_task: int = DEFAULT_MAX_EVENTS_PER_TASK,
        max_tasks: int = DEFAULT_MAX_TASKS,
    ) -> None:
        super().__init__(max_events_per_task, max_tasks)
        self._append_lock = threading.Lock()

    def append(self, task_id: str, event: TaskEvent) -> int:
        """Number and keep ``event``; subscribers get it at once."""
        with self._append_lock:
            sequence = self._view.last(task_id) + 1
            self._view.add(LoggedEvent(task_id, sequence, event))
        return sequence

    def end_run(self, task_id: str) -> None:
        """Wake the task's subscribers with RUN_ENDED (unless its turn is over)."""
        self._view.run_ended(task_id, self._view.last(task_id))
