"""Fair, bounded scheduling of push deliveries: a slow target slows only itself.

:class:`PushScheduler` owns the queued deliveries and the threads that run them:

- each delivery is queued on a *lane*: its target (``https://host:port``, ``kafka://topic``)
  and one of ``per_target`` lanes of that target, chosen by a stable hash of its task id. A
  lane runs one delivery at a time, in the order they were queued, so the deliveries of one
  task to one target keep their order, and a target never has more than ``per_target``
  deliveries running;
- at most ``workers`` threads (``<name>-0`` ...; started as lanes become ready) take the
  ready lanes in turn (round robin): a lane whose delivery ends goes to the back of the line,
  so a target that takes long holds at most ``per_target`` threads and the others keep going;
- at most ``max_queued_per_target`` deliveries wait for one target and ``max_queued`` in all.
  Past a cap the *oldest* waiting delivery of that target (for the total cap: of the target
  with the most waiting) is dropped: each push carries the whole task as it is, so a newer
  one says more than an older one, and one flooded target cannot push out the others;
- a target whose last ``down_after`` deliveries failed (a job returned False) is *down* for
  ``cool_down`` seconds: its deliveries taken meanwhile are dropped at once instead of
  holding threads on a receiver that does not answer; then one delivery tries it again (the
  others still dropped while it runs): success brings it back, failure doubles the cool-down
  (at most :data:`MAX_COOL_DOWN`). So any number of dead targets hold threads only for
  their first failures;
- ``close(timeout)`` lets what is queued run until the bound, then drops the rest.

Every drop is logged at WARNING (task id and target; for a down target, once per cool-down)
and reported to ``on_drop(reason)``: ``target_full``, ``queue_full``, ``target_down`` or
``closed``. Nothing here does I/O: a job is a callable that returns True when it delivered,
False when its target failed it, None when it says nothing of the target (refused by policy).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DROP_REASONS", "PushScheduler"]

logger = logging.getLogger(__name__)

DROP_REASONS = ("target_full", "queue_full", "target_down", "closed")
"""The ``reason`` label values of a dropped delivery."""

MAX_COOL_DOWN = 300.0
"""Seconds a target stays down at most, however often its retries failed."""


@dataclass
class _Health:
    """A target's recent failures, and until when it is down (0: it is not)."""

    failures: int = 0
    down_until: float = 0.0
    cool_down: float = 0.0
    probing: bool = False
    told: bool = False  # its drops were logged for this cool-down


_Lane = tuple[str, int]


@dataclass(order=True)
class _Job:
    seq: int
    run: Callable[[], bool | None] = field(compare=False)
    task_id: str = field(compare=False)
    target: str = field(compare=False)


class PushScheduler:
    """Runs queued jobs on at most ``workers`` threads, fairly across targets (see module).

    Args:
        workers: threads at most (>= 1), started on demand, named ``<name>-<n>``.
        per_target: deliveries of one target running at once, at most (>= 1); also the
            number of its lanes.
        max_queued: deliveries waiting in all, at most (>= 1).
        max_queued_per_target: deliveries waiting for one target, at most (>= 1).
        name: the threads' name prefix.
        on_drop: called with the reason of each dropped delivery (a metric), outside the lock.
        down_after: failed deliveries in a row that put a target down (>= 1).
        cool_down: seconds a target stays down the first time (> 0); doubled after each
            failed retry, at most :data:`MAX_COOL_DOWN`.
        clock: the time source of the cool-downs (``time.monotonic``; tests pass their own).
    """

    def __init__(
        self,
        *,
        workers: int,
        per_target: int,
        max_queued: int,
        max_queued_per_target: int,
        name: str,
        on_drop: Callable[[str], None] = lambda reason: None,
        down_after: int = 3,
        cool_down: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min(workers, per_target, max_queued, max_queued_per_target, down_after) < 1:
            raise ValueError(
                "workers, per_target, max_queued, max_queued_per_target and down_after must be >= 1"
            )
        if cool_down <= 0:
            raise ValueError("cool_down must be > 0")
        self._clock = clock
        self._down_after = down_after
        self._cool_down = cool_down
        self._health: dict[str, _Health] = {}
        self._workers = workers
        self._per_target = per_target
        self._max_queued = max_queued
        self._max_per_target = max_queued_per_target
        self._name = name
        self._on_drop = on_drop
        self._cond = threading.Condition()
        self._lanes: dict[_Lane, deque[_Job]] = {}
        self._ready: deque[_Lane] = deque()  # lanes with jobs and none running, in turn
        self._busy: set[_Lane] = set()  # lanes with a job running
        self._waiting: dict[str, int] = {}  # target -> jobs queued (not running)
        self._queued = 0
        self._idle = 0
        self._threads: list[threading.Thread] = []
        self._seq = itertools.count()
        self._closed = False
        self.abandoned = threading.Event()
        """Set when :meth:`close` ran out of time: jobs still running should stop retrying."""

    @property
    def queued(self) -> int:
        """Deliveries waiting now (not counting those running)."""
        return self._queued

    @property
    def threads(self) -> int:
        """Threads started so far."""
        return len(self._threads)

    def submit(self, target: str, task_id: str, run: Callable[[], bool | None]) -> bool:
        """Queue ``run`` on ``target``'s lane for ``task_id``; returns at once.

        False (and a WARNING) when the scheduler is closed. When the queue is at a cap,
        the oldest waiting delivery of the target at fault is dropped to make room.
        """
        lane = (target, zlib.crc32(task_id.encode()) % self._per_target)
        dropped: list[tuple[str, _Job]] = []
        with self._cond:
            if self._closed:
                dropped.append(("closed", _Job(-1, run, task_id, target)))
            else:
                if self._waiting.get(target, 0) >= self._max_per_target:
                    dropped.append(("target_full", self._drop_oldest(target)))
                elif self._queued >= self._max_queued:
                    fullest = max(self._waiting, key=lambda t: self._waiting[t])
                    dropped.append(("queue_full", self._drop_oldest(fullest)))
                jobs = self._lanes.setdefault(lane, deque())
                if not jobs and lane not in self._busy:
                    self._ready.append(lane)
                jobs.append(_Job(next(self._seq), run, task_id, target))
                self._waiting[target] = self._waiting.get(target, 0) + 1
                self._queued += 1
                self._wake()
        for reason, job in dropped:
            self._report(reason, job)
        return not (dropped and dropped[0][0] == "closed")

    def close(self, timeout: float) -> bool:
        """Stop taking jobs, let queued ones run for up to ``timeout`` s, end the threads.

        At the bound, what still waits is dropped (WARNING, ``on_drop("closed")``) and
        :attr:`abandoned` is set. Idempotent; True when every thread has ended.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        if not any(t.is_alive() for t in threads):
            return True
        self.abandoned.set()
        with self._cond:
            left = [job for jobs in self._lanes.values() for job in jobs]
            self._lanes.clear()
            self._ready.clear()
            self._waiting.clear()
            self._queued = 0
            self._cond.notify_all()
        if left:
            logger.warning(
                "push notifier closed: dropped %d queued deliveries (tasks %s)",
                len(left),
                ", ".join(sorted({job.task_id for job in left})[:10]),
            )
            for _ in left:
                self._on_drop("closed")
        return False

    # -- internals (called with the lock held, unless said otherwise) ----------------------------

    def _wake(self) -> None:
        """Wake an idle thread; start one more (up to ``workers``) while the ready lanes
        outnumber the idle threads (a thread woken but not yet running still counts as
        idle, and the busy ones may be stuck on a dead target)."""
        if self._idle:
            self._cond.notify()
        if len(self._ready) > self._idle and len(self._threads) < self._workers:
            thread = threading.Thread(
                target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _drop_oldest(self, target: str) -> _Job:
        """Take out the oldest waiting job of ``target`` (it has at least one)."""
        lanes = [(target, i) for i in range(self._per_target) if self._lanes.get((target, i))]
        lane = min(lanes, key=lambda key: self._lanes[key][0])
        job = self._lanes[lane].popleft()
        if not self._lanes[lane]:
            del self._lanes[lane]
            if lane in self._ready:
                self._ready.remove(lane)
        self._count_out(target)
        return job

    def _count_out(self, target: str) -> None:
        self._queued -= 1
        self._waiting[target] -= 1
        if not self._waiting[target]:
            del self._waiting[target]

    def _report(self, reason: str, job: _Job) -> None:
        """Log and count one dropped job (without the lock)."""
        logger.warning(
            "push for task %s to %s dropped (%s)",
            job.task_id,
            job.target,
            {
                "closed": "the push notifier is closed",
                "target_full": f"{self._max_per_target} deliveries already wait for this target",
                "queue_full": f"{self._max_queued} deliveries already wait in all; "
                "the oldest of the target with the most waiting",
                "target_down": "its last deliveries failed; its deliveries are dropped "
                "until it is tried again",
            }[reason],
        )
        self._on_drop(reason)

    def _runs(self, target: str) -> tuple[bool, bool]:
        """Whether a job of ``target`` taken now runs (else it is dropped), and whether that
        drop is the first of the target's cool-down (to be logged)."""
        health = self._health.get(target)
        if health is None or not health.down_until:
            return True, False
        if self._clock() >= health.down_until and not health.probing:
            health.probing = True  # this one tries the target again
            return True, False
        first, health.told = not health.told, True
        return False, first

    def _probed(self, target: str) -> None:
        """A job that said nothing of its target ran: a retry it was is no longer running."""
        health = self._health.get(target)
        if health is not None:
            health.probing = False

    def _settle(self, target: str, failed: bool) -> None:
        """Count a job's outcome against its target's health."""
        health = self._health.setdefault(target, _Health())
        if not failed:
            self._health.pop(target, None)
            return
        health.failures += 1
        if health.probing or health.failures >= self._down_after:
            was_down = bool(health.down_until)
            health.cool_down = (
                min(health.cool_down * 2, MAX_COOL_DOWN) if was_down else self._cool_down
            )
            health.down_until = self._clock() + health.cool_down
            health.probing = health.told = False
            logger.warning(
                "push target %s is down after %d failed deliveries: its deliveries are "
                "dropped for %.0f s, then it is tried again",
                target,
                health.failures,
                health.cool_down,
            )

    def _work(self) -> None:
        """A thread: take the next ready lane, run its oldest job (or drop it, its target
        down), put the lane back in line."""
        while True:
            with self._cond:
                while not self._ready and not self._closed:
                    self._idle += 1
                    self._cond.wait()
                    self._idle -= 1
                if not self._ready or self.abandoned.is_set():
                    return
                lane = self._ready.popleft()
                job = self._lanes[lane].popleft()
                self._count_out(lane[0])
                runs, tell = self._runs(lane[0])
                self._busy.add(lane)
            outcome: bool | None = None  # True delivered, False failed, None: nothing said
            if not runs:
                if tell:
                    self._report("target_down", job)
                else:
                    self._on_drop("target_down")
            else:
                try:
                    outcome = job.run()
                except Exception:  # one delivery must never stop the thread
                    logger.exception("a push delivery failed unexpectedly")
            with self._cond:
                if outcome is not None:
                    self._settle(lane[0], failed=not outcome)
                elif runs:
                    self._probed(lane[0])
                self._busy.discard(lane)
                if self._lanes.get(lane):
                    self._ready.append(lane)
                else:
                    self._lanes.pop(lane, None)
