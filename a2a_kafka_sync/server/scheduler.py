"""``RequestScheduler``: hands request records to worker threads, never more than are free.

The consumer thread submits each record; a free worker thread takes it at once, otherwise it
waits in the scheduler's own queue (not the executor's), which a worker drains when it is
done. Owning the queue is what lets the server keep its promise with ``handler_timeout``:
a handler that overruns is answered and abandoned, but Python cannot stop its thread. When
every spare thread is held by such handlers (:meth:`Dispatcher.overloaded`), a record is
refused at once with -32603 instead of waiting (when it is submitted, when a worker takes
it, and, for those already waiting, as soon as the watchdog abandons another handler), so
no caller waits in silence behind threads that may never come back.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from ..errors import A2AError

__all__ = ["RequestScheduler"]

logger = logging.getLogger("a2a_kafka_sync.server.app")

_Item = tuple[Any, Any, int]  # partition, record, ticket


class RequestScheduler:
    """Runs ``work(partition, record, ticket, refusal)`` on at most ``threads`` workers.

    Args:
        executor: the worker threads (at least ``threads`` of them).
        threads: how many records may run at once.
        work: processes one record; ``refusal`` (an A2AError, or None) answers it with
            that error instead of running it.
        refusal: the error to refuse new work with now (the agent is overloaded), or None.
    """

    def __init__(
        self,
        executor: Executor,
        threads: int,
        work: Callable[[Any, Any, int, A2AError | None], None],
        refusal: Callable[[], A2AError | None],
    ) -> None:
        self._executor = executor
        self._free = threads
        self._work = work
        self._refusal = refusal
        self._lock = threading.Lock()
        self._waiting: deque[_Item] = deque()
        self._closed = False

    @property
    def waiting(self) -> int:
        """Records waiting for a free worker."""
        with self._lock:
            return len(self._waiting)

    def submit(self, partition: Any, record: Any, ticket: int) -> None:
        """Run a record on a free worker, or queue it; refuse it here when overloaded."""
        refused = self._refusal()
        if refused is not None:
            self._work(partition, record, ticket, refused)
            return
        item = (partition, record, ticket)
        with self._lock:
            if self._closed:
                return  # stopping: it stays uncommitted and is read again elsewhere
            if self._free <= 0:
                self._waiting.append(item)
                return
            self._free -= 1
        self._executor.submit(self._run, item)

    def refuse_waiting(self) -> None:
        """When overloaded, answer every waiting record with the refusal (any thread)."""
        refused = self._refusal()
        if refused is None:
            return
        with self._lock:
            items, self._waiting = list(self._waiting), deque()
        for partition, record, ticket in items:
            self._work(partition, record, ticket, refused)

    def close(self) -> int:
        """Take no more records and drop the waiting ones (left uncommitted); returns how
        many were dropped."""
        with self._lock:
            self._closed = True
            dropped, self._waiting = len(self._waiting), deque()
        return dropped

    def _run(self, item: _Item | None) -> None:
        while item is not None:
            partition, record, ticket = item
            try:
                self._work(partition, record, ticket, self._refusal())
            except Exception:  # Settler.work answers everything; this keeps the worker
                logger.exception("processing the request at offset %s failed", record.offset)
            with self._lock:
                item = self._waiting.popleft() if self._waiting and not self._closed else None
                if item is None:
                    self._free += 1
