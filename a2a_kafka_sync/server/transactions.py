"""Exactly-once mode: a request's replies and its offset commit in one Kafka transaction."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition

from .._kafka import build_producer, close_producer, too_large, translate_kafka_errors
from ..config import ServerConfig

__all__ = ["Outbox", "TransactionalCommitter"]

logger = logging.getLogger(__name__)


class _Pending:
    """A stand-in for kafka-python's future: the record goes out with the transaction."""

    def add_both(self, fn: Any, *args: Any) -> None:  # pragma: no cover - never awaited
        raise AssertionError("records of a transaction are not awaited one by one")


@dataclass
class Outbox:
    """The records one request produced, held until its transaction.

    Quacks like the part of KafkaProducer the dispatcher uses (``send``), so
    the dispatcher does not know whether it runs at least once or exactly once.
    """

    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def send(self, topic: str, **record: Any) -> _Pending:
        """Hold one record for the transaction."""
        self.records.append((topic, record))
        return _Pending()


class TransactionalCommitter:
    """Commits finished requests in transactions, from the consumer thread.

    Workers hand over each finished request's :class:`Outbox`
    (:meth:`finished`). Each round, the consumer thread (:meth:`commit`) takes the
    requests below every partition's lowest unfinished offset, and in one
    transaction produces their records and commits those offsets with the
    consumer's group metadata (KIP-447 fencing). A reader with
    ``isolation_level="read_committed"`` sees a request's replies exactly when
    its offset is committed. A failed transaction is aborted, the producer
    replaced, and the partitions read again from their committed offsets; the
    topics of its records the broker refused as too large are passed to
    ``refused`` (so their limits are asked before the records are produced again).
    """

    def __init__(self, config: ServerConfig, refused: Callable[[str], None] | None = None) -> None:
        self._config = config
        self._refused = refused
        self._lock = threading.Lock()
        self._done: dict[TopicPartition, dict[int, list[tuple[str, dict[str, Any]]]]] = {}
        self._producer = self._new_producer()

    def _new_producer(self) -> KafkaProducer:
        prefix = f"a2a-{self._config.group_id}"
        producer = build_producer(
            self._config, transactional_id=f"{prefix}-{uuid.uuid4().hex[:12]}"
        )
        try:
            with translate_kafka_errors(
                "starting transactions (exactly_once)",
                acl=f"Write on the transactional ids with the prefix {prefix!r}",
            ):
                producer.init_transactions()
        except BaseException:
            close_producer(producer, 1.0)
            raise
        return producer

    def finished(self, partition: TopicPartition, offset: int, outbox: Outbox) -> None:
        """A worker finished a request: hold its records until they can commit (any thread)."""
        with self._lock:
            self._done.setdefault(partition, {})[offset] = outbox.records

    def forget(self, partitions: Any) -> None:
        """Drop what was held for partitions taken away by a rebalance."""
        with self._lock:
            for partition in partitions:
                self._done.pop(partition, None)

    def commit(self, consumer: KafkaConsumer, points: dict[TopicPartition, int]) -> bool:
        """One transaction for every held request below its partition's commit point.

        ``points`` are the commit points (lowest unfinished offset, or next to
        read) per partition. Returns False when the transaction failed (the
        caller rewinds those partitions to their committed offsets).
        """
        batch: list[tuple[str, dict[str, Any]]] = []
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        with self._lock:
            for partition, point in points.items():
                held = self._done.get(partition, {})
                ready = sorted(o for o in held if o < point)
                if not ready:
                    continue
                for offset in ready:
                    batch.extend(held.pop(offset))
                offsets[partition] = OffsetAndMetadata(point, "", -1)
        if not offsets:
            return True
        futures: list[tuple[str, Any]] = []
        try:
            self._producer.begin_transaction()
            for topic, record in batch:
                futures.append((topic, self._producer.send(topic, **record)))
            self._producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
            self._producer.commit_transaction()
            return True
        except Exception as exc:
            logger.warning(
                "a transaction of %d record(s) failed: %s; reading %s again",
                len(batch),
                exc,
                sorted(p.partition for p in offsets),
            )
            self._reset()  # aborted: every record's future is failed now
            if self._refused is not None:
                for topic in {t for t, f in futures if f.failed() and too_large(f.exception)}:
                    self._refused(topic)
            return False

    def _reset(self) -> None:
        try:
            self._producer.abort_transaction()
        except Exception as exc:  # the producer is replaced either way
            logger.debug("aborting the failed transaction: %s", exc)
        close_producer(self._producer, 0.5)
        with self._lock:
            self._done.clear()
        try:
            self._producer = self._new_producer()
        except Exception as exc:
            logger.warning("a new transactional producer could not be built: %s", exc)
            raise

    def close(self, timeout: float) -> None:
        """Close the transactional producer (what was not committed is read again later)."""
        close_producer(self._producer, timeout)
