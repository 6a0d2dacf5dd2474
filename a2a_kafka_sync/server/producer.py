"""The server's producer: its own defaults, the topics it serves, reconnecting it, and the
one holder every part that writes through it asks (:class:`ServerProducer`)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafka import KafkaProducer
from kafka.future import Future

from .._kafka import build_producer, ensure_topics
from ..config import ServerConfig
from ..errors import A2AKafkaError

__all__ = [
    "ServerProducer",
    "producer_overrides",
    "reconnect",
    "server_access",
    "server_topics",
]

# Logged under the app's name, as before producer.py was split off from app.py:
# docs/observability.md names that logger for these lines, and operators filter on it.
logger = logging.getLogger("a2a_kafka_sync.server.app")


def producer_overrides(config: ServerConfig) -> dict[str, Any]:
    """The server producer's own defaults: a send waits for topic metadata 5 s, not 60 s.

    A reply to a topic that does not exist (and that the broker does not create)
    would otherwise hold a worker for a minute.
    """
    return {} if "max_block_ms" in config.kafka else {"max_block_ms": 5000}


def server_topics(config: ServerConfig) -> dict[str, tuple[int, dict[str, str]]]:
    """The topics a server creates (with ``create_topics``): its request topic and its
    dead-letter topic, each with its partitions and settings."""
    topics: dict[str, tuple[int, dict[str, str]]] = {
        config.request_topic: (config.request_topic_partitions, {})
    }
    if config.dead_letter_topic_name:
        topics[config.dead_letter_topic_name] = (1, {})
    return topics


def server_access(config: ServerConfig) -> dict[str, list[str]]:
    """What a server does on its own topics, checked against the broker's ACLs at start:
    it reads the request topic and writes the dead-letter topic."""
    access = {config.request_topic: ["READ"]}
    if config.dead_letter_topic_name:
        access[config.dead_letter_topic_name] = ["WRITE"]
    return access


def reconnect(config: ServerConfig, stopping: threading.Event) -> KafkaProducer | None:
    """After a reply failed to send: a new producer, and the topics back if they vanished.

    A broker that restarted may have lost its topics and every producer's
    state (the embedded broker keeps nothing): the old producer then fails
    forever. Runs on the consumer thread; on failure (None, after waiting up to
    1 s on ``stopping``) it is tried again on the next round.
    """
    logger.warning("a reply failed to send: reconnecting the server's producer")
    try:
        producer = build_producer(config, **producer_overrides(config))
    except A2AKafkaError as exc:
        logger.warning("reconnecting failed, will retry: %s", exc)
        stopping.wait(1.0)
        return None
    if config.create_topics:
        try:
            ensure_topics(config, server_topics(config))
        except A2AKafkaError as exc:
            logger.warning("recreating topics failed: %s", exc)
    return producer


class ServerProducer:
    """The app's producer, as every part that writes through it reaches it.

    The app replaces the KafkaProducer after a reply failed to send (:meth:`replace`, on
    the consumer thread); the parts that write (the replies, ``kafka://`` push delivery,
    ``app.push``, a handler object's ``start(producer)``) hold this object and ask it for
    the producer at each send, so none keeps writing through the closed one. ``send`` and
    every other KafkaProducer attribute are the current producer's.
    """

    def __init__(self, producer: KafkaProducer) -> None:
        self._current = producer

    @property
    def current(self) -> KafkaProducer:
        """The KafkaProducer to write through now."""
        return self._current

    def replace(self, producer: KafkaProducer) -> KafkaProducer:
        """Make ``producer`` the current one; returns the one it replaces (for its owner to
        close)."""
        old, self._current = self._current, producer
        return old

    def send(self, *args: Any, **kwargs: Any) -> Future:
        """``KafkaProducer.send`` on the current producer (same arguments)."""
        return self._current.send(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "_current":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self._current, name)

    def __repr__(self) -> str:
        return f"<ServerProducer {self._current!r}>"
