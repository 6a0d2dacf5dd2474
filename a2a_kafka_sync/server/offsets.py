"""Which request offsets may be committed: only those whose replies are acknowledged."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from kafka import TopicPartition

__all__ = ["OffsetTracker"]


class OffsetTracker:
    """Offsets taken from Kafka and not yet finished, per partition.

    The consumer thread records each record it hands to a worker
    (:meth:`taken`); a worker finishes it once its last reply is acknowledged
    (:meth:`finished`). A partition's commit point is its lowest unfinished
    offset, or one past the last offset taken when none is unfinished, so a
    crash never skips a request whose reply was not sent. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._unfinished: dict[TopicPartition, set[int]] = {}
        self._next: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    def taken(self, partition: TopicPartition, offset: int) -> None:
        """A record was handed to a worker."""
        with self._lock:
            self._unfinished.setdefault(partition, set()).add(offset)
            self._next[partition] = max(self._next.get(partition, 0), offset + 1)

    def finished(self, partition: TopicPartition, offset: int) -> None:
        """A record is done (its replies acknowledged, or it was answered as unanswerable)."""
        with self._lock:
            pending = self._unfinished.get(partition)
            if pending is not None:
                pending.discard(offset)

    @property
    def in_flight(self) -> int:
        """How many records are taken and not finished."""
        with self._lock:
            return sum(len(offsets) for offsets in self._unfinished.values())

    def to_commit(self, *, changed_only: bool = True) -> dict[TopicPartition, int]:
        """The commit points (next offset to read, per partition); by default only those that
        moved since the last call."""
        points = {}
        with self._lock:
            for partition, next_offset in self._next.items():
                pending = self._unfinished.get(partition)
                point = min(pending) if pending else next_offset
                if not changed_only or self._committed.get(partition) != point:
                    points[partition] = point
                    self._committed[partition] = point
        return points

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop partitions this consumer no longer owns (after a rebalance took them away)."""
        with self._lock:
            for partition in partitions:
                self._unfinished.pop(partition, None)
                self._next.pop(partition, None)
                self._committed.pop(partition, None)
