"""Nobody home: a call to a request topic that does not exist, or that no consumer group reads,
fails at once with NoAgentError instead of waiting its whole timeout, and leaves no topic
behind; a server that starts later, or restarts, is still reached. On the real broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from helpers import BackgroundCall, RawKafka

from a2a_kafka_sync import (
    KafkaClientTransport,
    KafkaServerApp,
    Message,
    NoAgentError,
    RequestTimeoutError,
)
from a2a_kafka_sync.client import presence

TIMEOUT = 30.0  # each call's; failing fast means well before it


def echo(message: Message) -> str:
    return f"echo: {message.text}"


@pytest.fixture
def client(broker_settings: dict[str, Any], topic: str, collect_garbage: None) -> Any:
    """Build (not open) clients of the test's topic; closed after."""
    clients: list[KafkaClientTransport] = []

    def build(**settings: Any) -> KafkaClientTransport:
        options = {**broker_settings, "request_topic": topic, "timeout": TIMEOUT, **settings}
        clients.append(KafkaClientTransport(**options))
        return clients[-1]

    yield build
    for each in clients:
        each.close()


def test_a_call_to_a_topic_that_does_not_exist_fails_at_once_and_leaves_none(
    client: Callable[..., KafkaClientTransport], topic: str, raw: RawKafka
) -> None:
    caller = client()
    started = time.monotonic()
    with pytest.raises(NoAgentError) as raised:
        caller.send_text("anyone?")
    took = time.monotonic() - started

    assert took < TIMEOUT  # not a wait for the reply that cannot come
    error = raised.value
    assert error.reason == "missing" and error.topic == topic
    assert f"no agent serves {topic!r}: the topic does not exist" in str(error)
    assert "check the request topic's name" in str(error)
    assert isinstance(error, LookupError)
    # Neither the client nor the broker (Apache Kafka creates topics on demand) made it.
    assert topic not in raw.topics()
    assert caller.reply_topic in raw.topics()  # its own reply topic, it does make


def test_calls_during_the_cool_down_fail_without_asking_the_brokers(
    client: Callable[..., KafkaClientTransport], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    real = presence.find_readers
    monkeypatch.setattr(presence, "find_readers", lambda config: asked.append("") or real(config))
    caller = client().open()
    assert len(asked) == 1  # once at connect
    for _ in range(5):
        with pytest.raises(NoAgentError):
            caller.send_text("anyone?")
    assert len(asked) == 1  # the answer is kept for the cool-down
    time.sleep(presence.COOL_DOWN)
    with pytest.raises(NoAgentError):
        caller.send_text("anyone?")
    assert len(asked) == 2  # asked again after it


def test_a_call_to_a_topic_nobody_reads_fails_at_once(
    client: Callable[..., KafkaClientTransport], topic: str, raw: RawKafka
) -> None:
    raw.create_topic(topic)
    started = time.monotonic()
    with pytest.raises(NoAgentError) as raised:
        client().send_text("anyone?")
    assert time.monotonic() - started < TIMEOUT
    assert raised.value.reason == "unread"
    assert f"no agent serves {topic!r}: no consumer group reads it" in str(raised.value)


def test_a_stream_to_a_topic_that_does_not_exist_fails_at_once(
    client: Callable[..., KafkaClientTransport], topic: str
) -> None:
    with pytest.raises(NoAgentError) as raised:
        client().send_message_streaming("anyone?")
    assert raised.value.reason == "missing"


@pytest.mark.slow
def test_a_server_that_starts_after_the_client_is_reached_by_the_same_client(
    client: Callable[..., KafkaClientTransport], serve: Callable[..., KafkaServerApp]
) -> None:
    caller = client().open()
    with pytest.raises(NoAgentError):
        caller.send_text("anyone?")
    serve(echo)
    deadline = time.monotonic() + TIMEOUT
    while True:  # found once the "no agent" answer's cool-down is over
        try:
            assert caller.send_text("hello") == "echo: hello"
            break
        except NoAgentError:
            assert time.monotonic() < deadline, "the new server was never found"
            time.sleep(0.1)


@pytest.mark.slow
def test_one_question_serves_many_calls(
    client: Callable[..., KafkaClientTransport],
    serve: Callable[..., KafkaServerApp],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    real = presence.find_readers
    monkeypatch.setattr(presence, "find_readers", lambda config: asked.append("") or real(config))
    serve(echo)
    caller = client()
    for number in range(10):
        assert caller.send_text(str(number)) == f"echo: {number}"
    assert len(asked) == 1  # at connect, never per call


@pytest.mark.slow
def test_a_restarting_server_answers_a_call_made_while_it_was_down(
    client: Callable[..., KafkaClientTransport],
    broker_settings: dict[str, Any],
    topic: str,
) -> None:
    first = KafkaServerApp(echo, **broker_settings, request_topic=topic).start()
    try:
        assert first.wait_until_assigned(30)
        caller = client()
        assert caller.send_text("before") == "echo: before"
    finally:
        first.stop(timeout=5)  # leaves the group, its offsets committed

    # A new client, asking now: no member, but the group read the topic: not "nobody home".
    late = client()
    call = BackgroundCall(lambda: late.send_text("during", timeout=60))
    second = KafkaServerApp(echo, **broker_settings, request_topic=topic).start()
    try:
        call.join(90)
        assert not call.errors, call.errors
        assert call.results == ["echo: during"]
    finally:
        second.stop(timeout=5)


@pytest.mark.slow
def test_a_timeout_says_when_no_group_reads_the_topic_any_more(
    client: Callable[..., KafkaClientTransport], serve: Callable[..., KafkaServerApp]
) -> None:
    app = serve(echo)
    assert client().send_text("hello") == "echo: hello"
    app.stop(timeout=5)

    with pytest.raises(RequestTimeoutError) as raised:
        client().send_text("anyone?", timeout=1)
    assert "no consumer group had a member on" in str(raised.value)
    assert "is its server running?" in str(raised.value)


def test_create_request_topic_makes_it_and_still_says_nobody_reads_it(
    client: Callable[..., KafkaClientTransport], topic: str, raw: RawKafka
) -> None:
    caller = client(create_request_topic=True).open()
    assert topic in raw.topics()
    with pytest.raises(NoAgentError) as raised:
        caller.send_text("anyone?")
    assert raised.value.reason == "unread"


@pytest.mark.slow
def test_check_agent_off_sends_to_an_unread_topic_for_a_server_that_starts_later(
    client: Callable[..., KafkaClientTransport],
    serve: Callable[..., KafkaServerApp],
    topic: str,
    raw: RawKafka,
) -> None:
    raw.create_topic(topic)
    caller = client(check_agent=False)
    call = BackgroundCall(lambda: caller.send_text("queued", timeout=60))
    time.sleep(0.5)  # the request is on the topic before any server
    serve(echo)
    call.join(90)
    assert not call.errors, call.errors
    assert call.results == ["echo: queued"]


def test_check_agent_off_still_refuses_a_topic_that_does_not_exist(
    client: Callable[..., KafkaClientTransport], topic: str, raw: RawKafka
) -> None:
    with pytest.raises(NoAgentError) as raised:
        client(check_agent=False).send_text("anyone?")
    assert raised.value.reason == "missing"
    assert topic not in raw.topics()


def test_open_does_not_fail_when_nobody_serves(
    client: Callable[..., KafkaClientTransport], topic: str
) -> None:
    caller = client().open()  # a client may start before its agents
    assert caller.reply_topic
    with pytest.raises(NoAgentError):
        caller.send_text("anyone?")


def test_the_error_survives_a_copy_and_a_pickle() -> None:
    import copy
    import pickle

    error = NoAgentError("no agent serves 'x': ...", topic="x", reason="missing")
    for again in (copy.copy(error), pickle.loads(pickle.dumps(error))):
        assert (again.message, again.topic, again.reason) == (error.message, "x", "missing")
    assert uuid  # imported for symmetry with the other test modules
