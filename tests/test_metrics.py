"""Metrics: what clients and servers count, read in plain Python and through prometheus_client."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import UNSERVED, wait_for
from prometheus_client import CollectorRegistry, generate_latest

from a2a_kafka_sync import KafkaServerApp, Message, RequestTimeoutError, TaskArtifactUpdateEvent
from a2a_kafka_sync.errors import TaskNotFoundError
from a2a_kafka_sync.metrics import DEFAULT_BUCKETS, ClientMetrics, ServerMetrics
from a2a_kafka_sync.metrics.prometheus import MetricsCollector, register, unregister

DOCS = Path(__file__).resolve().parent.parent / "docs"


def echo(message: Message) -> str:
    return f"echo: {message.text}"


# -- plain Python, no broker ----------------------------------------------------------------------


def test_a_snapshot_lists_every_metric_with_its_type_labels_and_samples() -> None:
    metrics = ClientMetrics()
    metrics.request_sent("task_get")
    metrics.call_finished("task_get", False, "ok", None, 0.003)
    metrics.call_finished("task_get", False, "error", "-32001", 0.2)

    snapshot = metrics.snapshot()

    assert list(snapshot) == [family.name for family in ClientMetrics.FAMILIES]
    assert snapshot["requests_sent"]["type"] == "counter"
    assert snapshot["requests_sent"]["samples"] == [{"labels": {"method": "task_get"}, "value": 1}]
    assert snapshot["errors"]["samples"] == [
        {"labels": {"method": "task_get", "code": "-32001"}, "value": 1}
    ]
    (histogram,) = snapshot["call_duration_seconds"]["samples"]
    assert histogram["labels"] == {"method": "task_get", "type": "unary"}
    assert histogram["count"] == 2
    assert histogram["sum"] == pytest.approx(0.203)
    assert list(histogram["buckets"]) == [*DEFAULT_BUCKETS, float("inf")]
    assert histogram["buckets"][0.0025] == 0  # cumulative, as Prometheus counts them
    assert histogram["buckets"][0.005] == 1
    assert histogram["buckets"][0.25] == 2
    assert histogram["buckets"][float("inf")] == 2


def test_value_sums_over_the_labels_it_is_not_given() -> None:
    metrics = ServerMetrics()
    metrics.request_handled("message_send", "ok", seconds=0.01)
    metrics.request_handled("message_send", "error", seconds=0.01)
    metrics.request_handled("task_get", "ok", seconds=0.01)

    assert metrics.value("requests_handled") == 3
    assert metrics.value("requests_handled", outcome="ok") == 2
    assert metrics.value("requests_handled", method="message_send", outcome="ok") == 1
    assert metrics.value("handler_duration_seconds", method="task_get") == 1
    with pytest.raises(KeyError):
        metrics.value("requests")
    with pytest.raises(ValueError):
        metrics.value("requests_handled", code="-32001")


def test_disabled_metrics_keep_no_samples() -> None:
    metrics = ClientMetrics(enabled=False, in_flight=lambda: 3)
    metrics.request_sent("message_send")
    metrics.call_finished("message_send", False, "ok", None, 0.1)
    assert all(not family["samples"] for family in metrics.snapshot().values())


def test_a_gauge_that_cannot_be_read_leaves_the_rest_readable() -> None:
    def broken() -> int:
        raise RuntimeError("gone")

    metrics = ClientMetrics(in_flight=broken)
    metrics.request_sent("message_send")
    snapshot = metrics.snapshot()
    assert snapshot["in_flight"]["samples"] == []
    assert snapshot["requests_sent"]["samples"][0]["value"] == 1


def test_concurrent_updates_are_all_counted() -> None:
    metrics = ClientMetrics()

    def hammer() -> None:
        for _ in range(5000):
            metrics.call_finished("message_send", False, "ok", None, 0.001)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert metrics.value("calls_finished") == 40_000
    assert metrics.value("call_duration_seconds") == 40_000


def test_an_observer_that_fails_never_keeps_a_caller_waiting() -> None:
    from a2a_kafka_sync.client.correlation import CorrelationManager
    from a2a_kafka_sync.wire import Reply

    class Broken:
        def event(self) -> None:
            raise RuntimeError("broken")

        def done(self, reply: Any, error: Any) -> None:
            raise RuntimeError("broken")

    registry = CorrelationManager()
    waiter = registry.register("c-1", observer=Broken())
    stream = registry.register("c-2", stream=True, observer=Broken())
    assert registry.resolve("c-1", Reply("message", Message.agent_text("hi")))
    assert registry.resolve("c-2", Reply("message", Message.agent_text("event")))
    assert registry.fail("c-2", RuntimeError("the end"))

    assert waiter.wait(0).data.text == "hi"
    assert stream.next(0).data.text == "event"
    with pytest.raises(RuntimeError, match="the end"):
        stream.next(0)


# -- the documentation lists every metric ---------------------------------------------------------


def _documented_metrics() -> dict[str, tuple[str, str]]:
    """``| `a2a_kafka_...` | type | labels | ...`` rows of docs/observability.md."""
    rows = {}
    text = (DOCS / "observability.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`a2a_kafka_\w+`", cells[0]):
            rows[cells[0].strip("`")] = (cells[1], cells[2])
    return rows


def _expected_metrics() -> dict[str, tuple[str, str]]:
    expected = {}
    for kind in (ClientMetrics, ServerMetrics):
        for family in kind.FAMILIES:
            name = f"a2a_kafka_{kind.kind}_{family.name}"
            if family.type == "counter":
                name += "_total"
            labels = ", ".join(f"`{label}`" for label in family.labels) or "-"
            expected[name] = (family.type, labels)
    return expected


def test_every_metric_is_in_the_observability_page_with_its_type_and_labels() -> None:
    assert _documented_metrics() == _expected_metrics()


# -- prometheus_client ----------------------------------------------------------------------------


def test_registering_exposes_the_documented_names_at_scrape_time() -> None:
    registry = CollectorRegistry()
    client_metrics, server_metrics = ClientMetrics(in_flight=lambda: 2), ServerMetrics()
    register(client_metrics, registry=registry)
    register(server_metrics, registry=registry)
    client_metrics.request_sent("message_send")  # after registering: read at scrape time
    client_metrics.call_finished("message_send", False, "ok", None, 0.004)
    server_metrics.set_lag({("agent", 0): 7})

    text = generate_latest(registry).decode()

    assert 'a2a_kafka_client_requests_sent_total{method="message_send"} 1.0' in text
    assert "a2a_kafka_client_in_flight 2.0" in text
    assert (
        'a2a_kafka_client_call_duration_seconds_bucket{le="0.005",method="message_send",'
        'type="unary"} 1.0'
    ) in text
    assert 'a2a_kafka_server_consumer_lag{partition="0",topic="agent"} 7.0' in text
    exposed = set(re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE))
    assert exposed == set(_expected_metrics())


def test_two_clients_in_one_registry_need_labels_to_tell_them_apart() -> None:
    registry = CollectorRegistry()
    first, second = ClientMetrics(), ClientMetrics()
    collector = register(first, registry=registry, labels={"client": "a"})
    with pytest.raises(ValueError, match="labels"):
        register(second, registry=registry, labels={"client": "a"})
    with pytest.raises(ValueError, match="label names"):
        register(second, registry=registry)
    assert register(second, registry=registry, labels={"client": "b"}) is collector
    first.request_sent("task_get")
    second.request_sent("task_get")

    text = generate_latest(registry).decode()
    assert 'a2a_kafka_client_requests_sent_total{client="a",method="task_get"} 1.0' in text
    assert 'a2a_kafka_client_requests_sent_total{client="b",method="task_get"} 1.0' in text

    assert unregister(first, registry=registry)
    assert not unregister(first, registry=registry)
    assert 'client="a"' not in generate_latest(registry).decode()


def test_a_collector_never_keeps_metrics_alive() -> None:
    import gc

    collector = MetricsCollector()
    metrics = ClientMetrics()
    collector.add(metrics)
    assert len(collector) == 1
    del metrics
    gc.collect()
    assert len(collector) == 0


def test_registering_something_without_metrics_is_refused() -> None:
    with pytest.raises(TypeError):
        register(object(), registry=CollectorRegistry())


def test_the_collector_clashes_loudly_with_another_exporting_the_same_names() -> None:
    from prometheus_client import Counter

    registry = CollectorRegistry()
    Counter("a2a_kafka_client_requests_sent", "taken", registry=registry)
    with pytest.raises(ValueError):
        register(ClientMetrics(), registry=registry)


# -- on a real broker -----------------------------------------------------------------------------


@pytest.mark.slow
def test_unary_calls_are_counted_on_both_sides(serve, connect) -> None:
    app = serve(echo)
    client = connect()
    for text in ("a", "b", "c"):
        assert client.send_text(text) == f"echo: {text}"

    assert client.metrics.value("requests_sent", method="message_send") == 3
    assert client.metrics.value("calls_finished", method="message_send", outcome="ok") == 3
    assert client.metrics.value("call_duration_seconds", method="message_send", type="unary") == 3
    assert client.metrics.value("errors") == 0
    assert client.metrics.value("in_flight") == 0
    (latency,) = client.metrics.snapshot()["call_duration_seconds"]["samples"]
    assert latency["sum"] > 0

    assert wait_for(lambda: app.metrics.value("requests_handled", outcome="ok") == 3)
    assert app.metrics.value("requests_received", method="message_send") == 3
    assert app.metrics.value("handler_duration_seconds", type="unary") == 3
    assert wait_for(lambda: app.metrics.value("in_flight") == 0)


@pytest.mark.slow
def test_an_agent_error_is_counted_by_its_code_on_both_sides(serve, connect) -> None:
    def missing(message: Message) -> str:
        raise TaskNotFoundError("no such task")

    app = serve(missing)
    client = connect()
    with pytest.raises(TaskNotFoundError):
        client.send_text("where is it?")

    assert client.metrics.value("calls_finished", outcome="error") == 1
    assert client.metrics.value("errors", method="message_send", code="-32001") == 1
    assert client.metrics.value("call_duration_seconds") == 1  # an answer: its latency counts
    assert wait_for(lambda: app.metrics.value("requests_handled", outcome="error") == 1)
    assert app.metrics.value("errors", method="message_send", code="-32001") == 1


def test_timeouts_cancels_and_calls_in_flight_are_counted(connect) -> None:
    client = connect(**UNSERVED)  # no server: nothing is ever answered
    with pytest.raises(RequestTimeoutError):
        client.send_text("anyone?", timeout=0.3)
    pending = client.submit("still there?", timeout=30)

    assert client.metrics.value("in_flight") == 1
    assert pending.cancel()
    assert client.metrics.value("in_flight") == 0
    assert client.metrics.value("requests_sent") == 2
    assert client.metrics.value("calls_finished", outcome="timeout") == 1
    assert client.metrics.value("errors", code="timeout") == 1
    assert client.metrics.value("calls_finished", outcome="closed") == 1
    assert client.metrics.value("call_duration_seconds") == 0  # unanswered calls have none


@pytest.mark.slow
def test_stream_events_are_counted_on_both_sides(serve, connect) -> None:
    def count(message: Message) -> Iterator[str]:
        for i in range(5):
            yield str(i)

    app = serve(count)
    client = connect()
    events = list(client.send_message_streaming("count"))

    # the task, working, a chunk per item, the closing chunk, completed
    chunks = [e.artifact.text for e in events if isinstance(e, TaskArtifactUpdateEvent)]
    assert chunks == ["0", "1", "2", "3", "4", ""] and len(events) == 9
    assert client.metrics.value("stream_events_received", method="message_send") == 9
    assert client.metrics.value("calls_finished", outcome="ok") == 1
    assert client.metrics.value("call_duration_seconds", type="stream") == 1
    assert wait_for(lambda: app.metrics.value("handler_duration_seconds", type="stream") == 1)
    assert app.metrics.value("stream_events_sent", method="message_send") == 9


@pytest.mark.slow
def test_a_stream_closed_early_ends_as_closed(serve, connect) -> None:
    release = threading.Event()

    def slow(message: Message) -> Iterator[str]:
        yield "first"
        release.wait(10)
        yield "second"

    serve(slow)
    client = connect()
    with client.send_message_streaming("go") as stream:
        assert next(stream.texts()) == "first"
    release.set()

    assert client.metrics.value("calls_finished", outcome="closed") == 1
    assert client.metrics.value("stream_events_received") >= 1
    assert client.metrics.value("in_flight") == 0


@pytest.mark.slow
def test_a_late_reply_is_counted_as_dropped(serve, connect) -> None:
    def sometimes_slow(message: Message) -> str:
        if message.text == "slow":
            time.sleep(1.0)
        return message.text

    serve(sometimes_slow)
    client = connect()
    with pytest.raises(RequestTimeoutError):
        client.send_text("slow", timeout=0.2)
    time.sleep(1.2)  # the late reply is on the topic; the next call makes the reader read it
    assert client.send_text("fast") == "fast"

    assert wait_for(
        lambda: client.metrics.value("replies_dropped", reason="unknown_correlation_id") == 1
    )


REQUEST = (
    b'{"method":"message_send","params":{"message":{"kind":"message","messageId":"m-1",'
    b'"role":"user","parts":[{"kind":"text","text":"hi"}]}}}'
)


@pytest.mark.slow
def test_redeliveries_dead_letters_and_invalid_requests_are_counted(
    serve, raw, replies, topic
) -> None:
    app = serve(echo)
    headers = [("correlation_id", b"again"), ("reply_topic", replies.topic.encode())]
    raw.send(topic, REQUEST, headers)
    assert len(replies.read(1)) == 1
    raw.send(topic, REQUEST, headers)
    assert len(replies.read(1)) == 1
    raw.send(topic, REQUEST, [("correlation_id", b"nowhere")])  # no reply topic: dead-lettered
    raw.send(topic, b"not json", [("correlation_id", b"bad"), *headers[1:]])
    assert replies.read(1)[0][1]["data"]["code"] == -32700

    metrics = app.metrics
    assert wait_for(lambda: metrics.value("requests_handled", method="invalid") == 2)
    assert metrics.value("requests_received", method="message_send") == 2
    assert metrics.value("requests_received", method="invalid") == 2
    assert metrics.value("redeliveries", method="message_send", action="replayed") == 1
    assert metrics.value("requests_handled", outcome="redelivered") == 1
    assert metrics.value("dead_letters", code="-32600") == 1
    assert metrics.value("errors", method="invalid", code="-32700") == 1


@pytest.mark.slow
def test_the_consumer_lag_grows_while_the_server_is_full_and_drains_to_zero(
    serve, raw, replies, topic
) -> None:
    release = threading.Event()

    def blocked(message: Message) -> str:
        assert release.wait(30)
        return message.text

    app = serve(blocked, max_workers=1, max_in_flight=1, request_topic_partitions=1)
    for i in range(5):  # one acknowledged record at a time
        headers = [("correlation_id", f"lag-{i}".encode()), ("reply_topic", replies.topic.encode())]
        raw.send(topic, REQUEST, headers)

    def lag() -> float:
        return app.metrics.value("consumer_lag", topic=topic, partition="0")

    # the first request holds the only worker; the four behind it wait on the topic. (Both
    # waited for together: the lag can reach 3 before the first record is taken, when
    # nothing is in flight yet: a fetch on Apache Kafka may come after the lag is read.)
    def full() -> bool:
        return lag() >= 3 and app.metrics.value("in_flight") == 1

    assert wait_for(full, timeout=20), (
        app.metrics.snapshot()["consumer_lag"],
        app.metrics.snapshot()["in_flight"],
    )
    release.set()
    answered = replies.read(5)
    assert len(answered) == 5, answered
    assert wait_for(lambda: lag() == 0, timeout=20), app.metrics.snapshot()["consumer_lag"]


@pytest.mark.slow
def test_with_metrics_off_nothing_is_counted(serve, connect) -> None:
    app = serve(echo, metrics=False)
    client = connect(metrics=False)
    assert client.send_text("hi") == "echo: hi"
    time.sleep(1.5)  # past one lag interval: the consumer would have read the lag by now

    for metrics in (client.metrics, app.metrics):
        assert not metrics.enabled
        assert all(not family["samples"] for family in metrics.snapshot().values())


@pytest.mark.slow
def test_a_scrape_reads_a_live_client_and_server(serve, connect) -> None:
    app: KafkaServerApp = serve(echo)
    client = connect()
    registry = CollectorRegistry()
    register(client, registry=registry)
    register(app, registry=registry)
    client.send_text("scraped")

    def scraped() -> str:
        return generate_latest(registry).decode()

    assert 'a2a_kafka_client_calls_finished_total{method="message_send",outcome="ok"} 1.0' in (
        scraped()
    )
    assert wait_for(
        lambda: (
            'a2a_kafka_server_requests_handled_total{method="message_send",outcome="ok"} 1.0'
            in scraped()
        )
    )
    assert wait_for(lambda: "a2a_kafka_server_consumer_lag{" in scraped())
