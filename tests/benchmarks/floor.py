"""The raw kafka-python floor: what the same work costs with no A2A layer at all.

Everything here uses kafka-python directly, with exactly the settings the library
would use for the same broker (:func:`kafka_settings` takes them from the
library's own :class:`~a2a_kafka_sync.config.ClientConfig`, profile included), and
carries byte-for-byte the records the library sends, so a ratio against it is the
price of the A2A layer and nothing else.

- :func:`one_way_rate` is R: one producer and one consumer in one process.
- :class:`EchoClient` and :func:`serve_echo` are the naive request/reply echo:
  a reply-reader thread feeding ``threading.Event`` waiters on one side, one
  server thread that answers and flushes after every poll on the other.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from a2a_kafka_sync.config import ClientConfig, build_config

__all__ = ["EchoClient", "create_topic", "kafka_settings", "one_way_rate", "serve_echo"]


def kafka_settings(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """kafka-python keyword arguments for a producer and a consumer, as the library sets them."""
    config = build_config(ClientConfig, **settings)
    every = {"bootstrap_servers": config.bootstrap_servers, **config.kafka_settings()}
    return {
        "producer": {k: v for k, v in every.items() if k in KafkaProducer.DEFAULT_CONFIG},
        "consumer": {k: v for k, v in every.items() if k in KafkaConsumer.DEFAULT_CONFIG},
        "admin": {k: v for k, v in every.items() if k in KafkaAdminClient.DEFAULT_CONFIG},
    }


def create_topic(settings: dict[str, Any], topic: str, partitions: int = 1) -> None:
    """Create ``topic`` (an existing one is left as it is)."""
    admin = KafkaAdminClient(**kafka_settings(settings)["admin"])
    try:
        if topic not in admin.list_topics():
            admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()


def _assigned_at_end(consumer_settings: dict[str, Any], topic: str) -> KafkaConsumer:
    consumer = KafkaConsumer(
        **consumer_settings, enable_auto_commit=False, auto_offset_reset="latest"
    )
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    for partition in partitions:
        consumer.position(partition)
    return consumer


def one_way_rate(settings: dict[str, Any], topic: str, count: int, size: int = 200) -> float:
    """R: records/s through one producer and one consumer in one process (``size`` bytes each)."""
    create_topic(settings, topic)
    kwargs = kafka_settings(settings)
    consumer = _assigned_at_end(kwargs["consumer"], topic)
    producer = KafkaProducer(**kwargs["producer"])
    value = b"x" * size
    received = 0
    try:
        started = time.perf_counter()

        def produce() -> None:
            for _ in range(count):
                producer.send(topic, value)
            producer.flush()

        sender = threading.Thread(target=produce)
        sender.start()
        while received < count:
            for records in consumer.poll(timeout_ms=100).values():
                received += len(records)
        elapsed = time.perf_counter() - started
        sender.join()
    finally:
        producer.close()
        consumer.close()
    return count / elapsed


class EchoClient:
    """The naive raw client: a producer, a reply-reader thread, ``threading.Event`` waiters."""

    def __init__(self, settings: dict[str, Any], request_topic: str, value: bytes) -> None:
        kwargs = kafka_settings(settings)
        self.request_topic = request_topic
        self.reply_topic = f"floor-replies-{uuid.uuid4().hex}"
        self.value = value
        self._reply_topic = self.reply_topic.encode()
        create_topic(settings, self.reply_topic)
        self._producer = KafkaProducer(**kwargs["producer"])
        self._consumer = _assigned_at_end(kwargs["consumer"], self.reply_topic)
        self._waiters: dict[bytes, list[Any]] = {}
        self._ids = itertools.count()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            for records in self._consumer.poll(timeout_ms=100).values():
                for record in records:
                    correlation_id = dict(record.headers).get("correlation_id")
                    slot = self._waiters.pop(correlation_id, None)
                    if slot is not None:
                        slot[1] = record.value
                        slot[0].set()

    def submit(self) -> list[Any]:
        """Send one request; its slot is ``[Event, reply]``, set when the reply arrives."""
        correlation_id = f"{next(self._ids)}-{threading.get_ident()}".encode()
        slot: list[Any] = [threading.Event(), None]
        self._waiters[correlation_id] = slot
        headers = [("correlation_id", correlation_id), ("reply_topic", self._reply_topic)]
        self._producer.send(self.request_topic, self.value, headers=headers)
        return slot

    def call(self, timeout: float = 30.0) -> bytes:
        """One request, blocking until its reply arrives."""
        slot = self.submit()
        if not slot[0].wait(timeout):
            raise TimeoutError("no reply from the floor echo")
        reply: bytes = slot[1]
        return reply

    def flush(self) -> None:
        self._producer.flush()

    def close(self) -> None:
        self._stop.set()
        self._reader.join()
        self._producer.close()
        self._consumer.close()


def serve_echo(
    settings: dict[str, Any],
    request_topic: str,
    reply_value: bytes,
    stop: Callable[[], bool],
    ready: Callable[[], None],
) -> None:
    """The naive raw server: one thread polls, answers each record, flushes after every poll."""
    kwargs = kafka_settings(settings)
    producer = KafkaProducer(**kwargs["producer"])
    consumer = _assigned_at_end(kwargs["consumer"], request_topic)
    ready()
    try:
        while not stop():
            batches = consumer.poll(timeout_ms=100)
            for records in batches.values():
                for record in records:
                    headers = dict(record.headers)
                    producer.send(
                        headers["reply_topic"].decode(),
                        reply_value,
                        headers=[("correlation_id", headers["correlation_id"])],
                    )
            if batches:
                producer.flush()
    finally:
        producer.close()
        consumer.close()
