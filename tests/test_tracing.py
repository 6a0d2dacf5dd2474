"""Tracing: W3C trace context from caller to handler and back, and OpenTelemetry spans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import UNSERVED, wait_for
from kafka import KafkaConsumer, TopicPartition

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp, Message, RequestContext
from a2a_kafka_sync.errors import TaskNotFoundError
from a2a_kafka_sync.tracing import TraceContext, continue_trace, current_trace
from a2a_kafka_sync.wire import read_request_headers, reply_headers

ROOT = Path(__file__).resolve().parent.parent
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


# -- the W3C header, no broker --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "sampled"),
    [
        (PARENT, True),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", False),
        ("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-comes-next", True),
    ],
)
def test_a_valid_traceparent_is_parsed(header: str, sampled: bool) -> None:
    context = TraceContext.parse(header, "vendor=opaque")
    assert context is not None
    assert context.trace_id == TRACE_ID
    assert context.span_id == "b7ad6b7169203331"
    assert context.tracestate == "vendor=opaque"
    assert context.sampled is sampled


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  # upper case
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # zero span id
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # forbidden version
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  # 00 has no tail
        "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",  # short trace id
    ],
)
def test_an_invalid_traceparent_is_ignored(header: str) -> None:
    assert TraceContext.parse(header) is None
    headers, error = read_request_headers(
        [("correlation_id", b"c"), ("reply_topic", b"r"), ("traceparent", header.encode())]
    )
    assert error is None  # never a reason to refuse a request
    assert headers.traceparent is None


def test_a_child_keeps_the_trace_and_the_flags_and_gets_a_new_span() -> None:
    parent = TraceContext.parse(PARENT, "k=v")
    assert parent is not None
    child = parent.child()
    assert child.trace_id == TRACE_ID and child.flags == 1 and child.tracestate == "k=v"
    assert child.span_id != parent.span_id
    assert TraceContext.parse(child.traceparent) == TraceContext(TRACE_ID, child.span_id, 1)
    assert TraceContext.new(sampled=False).traceparent.endswith("-00")


def test_the_request_headers_keep_tracestate_only_with_a_valid_traceparent() -> None:
    good, _ = read_request_headers(
        [
            ("correlation_id", b"c"),
            ("reply_topic", b"r"),
            ("traceparent", PARENT.encode()),
            ("tracestate", b"a=1,b=2"),
        ]
    )
    assert (good.traceparent, good.tracestate) == (PARENT, "a=1,b=2")
    orphan, _ = read_request_headers(
        [("correlation_id", b"c"), ("reply_topic", b"r"), ("tracestate", b"a=1")]
    )
    assert orphan.tracestate is None
    not_ascii, _ = read_request_headers(
        [
            ("correlation_id", b"c"),
            ("reply_topic", b"r"),
            ("traceparent", PARENT.encode()),
            ("tracestate", "k=é".encode()),
        ]
    )
    assert not_ascii.traceparent == PARENT and not_ascii.tracestate is None


def test_replies_carry_the_trace_headers_back() -> None:
    assert reply_headers("c", "t-1", PARENT, "a=1") == [
        ("correlation_id", b"c"),
        ("trace_id", b"t-1"),
        ("traceparent", PARENT.encode()),
        ("tracestate", b"a=1"),
    ]
    assert reply_headers("c", None, None, "a=1") == [("correlation_id", b"c")]


def test_continue_trace_sets_the_context_for_its_block_only() -> None:
    assert current_trace() is None
    with continue_trace(PARENT) as outer:
        assert current_trace() == outer and outer is not None and outer.trace_id == TRACE_ID
        with continue_trace(None) as nothing:  # e.g. a request without the header
            assert nothing is None and current_trace() == outer
    assert current_trace() is None


# -- on a real broker, without OpenTelemetry ------------------------------------------------------


def _reply_headers(broker: dict[str, Any], client: KafkaClientTransport) -> list[dict[str, str]]:
    """The headers of every record on the client's reply topic so far."""
    consumer = KafkaConsumer(
        bootstrap_servers=broker["bootstrap_servers"], enable_auto_commit=False
    )
    try:
        partition = TopicPartition(client.reply_topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        end = consumer.end_offsets([partition])[partition]
        found: list[dict[str, str]] = []
        while len(found) < end:
            for records in consumer.poll(timeout_ms=200).values():
                found += [{k: v.decode() for k, v in r.headers} for r in records]
        return found
    finally:
        consumer.close(autocommit=False)


class Seen:
    """What a handler saw of its request's trace, by message text."""

    def __init__(self) -> None:
        self.contexts: dict[str, RequestContext] = {}
        self.current: dict[str, TraceContext | None] = {}

    def __call__(self, message: Message, context: RequestContext) -> str:
        self.contexts[message.text] = context
        self.current[message.text] = current_trace()
        return message.text


@pytest.mark.slow
def test_a_call_in_continue_trace_carries_a_child_to_the_handler_and_back(
    serve, connect, broker_settings
) -> None:
    seen = Seen()
    serve(seen)
    client = connect()
    with continue_trace(PARENT, "vendor=1"):
        client.send_text("traced")
    client.send_text("untraced")

    context = seen.contexts["traced"]
    assert context.trace_context is not None
    assert context.trace_context.trace_id == TRACE_ID
    assert context.trace_context.span_id != "b7ad6b7169203331"  # the client's own span id
    assert context.tracestate == "vendor=1"
    assert seen.current["traced"] == context.trace_context  # nested calls would continue it
    assert seen.contexts["untraced"].traceparent is None  # the library starts no trace itself
    assert seen.current["untraced"] is None
    traced, untraced = _reply_headers(broker_settings, client)
    assert traced["traceparent"] == context.traceparent
    assert traced["tracestate"] == "vendor=1"
    assert "traceparent" not in untraced


@pytest.mark.slow
def test_a_client_with_tracing_off_sends_no_trace_headers(serve, connect) -> None:
    seen = Seen()
    serve(seen)
    with continue_trace(PARENT):
        connect(tracing=False).send_text("quiet")
    assert seen.contexts["quiet"].traceparent is None


@pytest.mark.slow
def test_a_call_made_by_a_handler_continues_its_callers_trace(
    serve, connect, broker_settings
) -> None:
    inner_topic = f"test-{uuid.uuid4().hex[:12]}"
    seen = Seen()
    inner = KafkaServerApp(seen, request_topic=inner_topic, **broker_settings).start()
    downstream = KafkaClientTransport(request_topic=inner_topic, **broker_settings)
    try:
        assert inner.wait_until_assigned(30)

        def relay(message: Message, context: RequestContext) -> str:
            return str(downstream.send_text(f"inner {message.text}"))

        serve(relay)
        with continue_trace(PARENT):
            assert connect().send_text("hop") == "inner hop"
    finally:
        downstream.close()
        inner.stop(timeout=5)

    inner_trace = seen.contexts["inner hop"].trace_context
    assert inner_trace is not None and inner_trace.trace_id == TRACE_ID


@pytest.mark.slow
def test_without_opentelemetry_nothing_of_it_is_imported(broker_settings, topic) -> None:
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.modules["opentelemetry"] = None  # import opentelemetry... raises ImportError
        from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
        from a2a_kafka_sync.tracing import continue_trace

        seen = {{}}
        def handler(message, context):
            seen["traceparent"] = context.traceparent
            return "ok"

        settings = json.loads(sys.argv[1])
        with KafkaServerApp(handler, request_topic={topic!r}, **settings) as app:
            assert app.wait_until_assigned(30)
            with KafkaClientTransport(request_topic={topic!r}, **settings) as client:
                with continue_trace({PARENT!r}):
                    assert client.send_text("hi") == "ok"
        loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry") and sys.modules[m])
        print(json.dumps({{"traceparent": seen["traceparent"], "loaded": loaded}}))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(broker_settings)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    received = TraceContext.parse(result["traceparent"])
    assert received is not None and received.trace_id == TRACE_ID


# -- on a real broker, with the OpenTelemetry SDK -------------------------------------------------


@pytest.fixture
def spans() -> Iterator[Any]:
    """An SDK tracer provider, set globally for the test, recording to memory; unset after."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.util._once import Once

    def unset() -> None:  # what opentelemetry's own test utilities do between tests
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    unset()
    trace.set_tracer_provider(provider)
    yield exporter
    unset()
    provider.shutdown()


def _named(exporter: Any, name: str, kind: str) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name == name and s.kind.name == kind]


def _one(exporter: Any, name: str, kind: str) -> Any:
    assert wait_for(lambda: len(_named(exporter, name, kind)) == 1), [
        (s.name, s.kind.name) for s in exporter.get_finished_spans()
    ]
    return _named(exporter, name, kind)[0]


@pytest.mark.slow
def test_spans_nest_from_the_caller_through_the_server_into_the_handler(
    spans, serve, connect, broker_settings, topic
) -> None:
    from opentelemetry import trace

    tracer = trace.get_tracer("tests")
    seen: dict[str, Any] = {}

    def handler(message: Message, context: RequestContext) -> str:
        with tracer.start_as_current_span("inside-handler"):
            seen["traceparent"] = context.traceparent
        return "done"

    serve(handler)
    client = connect()
    with tracer.start_as_current_span("caller") as caller:
        assert client.send_text("trace me") == "done"

    client_span = _one(spans, "a2a.message_send", "CLIENT")
    server_span = _one(spans, "a2a.message_send", "SERVER")
    inside = _one(spans, "inside-handler", "INTERNAL")
    trace_id = caller.get_span_context().trace_id
    assert {s.context.trace_id for s in (client_span, server_span, inside)} == {trace_id}
    assert client_span.parent.span_id == caller.get_span_context().span_id
    assert server_span.parent.span_id == client_span.context.span_id
    assert server_span.parent.is_remote
    assert inside.parent.span_id == server_span.context.span_id
    for span in (client_span, server_span):
        assert span.attributes["a2a.method"] == "message_send"
        assert span.attributes["messaging.destination.name"] == topic
        assert span.status.status_code.name == "UNSET"
    assert (
        client_span.attributes["a2a.correlation_id"] == server_span.attributes["a2a.correlation_id"]
    )
    seen_by_handler = TraceContext.parse(seen["traceparent"])
    assert seen_by_handler is not None and seen_by_handler.sampled
    assert seen_by_handler.trace_id == f"{trace_id:032x}"
    assert seen_by_handler.span_id == f"{client_span.context.span_id:016x}"
    (reply,) = _reply_headers(broker_settings, client)
    assert reply["traceparent"] == seen["traceparent"]


@pytest.mark.slow
def test_an_a2a_error_marks_the_client_and_server_spans(spans, serve, connect) -> None:
    def missing(message: Message) -> str:
        raise TaskNotFoundError("no such task")

    serve(missing)
    with pytest.raises(TaskNotFoundError):
        connect().send_text("where?")

    for kind in ("CLIENT", "SERVER"):
        span = _one(spans, "a2a.message_send", kind)
        assert span.status.status_code.name == "ERROR"
        assert span.attributes["a2a.error.code"] == -32001
        assert span.attributes["error.type"] == "-32001"
    server = _one(spans, "a2a.message_send", "SERVER")
    assert [event.name for event in server.events] == ["exception"]


@pytest.mark.slow
def test_a_stream_span_ends_with_the_stream_and_counts_its_events(spans, serve, connect) -> None:
    def count(message: Message) -> Iterator[str]:
        yield from ("a", "b", "c")

    serve(count)
    events = connect().send_message_streaming("go").collect()
    # the task, working, a chunk per item, the closing chunk, completed
    assert [type(e).__name__ for e in events] == [
        "Task",
        "TaskStatusUpdateEvent",
        *["TaskArtifactUpdateEvent"] * 4,
        "TaskStatusUpdateEvent",
    ]

    span = _one(spans, "a2a.message_send", "CLIENT")
    assert span.attributes["a2a.streaming"] is True
    assert span.attributes["a2a.stream.events"] == 7
    server = _one(spans, "a2a.message_send", "SERVER")
    assert server.parent.span_id == span.context.span_id


def test_a_timeout_marks_the_client_span(spans, connect) -> None:
    from a2a_kafka_sync import RequestTimeoutError

    with pytest.raises(RequestTimeoutError):
        connect(**UNSERVED).send_text("nobody", timeout=0.3)
    span = _one(spans, "a2a.message_send", "CLIENT")
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "timeout"


@pytest.mark.slow
def test_continue_trace_is_the_parent_when_no_span_is_current(spans, serve, connect) -> None:
    serve(lambda message: "ok")
    with continue_trace(PARENT):
        connect().send_text("hi")
    client_span = _one(spans, "a2a.message_send", "CLIENT")
    assert f"{client_span.context.trace_id:032x}" == TRACE_ID
    assert f"{client_span.parent.span_id:016x}" == "b7ad6b7169203331"


@pytest.mark.slow
def test_tracing_off_makes_no_spans_on_either_side(spans, serve, connect) -> None:
    served = threading.Event()
    serve(lambda message: served.set() or "ok", tracing=False)
    connect(tracing=False).send_text("hi")
    assert served.is_set()
    assert spans.get_finished_spans() == ()
