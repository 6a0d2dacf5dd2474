"""Getting the request consumer its partitions: the topic's metadata before subscribing, and
a guard against a group join that kafka-python 3.0.12 finishes but never applies.

The stranded join (found on Apache Kafka; 2 to 4 in 60 server starts): a consumer that
subscribes to a topic whose metadata it does not have yet is first assigned nothing. When
the metadata arrives, the group leader's ``need_rejoin()`` turns true only because its
``_assignment_snapshot`` differs from its ``_metadata_snapshot`` (coordinator/consumer.py),
so ``join_group_async`` (coordinator/base.py) starts a join task. If the poll that started
it times out first, the task finishes in the background, and on the way its
``_perform_assignment`` sets ``_assignment_snapshot = _metadata_snapshot``. The next poll
asks ``need_rejoin()``: the snapshots now agree and ``rejoin_needed`` was never set, so it
answers False and never awaits the finished task; its assignment is never applied,
``rejoining`` stays True and the heartbeat stays disabled. The consumer holds no
partitions, for good. (Reproduced at will: ``tests/test_group_join.py``.)

So :func:`wait_for_topic` lets the first assignment see the topic's partitions (the common
trigger gone), and :class:`StrandedJoinGuard`, run by the consumer thread between polls,
recognises a finished join nobody will apply and asks for a rejoin, which kafka-python then
carries out in full.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

__all__ = ["StrandedJoinGuard", "wait_for_topic"]

logger = logging.getLogger("a2a_kafka_sync.server.app")

TOPIC_WAIT_INTERVAL = 0.2
"""Seconds between two looks at the request topic's metadata while waiting for it."""


def wait_for_topic(consumer: Any, topic: str, timeout: float, stopping: threading.Event) -> bool:
    """Wait up to ``timeout`` s until ``consumer`` knows ``topic``'s partitions; True if it does.

    A topic created a moment ago may not be in the metadata the broker answers yet; a
    consumer that subscribes before it is there is first assigned nothing (the start of
    the stranded join above). A topic that never appears (``create_topics=False`` and
    nobody made it) is not an error here: the server serves it once it exists.
    """
    deadline = time.monotonic() + timeout
    while True:
        if consumer.partitions_for_topic(topic):
            return True
        if time.monotonic() >= deadline or stopping.wait(TOPIC_WAIT_INTERVAL):
            return False


class StrandedJoinGuard:
    """Notices a group join that kafka-python finished and will never apply, and rejoins.

    Called by the consumer thread between two polls (never during one, so kafka-python's
    own code is not running on that thread). The state must be seen twice, on the same
    join task, before it acts: a join that finishes just as one poll ends is applied by
    the next poll, and is left alone. Uses kafka-python 3.0.12's private coordinator
    attributes; with a kafka-python that lacks them it does nothing.
    """

    def __init__(self) -> None:
        self._suspect: object | None = None
        self.rescues = 0
        """How many stranded joins it has rescued (for tests and the log)."""

    def check(self, consumer: Any) -> bool:
        """Look once; True when it found a stranded join (seen twice) and asked for a rejoin."""
        coordinator: Any = getattr(consumer, "_coordinator", None)
        join = getattr(coordinator, "_join_task", None)
        stranded = (
            coordinator is not None
            and join is not None
            and getattr(join, "is_done", False) is True
            and getattr(coordinator, "rejoining", False) is True
            and not coordinator.need_rejoin()
        )
        if not stranded:
            self._suspect = None
            return False
        if self._suspect is not join:
            self._suspect = join
            return False
        self._suspect = None
        self.rescues += 1
        logger.warning(
            "kafka-python finished a group join and did not apply it (no partitions, no "
            "heartbeat); asking the group for a new join"
        )
        coordinator.request_rejoin()
        return True
