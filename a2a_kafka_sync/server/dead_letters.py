"""Requests that cannot run: answered with their error, or kept on the dead-letter topic."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafka import KafkaProducer
from kafka.future import Future

from .._kafka import build_producer, close_producer, translate_kafka_errors
from ..config import ServerConfig
from ..errors import A2AError
from ..metrics import ServerMetrics
from ..wire import HEADER_AUTHORIZATION, RequestHeaders
from .replies import ReplySender

__all__ = ["INVALID", "DeadLetters"]

# Logged under the dispatcher's name, as before dead_letters.py was split off from dispatcher.py:
# docs/observability.md names that logger for these lines, and operators filter on it.
logger = logging.getLogger("a2a_kafka_sync.server.dispatcher")

INVALID = "invalid"
"""The method label of a request that could not be decoded (never a name read off the wire)."""

_PLAIN_RECORD_LIMIT = 1_000_000
"""Records above this go through the large-record producer (kafka-python's default limit
is 1 MiB, headers and framing included)."""

_LARGE_RECORD_LIMIT = 64 * 1024 * 1024


class DeadLetters:
    """Refuses requests on the dispatcher's worker threads, and dead-letters the unanswerable.

    A refused request is answered with its error when it can be; one that
    cannot (no reply topic, a refused reply topic, an error reply that could not
    be produced) goes to ``dead_letter_topic_name`` (when set), without its
    ``authorization`` header. A record larger than the replies' size limit goes
    through a producer of its own, built on first use.

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
        size = len(record.value or b"") + sum(len(n) + len(v) for n, v in headers)
        target = self._replies.target(sent)
        if target is self._replies.producer and size > _PLAIN_RECORD_LIMIT:
            target = self._large_producer()  # the broker took it: keep it whole
        try:
            with translate_kafka_errors("dead-lettering a request", topic=topic):
                sent.append(target.send(topic, value=record.value, key=record.key, headers=headers))
        except Exception as exc:  # the warning above already names the record
            logger.warning("could not dead-letter the record at %s: %s", record.offset, exc)

    def _large_producer(self) -> KafkaProducer:
        """A producer for dead letters larger than the replies' size limit (built once)."""
        with self._large_lock:
            if self._large is None:
                limit = max(_LARGE_RECORD_LIMIT, self._config.kafka.get("max_request_size", 0))
                self._large = build_producer(self._config, max_request_size=limit)
            return self._large
