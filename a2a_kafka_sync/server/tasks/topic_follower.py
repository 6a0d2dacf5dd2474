"""``TopicFollower``: one thread that reads a topic from its start, and a catch-up barrier.

The thread hands every record to a callback; :meth:`TopicFollower.catch_up` takes the
topic's end offsets (on a second consumer that never fetches: asked on the reader's own
connection, ListOffsets would wait behind its pending fetch) and blocks until the reader
has read that far, so the caller sees every record acknowledged before it asked, whoever
wrote it. An owner that applies its own writes can say so (:meth:`TopicFollower.count_as_read`)
and need not wait for the reader to reach them. The task store and the task-event log
stand on it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import kafka.errors
from kafka import TopicPartition

from ..._kafka import (
    build_consumer,
    build_producer,
    close_producer,
    ensure_topics,
    library_error,
    translate_kafka_errors,
    when_topic_known,
)
from ...config import _CommonConfig
from ...errors import ClientClosedError, KafkaOperationError

__all__ = ["TopicFollower", "close_followed_topic", "open_followed_topic"]

logger = logging.getLogger(__name__)

POLL_TIMEOUT_MS = 100
"""How long one poll of the reader waits; also the longest close() waits for it to notice."""


class TopicFollower:
    """Reads ``topic`` from its start on a thread named ``name``, calling ``apply(record)``.

    ``apply`` runs on the reader thread; an exception it raises is logged with the
    record's place and the record skipped. :meth:`start` connects and starts the
    thread, :meth:`close` stops it; the owner calls both.
    """

    def __init__(
        self, config: _CommonConfig, topic: str, apply: Callable[[Any], None], *, name: str
    ) -> None:
        self._config = config
        self.topic = topic
        self._apply = apply
        self._lock = threading.Lock()
        self._positions: dict[TopicPartition, int] = {}  # how far the reader has read
        self._applied: set[tuple[int, int]] = set()  # (partition, offset) the owner applied
        self._barriers: list[tuple[dict[TopicPartition, int], threading.Event]] = []
        self._started = self._closed = self._done = False
        self._stop = threading.Event()
        self._consumer: Any = None  # the reader thread's alone once started
        self._ends: Any = None  # asks end offsets only, under its lock
        self._ends_lock = threading.Lock()
        self._partitions: list[TopicPartition] = []
        self._refusal: str | None = None  # the last refusal by the ACLs that was logged
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def partitions(self) -> list[TopicPartition]:
        """The topic's partitions, as assigned by :meth:`start` (empty before)."""
        return list(self._partitions)

    def start(self) -> None:
        """Build the two consumers, assign every partition from its start, start the reader."""
        config, topic = self._config, self.topic
        with contextlib.ExitStack() as undo:
            consumers = []
            for _ in range(2):
                consumer = build_consumer(config, group_id=None, enable_auto_commit=False)
                undo.callback(consumer.close, autocommit=False, timeout_ms=1000)
                consumers.append(consumer)
            # A topic just created may not have reached the node asked yet (on a cluster).
            self._partitions = when_topic_known(
                topic, config.connect_timeout, lambda: self._assign(consumers[0])
            )
            undo.pop_all()
        self._consumer, self._ends = consumers
        self._started = True
        self._thread.start()

    def _assign(self, consumer: Any) -> list[TopicPartition]:
        """Assign every partition of the topic to ``consumer``, from its start; the partitions
        (none when the node asked does not know the topic)."""
        with translate_kafka_errors("assigning a topic to follow", topic=self.topic):
            partitions = consumer.partitions_for_topic(self.topic) or ()
            assigned = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            if assigned:
                consumer.assign(assigned)
                consumer.seek_to_beginning(*assigned)
        return assigned

    def close(self, timeout: float) -> None:
        """Stop the reader and close the end-offsets consumer (once a catch-up that is asking
        it is done, or closing it under that catch-up), within ``timeout`` s in all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the reader of %s did not stop within %ss", self.topic, timeout)
        if self._ends is not None:
            locked = self._ends_lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
            try:
                self._ends.close(autocommit=False, timeout_ms=1000)
            finally:
                if locked:
                    self._ends_lock.release()

    def _not_open(self) -> ClientClosedError:
        why = "closed" if self._closed else "not started"
        return ClientClosedError(f"the reader of {self.topic} is {why}", topic=self.topic)

    def catch_up(self, timeout: float) -> None:
        """Block until the reader has read every record that existed when this was called.

        Raises KafkaOperationError when it cannot within ``timeout`` s (or the brokers
        are unreachable), ClientClosedError once closed.
        """
        if not self._started or self._closed:
            raise self._not_open()
        with self._ends_lock, translate_kafka_errors("reading end offsets", topic=self.topic):
            if self._closed:
                raise self._not_open()
            ends = self._ends.end_offsets(self._partitions, int(timeout * 1000))
        done = threading.Event()
        with self._lock:
            if self._done:
                raise self._not_open()
            if self._reached(ends):
                return
            self._barriers.append((ends, done))
        done.wait(timeout)
        with self._lock:
            self._barriers = [b for b in self._barriers if b[1] is not done]
            if self._reached(ends):
                return
        if self._closed:
            raise self._not_open()
        raise KafkaOperationError(
            f"the reader did not catch up within {timeout}s", topic=self.topic
        )

    def count_as_read(self, partition: int, offset: int) -> None:
        """Count the record at ``offset`` of ``partition`` as read: the owner wrote it and
        applied it itself, so a catch-up need not wait for the reader to get there."""
        with self._lock:
            self._applied.add((partition, offset))

    def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        """True when every record before these offsets is read (or counted as read)."""
        for tp, end in ends.items():
            position = self._positions.get(tp, 0)
            while position < end and (tp.partition, position) in self._applied:
                position += 1
            if position < end:
                return False
        return True

    def _run(self) -> None:
        consumer = self._consumer
        try:
            while not self._stop.is_set():
                try:
                    batches = consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
                except kafka.errors.AuthorizationError as exc:  # an ACL taken away: once
                    self._refused(exc)
                    continue
                except Exception:
                    logger.warning("reading %s failed; retrying", self.topic, exc_info=True)
                    self._stop.wait(0.2)
                    continue
                for record in (r for records in batches.values() for r in records):
                    try:  # one record must never stop the reader
                        self._apply(record)
                    except Exception as exc:
                        where = f"{record.topic}[{record.partition}]@{record.offset}"
                        logger.warning("skipped an undecodable record at %s: %s", where, exc)
                self._release(consumer)
        finally:
            with self._lock:  # wake the waiting callers: they fail, as no one will catch up
                self._done = True
                waiting, self._barriers = self._barriers, []
            for _, done in waiting:
                done.set()
            try:
                consumer.close(autocommit=False, timeout_ms=1000)
            except Exception:
                logger.warning("closing the consumer of %s failed", self.topic, exc_info=True)

    def _refused(self, exc: kafka.errors.KafkaError) -> None:
        """The broker's ACLs refuse reading the topic: say so once (not a traceback every
        round), and try again every half second, until the ACL is back or the owner stops."""
        refusal = str(
            library_error(
                exc, f"reading {self.topic!r}", topic=self.topic, acl=f"Read on {self.topic!r}"
            )
        )
        if refusal != self._refusal:
            self._refusal = refusal
            logger.error("%s", refusal)
        self._stop.wait(0.5)

    def _release(self, consumer: Any) -> None:
        """Publish how far the reader is, and release the barriers it has reached."""
        try:
            positions = {tp: consumer.position(tp, timeout_ms=100) for tp in self._partitions}
        except Exception:
            logger.warning("reading the positions on %s failed", self.topic, exc_info=True)
            return
        with self._lock:
            self._positions = {tp: p for tp, p in positions.items() if p is not None}
            self._applied = {
                (p, o)
                for p, o in self._applied
                if o >= self._positions.get(TopicPartition(self.topic, p), 0)
            }
            reached = [b for b in self._barriers if self._reached(b[0])]
            self._barriers = [b for b in self._barriers if b not in reached]
        for _, done in reached:
            done.set()


def open_followed_topic(
    config: _CommonConfig,
    topic: str,
    partitions: int,
    topic_configs: dict[str, str],
    reader: TopicFollower,
) -> Any:
    """The producer an owner writes ``topic`` with, once the topic exists (created with
    ``topic_configs`` when ``create_topics``) and ``reader`` follows it.

    The producer comes first, so a broker that is away fails here within its connect
    budget. On any failure nothing is left open.
    """
    extra = {} if "max_block_ms" in config.kafka else {"max_block_ms": 10_000}
    producer = build_producer(config, **extra)
    try:
        # The owner reads back what it writes: a missing ACL fails here, not in the reader.
        ensure_topics(
            config,
            {topic: (partitions, topic_configs)} if config.create_topics else {},
            access={topic: ["READ", "WRITE"]},
        )
        reader.start()
    except BaseException:
        close_producer(producer, 1.0)
        raise
    return producer


def close_followed_topic(reader: TopicFollower, producer: Any, timeout: float) -> None:
    """Stop ``reader``, then close ``producer`` if there is one, within ``timeout`` s in all
    (the producer gets at least 0.1 s)."""
    deadline = time.monotonic() + timeout
    reader.close(timeout)
    if producer is not None:
        close_producer(producer, max(0.1, deadline - time.monotonic()))
