"""Timeouts, bad records, closing, abandoning: each ends in a clear error or a clean stop."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import UNSERVED, BackgroundCall, committed_and_end, library_threads, wait_for

from a2a_kafka_sync import (
    A2AKafkaError,
    BrokerUnavailableError,
    ClientClosedError,
    KafkaClientTransport,
    KafkaServerApp,
    Message,
    RequestTimeoutError,
)
from a2a_kafka_sync.errors import InvalidAgentResponseError


def echo(message: Message) -> str:
    return f"echo: {message.text}"


def test_a_request_with_no_server_times_out_in_time_and_leaves_no_waiter(connect) -> None:
    client = connect(**UNSERVED)
    started = time.monotonic()

    with pytest.raises(RequestTimeoutError) as caught:
        client.send_text("anyone?", timeout=1.5)

    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed <= 2.5
    assert caught.value.correlation_id
    assert caught.value.topic == client.config.request_topic
    assert client.pending == 0


def test_a_per_call_timeout_overrides_the_clients(connect) -> None:
    client = connect(timeout=60, **UNSERVED)
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError):
        client.send_text("anyone?", timeout=0.5)
    assert time.monotonic() - started < 5


def _headers(reply_topic: str, correlation_id: str) -> list[tuple[str, bytes]]:
    return [("correlation_id", correlation_id.encode()), ("reply_topic", reply_topic.encode())]


BAD_REQUESTS: list[tuple[str, bytes | None, int]] = [
    ("not-json", b"{this is not json", -32700),
    ("invalid-utf8", b"\xff\xfe\xfa", -32700),
    ("not-an-object", b"[1, 2, 3]", -32600),
    ("no-method", b'{"params": {}}', -32600),
    ("empty", b"", -32600),
    ("unknown-method", b'{"method": "tasks/teleport", "params": {}}', -32601),
    ("bad-params", b'{"method": "message_send", "params": {"message": {"role": 7}}}', -32602),
    ("params-not-object", b'{"method": "message_send", "params": "hi"}', -32602),
    ("bad-streaming", b'{"method": "message_send", "params": {}, "streaming": "yes"}', -32600),
    ("unknown-task", b'{"method": "tasks/get", "params": {"id": "t-1"}}', -32001),
]


@pytest.mark.slow
def test_malformed_requests_get_error_replies_and_the_server_keeps_serving(
    serve, connect, raw, topic
) -> None:
    serve(echo)
    replies = raw.reply_topic()
    try:
        for name, value, _ in BAD_REQUESTS:
            raw.send(topic, value, _headers(replies.topic, name))
        # Records nobody can be answered: no reply topic, no correlation id, no headers.
        raw.send(topic, b'{"method": "message_send"}', [("correlation_id", b"orphan")])
        raw.send(topic, b"garbage", [])
        raw.send(topic, None, [("reply_topic", replies.topic.encode())], key=b"tombstone")

        # One more than expected, so an answer to an unanswerable record would show.
        received = replies.read(len(BAD_REQUESTS) + 1, timeout=8)
        got = dict(received)
    finally:
        replies.close()

    assert {name: reply["type"] for name, reply in got.items()} == {
        name: "error" for name, _, _ in BAD_REQUESTS
    }
    assert {name: reply["data"]["code"] for name, reply in got.items()} == {
        name: code for name, _, code in BAD_REQUESTS
    }
    assert all(reply["data"]["error"] for reply in got.values())
    assert len(received) == len(BAD_REQUESTS)
    assert connect().send_text("still there?") == "echo: still there?"


@pytest.mark.slow
def test_a_request_with_an_undecodable_header_is_answered_with_invalid_request(
    serve, raw, topic
) -> None:
    serve(echo)
    replies = raw.reply_topic()
    try:
        headers = [*_headers(replies.topic, "bad-deadline"), ("deadline_ms", b"soon")]
        raw.send(topic, b'{"method": "message_send", "params": {}}', headers)
        ((cid, reply),) = replies.read(1)
    finally:
        replies.close()
    assert cid == "bad-deadline"
    assert reply["data"]["code"] == -32600
    assert "deadline_ms" in reply["data"]["error"]


@pytest.mark.slow
def test_the_old_peers_method_names_and_the_a2a_aliases_are_both_served(serve, raw, topic) -> None:
    serve(echo)
    replies = raw.reply_topic()
    message = {
        "kind": "message",
        "messageId": "m-1",
        "role": "user",
        "parts": [{"kind": "text", "text": "hi"}],
    }
    try:
        for method in ("message_send", "message/send"):
            body = json.dumps({"method": method, "params": {"message": message}}).encode()
            raw.send(topic, body, _headers(replies.topic, method))
        body = json.dumps({"method": "message/stream", "params": {"message": message}}).encode()
        raw.send(topic, body, _headers(replies.topic, "stream"))
        got = replies.read(4)
    finally:
        replies.close()
    by_id: dict[str | None, list[str]] = {}
    for cid, reply in got:
        by_id.setdefault(cid, []).append(reply["type"])
    assert by_id == {
        "message_send": ["message"],
        "message/send": ["message"],
        "stream": ["message", "stream_complete"],
    }


@pytest.mark.slow
def test_garbage_on_the_reply_topic_does_not_stop_the_client(serve, connect, raw) -> None:
    serve(echo)
    client = connect()
    raw.send(client.reply_topic, b"\x00garbage", [("correlation_id", b"nobody")])
    raw.send(client.reply_topic, b'{"type": "martian", "data": {}}', [])
    raw.send(client.reply_topic, b"{}", [("notification_type", b"push")])

    assert client.send_text("fine?") == "echo: fine?"


def test_a_reply_of_an_unknown_type_fails_its_call_with_a_protocol_error(connect, raw) -> None:
    from a2a_kafka_sync import ProtocolError

    client = connect(**UNSERVED)
    caller = BackgroundCall(lambda: client.send_text("x", timeout=20))
    errors = caller.errors
    assert wait_for(lambda: client.pending == 1)
    (correlation_id,) = list(client._registry._waiters)
    raw.send(
        client.reply_topic,
        b'{"type": "martian", "data": {}}',
        [("correlation_id", correlation_id.encode())],
    )
    caller.join(20)

    assert len(errors) == 1 and isinstance(errors[0], ProtocolError)
    assert errors[0].correlation_id == correlation_id
    assert client.pending == 0


@pytest.mark.slow
def test_a_handler_that_returns_nonsense_gets_invalid_agent_response(serve, connect) -> None:
    serve(lambda message: 42)
    with pytest.raises(InvalidAgentResponseError) as caught:
        connect().send_text("x")
    assert caught.value.code == -32006


@pytest.mark.slow
def test_a_stream_abandoned_by_its_caller_frees_its_waiter(serve, connect) -> None:
    def slow_count(message: Message) -> Iterator[str]:
        for i in range(50):
            time.sleep(0.01)
            yield str(i)

    serve(slow_count)
    client = connect()

    stream = client.send_message_streaming("count")
    texts = stream.texts()
    first = [next(texts) for _ in range(3)]
    assert client.pending == 1
    del texts, stream  # dropped without close(): the iterator's finaliser frees the waiter

    assert first == ["0", "1", "2"]
    assert client.pending == 0
    # The rest of that stream still arrives; the client drops it and keeps working.
    assert list(client.send_message_streaming("again").texts())[:2] == ["0", "1"]


@pytest.mark.slow
def test_leaving_a_stream_block_early_frees_its_waiter(serve, connect) -> None:
    def letters(message: Message) -> Iterator[str]:
        yield from "abc"

    serve(letters)
    client = connect()
    with client.send_message_streaming("go") as stream:
        assert next(stream.texts()) == "a"
    assert client.pending == 0


def test_closing_the_client_wakes_a_caller_that_is_waiting(connect) -> None:
    client = connect(**UNSERVED)
    caller = BackgroundCall(lambda: client.send_text("nobody answers", timeout=60))
    errors = caller.errors
    assert wait_for(lambda: client.pending == 1)
    client.close()
    caller.join(10)

    assert not caller.thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ClientClosedError)
    assert errors[0].correlation_id


def test_a_closed_client_refuses_calls(connect) -> None:
    client = connect()
    client.close()
    client.close()  # idempotent
    with pytest.raises(ClientClosedError):
        client.send_text("late")


@pytest.mark.slow
def test_after_close_no_thread_of_the_library_is_left(broker_settings, topic) -> None:
    before = library_threads()
    with KafkaServerApp(echo, request_topic=topic, **broker_settings) as app:
        assert app.wait_until_assigned(30)
        with KafkaClientTransport(request_topic=topic, **broker_settings) as client:
            assert client.send_text("hi") == "echo: hi"
            assert len(library_threads()) > len(before)
            with client.send_message_streaming("hi") as stream:
                assert next(stream).text == "echo: hi"

    assert wait_for(lambda: library_threads() == before, timeout=10), library_threads()


def test_an_unreachable_broker_raises_broker_unavailable_within_the_budget() -> None:
    before = library_threads()
    client = KafkaClientTransport(
        bootstrap_servers="127.0.0.1:1", request_topic="nowhere", connect_timeout=1.0
    )
    started = time.monotonic()

    with pytest.raises(BrokerUnavailableError) as caught:
        client.send_text("hello?")

    assert time.monotonic() - started < 4
    assert "127.0.0.1:1" in str(caught.value)
    assert "ECONNREFUSED" in str(caught.value)  # the error says why, not only "unable"
    client.close()
    assert wait_for(lambda: library_threads() == before, timeout=5), library_threads()


def test_a_server_refuses_a_second_start_after_stop(broker_settings, topic) -> None:
    app = KafkaServerApp(echo, request_topic=topic, **broker_settings).start()
    app.stop()
    app.stop()  # idempotent
    with pytest.raises(A2AKafkaError):
        app.start()


@pytest.mark.slow
def test_stop_lets_in_flight_requests_finish(broker_settings, topic, connect) -> None:
    started = threading.Event()

    def slow(message: Message) -> str:
        started.set()
        time.sleep(1.0)
        return "finished"

    app = KafkaServerApp(slow, request_topic=topic, **broker_settings).start()
    assert app.wait_until_assigned(30)
    client = connect()
    results: list[Any] = []
    caller = threading.Thread(target=lambda: results.append(client.send_text("x")))
    caller.start()
    assert started.wait(20)

    app.stop(timeout=10)
    caller.join(10)

    assert results == ["finished"]
    assert app.in_flight == 0


def test_unique_reply_topics_per_client(connect) -> None:
    first, second = connect(), connect()
    assert first.reply_topic != second.reply_topic
    assert first.reply_topic.startswith("a2a-reply-")


@pytest.mark.slow
def test_a_fixed_reply_topic_is_used_as_given(serve, connect) -> None:
    serve(echo)
    name = f"a2a-reply-fixed-{uuid.uuid4().hex[:8]}"
    client = connect(reply_topic=name)
    assert client.reply_topic == name
    assert client.send_text("x") == "echo: x"


@pytest.mark.slow
def test_committed_offsets_cover_every_answered_request_after_stop(
    broker_settings, topic, connect
) -> None:

    app = KafkaServerApp(echo, request_topic=topic, **broker_settings).start()
    assert app.wait_until_assigned(30)
    client = connect()
    for i in range(20):
        assert client.send_text(str(i)) == f"echo: {i}"
    app.stop()

    committed, end = committed_and_end(
        broker_settings["bootstrap_servers"], app.config.group_id, topic
    )
    assert committed == end == 20


def test_closing_a_stream_from_another_thread_wakes_its_reader(connect) -> None:
    client = connect(**UNSERVED)
    stream = client.send_message_streaming("nobody serves this", timeout=None)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            next(stream)
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.2)  # let the reader block on the stream
    stream.close()
    reader.join(10)

    assert not reader.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ClientClosedError)
    assert client.pending == 0
