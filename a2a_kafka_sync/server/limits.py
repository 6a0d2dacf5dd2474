"""How large a record the server may produce to a topic, measured before it is sent.

Apache Kafka refuses a record batch larger than its topic's ``max.message.bytes`` (by
default the brokers' ``message.max.bytes``), and kafka-python 3.0.12 then fails an
idempotent producer for good: every later send through it fails. So the server
measures each reply and dead letter first, and answers (or keeps) what is too large
without sending it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Collection

from .._kafka import UNCHECKED_RECORD_BYTES, SizeLimit, size_limits, too_large
from ..config import ServerConfig
from ..errors import A2AKafkaError

__all__ = ["RecordLimits"]

logger = logging.getLogger(__name__)

_TOPICS_KEPT = 4096


class RecordLimits:
    """The largest record the server may produce to each topic without the broker refusing it.

    :meth:`excess` measures a record against the producer's ``max_request_size`` and:

    - the brokers' ``message.max.bytes`` and the ``own_topics``' limits (the dead-letter
      topic), asked once, when the first record over 16 KiB is measured;
    - a topic's own ``max.message.bytes``, asked once per topic when a record is over
      the brokers' limit (the topic may take more) or that limit was not told (no
      ``DescribeConfigs`` on the cluster), or after a record to it was refused
      (:meth:`refused`: it may take less).

    Brokers that do not answer DescribeConfigs (no ``DESCRIBE_CONFIGS`` ACL, the
    embedded broker) leave only ``max_request_size``; a refusal is then recovered from
    as any failed reply (the producer replaced, the request read again). Thread-safe.

    Args:
        config: the app's configuration (to reach the brokers).
        own_topics: topics whose limits are asked with the brokers' (the dead-letter topic).
    """

    def __init__(self, config: ServerConfig, own_topics: Collection[str] = ()) -> None:
        self._config = config
        self._own_topics = list(own_topics)
        self._lock = threading.Lock()
        self._brokers_lock = threading.Lock()
        self._brokers: SizeLimit | None = None
        self._brokers_asked = False
        self._answered = False  # the brokers answered DescribeConfigs (if with nothing)
        self._topics: OrderedDict[str, SizeLimit | None] = OrderedDict()
        self._suspects: set[str] = set()

    def excess(self, what: str, topic: str, size: int, max_request_size: int) -> str | None:
        """Why a ``what`` (``"reply"``, ``"dead letter"``) of ``size`` bytes cannot go to
        ``topic`` through a producer with ``max_request_size``; None when it can."""
        if size > max_request_size:
            return (
                f"the {what} is {size} bytes, more than the producer's max_request_size "
                f"({max_request_size})"
            )
        limit = self._limit(topic, size)
        if limit is None or size <= limit.bytes:
            return None
        return (
            f"the {what} is {size} bytes, more than topic {topic} takes: {limit.bytes} bytes "
            f"({limit.setting})"
        )

    def refused(self, topic: str) -> None:
        """A record to ``topic`` failed as too large: ask its own limit before the next one."""
        with self._lock:
            if len(self._suspects) >= _TOPICS_KEPT:
                self._suspects.clear()
            self._suspects.add(topic)
        if not self._answered:  # the first ask may have failed for a moment: ask again
            self._brokers_asked = False  # (no lock: this runs on the producer's I/O thread)

    def failed(self, topic: str, exc: BaseException) -> None:
        """The errback of a record sent to ``topic``: a refusal as too large is remembered."""
        if too_large(exc):
            self.refused(topic)

    def _limit(self, topic: str, size: int) -> SizeLimit | None:
        with self._lock:
            suspect = topic in self._suspects
            asked = topic in self._topics
            known = self._topics.get(topic)
        if asked and not suspect:
            return known or self._brokers
        if size <= UNCHECKED_RECORD_BYTES and not suspect:
            return None
        brokers = self._brokers_limit()
        if brokers is None and not self._answered:
            return None  # the brokers have no DescribeConfigs to ask
        if suspect or brokers is None or size > brokers.bytes:
            return self._ask(topic) or brokers
        return brokers

    def _brokers_limit(self) -> SizeLimit | None:
        """The brokers' ``message.max.bytes`` (and the own topics' limits), asked once."""
        with self._brokers_lock:
            if not self._brokers_asked:
                self._brokers_asked = True
                try:
                    limits = size_limits(self._config, self._own_topics, brokers=True)
                except A2AKafkaError as exc:
                    logger.info(
                        "the brokers' message.max.bytes could not be read (%s): records are "
                        "measured against max_request_size only",
                        exc,
                    )
                else:
                    self._answered = True
                    self._brokers = limits.brokers
                    with self._lock:
                        self._topics.update(limits.topics)
            return self._brokers

    def _ask(self, topic: str) -> SizeLimit | None:
        """``topic``'s own limit, asked now and kept (None when the brokers do not tell)."""
        try:
            limit = size_limits(self._config, [topic]).topics.get(topic)
        except A2AKafkaError as exc:
            logger.info("the max.message.bytes of topic %s could not be read: %s", topic, exc)
            limit = None
        with self._lock:
            self._suspects.discard(topic)
            self._topics[topic] = limit
            self._topics.move_to_end(topic)
            while len(self._topics) > _TOPICS_KEPT:
                self._topics.popitem(last=False)
        return limit
