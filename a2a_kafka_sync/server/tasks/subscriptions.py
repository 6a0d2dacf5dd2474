"""Live events of the tasks this server runs, for callers that resubscribe to them."""

from __future__ import annotations

import queue
import threading
from typing import Any

__all__ = ["CLOSED", "RUN_ENDED", "TaskSubscriptions"]

CLOSED = object()
"""Put on every subscriber's queue when the server stops."""

RUN_ENDED = object()
"""Published when a handler returned without ending its task's turn: nothing more will come."""


class TaskSubscriptions:
    """A queue per subscriber, per task id; every published event reaches each queue."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[queue.SimpleQueue[Any]]] = {}
        self._closed = False

    def subscribe(self, task_id: str) -> queue.SimpleQueue[Any]:
        """A new queue that receives the task's events from now on."""
        subscriber: queue.SimpleQueue[Any] = queue.SimpleQueue()
        with self._lock:
            if self._closed:
                subscriber.put(CLOSED)
            else:
                self._subscribers.setdefault(task_id, []).append(subscriber)
        return subscriber

    def unsubscribe(self, task_id: str, subscriber: queue.SimpleQueue[Any]) -> None:
        """Stop delivering to ``subscriber``."""
        with self._lock:
            subscribers = self._subscribers.get(task_id, [])
            if subscriber in subscribers:
                subscribers.remove(subscriber)
            if not subscribers:
                self._subscribers.pop(task_id, None)

    def publish(self, task_id: str, event: Any) -> None:
        """Hand ``event`` to every subscriber of the task."""
        with self._lock:
            subscribers = list(self._subscribers.get(task_id, ()))
        for subscriber in subscribers:
            subscriber.put(event)

    def close(self) -> None:
        """Wake every subscriber with CLOSED and refuse new ones."""
        with self._lock:
            self._closed = True
            everyone = [s for subs in self._subscribers.values() for s in subs]
            self._subscribers.clear()
        for subscriber in everyone:
            subscriber.put(CLOSED)
