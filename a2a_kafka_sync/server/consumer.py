"""The request consumer's thread: poll, pause at ``max_in_flight``, commit, drain, lag.

:class:`RequestConsumer` is owned by :class:`~a2a_kafka_sync.server.app.KafkaServerApp`;
the rebalance listener (:class:`_Rebalance`) commits what is done before partitions move.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

import kafka.errors
from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition

from .._kafka import library_error, rebalances_incrementally
from ..config import ServerConfig
from ..errors import KafkaOperationError
from ..metrics import ServerMetrics
from .group_join import StrandedJoinGuard, wait_for_topic
from .offsets import OffsetTracker
from .transactions import TransactionalCommitter

__all__ = ["RequestConsumer"]

# Logged under the app's name, as before consumer.py was split off from app.py:
# docs/observability.md names that logger for these lines, and operators filter on it.
logger = logging.getLogger("a2a_kafka_sync.server.app")

POLL_TIMEOUT_MS = 100
"""How long one poll of the request topic waits; also how fast the consumer notices stop()."""

FULL_WAIT = 0.1
"""With max_in_flight requests unfinished, how long the consumer waits for one to finish
before it pauses its partitions (a pause drops records already fetched)."""

EXACTLY_ONCE_POLL_MS = 10
"""The poll wait in exactly-once mode, where finished requests commit between polls."""

LAG_INTERVAL = 1.0
"""Seconds between two reads of the consumer lag (by the consumer thread, with metrics on)."""

LAG_TIMEOUT_MS = 500
"""How long the consumer thread waits for the request topic's end offsets, for the lag."""

TOPIC_METADATA_WAIT = 5.0
"""How long start() waits for a request topic it just created to show in the metadata."""

COMMIT_HOLD_WARNING = 300.0
"""Seconds a request may hold its partition's commit point, while later requests are done,
before a WARNING says so (once per request)."""


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits what is done before partitions move, and tells the app what it owns.

    kafka-python 3 calls it on its I/O thread, where nothing may block: the
    commit is queued (asynchronously) ahead of the rebalance's own requests.
    """

    def __init__(self, requests: RequestConsumer, cooperative: bool = False) -> None:
        self._requests = requests
        self._cooperative = cooperative
        self._revoked: set[int] = set()

    def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        if self._requests.committer is not None:  # exactly once: uncommitted work is redone
            self._requests.committer.forget(revoked)
        else:
            self._requests._commit(only=set(revoked))
        self._requests._tracker.forget(revoked)
        if self._cooperative:  # an incremental rebalance revokes only what moves
            self._moved({tp.partition for tp in revoked})
        else:  # an eager one revokes everything first, and gives most of it back
            self._revoked |= {tp.partition for tp in revoked}

    def on_partitions_lost(self, lost: Collection[TopicPartition]) -> None:
        """This member was evicted from the group: its partitions are others' already."""
        self.on_partitions_revoked(lost)
        self._moved({tp.partition for tp in lost})

    def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        if not self._cooperative:  # revoked and not given back: moved to another server
            self._moved(self._revoked - {tp.partition for tp in assigned})
            self._revoked = set()
        if assigned:
            logger.info("serving partitions %s", sorted(p.partition for p in assigned))
            self._requests._assigned.set()

    def _moved(self, partitions: set[int]) -> None:
        """Tell the app that ``partitions`` moved away (their unfinished requests are run
        again by the new owner, see :mod:`a2a_kafka_sync.server.moved`)."""
        self._revoked -= partitions
        on_moved = self._requests.on_moved
        if partitions and on_moved is not None:
            on_moved(partitions)


class RequestConsumer:
    """The ``a2a-kafka-request-consumer`` thread and the request consumer it reads with.

    The thread polls the request topic in the consumer group and hands each
    record to ``submit`` (the app's workers), with the ticket of
    :meth:`OffsetTracker.taken`. With ``max_in_flight`` requests unfinished it
    waits, then pauses its partitions instead of buffering more; every
    ``commit_interval`` it commits the offsets whose requests are finished (in
    exactly-once mode, a transaction); about once a second it reads the consumer
    lag. At stop it drains (up to ``drain_timeout``), commits synchronously and
    closes the consumer.

    Args:
        config: the app's configuration.
        tracker: the app's offsets taken and not yet finished.
        metrics: where the consumer lag goes.
        stopping: set by the app's ``stop()``: the thread drains and ends.
        assigned: set once the group gave this consumer partitions.
    """

    def __init__(
        self,
        config: ServerConfig,
        tracker: OffsetTracker,
        metrics: ServerMetrics,
        stopping: threading.Event,
        assigned: threading.Event,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self._tracker = tracker
        self._stopping = stopping
        self._assigned = assigned
        self.committer: TransactionalCommitter | None = None
        """Exactly-once mode's transactions (set by :meth:`start`)."""
        self.drain_timeout = config.drain_timeout
        """How long the thread drains at stop (``stop(timeout)`` may shorten it)."""
        self.thread: threading.Thread | None = None
        self.failure: KafkaOperationError | None = None
        """Why the thread stopped serving on its own: the broker's ACLs refused the group or
        the request topic (None while it serves, or after a normal stop)."""
        self._consumer: KafkaConsumer | None = None
        self._submit: Callable[[TopicPartition, Any, int], object] | None = None
        self._before_poll: Callable[[], None] | None = None
        self._lag_at = 0.0
        self._last_commit = 0.0
        self._holds_told: set[tuple[TopicPartition, int]] = set()
        self.on_moved: Callable[[set[int]], None] | None = None
        """Told the partitions a rebalance moved to another server (set by the app)."""
        self.join_guard = StrandedJoinGuard()
        """Rejoins when kafka-python strands a finished group join (see group_join.py)."""

    def subscribe(self, consumer: KafkaConsumer) -> None:
        """Read the request topic with ``consumer``, the rebalance listener on; the thread
        closes it on the way out.

        Subscribes once the consumer knows the topic's partitions (a topic this server
        just created may take a moment to show), so the group's first assignment is not
        empty; a topic that does not exist (``create_topics=False``) is served once it does.
        """
        self._consumer = consumer
        topic = self.config.request_topic
        wait = TOPIC_METADATA_WAIT if self.config.create_topics else 0.0
        if not wait_for_topic(consumer, topic, wait, self._stopping):
            logger.warning("request topic %s has no partitions yet; serving it once it does", topic)
        consumer.subscribe([topic], listener=_Rebalance(self, rebalances_incrementally(consumer)))

    def start(
        self,
        submit: Callable[[TopicPartition, Any, int], object],
        before_poll: Callable[[], None],
        committer: TransactionalCommitter | None,
    ) -> None:
        """Start the thread (after :meth:`subscribe`).

        ``submit(partition, record, ticket)`` hands a record to a worker;
        ``before_poll()`` runs on the thread before each poll; ``committer`` is
        exactly-once mode's (None: offsets are committed).
        """
        self._submit = submit
        self._before_poll = before_poll
        self.committer = committer
        self.thread = threading.Thread(
            target=self._consume, name="a2a-kafka-request-consumer", daemon=True
        )
        self._last_commit = time.monotonic()
        self.thread.start()

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the thread to end (never from the thread itself)."""
        assert self.thread is not None
        if self.thread is not threading.current_thread():
            self.thread.join(timeout)
            if self.thread.is_alive():
                logger.warning("the request consumer did not stop in time")

    # -- the consumer thread --------------------------------------------------------------------

    def _consume(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        try:
            while not self._stopping.is_set():
                try:
                    self._poll_once(consumer)
                except kafka.errors.AuthorizationError as exc:  # no retry can add the ACL
                    self._refused(exc)
                    return
                except Exception:  # one bad round must not end serving
                    logger.exception("the request consumer loop failed; retrying")
                    self._stopping.wait(0.5)
            self._drain(consumer)
        except Exception:
            logger.exception("draining the request consumer failed")
        except BaseException:
            logger.critical("the request consumer thread is ending unasked", exc_info=True)
            raise
        finally:
            try:
                consumer.close(autocommit=False, timeout_ms=2000)
            except Exception:
                logger.warning("closing the request consumer failed", exc_info=True)

    def _poll_once(self, consumer: KafkaConsumer) -> None:
        assert self._before_poll is not None and self._submit is not None
        self._before_poll()
        for partition, offset in self._tracker.rewinds():
            try:
                consumer.seek(partition, offset)
                logger.info(
                    "reading %s from %d again: a reply was not delivered", partition, offset
                )
            except (KeyError, AssertionError, kafka.errors.IllegalStateError):
                pass  # no longer ours: its new owner reads it from the committed offset
        limit = self.config.max_in_flight
        free = limit - self._tracker.in_flight
        if free <= 0 and self._tracker.wait_for_room(limit, FULL_WAIT):
            free = limit - self._tracker.in_flight
        # Still full: pause, and poll without waiting only to stay in the group.
        self._pause(consumer, paused=free <= 0)
        try:
            # Exactly once commits between polls: poll briefly so replies are not held back.
            wait_ms = EXACTLY_ONCE_POLL_MS if self.committer is not None else POLL_TIMEOUT_MS
            if free <= 0:
                wait_ms = 0
            batches = consumer.poll(timeout_ms=wait_ms, max_records=max(1, free))
        except kafka.errors.AuthorizationError:
            raise  # fatal: see _consume
        except Exception:
            logger.warning("polling the request topic failed; retrying", exc_info=True)
            self._stopping.wait(0.5)
            return
        for partition, records in batches.items():
            for record in records:
                ticket = self._tracker.taken(partition, record.offset)
                self._submit(partition, record, ticket)
        self.join_guard.check(consumer)
        self._commit()
        if self.metrics.enabled and time.monotonic() - self._lag_at >= LAG_INTERVAL:
            self._refresh_lag(consumer)

    def _refused(self, exc: kafka.errors.KafkaError) -> None:
        """The broker's ACLs refuse the group or the request topic: stop serving, say why
        once, and wake :meth:`KafkaServerApp.wait_until_assigned`, which raises it."""
        config = self.config
        self.failure = library_error(
            exc,
            f"reading {config.request_topic!r} in group {config.group_id!r}",
            topic=config.request_topic,
            acl=f"Read on group {config.group_id!r} and Read on topic {config.request_topic!r}",
        )
        logger.error("stopped serving: %s", self.failure)
        self._assigned.set()

    def _refresh_lag(self, consumer: KafkaConsumer) -> None:
        """Read the consumer lag of every assigned partition into the metrics (consumer thread).

        The end offset is the larger of the broker's answer and the highwater the
        last fetch reported: the highwater alone goes stale while a partition is
        paused (a full server, when the lag matters most), and some brokers (Tansu)
        answer an end offset that ignores all but the first record of the last
        batch. The position is the consumer's own. A failure keeps the last lag
        and is logged at DEBUG.
        """
        self._lag_at = time.monotonic()
        partitions = list(consumer.assignment())
        lag: dict[tuple[str, int], int] = {}
        if partitions:
            try:
                ends = consumer.end_offsets(partitions, timeout_ms=LAG_TIMEOUT_MS)
                for partition, end in ends.items():
                    end = max(end or 0, consumer.highwater(partition) or 0)
                    position = consumer.position(partition, timeout_ms=0)
                    if position is not None:
                        lag[(partition.topic, partition.partition)] = max(0, end - position)
            except Exception as exc:  # rebalancing, or the broker is away: next time
                logger.debug("could not read the consumer lag: %s", exc)
                return
        self.metrics.set_lag(lag)

    @staticmethod
    def _pause(consumer: KafkaConsumer, *, paused: bool) -> None:
        """Pause every assigned partition, or resume the paused ones.

        A rebalance (on kafka-python's I/O thread) may take a partition away
        between reading the assignment and pausing it; that partition is
        skipped, the others are still paused or resumed.
        """
        partitions = consumer.assignment() if paused else consumer.paused()
        for partition in partitions:
            try:
                if paused:
                    consumer.pause(partition)
                else:
                    consumer.resume(partition)
            except (KeyError, kafka.errors.IllegalStateError):
                pass  # no longer assigned to this consumer

    def _drain(self, consumer: KafkaConsumer) -> None:
        self._pause(consumer, paused=True)
        deadline = time.monotonic() + self.drain_timeout
        while self._tracker.in_flight and time.monotonic() < deadline:
            consumer.poll(timeout_ms=50)  # keeps the group membership alive while workers finish
            self._commit()
        if self._tracker.in_flight:
            logger.warning(
                "%d request(s) still in flight at stop; they stay uncommitted",
                self._tracker.in_flight,
            )
        self._commit(sync=True)

    def _commit(self, *, sync: bool = False, only: set[TopicPartition] | None = None) -> None:
        """Commit the offsets whose requests are finished.

        ``sync`` blocks until the broker confirms (consumer thread only, never the
        I/O thread); ``only`` limits the commit to those partitions, changed or not.
        A routine commit (neither) happens at most every ``commit_interval`` seconds.
        In exactly-once mode the commit is a transaction (consumer thread only).
        """
        consumer = self._consumer
        assert consumer is not None
        if self.committer is not None:
            if only is None:
                self._commit_transaction(consumer)
            return
        if not sync and only is None:
            now = time.monotonic()
            if now - self._last_commit < self.config.commit_interval:
                return
            self._last_commit = now
            self._warn_of_holds()
        points = self._tracker.to_commit(changed_only=not sync, only=only)
        if not points:
            return
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in points.items()}
        try:
            if sync:
                consumer.commit(offsets, timeout_ms=5000)
            else:
                consumer.commit_async(offsets, callback=_log_commit_failure)
        except Exception:
            logger.warning("committing offsets %s failed", points, exc_info=True)

    def _warn_of_holds(self) -> None:
        """Log (WARNING, once per request) a request that has held its partition's commit
        point for over COMMIT_HOLD_WARNING s while later requests are done: after a crash
        they would all be read and run again. A handler that never returns does that; set
        ``handler_timeout``."""
        holds = self._tracker.holds(COMMIT_HOLD_WARNING)
        self._holds_told &= {(h.partition, h.offset) for h in holds}  # ended ones: forgotten
        for hold in holds:
            key = (hold.partition, hold.offset)
            if key in self._holds_told:
                continue
            self._holds_told.add(key)
            logger.warning(
                "the request at %s[%d]@%d has held the partition's commit point for %.0f s "
                "(its handler still runs, or its replies are unsettled): %d finished requests "
                "after it stay uncommitted and would run again after a crash; "
                "handler_timeout bounds a handler",
                hold.partition.topic,
                hold.partition.partition,
                hold.offset,
                hold.seconds,
                hold.behind,
            )

    def _commit_transaction(self, consumer: KafkaConsumer) -> None:
        """Exactly once: one transaction for the finished requests; read again if it fails."""
        assert self.committer is not None
        points = self._tracker.to_commit(changed_only=False)
        if self.committer.commit(consumer, points):
            return
        for partition in points:
            try:
                committed = consumer.committed(partition)
                if committed is None:
                    consumer.seek_to_beginning(partition)
                else:
                    consumer.seek(partition, committed)
            except Exception as exc:  # no longer ours, or the broker is away: next round
                logger.warning("could not rewind %s after a failed transaction: %s", partition, exc)


def _log_commit_failure(offsets: Any, response: Any) -> None:
    if isinstance(response, BaseException):
        logger.warning("committing offsets failed: %s", response)
