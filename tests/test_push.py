"""Push notification delivery: webhooks on a real local HTTP server, kafka:// on the real broker."""

from __future__ import annotations

import json
import logging
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import RawKafka, RawReplies, Webhook, library_threads, wait_for
from kafka import KafkaProducer

from a2a_kafka_sync._kafka import build_producer
from a2a_kafka_sync.config import ClientConfig, build_config
from a2a_kafka_sync.errors import InternalError
from a2a_kafka_sync.metrics import ServerMetrics
from a2a_kafka_sync.server.push import (
    PUSH_HEADERS,
    PushNotifier,
    encode_push,
    send_push,
    target_key,
)
from a2a_kafka_sync.server.push_targets import parse_push_url
from a2a_kafka_sync.server.push_versions import as_answered, config_version, remember_version
from a2a_kafka_sync.types import (
    Artifact,
    Message,
    PushNotificationConfig,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a_kafka_sync.types.push import PushNotificationAuthenticationInfo
from a2a_kafka_sync.v1 import reply_from_v1
from a2a_kafka_sync.wire import decode_reply

TOKEN = "tok-SECRET-7f3a"
CREDENTIALS = "cred-SECRET-91bc"


def _task(state: str = "working", task_id: str | None = None) -> Task:
    return Task(id=task_id or uuid.uuid4().hex, context_id="ctx-1", status=TaskStatus(state=state))


@pytest.fixture(scope="module")
def producer(broker_settings: dict[str, Any]) -> Iterator[KafkaProducer]:
    built = build_producer(build_config(ClientConfig, **broker_settings))
    yield built
    built.close(timeout=5)


@pytest.fixture
def notifiers(producer: KafkaProducer) -> Iterator[Callable[..., PushNotifier]]:
    made: list[PushNotifier] = []

    def make(**options: Any) -> PushNotifier:
        notifier = PushNotifier(
            producer, **{"backoff": 0.01, "allow_insecure_webhooks": True, **options}
        )
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        notifier.close(timeout=10)


def _read_records(replies: RawReplies, count: int, timeout: float = 20.0) -> list[Any]:
    """The raw records of the topic (with headers and keys), once ``count`` have arrived."""
    records: list[Any] = []

    def arrived() -> bool:
        for batch in replies.consumer.poll(timeout_ms=100).values():
            records.extend(batch)
        return len(records) >= count

    wait_for(arrived, timeout)
    return records


# -- encode_push ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "push_type"),
    [
        (Message.agent_text("hi"), "push_message"),
        (_task(), "push_task"),
        (
            TaskStatusUpdateEvent(task_id="t", context_id="c", status=TaskStatus(state="working")),
            "push_task_status_update",
        ),
        (
            TaskArtifactUpdateEvent(task_id="t", context_id="c", artifact=Artifact.from_text("a")),
            "push_task_artifact_update",
        ),
    ],
)
def test_encode_push_wraps_each_event_in_its_push_type(event: Any, push_type: str) -> None:
    value = encode_push(event)
    assert json.loads(value) == {"type": push_type, "data": json.loads(event.to_json())}
    assert decode_reply(value).type == push_type  # what a client's reply reader accepts


def test_encode_push_refuses_other_objects() -> None:
    with pytest.raises(InternalError):
        encode_push(PushNotificationConfig(url="http://x"))  # type: ignore[arg-type]


def test_push_headers_mark_the_record_as_a_push() -> None:
    assert PUSH_HEADERS == [("notification_type", b"push")]


# -- webhooks -------------------------------------------------------------------------------------


def test_a_webhook_gets_the_task_json_with_token_and_authorization(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    task = _task()
    config = PushNotificationConfig(
        url=webhook.url(),
        token=TOKEN,
        authentication=PushNotificationAuthenticationInfo(
            schemes=["Bearer", "Basic"], credentials=CREDENTIALS
        ),
    )
    notifiers().notify(task, [config])

    assert wait_for(lambda: len(webhook.received) == 1)
    request = webhook.received[0]
    assert request["path"] == "/hook"
    assert Task.from_json(request["body"]) == task
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-A2A-Notification-Token"] == TOKEN
    assert request["headers"]["Authorization"] == f"Bearer {CREDENTIALS}"


def test_a_1_0_config_gets_a_stream_response_and_a_0_3_config_the_task(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    task = _task("completed")
    v1 = remember_version(PushNotificationConfig(url=webhook.url("/v1"), token=TOKEN), "1.0")
    v03 = remember_version(PushNotificationConfig(url=webhook.url("/v03")), "0.3")
    unsaid = PushNotificationConfig(url=webhook.url("/unsaid"))  # stored before versions
    notifiers().notify(task, [v1, v03, unsaid])
    assert wait_for(lambda: len(webhook.received) == 3)
    got = {r["path"]: r for r in webhook.received}

    body = json.loads(got["/v1"]["body"])
    assert list(body) == ["task"]  # a StreamResponse: exactly one of task, message, ...
    assert body["task"]["status"]["state"] == "TASK_STATE_COMPLETED" and "kind" not in body["task"]
    assert reply_from_v1("StreamResponse", body) == ("task", task)
    assert got["/v1"]["headers"]["Content-Type"] == "application/a2a+json"
    assert got["/v1"]["headers"]["X-A2A-Notification-Token"] == TOKEN
    for path in ("/v03", "/unsaid"):
        assert Task.from_json(got[path]["body"]) == task
        assert json.loads(got[path]["body"])["kind"] == "task"
        assert got[path]["headers"]["Content-Type"] == "application/json"


def test_the_version_a_config_remembers_is_not_answered_back() -> None:
    config = PushNotificationConfig(url="https://a.example/hook", id="c")
    remembered = remember_version(config, "1.0")
    assert config_version(remembered) == "1.0" and config_version(config) == "0.3"
    assert "a2aVersion" in json.loads(remembered.to_json())
    assert as_answered(remembered) == config and as_answered(config) is config


def test_a_webhook_without_token_or_auth_gets_neither_header(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    notifiers().notify(_task(), [PushNotificationConfig(url=webhook.url())])
    assert wait_for(lambda: len(webhook.received) == 1)
    headers = webhook.received[0]["headers"]
    assert "X-A2A-Notification-Token" not in headers and "Authorization" not in headers


def test_notify_returns_before_the_webhook_answers(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    gate = threading.Event()
    webhook.on_request = lambda body: gate.wait(10)
    notifiers().notify(_task(), [PushNotificationConfig(url=webhook.url())])
    received_before_return = len(webhook.received)
    gate.set()
    assert received_before_return == 0
    assert wait_for(lambda: len(webhook.received) == 1)


def test_503_twice_then_200_is_delivered_on_the_third_attempt(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    webhook.statuses = [503, 503]
    task = _task()
    notifier = notifiers(attempts=3)
    notifier.notify(task, [PushNotificationConfig(url=webhook.url())])
    assert notifier.close(timeout=20)
    assert len(webhook.received) == 3
    assert all(Task.from_json(r["body"]) == task for r in webhook.received)


def test_a_400_is_not_retried(
    webhook: Webhook, notifiers: Callable[..., PushNotifier], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    webhook.statuses = [400, 200, 200]
    task = _task()
    notifier = notifiers(attempts=3)
    notifier.notify(task, [PushNotificationConfig(url=webhook.url())])
    assert notifier.close(timeout=20)
    assert len(webhook.received) == 1
    assert any(task.id in r.getMessage() and "HTTP 400" in r.getMessage() for r in caplog.records)


def test_5xx_retries_stop_after_the_attempts(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    webhook.statuses = [500] * 10
    notifier = notifiers(attempts=2)
    notifier.notify(_task(), [PushNotificationConfig(url=webhook.url())])
    assert notifier.close(timeout=20)
    assert len(webhook.received) == 2


def test_updates_of_one_task_arrive_in_order_even_when_the_first_is_slow(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    never = threading.Event()

    def hold_the_first_update(body: bytes) -> None:
        # a notifier that did not keep order would have the later updates overtake this one
        if Task.from_json(body).status.state == TaskState.submitted:
            never.wait(0.5)

    webhook.on_request = hold_the_first_update
    notifier = notifiers(workers=4)
    task_id = uuid.uuid4().hex
    config = PushNotificationConfig(url=webhook.url())
    for state in ("submitted", "working", "completed"):
        notifier.notify(_task(state, task_id), [config])
    assert wait_for(lambda: len(webhook.received) == 3)
    states = [Task.from_json(r["body"]).status.state for r in webhook.received]
    assert states == [TaskState.submitted, TaskState.working, TaskState.completed]


def test_the_task_is_sent_as_it_was_when_notify_was_called(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    gate = threading.Event()
    webhook.on_request = lambda body: gate.wait(10)
    task = _task("working")
    notifiers().notify(task, [PushNotificationConfig(url=webhook.url())])
    task.status = TaskStatus(state="completed")
    gate.set()
    assert wait_for(lambda: len(webhook.received) == 1)
    assert Task.from_json(webhook.received[0]["body"]).status.state == TaskState.working


def test_an_unknown_scheme_is_logged_not_delivered_and_does_not_raise(
    webhook: Webhook, notifiers: Callable[..., PushNotifier], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    task = _task()
    notifier = notifiers()
    configs = [
        PushNotificationConfig(url="ftp://example.com/hook"),
        PushNotificationConfig(url=webhook.url()),
    ]
    notifier.notify(task, configs)
    notifier.notify(task, configs)
    assert notifier.close(timeout=10)
    assert len(webhook.received) == 2  # only the http config, once per notify
    unsupported = [r for r in caplog.records if "ftp://example.com/hook" in r.getMessage()]
    assert len(unsupported) == 2 and all(r.levelno == logging.WARNING for r in unsupported)


def test_secrets_never_appear_in_the_logs_of_a_failing_delivery(
    webhook: Webhook, notifiers: Callable[..., PushNotifier], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    webhook.statuses = [401]
    auth = PushNotificationAuthenticationInfo(schemes=["Basic"], credentials=CREDENTIALS)
    configs = [
        PushNotificationConfig(url=webhook.url(), token=TOKEN, authentication=auth),
        PushNotificationConfig(
            url=f"http://127.0.0.1:{closed_port}/hook?key={TOKEN}", token=TOKEN, authentication=auth
        ),
        PushNotificationConfig(url=f"gopher://u:{CREDENTIALS}@h/x", token=TOKEN),
    ]
    task = _task()
    notifier = notifiers(attempts=2)
    notifier.notify(task, configs)
    assert notifier.close(timeout=20)
    failures = [
        r for r in caplog.records if r.levelno == logging.WARNING and task.id in r.getMessage()
    ]
    assert len(failures) == 3, caplog.text
    assert f"127.0.0.1:{closed_port}/hook" in caplog.text
    assert TOKEN not in caplog.text and CREDENTIALS not in caplog.text
    assert TOKEN not in repr(notifier) and CREDENTIALS not in repr(notifier)


def test_close_ends_every_push_thread_and_is_idempotent(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    notifier = notifiers(workers=3)
    for _ in range(6):
        notifier.notify(_task(), [PushNotificationConfig(url=webhook.url())])
    assert any(name.startswith("a2a-kafka-push") for name in library_threads())
    assert notifier.close(timeout=10)
    assert len(webhook.received) == 6  # queued deliveries finished before the threads ended
    assert not [name for name in library_threads() if name.startswith("a2a-kafka-push")]
    assert notifier.close(timeout=1)
    notifier.notify(_task(), [PushNotificationConfig(url=webhook.url())])  # dropped, no raise
    assert len(webhook.received) == 6


def test_close_drops_what_is_still_queued_when_its_bound_passes(
    webhook: Webhook, notifiers: Callable[..., PushNotifier], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    gate = threading.Event()
    webhook.on_request = lambda body: gate.wait(10)
    notifier = notifiers(workers=1)
    for _ in range(3):
        notifier.notify(_task(), [PushNotificationConfig(url=webhook.url())])
    assert wait_for(lambda: any(t.name == "a2a-kafka-push-0" for t in threading.enumerate()))
    assert not notifier.close(timeout=0.2)  # the first delivery is held by the server
    gate.set()
    assert wait_for(lambda: not [n for n in library_threads() if n.startswith("a2a-kafka-push")])
    assert len(webhook.received) == 1
    assert any("dropped 2 queued" in r.getMessage() for r in caplog.records)


# -- scheduling per target, drops and metrics ------------------------------------------------


def test_the_target_of_a_push_is_its_scheme_host_and_port_or_its_topic() -> None:
    def key(url: str) -> str:
        return target_key(url, parse_push_url(url))

    assert key("https://Hooks.example.com/a?x=1") == key("https://hooks.example.com:443/b")
    assert key("https://hooks.example.com/a") == "https://hooks.example.com:443"
    assert key("http://hooks.example.com/a") == "http://hooks.example.com:80"
    assert key("https://hooks.example.com:8443/a") != key("https://hooks.example.com/a")
    assert key("kafka://a-topic") == key("kafka://broker:9092/a-topic") == "kafka://a-topic"


def test_a_webhook_that_holds_every_request_delays_only_its_own_pushes(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    slow, gate = Webhook(), threading.Event()
    holding: list[bytes] = []
    slow.on_request = lambda body: (holding.append(body), gate.wait(20))
    try:
        notifier = notifiers(workers=2, per_target=1)
        for _ in range(5):
            notifier.notify(_task(), [PushNotificationConfig(url=slow.url())])
        assert wait_for(lambda: len(holding) == 1)
        notifier.notify(_task(), [PushNotificationConfig(url=webhook.url())])
        assert wait_for(lambda: len(webhook.received) == 1)  # while the slow one holds its push
        assert len(holding) == 1 and slow.received == [] and notifier.queued == 4
    finally:
        gate.set()
        slow.stop()


def test_the_notifier_counts_deliveries_by_outcome_and_drops_by_reason(
    webhook: Webhook, notifiers: Callable[..., PushNotifier]
) -> None:
    metrics = ServerMetrics()
    webhook.statuses = [200, 400]
    notifier = notifiers(metrics=metrics, workers=1)
    notifier.notify(_task(), [PushNotificationConfig(url=webhook.url())])
    notifier.notify(_task(), [PushNotificationConfig(url=webhook.url())])
    notifier.notify(_task(), [PushNotificationConfig(url="ftp://example.com/x")])
    assert notifier.close(timeout=10)
    notifier.notify(_task(), [PushNotificationConfig(url=webhook.url())])  # after close
    assert metrics.value("push_deliveries", outcome="delivered") == 1
    assert metrics.value("push_deliveries", outcome="failed") == 1
    assert metrics.value("push_deliveries", outcome="refused") == 1
    assert metrics.value("push_dropped", reason="closed") == 1


# -- kafka:// and send_push, on the real broker ---------------------------------------------------


@pytest.mark.parametrize("form", ["kafka://{topic}", "kafka://broker.example:9092/{topic}"])
def test_a_kafka_url_gets_a_push_task_record(
    form: str, raw: RawKafka, notifiers: Callable[..., PushNotifier]
) -> None:
    replies = raw.reply_topic()
    try:
        task = _task()
        notifier = notifiers()
        notifier.notify(task, [PushNotificationConfig(url=form.format(topic=replies.topic))])
        records = _read_records(replies, 1)
        assert len(records) == 1
        record = records[0]
        assert dict(record.headers) == {"notification_type": b"push"}
        assert record.key == task.id.encode()
        assert json.loads(record.value)["type"] == "push_task"
        reply = decode_reply(record.value)
        assert reply.type == "push_task" and reply.data == task
    finally:
        replies.close()


def test_a_kafka_url_of_a_1_0_config_gets_a_stream_response_record(
    raw: RawKafka, notifiers: Callable[..., PushNotifier]
) -> None:
    replies = raw.reply_topic()
    try:
        task = _task()
        config = remember_version(PushNotificationConfig(url=f"kafka://{replies.topic}"), "1.0")
        notifiers().notify(task, [config])
        records = _read_records(replies, 1)
        assert len(records) == 1
        assert dict(records[0].headers) == {"notification_type": b"push"}
        value = json.loads(records[0].value)
        assert value["type"] == "StreamResponse" and list(value["data"]) == ["task"]
        reply = decode_reply(records[0].value)  # what a client's reply reader makes of it
        assert reply.type == "task" and reply.data == task
    finally:
        replies.close()


def test_send_push_writes_a_push_record_to_a_reply_topic(
    raw: RawKafka, producer: KafkaProducer
) -> None:
    replies = raw.reply_topic()
    try:
        event = TaskStatusUpdateEvent(
            task_id="task-9", context_id="c", status=TaskStatus(state="working")
        )
        send_push(producer, replies.topic, event, partition=0).get(timeout=10)
        records = _read_records(replies, 1)
        assert len(records) == 1
        assert dict(records[0].headers) == {"notification_type": b"push"}
        reply = decode_reply(records[0].value)
        assert reply.type == "push_task_status_update" and reply.data == event
    finally:
        replies.close()
