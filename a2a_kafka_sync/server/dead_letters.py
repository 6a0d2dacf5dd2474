"""Requests that cannot run: answered with their error, or kept on the dead-letter topic."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafka import KafkaProducer
from kafka.future import Future

from .._kafka import build_producer, close_producer, record_size, translate_kafka_errors
from ..config import ServerConfig
from ..errors import A2AError
from ..metrics import ServerMetrics
from ..wire import HEADER_AUTHORIZATION, HEADER_CORRELATION_ID, RequestHeaders
from .replies import ReplySender

__all__ = ["INVALID", "DeadLetters"]

# Logged under the dispatcher's name, as before dead_letters.py was split off from dispatcher.py:
# docs/observability.md names that logger for these lines, and operators filter on it.
logger = logging.getLogger("a2a_kafka_sync.server.dispatcher")

INVALID = "invalid"
"""The method label of a request that could not be decoded (never a name read off the wire)."""

_LARGE_RECORD_LIMIT = 64 * 1024 * 1024


class DeadLetters:
    """Refuses requests on the dispatcher's worker threads, and dead-letters the unanswerable.

    A refused request is answered with its error when it can be; one that
    cannot (no reply topic, a refused reply topic, an error reply that could not
    be produced) goes to ``dead_letter_topic_name`` (when set), without its
    ``authorization`` header. A record larger than the replies' ``max_request_size``
    goes through a producer of its own, built on first use (and built again after
    a send through it failed). A dead letter larger than the dead-letter topic takes
    is kept without its value (header ``dlq_value_bytes``: how long it was), or,
    when even that is too large, dropped; either is logged with its correlation id.

    Args:
        config: the app's configuration.
        metrics: where dead letters are counted.
        replies: sends the error replies (and its producer sends the dead letters).
    """

    def __init__(self, config: ServerConfig, metrics: ServerMetrics, replies: ReplySender) -> None:
        self._config = config
        self._metrics = metrics
        self._replies = replies
        self._large: KafkaProducer | None = None
        self._large_broken = False
        self._large_lock = threading.Lock()

    def close(self) -> None:
        """Close the large-record producer, if there is one."""
        if self._large is not None:
            close_producer(self._large, 2.0)

    def refuse(
        self,
        record: Any,
        headers: RequestHeaders,
        error: A2AError,
        sent: list[Future],
        *,
        answer: bool = True,
    ) -> None:
        """Answer a refused request with ``error``; dead-letter it when it cannot be answered
        (or, ``answer`` False, must not be: its reply topic is refused)."""
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        if not headers.answerable or not answer:
            logger.warning(
                "dropped request %s at %s: %s (%s)",
                headers.correlation_id,
                where,
                error,
                "no reply topic to answer" if answer else "not answered",
            )
            self.dead_letter(record, error, sent)
            return
        logger.warning("refused request %s at %s: %s", headers.correlation_id, where, error)
        if not self._replies.send_error(headers, error, sent, INVALID):
            self.dead_letter(record, error, sent)  # its reply route is unusable

    def dead_letter(self, record: Any, error: A2AError, sent: list[Future]) -> None:
        """Keep an unanswerable record on the dead-letter topic, with why and where from."""
        topic = self._config.dead_letter_topic_name
        if topic is None:
            return
        self._metrics.dead_lettered(error.code)
        headers = [  # the caller's credentials stay out of a topic operators read
            *(
                (name, value)
                for name, value in record.headers or ()
                if value is not None and name != HEADER_AUTHORIZATION
            ),
            ("dlq_reason", str(error).encode("utf-8", "replace")[:1000]),
            ("dlq_code", str(error.code).encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
        ]
        value = record.value
        target, excess = self._route(topic, record.key, value, headers, sent)
        if excess is not None:
            correlation_id = _correlation_id(record)
            where = f"{record.topic}[{record.partition}]@{record.offset}"
            headers.append(("dlq_value_bytes", str(len(value or b"")).encode()))
            value = b""
            target, still = self._route(topic, record.key, value, headers, sent)
            if still is not None:
                logger.warning(
                    "dropped the dead letter of request %s at %s: %s", correlation_id, where, still
                )
                return
            logger.warning(
                "dead-lettered request %s at %s without its value: %s",
                correlation_id,
                where,
                excess,
            )
        try:
            with translate_kafka_errors("dead-lettering a request", topic=topic):
                future = target.send(topic, value=value, key=record.key, headers=headers)
        except Exception as exc:  # the warning above already names the record
            logger.warning("could not dead-letter the record at %s: %s", record.offset, exc)
            return
        if target is self._large:
            future.add_errback(self._large_failed)
        if target is self._large or target is self._replies.producer:
            future.add_errback(self._replies.limits.failed, topic)
        sent.append(future)

    def _route(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        sent: list[Future],
    ) -> tuple[Any, str | None]:
        """The producer (or outbox) for a dead letter, and why it cannot go (or None)."""
        size = record_size(key, value, headers)
        target = self._replies.target(sent)
        max_size = self._replies.max_request_size
        large = target is self._replies.producer and size > max_size
        if large:  # the broker took the request: keep it whole if the topic takes it
            max_size = self._large_max_request_size()
        excess = self._replies.limits.excess("dead letter", topic, size, max_size)
        if large and excess is None:
            target = self._large_producer()
        return target, excess

    def _large_failed(self, exc: BaseException) -> None:
        """A dead letter through the large-record producer failed: it may be failed for good
        (a refusal as too large), so the next one builds a new one."""
        self._large_broken = True

    def _large_max_request_size(self) -> int:
        limit: int = max(_LARGE_RECORD_LIMIT, self._config.kafka.get("max_request_size", 0))
        return limit

    def _large_producer(self) -> KafkaProducer:
        """A producer for dead letters larger than the replies' ``max_request_size`` (built on
        first use, and again after a send through it failed)."""
        with self._large_lock:
            if self._large is not None and self._large_broken:
                close_producer(self._large, 0.5)
                self._large = None
            if self._large is None:
                limit = self._large_max_request_size()
                self._large = build_producer(self._config, max_request_size=limit)
                self._large_broken = False
            return self._large


def _correlation_id(record: Any) -> str | None:
    """The correlation id a record's headers name, if any (for the log)."""
    for name, value in record.headers or ():
        if name == HEADER_CORRELATION_ID and value is not None:
            text: str = value.decode("utf-8", "replace")
            return text
    return None
