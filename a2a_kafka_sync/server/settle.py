"""A request on a worker thread, and its offset once every reply it produced is settled."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from kafka import TopicPartition

from ..errors import A2AError
from ..metrics import ServerMetrics
from .dispatcher import Dispatcher
from .offsets import OffsetTracker
from .transactions import TransactionalCommitter

__all__ = ["MAX_REDELIVERIES", "Settler"]

# Logged under the app's name, as before settle.py was split off from app.py:
# docs/observability.md names that logger for these lines, and operators filter on it.
logger = logging.getLogger("a2a_kafka_sync.server.app")

MAX_REDELIVERIES = 3
"""How often a request whose replies were not delivered is read again before it is dropped
(logged), so one reply the broker always refuses cannot stall its partition."""


class Settler:
    """Runs each request through the dispatcher and finishes its offset once its replies settle.

    A request is finished in the tracker once every reply it produced is
    acknowledged or failed (:func:`_when_settled`). A reply that failed leaves it
    unfinished: ``producer_failed()`` is called (the app replaces its producer)
    and the request is read again, up to :data:`MAX_REDELIVERIES` times. In
    exactly-once mode a finished request's outbox is handed to the ``committer``.

    Args:
        dispatcher: runs one request record.
        tracker: the app's offsets taken and not yet finished.
        committer: exactly-once mode's transactions, or None.
        metrics: where failed replies are counted.
        producer_failed: called (on the producer's network thread) when a reply
            was not delivered.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        tracker: OffsetTracker,
        committer: TransactionalCommitter | None,
        metrics: ServerMetrics,
        producer_failed: Callable[[], None],
    ) -> None:
        self._dispatcher = dispatcher
        self._tracker = tracker
        self._committer = committer
        self.metrics = metrics
        self._producer_failed = producer_failed

    def work(
        self, partition: TopicPartition, record: Any, ticket: int, refusal: A2AError | None = None
    ) -> None:
        """Process one record on a worker thread (``ticket`` from ``OffsetTracker.taken``);
        with ``refusal``, answer it with that error instead of running it (any thread)."""
        if not self._tracker.is_current(partition, ticket):
            # Its partition was revoked while it waited for a worker: whoever owns the
            # partition now reads it again from the committed offset.
            logger.debug("request at %s skipped: its partition was revoked", record.offset)
            return
        if refusal is not None:
            process: Callable[[Any, Callable[[Any], None]], None] = functools.partial(
                _refuse, self._dispatcher, refusal
            )
        else:
            process = functools.partial(
                self._dispatcher.process,
                still_ours=functools.partial(self._tracker.is_current, partition, ticket),
            )
        if self._committer is not None:
            committer = self._committer

            def hand_over(sent: Any) -> None:
                if self._tracker.is_current(partition, ticket):
                    committer.finished(partition, record.offset, sent.outbox)
                self._tracker.finished(partition, record.offset, ticket)

            process(record, hand_over)
            return

        def done(failed: bool) -> None:
            if failed:  # not committed: read again once the producer is replaced
                self._producer_failed()
                rewound = self._tracker.rewind(partition, record.offset, ticket, MAX_REDELIVERIES)
                if rewound <= MAX_REDELIVERIES:
                    return
                logger.warning(
                    "the replies to the request at %s[%d]@%d failed %d times: giving up on it",
                    record.topic,
                    record.partition,
                    record.offset,
                    MAX_REDELIVERIES + 1,
                )
            self._tracker.finished(partition, record.offset, ticket)

        metrics = self.metrics
        process(record, lambda futures: _when_settled(futures, done, record, metrics))


def _refuse(
    dispatcher: Dispatcher, error: A2AError, record: Any, settle: Callable[[Any], None]
) -> None:
    dispatcher.refuse(record, error, settle)


def _when_settled(
    futures: list[Any], done: Callable[[bool], None], record: Any, metrics: ServerMetrics
) -> None:
    """Call ``done(failed)`` once every reply future has succeeded or failed (at once when none).

    ``failed`` is True when a reply was not delivered after the producer's own
    retries; each such reply is logged once, and counted in ``metrics``.
    """
    if not futures:
        done(False)
        return
    remaining = [len(futures)]
    failures = [0]
    lock = threading.Lock()

    def settle(result: Any) -> None:
        if isinstance(result, BaseException):
            metrics.reply_failed()
            logger.warning(
                "a reply to the request at %s[%d]@%d was not delivered: %s",
                record.topic,
                record.partition,
                record.offset,
                result,
            )
        with lock:
            failures[0] += isinstance(result, BaseException)
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            done(failures[0] > 0)

    for future in futures:
        future.add_both(settle)
