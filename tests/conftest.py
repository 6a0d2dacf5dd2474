"""Shared fixtures: a real broker for the session, and factories that close what a test opens.

The broker is the embedded one (Tansu) unless ``A2A_KAFKA_BOOTSTRAP`` names another,
e.g. an Apache Kafka cluster: ``A2A_KAFKA_BOOTSTRAP=localhost:9092 pytest``.
``A2A_KAFKA_PROFILE`` picks a settings profile for that broker (none by default).
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import RawKafka, RawReplies, Webhook

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.testing import EmbeddedBroker


@pytest.fixture(scope="session")
def broker_settings() -> Iterator[dict[str, Any]]:
    """``bootstrap_servers`` and ``profile`` of the broker every Kafka test runs against."""
    external = os.environ.get("A2A_KAFKA_BOOTSTRAP")
    if external:
        yield {"bootstrap_servers": external, "profile": os.environ.get("A2A_KAFKA_PROFILE")}
        return
    with EmbeddedBroker() as broker:
        yield broker.settings()


@pytest.fixture
def topic() -> str:
    """A request topic of the test's own, so no test reads another's records."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def serve(
    broker_settings: dict[str, Any], topic: str, collect_garbage: None
) -> Iterator[Callable[..., KafkaServerApp]]:
    """Start a KafkaServerApp on the test's topic, wait until it owns partitions; stopped after."""
    apps: list[KafkaServerApp] = []

    def start(handler: Any, **settings: Any) -> KafkaServerApp:
        options = {**broker_settings, "request_topic": topic, **settings}
        app = KafkaServerApp(handler, **options).start()
        apps.append(app)
        assert app.wait_until_assigned(30), "the server got no partitions within 30 s"
        return app

    yield start
    for app in apps:
        app.stop(timeout=5)


@pytest.fixture
def connect(
    broker_settings: dict[str, Any], topic: str, collect_garbage: None
) -> Iterator[Callable[..., KafkaClientTransport]]:
    """Open a KafkaClientTransport to the test's topic; closed after."""
    clients: list[KafkaClientTransport] = []

    def open_client(**settings: Any) -> KafkaClientTransport:
        options = {**broker_settings, "request_topic": topic, "timeout": 30.0, **settings}
        client = KafkaClientTransport(**options).open()
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def collect_garbage() -> Iterator[None]:
    """Collect after the test, so a leaked resource is blamed on the test that leaked it.

    The broker fixtures below use it; pure-logic tests skip it (it costs ~0.1 s a test).
    """
    yield
    gc.collect()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A real HTTP server on loopback that records each POST (see helpers.Webhook)."""
    hook = Webhook()
    yield hook
    hook.stop()


@pytest.fixture
def raw(broker_settings: dict[str, Any]) -> Iterator[RawKafka]:
    """Plain kafka-python access to the broker, for records the library would never write."""
    kafka = RawKafka(broker_settings["bootstrap_servers"])
    yield kafka
    kafka.close()


@pytest.fixture
def replies(raw: RawKafka) -> Iterator[RawReplies]:
    """A fresh reply topic read from its start, to collect the replies sent to it."""
    reader = raw.reply_topic()
    yield reader
    reader.close()
