"""Shared fixtures: a real broker for the session, and factories that close what a test opens.

The broker of the session:

- the embedded one (Tansu), by default;
- ``A2A_KAFKA_BROKER=apache``: a real Apache Kafka node, installed from Maven Central and
  started for the session (``a2a_kafka_sync.testing.ApacheKafka``), with the library's
  defaults (no profile); tests marked ``apache_cluster`` start brokers of their own too;
- ``A2A_KAFKA_BOOTSTRAP=host:port``: a broker already running there (say which kind with
  ``A2A_KAFKA_BROKER``, default ``apache``); ``A2A_KAFKA_PROFILE`` picks a settings profile
  for it (none by default).

A test about one broker's behaviour is marked ``only_on("tansu" | "apache", reason=...)``.
A test that takes seconds of its own is marked ``slow``: the fast loop (``tox -e fast``,
``python -m pytest -m "not slow"``) leaves it out, CI runs it (docs/testing.md).
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import BlackHole, RawKafka, RawReplies, Webhook

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.testing import ApacheKafka, EmbeddedBroker

EXTERNAL_BOOTSTRAP = os.environ.get("A2A_KAFKA_BOOTSTRAP")
BROKER_KIND = (
    os.environ.get("A2A_KAFKA_BROKER", "").strip().lower()
    or ("apache" if EXTERNAL_BOOTSTRAP else "tansu")
)
if BROKER_KIND not in ("tansu", "apache"):
    raise pytest.UsageError(f"A2A_KAFKA_BROKER must be tansu or apache, not {BROKER_KIND!r}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "only_on(kind, reason): a test about one broker's own behaviour (tansu or apache)",
    )
    config.addinivalue_line(
        "markers",
        "apache_cluster: starts Apache Kafka brokers of its own; runs in the Apache Kafka pass "
        "(A2A_KAFKA_BROKER=apache)",
    )
    config.addinivalue_line(
        "markers",
        "slow: takes seconds of its own (a broker, cluster, process or kernel of its own, "
        "failover, fuzzing, a long soak); left out of the fast loop (-m 'not slow', "
        "tox -e fast); CI runs it",
    )


def pytest_report_header(config: pytest.Config) -> str:
    where = EXTERNAL_BOOTSTRAP or "started for the session"
    return f"broker: {BROKER_KIND} ({where})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("only_on")
        if marker is not None and marker.args[0] != BROKER_KIND:
            why = marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"about {marker.args[0]} only: {why}"))
        if item.get_closest_marker("apache_cluster") and BROKER_KIND != "apache":
            item.add_marker(
                pytest.mark.skip(reason="starts Apache Kafka brokers: A2A_KAFKA_BROKER=apache")
            )


@pytest.fixture(scope="session")
def broker_kind() -> str:
    """``tansu`` or ``apache``: the kind of broker the session's tests run against."""
    return BROKER_KIND


@pytest.fixture(scope="session")
def broker_settings() -> Iterator[dict[str, Any]]:
    """``bootstrap_servers`` and ``profile`` of the broker every Kafka test runs against."""
    if EXTERNAL_BOOTSTRAP:
        yield {
            "bootstrap_servers": EXTERNAL_BOOTSTRAP,
            "profile": os.environ.get("A2A_KAFKA_PROFILE"),
        }
        return
    if BROKER_KIND == "apache":
        with ApacheKafka() as kafka:
            yield kafka.settings()
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
def black_hole() -> Iterator[BlackHole]:
    """A loopback port that accepts connections and never answers (see helpers.BlackHole)."""
    hole = BlackHole()
    yield hole
    hole.close()


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
