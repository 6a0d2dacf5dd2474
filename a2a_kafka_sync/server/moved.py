"""Requests whose partition a rebalance moved away: stopped here, their output dropped.

At least once means that a request whose partition moves to another server while it
runs here is run again there (its offset was not committed). Both runs would answer
one caller: a stream would carry the events of two runs at once, a task would be
written by both, and a Kafka task-event log would number one task's events twice.

So when the consumer learns that a partition is no longer its own (the assignment
after a rebalance leaves it out), every request from that partition still running here
is *moved*: its context's ``moved`` and ``cancelled`` events are set (a cooperative
handler stops; the default handler writes nothing more for it), and everything it would
still send is dropped: its events, its answer, its error and its stream's end. The new
owner's run is the one the caller sees, numbered on from the events this run sent.

A partition that comes back in the same rebalance (kafka-python revokes all of them
first) did not move: its requests run on, and their redeliveries wait for them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection

from .context import RequestContext
from .watchdog import ActiveCall

__all__ = ["RequestMoved", "RunningRequests", "stop_moved"]

logger = logging.getLogger(__name__)


class RequestMoved(Exception):
    """Raised inside a moved request's handler (by the default handler, at its next write):
    nothing more of it is kept; the dispatcher ends it without an answer."""


class RunningRequests:
    """The requests being handled, by the partition they came from; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_partition: dict[int, dict[int, tuple[ActiveCall, RequestContext]]] = {}

    def enter(self, partition: int, call: ActiveCall, context: RequestContext) -> None:
        """``call`` (with its ``context``) runs a request from ``partition``."""
        with self._lock:
            self._by_partition.setdefault(partition, {})[id(call)] = (call, context)

    def leave(self, partition: int, call: ActiveCall) -> None:
        """``call`` ended."""
        with self._lock:
            running = self._by_partition.get(partition)
            if running is not None:
                running.pop(id(call), None)
                if not running:
                    del self._by_partition[partition]

    def move_away(self, partitions: Collection[int]) -> int:
        """Stop the requests of ``partitions`` (no longer this server's); how many ran."""
        with self._lock:
            moved = [
                entry
                for partition in partitions
                for entry in self._by_partition.pop(partition, {}).values()
            ]
        for call, context in moved:
            stop_moved(call, context)
        if moved:
            logger.warning(
                "partitions %s moved to another server: %d running request(s) from them "
                "stopped here (the new owner runs them again)",
                sorted(partitions),
                len(moved),
            )
        return len(moved)


def stop_moved(call: ActiveCall, context: RequestContext) -> None:
    """Mark one request moved: what it sends from now on is dropped, its handler is told."""
    with call.lock:
        call.moved = True
    context.moved.set()
    context.cancelled.set()
