"""Records too large for the broker, on a real Apache Kafka node whose limit is small.

Apache Kafka refuses a record batch over ``message.max.bytes`` (or a topic's own
``max.message.bytes``) with MESSAGE_TOO_LARGE, and kafka-python 3.0.12 then fails its
idempotent producer for good: every later send through it fails. These tests hold
the library to what issue 14 asks: the caller of a reply too large gets a clear
error, the server keeps answering everyone else with the same app, the request is
committed once answered, a client's too-large request is refused before it is sent,
and a dead letter too large for its topic is kept without its value.

One node for the module, ``message.max.bytes`` = 200000 (a start costs 10-25 s here).
Run with ``A2A_KAFKA_BROKER=apache python -m pytest tests/test_apache_limits.py``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import RawKafka, wait_for
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.errors import InternalError, RequestTimeoutError, RequestTooLargeError
from a2a_kafka_sync.testing import ApacheKafka
from a2a_kafka_sync.types import Message

pytestmark = [pytest.mark.slow, pytest.mark.apache_cluster]

BROKER_LIMIT = 200_000
TOPIC_LIMIT = 50_000


@pytest.fixture(scope="module")
def kafka() -> Iterator[ApacheKafka]:
    """One Apache Kafka node that takes record batches of at most 200000 bytes."""
    with ApacheKafka(broker_config={"message.max.bytes": str(BROKER_LIMIT)}) as node:
        yield node


@pytest.fixture
def admin(kafka: ApacheKafka) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    yield client
    client.close()


@pytest.fixture
def topic() -> str:
    return f"limits-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def serve(
    kafka: ApacheKafka, topic: str, collect_garbage: None
) -> Iterator[Callable[..., KafkaServerApp]]:
    apps: list[KafkaServerApp] = []

    def start(handler: Any, **settings: Any) -> KafkaServerApp:
        app = KafkaServerApp(handler, request_topic=topic, **kafka.settings(), **settings).start()
        apps.append(app)
        assert app.wait_until_assigned(30), "the server got no partitions within 30 s"
        return app

    yield start
    for app in apps:
        app.stop(timeout=5)


@pytest.fixture
def connect(
    kafka: ApacheKafka, topic: str, collect_garbage: None
) -> Iterator[Callable[..., KafkaClientTransport]]:
    clients: list[KafkaClientTransport] = []

    def open_client(**settings: Any) -> KafkaClientTransport:
        options = {"request_topic": topic, "timeout": 30.0, **kafka.settings(), **settings}
        client = KafkaClientTransport(**options).open()
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def raw(kafka: ApacheKafka) -> Iterator[RawKafka]:
    client = RawKafka(kafka.bootstrap_servers)
    yield client
    client.close()


class Replies:
    """A handler: ``big N`` answers N bytes of text, anything else is echoed; counts calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, message: Message) -> str:
        with self._lock:
            self.calls.append(message.text[:20])
        if message.text.startswith("big "):
            return "x" * int(message.text.split()[1])
        return f"echo {message.text}"


def create_topic(admin: KafkaAdminClient, name: str, **configs: str) -> None:
    admin.create_topics(
        {name: {"num_partitions": 1, "replication_factor": -1, "configs": configs}},
        wait_for_metadata=True,
    )


def set_topic_limit(admin: KafkaAdminClient, name: str, limit: int) -> None:
    """Give ``name`` a ``max.message.bytes`` of its own and wait until the broker says so."""
    admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name, {"max.message.bytes": str(limit)})]
    )
    resource = ConfigResource(ConfigResourceType.TOPIC, name, ["max.message.bytes"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        described = admin.describe_configs([resource], config_filter="all")
        if described["topic"][name]["max.message.bytes"]["value"] == str(limit):
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} did not take max.message.bytes={limit}")


def committed_everything(kafka: ApacheKafka, app: KafkaServerApp, user: str | None = None) -> bool:
    """True when the app's group committed the request topic up to its end (after stop())."""
    security = kafka.kafka_security(user) if user else {}
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=app.config.group_id,
        enable_auto_commit=False,
        **security,
    )
    try:
        topic = app.config.request_topic
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        ends = consumer.end_offsets(partitions)
        return all((consumer.committed(p) or 0) == ends[p] for p in partitions)
    finally:
        consumer.close(autocommit=False)


def read_all(kafka: ApacheKafka, topic: str, count: int, timeout: float = 20.0) -> list[Any]:
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    records: list[Any] = []
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        deadline = time.monotonic() + timeout
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=100).values():
                records.extend(batch)
    finally:
        consumer.close(autocommit=False)
    return records


def fan_out(client: KafkaClientTransport, count: int, tag: str) -> list[Any]:
    """``count`` calls in flight at once from one client; their answers, in order."""
    calls = [client.submit(f"{tag} {i}") for i in range(count)]
    return [call.result().text for call in calls]


# -- the server: a reply too large for the broker --------------------------------------------


def test_a_reply_over_the_brokers_limit_gets_its_caller_an_error_and_others_their_answers(
    kafka: ApacheKafka, serve: Any, connect: Any
) -> None:
    handler = Replies()
    app = serve(handler)
    client, others = connect(), connect()
    assert client.send_text("before") == "echo before"
    around = threading.Thread(target=lambda: results.extend(fan_out(others, 30, "around")))
    results: list[Any] = []
    around.start()
    with pytest.raises(InternalError) as caught:
        client.send_text("big 300000")
    around.join(60)
    error = caught.value
    assert error.code == -32603
    assert str(BROKER_LIMIT) in error.message and "message.max.bytes" in error.message
    assert results == [f"echo around {i}" for i in range(30)]  # nobody else lost an answer
    assert fan_out(client, 10, "after") == [f"echo after {i}" for i in range(10)]
    assert app.running and handler.calls.count("big 300000") == 1  # answered, not run again
    app.stop(timeout=10)
    assert committed_everything(kafka, app)  # the request is settled, not read again


def test_a_reply_over_a_topic_limit_lower_than_the_brokers_is_answered_after_one_refusal(
    kafka: ApacheKafka, serve: Any, connect: Any, admin: KafkaAdminClient
) -> None:
    handler = Replies()
    app = serve(handler)
    client = connect()
    set_topic_limit(admin, client.reply_topic, TOPIC_LIMIT)  # a limit only the broker knows
    with pytest.raises(InternalError) as caught:
        client.send_text("big 100000")  # under the broker's limit, over the topic's
    assert str(TOPIC_LIMIT) in caught.value.message
    assert "max.message.bytes" in caught.value.message
    assert fan_out(client, 10, "after") == [f"echo after {i}" for i in range(10)]
    assert handler.calls.count("big 100000") == 1  # the redelivery was answered from the cache
    assert app.running
    app.stop(timeout=10)
    assert committed_everything(kafka, app)


def test_a_stream_event_too_large_ends_that_stream_with_an_error(
    serve: Any, connect: Any
) -> None:
    def stream(message: Message) -> Iterator[str]:
        yield "first"
        if message.text == "go":
            yield "x" * 300_000
            yield "never sent"
        yield "last"

    serve(stream)
    client = connect()
    seen: list[Any] = []
    with pytest.raises(InternalError) as caught:
        for text in client.send_message_streaming("go").texts():
            seen.append(text)
    assert seen == ["first"]
    assert str(BROKER_LIMIT) in caught.value.message
    assert list(client.send_message_streaming("again").texts()) == ["first", "last"]


def test_a_task_event_too_large_ends_the_callers_stream_with_an_error(
    serve: Any, connect: Any
) -> None:
    finished = threading.Event()

    def agent(message: Message, context: Any) -> None:
        if message.text == "small":
            context.task.complete("done")
            return
        context.task.start_work("working")
        context.task.add_artifact("x" * 300_000)
        context.task.complete("done")
        finished.set()

    serve(agent)
    client = connect()
    kinds: list[str] = []
    with pytest.raises(InternalError) as caught:
        for event in client.send_message_streaming("large"):
            kinds.append(type(event).__name__)
    assert "TaskArtifactUpdateEvent" not in kinds
    assert str(BROKER_LIMIT) in caught.value.message
    assert finished.wait(10)  # the agent itself ran to its end
    small = list(client.send_message_streaming("small"))
    assert small and small[-1].status.state.value == "completed"


def test_in_exactly_once_mode_a_reply_too_large_is_answered_and_the_partition_moves_on(
    kafka: ApacheKafka, serve: Any, connect: Any
) -> None:
    handler = Replies()
    app = serve(handler, exactly_once=True)
    client = connect(isolation_level="read_committed")
    with pytest.raises(InternalError) as caught:
        client.send_text("big 300000")
    assert str(BROKER_LIMIT) in caught.value.message
    assert fan_out(client, 10, "after") == [f"echo after {i}" for i in range(10)]
    app.stop(timeout=10)
    assert committed_everything(kafka, app)


# -- the client: a request too large for the broker -------------------------------------------


def test_a_request_over_the_brokers_limit_is_refused_before_it_is_sent(
    kafka: ApacheKafka, serve: Any, connect: Any, topic: str
) -> None:
    handler = Replies()
    serve(handler)
    client = connect()
    with pytest.raises(RequestTooLargeError) as caught:
        client.send_text("y" * 300_000)  # under max_request_size (1 MiB), over the broker's
    assert caught.value.code == -32042
    assert str(BROKER_LIMIT) in caught.value.message and client.pending == 0
    assert fan_out(client, 10, "after") == [f"echo after {i}" for i in range(10)]
    assert sorted(handler.calls) == sorted(f"after {i}" for i in range(10))  # no large one


def test_a_request_over_its_topics_own_limit_is_refused_before_it_is_sent(
    serve: Any, connect: Any, topic: str, admin: KafkaAdminClient
) -> None:
    create_topic(admin, topic, **{"max.message.bytes": str(TOPIC_LIMIT)})
    handler = Replies()
    serve(handler)
    client = connect()
    with pytest.raises(RequestTooLargeError) as caught:
        client.send_text("y" * 100_000)
    assert str(TOPIC_LIMIT) in caught.value.message
    assert "max.message.bytes" in caught.value.message
    assert client.send_text("small") == "echo small"
    assert handler.calls == ["small"]


def test_a_request_refused_after_its_topic_limit_was_lowered_raises_and_the_client_recovers(
    serve: Any, connect: Any, topic: str, admin: KafkaAdminClient
) -> None:
    handler = Replies()
    serve(handler)
    client = connect()
    request = "y" * 20_000
    assert client.send_text(request) == f"echo {request}"  # the limit is asked: 200000
    set_topic_limit(admin, topic, 10_000)  # lowered behind the client's back
    with pytest.raises(RequestTooLargeError) as refused:
        client.send_text(request)  # sent: the broker refuses it
    assert "refused" in refused.value.message
    with pytest.raises(RequestTooLargeError) as asked:
        client.send_text(request)  # the limit asked again: not sent
    assert "10000" in asked.value.message and "not sent" in asked.value.message
    assert client.send_text("small") == "echo small"  # a new producer took over
    assert len(handler.calls) == 2


# -- the dead-letter topic ---------------------------------------------------------------------


def test_a_dead_letter_too_large_for_its_topic_is_kept_without_its_value(
    kafka: ApacheKafka,
    serve: Any,
    connect: Any,
    raw: RawKafka,
    topic: str,
    admin: KafkaAdminClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead_letters = f"{topic}.dead-letters"
    create_topic(admin, dead_letters, **{"max.message.bytes": str(TOPIC_LIMIT)})
    serve(Replies())
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    value = b"z" * 100_000  # the request topic takes it, its dead-letter topic does not
    raw.send(topic, value, [("correlation_id", b"too-big-to-keep")])  # no reply topic
    raw.send(topic, b"small", [("correlation_id", b"small-one")])

    kept = read_all(kafka, dead_letters, 2)
    by_id = {dict(r.headers)["correlation_id"]: r for r in kept}
    assert set(by_id) == {b"too-big-to-keep", b"small-one"}
    big = by_id[b"too-big-to-keep"]
    assert not big.value and dict(big.headers)["dlq_value_bytes"] == b"100000"
    assert by_id[b"small-one"].value == b"small"
    assert any(
        "too-big-to-keep" in r.getMessage() and "without its value" in r.getMessage()
        for r in caplog.records
    )
    assert connect().send_text("still serving") == "echo still serving"


def test_dead_letters_over_a_megabyte_are_kept_without_their_values_every_time(
    kafka: ApacheKafka,
    serve: Any,
    connect: Any,
    topic: str,
    admin: KafkaAdminClient,
) -> None:
    create_topic(admin, topic, **{"max.message.bytes": str(3 * 1024 * 1024)})
    serve(Replies())
    producer = KafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, max_request_size=4 * 1024 * 1024
    )
    try:
        for i in range(2):  # through the large-record producer, over the broker's limit
            headers = [("correlation_id", f"huge-{i}".encode())]
            producer.send(topic, value=b"h" * 1_500_000, headers=headers).get(timeout=20)
    finally:
        producer.close(timeout=5)
    kept = read_all(kafka, f"{topic}.dead-letters", 2)
    assert sorted(dict(r.headers)["correlation_id"] for r in kept) == [b"huge-0", b"huge-1"]
    assert all(not r.value and dict(r.headers)["dlq_value_bytes"] == b"1500000" for r in kept)
    assert connect().send_text("still serving") == "echo still serving"


def test_in_exactly_once_mode_a_reply_over_a_topic_limit_is_answered_after_one_refusal(
    kafka: ApacheKafka, serve: Any, connect: Any, admin: KafkaAdminClient
) -> None:
    handler = Replies()
    app = serve(handler, exactly_once=True)
    client = connect(isolation_level="read_committed")
    set_topic_limit(admin, client.reply_topic, TOPIC_LIMIT)
    with pytest.raises(InternalError) as caught:
        client.send_text("big 100000")
    assert str(TOPIC_LIMIT) in caught.value.message
    assert fan_out(client, 10, "after") == [f"echo after {i}" for i in range(10)]
    app.stop(timeout=10)
    assert committed_everything(kafka, app)


# -- brokers that do not tell their limits (ACLs without DescribeConfigs) ----------------------


@pytest.fixture(scope="module")
def secured() -> Iterator[ApacheKafka]:
    """A node with SASL and ACLs: ``topics-only`` may describe the topics' configs but not
    the cluster's; ``no-configs`` may describe no configs at all."""
    users = {"admin": "admin-secret", "topics-only": "t-secret", "no-configs": "n-secret"}
    with ApacheKafka(users=users, broker_config={"message.max.bytes": str(BROKER_LIMIT)}) as node:
        properties = str(node.client_properties())

        def allow(user: str, *args: str) -> None:
            node.run_tool(
                "org.apache.kafka.tools.AclCommand",
                "--bootstrap-server",
                node.bootstrap_servers,
                "--command-config",
                properties,
                "--add",
                "--allow-principal",
                f"User:{user}",
                *args,
            )

        allow("topics-only", "--operation", "All", "--topic", "*", "--group", "*")
        operations = ["Read", "Write", "Describe", "Create"]
        allow("no-configs", *(f"--operation={o}" for o in operations), "--topic", "*")
        allow("no-configs", "--operation", "Read", "--group", "*")
        yield node


def test_with_describe_configs_on_the_topics_only_a_reply_too_large_is_never_sent(
    secured: ApacheKafka, topic: str, caplog: pytest.LogCaptureFixture, collect_garbage: None
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    handler = Replies()
    settings = {"request_topic": topic}
    app = KafkaServerApp(handler, **settings, **secured.settings(user="topics-only")).start()
    try:
        assert app.wait_until_assigned(30)
        with KafkaClientTransport(**settings, timeout=30.0, **secured.settings()) as client:
            with pytest.raises(InternalError) as caught:
                client.send_text("big 300000")
            assert str(BROKER_LIMIT) in caught.value.message  # told by the topic's config
            assert client.send_text("small") == "echo small"
    finally:
        app.stop(timeout=10)
    replaced = [r for r in caplog.records if "reconnecting the server's producer" in r.message]
    assert not replaced  # prevented: the broker never refused a record


def test_without_describe_configs_a_reply_the_broker_refuses_is_given_up_not_read_forever(
    secured: ApacheKafka, topic: str, caplog: pytest.LogCaptureFixture, collect_garbage: None
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    handler = Replies()
    settings = {"request_topic": topic}
    app = KafkaServerApp(handler, **settings, **secured.settings(user="no-configs")).start()

    def given_up() -> int:
        return sum("giving up on it" in r.getMessage() for r in caplog.records)

    try:
        assert app.wait_until_assigned(30)
        with KafkaClientTransport(**settings, timeout=30.0, **secured.settings()) as client:
            lost = client.submit("big 300000", timeout=10.0)  # documented: it times out
            assert fan_out(client, 10, "others") == [f"echo others {i}" for i in range(10)]
            with pytest.raises(RequestTimeoutError):
                lost.result()
            assert wait_for(lambda: given_up() >= 1, timeout=60)
            assert client.send_text("small") == "echo small"
    finally:
        app.stop(timeout=10)
    assert committed_everything(secured, app, user="admin")  # not read again and again
    assert given_up() == 1
