"""A request's replies: each produced to the caller's reply topic, on one partition per request."""

from __future__ import annotations

import functools
import logging
from typing import Any

import kafka.errors
from kafka.future import Future
from kafka.partitioner import murmur2

from .._kafka import library_error, record_size
from ..errors import A2AError, A2AKafkaError, InvalidRequestError, KafkaOperationError
from ..metrics import ServerMetrics
from ..wire import RequestHeaders, encode_error, reply_headers
from .ledger import RequestLedger, ledger_key
from .limits import RecordLimits
from .producer import ServerProducer
from .transactions import Outbox
from .watchdog import ActiveCall

__all__ = ["Abandoned", "ReplyNotSent", "ReplySender", "ReplyTooLarge", "Sent"]

# Logged under the dispatcher's name, as before replies.py was split off from dispatcher.py:
# docs/observability.md names that logger for these lines, and operators filter on it.
logger = logging.getLogger("a2a_kafka_sync.server.dispatcher")


class ReplySender:
    """Produces the replies of requests, on the dispatcher's worker threads.

    Each record goes through the app's producer, or, in exactly-once mode, into
    its request's transaction outbox (:class:`Sent`). Every reply of a request
    goes to one partition of the reply topic, so a stream stays in order; each
    value sent is remembered in the ``ledger`` (if any) for redeliveries. A reply
    too large for its topic is not sent (:class:`ReplyTooLarge`): the broker would
    refuse it and leave the producer failed for good.

    Args:
        producer: the app's producer (each send goes through its current one).
        metrics: where error replies are counted.
        ledger: the recent requests and their replies, or None (``dedupe_window`` 0).
        limits: how large a record each topic takes.
    """

    def __init__(
        self,
        producer: ServerProducer,
        metrics: ServerMetrics,
        ledger: RequestLedger | None,
        limits: RecordLimits,
    ) -> None:
        self._producer = producer
        self._metrics = metrics
        self._ledger = ledger
        self.limits = limits

    @property
    def producer(self) -> ServerProducer:
        """The producer replies go through outside a transaction."""
        return self._producer

    def target(self, sent: list[Future]) -> Any:
        """Where a record of this request goes: the producer, or its transaction's outbox."""
        outbox = getattr(sent, "outbox", None)
        return outbox if outbox is not None else self._producer

    def send_error(
        self,
        headers: RequestHeaders,
        error: A2AError,
        sent: list[Future],
        method: str,
        *,
        remember: bool = True,
    ) -> bool:
        """Send an error reply to a request of ``method``; False when it could not be produced
        (logged). ``remember`` False keeps it out of the ledger."""
        try:
            self.send(headers, encode_error(error), sent, remember=remember)
            self._metrics.error_sent(method, error.code)
            return True
        except Exception as exc:  # nothing more can be sent to this caller
            logger.warning(
                "could not send the error reply %s to %s: %s",
                headers.correlation_id,
                headers.reply_topic,
                exc,
            )
            return False

    def send(
        self,
        headers: RequestHeaders,
        value: bytes,
        sent: list[Future],
        *,
        remember: bool = True,
        call: ActiveCall | None = None,
        sequence: int | None = None,
        keepalive: bool = False,
    ) -> None:
        """Produce one reply and add its future to ``sent``; raises ReplyNotSent (ReplyTooLarge
        when the reply is larger than its topic takes: nothing is sent).

        The value is remembered in the ledger with its ``sequence``, so a redelivery gets it
        again, numbered as the first time. ``keepalive``
        marks a stream's keep-alive (the ``keepalive`` header).
        """
        assert headers.correlation_id is not None and headers.reply_topic is not None
        if call is not None and call.dropped:
            raise Abandoned
        topic = headers.reply_topic
        partition = headers.reply_partition
        key = None if partition is not None else headers.correlation_id.encode()
        record_headers = reply_headers(
            headers.correlation_id,
            headers.trace_id,
            headers.traceparent,
            headers.tracestate,
            sequence=sequence,
            keepalive=keepalive,
        )
        size = record_size(key, value, record_headers)
        excess = self.limits.excess("reply", topic, size, self.max_request_size)
        if excess is not None:
            raise ReplyTooLarge(
                KafkaOperationError(excess, correlation_id=headers.correlation_id, topic=topic)
            )
        target = self.target(sent)
        try:  # on every record of a stream: no context manager here
            if key is not None:
                partition = self._keyed_partition(topic, key)
            future: Future = target.send(
                topic, value=value, key=key, headers=record_headers, partition=partition
            )
        except kafka.errors.KafkaError as exc:
            error = library_error(
                exc,
                "sending a reply",
                correlation_id=headers.correlation_id,
                topic=headers.reply_topic,
            )
            raise ReplyNotSent(error) from exc
        except (ValueError, AssertionError, TypeError) as exc:  # kafka-python's own checks
            # (an unknown partition, a name it refuses): no reply can go there
            raise ReplyNotSent(
                KafkaOperationError(
                    f"sending a reply to {topic[:100]!r}"
                    + (f" partition {partition}" if partition is not None else "")
                    + f" failed: {type(exc).__name__}: {exc}",
                    correlation_id=headers.correlation_id,
                    topic=topic,
                )
            ) from exc
        if target is self._producer:  # a refusal as too large: ask the topic's own limit
            future.add_errback(self.limits.failed, topic)
        sent.append(future)
        if remember and self._ledger is not None:
            self._ledger.record(ledger_key(headers), value, sequence)

    def partition_error(self, headers: RequestHeaders) -> A2AError | None:
        """InvalidRequestError when the request names a ``reply_partition`` that its reply
        topic does not have (kafka-python would refuse every reply), else None. Asks the
        producer's metadata (cached; a topic it does not know yet is looked up, within
        ``max_block_ms``); when that fails the send decides."""
        partition, topic = headers.reply_partition, headers.reply_topic
        if partition is None or topic is None or not headers.answerable:
            return None
        try:
            partitions = self._producer.current.partitions_for(topic)
        except Exception:  # unknown yet, or the broker is away: the send will tell
            return None
        if not partitions or partition in partitions:
            return None
        return InvalidRequestError(
            f"reply_partition {partition} is not a partition of {topic[:100]!r} "
            f"(it has {len(partitions)})"
        )

    @property
    def max_request_size(self) -> int:
        """The producer's ``max_request_size``: no record may be larger."""
        size: int = self._producer.current.config["max_request_size"]
        return size

    def _keyed_partition(self, topic: str, key: bytes) -> int | None:
        """The partition kafka-python's default partitioner gives ``key``, hashed once per key.

        Every reply of a request goes to one partition (a stream stays in order);
        naming it spares the producer a pure-Python murmur2 on each record of a stream.
        """
        partitions: set[int] | None = self._producer.current.partitions_for(topic)
        if not partitions:
            return None  # unknown yet: the producer waits for metadata and partitions itself
        if len(partitions) == 1:
            return next(iter(partitions))
        return _hashed_partition(key, tuple(sorted(partitions)))


@functools.lru_cache(maxsize=4096)
def _hashed_partition(key: bytes, partitions: tuple[int, ...]) -> int:
    """kafka-python's (and Java's) choice for a keyed record: murmur2 over the sorted ids."""
    index: int = (murmur2(key) & 0x7FFFFFFF) % len(partitions)
    return partitions[index]


class Sent(list):  # type: ignore[type-arg]
    """The futures of one request's replies; in exactly-once mode, also its outbox."""

    def __init__(self, outbox: Outbox | None = None) -> None:
        super().__init__()
        self.outbox = outbox


class Abandoned(Exception):
    """The watchdog answered this request already: nothing more is sent for it."""


class ReplyNotSent(Exception):
    """A reply could not be produced (told apart from a handler's own library errors)."""

    def __init__(self, cause: A2AKafkaError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class ReplyTooLarge(ReplyNotSent):
    """A reply larger than its topic takes: not sent (the cause names its size and the limit)."""
