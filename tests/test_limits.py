"""Topics that cannot be abused: the reply-topic check, and the size limits of requests."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from a2a_kafka_sync.client.tasks import push_config
from a2a_kafka_sync.config import ServerConfig, build_config
from a2a_kafka_sync.errors import ConfigurationError, ForbiddenError, RequestTooLargeError
from a2a_kafka_sync.server.guard import RequestGuard
from a2a_kafka_sync.types import Message, Task

pytestmark = pytest.mark.slow

REQUEST = json.dumps(
    {
        "method": "message_send",
        "params": {
            "message": {
                "kind": "message",
                "messageId": "m-1",
                "role": "user",
                "parts": [{"kind": "text", "text": "hi"}],
            }
        },
    }
).encode()


class Counter:
    """A handler that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, message: Message) -> str:
        with self._lock:
            self.calls += 1
        return "ok"


def new_topic(bootstrap_servers: str, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        admin.create_topics(
            {name: {"num_partitions": 1, "replication_factor": -1}}, wait_for_metadata=True
        )
    finally:
        admin.close()
    return name


def read_records(bootstrap_servers: str, topic: str, count: int) -> list[Any]:
    """The first ``count`` records of partition 0 of ``topic`` (fewer after 20 s)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    records: list[Any] = []
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        deadline = time.monotonic() + 20
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=100).values():
                records.extend(batch)
    finally:
        consumer.close(autocommit=False)
    return records


def end_offset(bootstrap_servers: str, topic: str, quiet: float = 1.0) -> int:
    """How many records ``topic`` holds, over all its partitions: read from the start until
    nothing more comes for ``quiet`` seconds (counted, not asked: the embedded broker's
    ListOffsets answers wrong end offsets for a batch of several records)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    count = 0
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        last = time.monotonic()
        while time.monotonic() - last < quiet:
            for batch in consumer.poll(timeout_ms=100).values():
                count += len(batch)
                last = time.monotonic()
    finally:
        consumer.close(autocommit=False)
    return count


# -- the reply topic -------------------------------------------------------------------------


def test_the_guard_allows_the_pattern_and_never_the_servers_own_topics() -> None:
    guard = RequestGuard(ServerConfig(request_topic="agent"), own_topics=["a2a-reply-tasks"])
    assert guard.topic_allowed("a2a-reply-0a1b2c")
    assert not guard.topic_allowed("a2a-reply-")  # the prefix alone is no client's topic
    assert guard.topic_allowed("a2a-reply.seed-client")  # other separators after the prefix
    assert guard.topic_allowed("a2a-reply_seed-client")
    assert not guard.topic_allowed("a2a-replyish")
    assert not guard.topic_allowed("billing-events")
    assert not guard.topic_allowed("a2a-reply-tasks")  # e.g. the task store's topic
    anything = RequestGuard(ServerConfig(request_topic="agent", reply_topic_pattern=None))
    assert anything.topic_allowed("billing-events")
    for own in ("agent", "agent.dead-letters", "a2a-agent-cards", "__consumer_offsets"):
        assert not anything.topic_allowed(own), own
    with pytest.raises(ConfigurationError):
        build_config(ServerConfig, reply_topic_pattern="a2a-reply-(")


def test_a_reply_topic_outside_the_pattern_gets_nothing_and_the_request_is_dead_lettered(
    serve, raw, broker_settings, topic
) -> None:
    bootstrap = broker_settings["bootstrap_servers"]
    counter = Counter()
    app = serve(counter)
    victim = new_topic(bootstrap, "billing-events")
    headers = [
        ("correlation_id", b"abuse-1"),
        ("reply_topic", victim.encode()),
        ("authorization", b"secret-key-in-a-dead-letter"),
    ]
    raw.send(topic, REQUEST, headers)

    dead = read_records(bootstrap, app.config.dead_letter_topic_name, 1)
    assert len(dead) == 1
    dlq = dict(dead[0].headers)
    assert dlq["dlq_code"] == b"-32041" and victim.encode() in dlq["dlq_reason"]
    assert dlq["correlation_id"] == b"abuse-1" and dead[0].value == REQUEST
    assert "authorization" not in dlq  # the credentials are not copied to the dead letters
    assert end_offset(bootstrap, victim) == 0  # dead-lettered after deciding: nothing written
    assert counter.calls == 0


def test_a_reply_that_cannot_be_sent_is_dead_lettered_before_the_handler_runs(
    serve, raw, replies, broker_settings, topic
) -> None:
    """Issue 18, item 6: a reply topic Kafka would refuse, or a partition it does not have,
    ends in a dead letter that says why, and the handler never runs (kafka-python used to
    raise a ValueError after the handler had run: nothing sent, nothing dead-lettered)."""
    bootstrap = broker_settings["bootstrap_servers"]
    counter = Counter()
    app = serve(counter, reply_topic_pattern=None)
    cases = {
        b"long": [("reply_topic", ("a2a-reply-" + "x" * 300).encode())],
        b"space": [("reply_topic", b"a2a-reply-with space")],
        b"slash": [("reply_topic", b"a2a-reply/slash")],
        b"dot": [("reply_topic", b"..")],
        b"minus": [("reply_topic", replies.topic.encode()), ("reply_partition", b"-1")],
        b"beyond": [("reply_topic", replies.topic.encode()), ("reply_partition", b"999")],
    }
    for cid, headers in cases.items():
        raw.send(topic, REQUEST, [("correlation_id", cid), *headers])
    raw.send(topic, REQUEST, [("correlation_id", b"fine"), ("reply_topic", replies.topic.encode())])

    assert [cid for cid, _ in replies.read(1)] == ["fine"]  # served in order, after the others
    dead = read_records(bootstrap, app.config.dead_letter_topic_name, len(cases))
    reasons = {dict(d.headers)["correlation_id"]: dict(d.headers) for d in dead}
    assert set(reasons) == set(cases)
    assert all(r["dlq_code"] == b"-32600" for r in reasons.values()), reasons
    assert b"not a valid Kafka topic name" in reasons[b"space"]["dlq_reason"]
    assert b"is negative" in reasons[b"minus"]["dlq_reason"]
    assert b"reply_partition 999 is not a partition" in reasons[b"beyond"]["dlq_reason"]
    assert counter.calls == 1  # only "fine" ran


def test_with_no_pattern_the_servers_own_topics_are_still_refused(
    serve, raw, replies, broker_settings, topic
) -> None:
    bootstrap = broker_settings["bootstrap_servers"]
    app = serve(Counter(), reply_topic_pattern=None)
    for i, reply_topic in enumerate([topic, app.config.dead_letter_topic_name, "__hidden"]):
        headers = [("correlation_id", f"own-{i}".encode()), ("reply_topic", reply_topic.encode())]
        raw.send(topic, REQUEST, headers)
    anywhere = new_topic(bootstrap, "any-name")
    raw.send(topic, REQUEST, [("correlation_id", b"free"), ("reply_topic", anywhere.encode())])

    answers = read_records(bootstrap, anywhere, 1)  # any other topic is answered
    assert [json.loads(r.value)["type"] for r in answers] == ["message"]
    dead = read_records(bootstrap, app.config.dead_letter_topic_name, 3)
    assert sorted(dict(d.headers)["correlation_id"] for d in dead) == [b"own-0", b"own-1", b"own-2"]
    assert all(dict(d.headers)["dlq_code"] == b"-32041" for d in dead)
    assert end_offset(bootstrap, topic) == 4  # the four requests, and no reply among them
    assert end_offset(bootstrap, app.config.dead_letter_topic_name) == 3  # no reply there


def test_a_kafka_push_config_may_name_only_an_allowed_topic(
    serve, connect, broker_settings
) -> None:
    def waiting(message: Message, context: Any) -> None:
        context.task.requires_input("more?")

    serve(waiting)
    client = connect()
    task = client.send_text("start")
    assert isinstance(task, Task)
    with pytest.raises(ForbiddenError) as caught:
        client.set_task_callback(push_config(task.id, "kafka://broker:9092/billing-events"))
    assert caught.value.code == -32041 and "billing-events" in caught.value.message
    mine = client.set_task_callback(push_config(task.id, f"kafka://{client.reply_topic}"))
    assert mine.push_notification_config.url == f"kafka://{client.reply_topic}"


# -- sizes -----------------------------------------------------------------------------------


def test_an_oversized_request_value_is_answered_with_a_clear_error_and_not_run(
    serve, connect
) -> None:
    counter = Counter()
    serve(counter, max_request_bytes=2_000)
    client = connect()
    with pytest.raises(RequestTooLargeError) as caught:
        client.send_text("x" * 5_000)
    assert caught.value.code == -32042 and "max_request_bytes" in caught.value.message
    assert counter.calls == 0
    assert client.send_text("small") == "ok"


def test_oversized_request_headers_are_answered_with_a_clear_error_and_not_run(
    serve, raw, replies, topic
) -> None:
    counter = Counter()
    serve(counter, max_header_bytes=1_000)
    headers = [
        ("correlation_id", b"big-headers"),
        ("reply_topic", replies.topic.encode()),
        ("agent_id", b"a" * 5_000),
    ]
    raw.send(topic, REQUEST, headers)
    raw.send(topic, REQUEST, [("correlation_id", b"fine"), ("reply_topic", replies.topic.encode())])
    got = dict(replies.read(2))
    assert got["big-headers"]["type"] == "error"
    assert got["big-headers"]["data"]["code"] == -32042
    assert "max_header_bytes" in got["big-headers"]["data"]["error"]
    assert got["fine"]["type"] == "message"
    assert counter.calls == 1


# -- the reply cache ---------------------------------------------------------------------------


def test_a_copied_correlation_id_never_gets_the_cached_replies_of_another_request(
    serve, raw, broker_settings, topic
) -> None:
    bootstrap = broker_settings["bootstrap_servers"]
    counter = Counter()
    serve(counter)
    first, second = new_topic(bootstrap, "a2a-reply-one"), new_topic(bootstrap, "a2a-reply-two")

    def send(reply_topic: str, credentials: bytes | None = None) -> None:
        headers = [("correlation_id", b"same-id"), ("reply_topic", reply_topic.encode())]
        if credentials is not None:
            headers.append(("authorization", credentials))
        raw.send(topic, REQUEST, headers)

    send(first)
    assert len(read_records(bootstrap, first, 1)) == 1 and counter.calls == 1
    send(first)  # a redelivery: the same record, answered from the cache, not run again
    assert len(read_records(bootstrap, first, 2)) == 2 and counter.calls == 1
    send(second)  # the same id to another reply topic: a new request, run again
    assert len(read_records(bootstrap, second, 1)) == 1 and counter.calls == 2
    send(first, b"Bearer someone-else")  # the same id with other credentials: run again
    assert len(read_records(bootstrap, first, 3)) == 3 and counter.calls == 3
