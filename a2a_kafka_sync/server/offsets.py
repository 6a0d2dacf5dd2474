"""Which request offsets may be committed: only those whose replies are settled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from kafka import TopicPartition

__all__ = ["CommitHold", "OffsetTracker"]


@dataclass(frozen=True)
class CommitHold:
    """A partition's commit point held by one unfinished request while later ones are done:
    ``behind`` finished requests would be read again after a crash."""

    partition: TopicPartition
    offset: int
    seconds: float
    behind: int


class OffsetTracker:
    """Offsets taken from Kafka and not yet finished, per partition.

    The consumer thread records each record it hands to a worker
    (:meth:`taken`, which returns a ticket); the worker finishes it with that
    ticket once every reply it produced is settled (:meth:`finished`). A
    partition's commit point is its lowest unfinished offset, or one past the
    last offset taken when none is unfinished, so a crash never skips a request
    whose replies were not sent; a record whose replies failed is read again
    (:meth:`rewind`). A ticket from before a partition was taken away
    (:meth:`forget`) finishes nothing. Thread-safe.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._since: dict[tuple[TopicPartition, int], float] = {}  # when each was taken
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # notified whenever records finish
        self._unfinished: dict[TopicPartition, set[int]] = {}
        self._next: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._epoch: dict[TopicPartition, int] = {}
        self._rewind: dict[TopicPartition, int] = {}
        self._rewound: dict[tuple[TopicPartition, int], int] = {}
        # Rewound records waiting to be read again: unfinished (the commit point stays below
        # them) but not in flight, since no worker holds them. Counted in flight, they would
        # fill max_in_flight after a broker restart failed enough replies at once, the
        # consumer would pause, and being paused it would never read them again: a wedge.
        self._waiting: set[tuple[TopicPartition, int]] = set()

    def taken(self, partition: TopicPartition, offset: int) -> int:
        """A record was handed to a worker; returns the ticket to finish it with."""
        with self._lock:
            self._unfinished.setdefault(partition, set()).add(offset)
            self._since.setdefault((partition, offset), self._clock())
            self._waiting.discard((partition, offset))
            self._next[partition] = max(self._next.get(partition, 0), offset + 1)
            return self._epoch.get(partition, 0)

    def finished(self, partition: TopicPartition, offset: int, ticket: int) -> None:
        """A record is done (its replies settled, or it could not be answered)."""
        with self._lock:
            if self._epoch.get(partition, 0) != ticket:
                return  # taken before a rebalance moved the partition: not ours to finish
            pending = self._unfinished.get(partition)
            if pending is not None:
                pending.discard(offset)
            self._since.pop((partition, offset), None)
            self._rewound.pop((partition, offset), None)
            self._waiting.discard((partition, offset))
            self._room.notify_all()

    def wait_for_room(self, limit: int, timeout: float) -> bool:
        """Block until fewer than ``limit`` records are in flight; False after ``timeout`` s."""
        with self._room:
            return self._room.wait_for(lambda: self._count() < limit, timeout)

    def rewind(
        self, partition: TopicPartition, offset: int, ticket: int, limit: int | None = None
    ) -> int:
        """A record's replies were not delivered: leave it unfinished and read it again,
        unless it was rewound more than ``limit`` times already (then the caller gives up
        on it and finishes it: it must not be read again).

        Returns how many times this record was rewound so far, this time included (0 for a
        stale ticket).
        """
        with self._lock:
            if self._epoch.get(partition, 0) != ticket:
                return 0
            key = (partition, offset)
            count = self._rewound.get(key, 0) + 1
            self._rewound[key] = count
            if limit is None or count <= limit:
                self._rewind[partition] = min(self._rewind.get(partition, offset), offset)
                self._waiting.add(key)
                self._room.notify_all()  # a slot is free until it is read again
            return count

    def rewinds(self) -> list[tuple[TopicPartition, int]]:
        """The (partition, offset) pairs to seek back to, once each (consumer thread)."""
        with self._lock:
            pending, self._rewind = list(self._rewind.items()), {}
        return pending

    def is_current(self, partition: TopicPartition, ticket: int) -> bool:
        """False for a ticket from before the partition was taken away."""
        with self._lock:
            return self._epoch.get(partition, 0) == ticket

    @property
    def in_flight(self) -> int:
        """How many records are taken and not finished, leaving out the rewound ones that
        wait to be read again (no worker holds them)."""
        with self._lock:
            return self._count()

    def _count(self) -> int:
        return sum(len(offsets) for offsets in self._unfinished.values()) - len(self._waiting)

    def to_commit(
        self, *, changed_only: bool = True, only: Collection[TopicPartition] | None = None
    ) -> dict[TopicPartition, int]:
        """The commit points (next offset to read) per partition, to be committed now.

        By default only the points that moved since they were last handed out;
        ``only`` limits the answer to those partitions (changed or not).
        """
        points = {}
        with self._lock:
            for partition, next_offset in self._next.items():
                if only is not None and partition not in only:
                    continue
                pending = self._unfinished.get(partition)
                point = min(pending) if pending else next_offset
                if only is not None or not changed_only or self._committed.get(partition) != point:
                    points[partition] = point
                    self._committed[partition] = point
        return points

    def holds(self, longer_than: float) -> list[CommitHold]:
        """Each partition whose commit point has been held for over ``longer_than`` s by its
        lowest unfinished request (in flight, or waiting to be read again) while requests
        after it are finished."""
        now, found = self._clock(), []
        with self._lock:
            for partition, pending in self._unfinished.items():
                if not pending:
                    continue
                lowest = min(pending)
                since = self._since.get((partition, lowest))
                behind = self._next.get(partition, lowest + 1) - lowest - len(pending)
                if since is not None and now - since > longer_than and behind > 0:
                    found.append(CommitHold(partition, lowest, now - since, behind))
        return found

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop partitions this consumer no longer owns (after a rebalance took them away)."""
        with self._lock:
            for partition in partitions:
                self._unfinished.pop(partition, None)
                self._next.pop(partition, None)
                self._committed.pop(partition, None)
                self._epoch[partition] = self._epoch.get(partition, 0) + 1
                self._rewind.pop(partition, None)
                self._waiting = {key for key in self._waiting if key[0] != partition}
                self._since = {key: t for key, t in self._since.items() if key[0] != partition}
            self._room.notify_all()
