"""Request/reply and streams end to end, through a real broker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from a2a_kafka_sync import (
    A2AError,
    Message,
    RequestContext,
    RequestHandler,
    Task,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a_kafka_sync.errors import InternalError, TaskNotFoundError
from a2a_kafka_sync.types import Artifact, MessageSendParams, TaskArtifactUpdateEvent, TextPart


def echo(message: Message, context: RequestContext) -> str:
    return f"echo: {message.text}"


def test_unary_round_trip_returns_the_agents_message(serve, connect) -> None:
    serve(echo)
    client = connect()

    reply = client.send_message(Message.user_text("hello", context_id="ctx-1"))

    assert isinstance(reply, Message)
    assert reply.text == "echo: hello"
    assert reply.role.value == "agent"
    assert reply.context_id == "ctx-1"
    assert client.pending == 0


@pytest.mark.slow
def test_send_text_returns_the_reply_text(serve, connect) -> None:
    serve(lambda message: message.text.upper())
    assert connect().send_text("shout") == "SHOUT"


@pytest.mark.slow
def test_a_handler_returning_a_task_answers_with_that_task(serve, connect) -> None:
    def start_task(message: Message) -> Task:
        return Task(
            id="task-1",
            context_id="ctx-9",
            status=TaskStatus(state=TaskState.working),
            history=[message],
        )

    serve(start_task)
    result = connect().send_text("work on this")

    assert isinstance(result, Task)
    assert result.id == "task-1"
    assert result.status.state is TaskState.working
    assert result.history and result.history[0].text == "work on this"


@pytest.mark.slow
def test_a_stream_of_2000_events_arrives_complete_and_in_order(serve, connect) -> None:
    def count(message: Message) -> Iterator[TaskStatusUpdateEvent]:
        for i in range(2000):
            yield TaskStatusUpdateEvent(
                task_id="t",
                context_id="c",
                status=TaskStatus(state=TaskState.working, message=Message.agent_text(str(i))),
                final=False,
                metadata={"seq": i},
            )

    serve(count)
    client = connect()

    task, *events = list(client.send_message_streaming("count"))

    assert isinstance(task, Task) and task.id == "t"  # a task stream starts with the Task
    assert [e.metadata["seq"] for e in events] == list(range(2000))
    assert client.pending == 0


@pytest.mark.slow
def test_32_threads_sharing_one_client_each_get_their_own_answer(serve, connect) -> None:
    serve(echo, max_workers=8)
    client = connect()
    wrong: list[tuple[str, Any]] = []
    failures: list[BaseException] = []

    def caller(thread_no: int) -> None:
        try:
            for i in range(50):
                text = f"{thread_no}:{i}"
                answer = client.send_text(text)
                if answer != f"echo: {text}":
                    wrong.append((text, answer))
        except BaseException as exc:  # reported below, with the thread's error
            failures.append(exc)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert not failures, failures[:3]
    assert not wrong, wrong[:3]
    assert not any(t.is_alive() for t in threads)
    assert client.pending == 0


def fragile(message: Message) -> str:
    if message.text == "boom":
        raise ValueError("kaboom: card 4111-1111")
    return "fine"


@pytest.mark.slow
def test_a_handler_exception_arrives_as_an_internal_error_and_serving_goes_on(
    serve, connect, caplog: pytest.LogCaptureFixture
) -> None:
    serve(fragile)
    client = connect()

    with (
        caplog.at_level(logging.ERROR, logger="a2a_kafka_sync.server.dispatcher"),
        pytest.raises(InternalError) as caught,
    ):
        client.send_text("boom")

    error = caught.value
    assert error.code == -32603
    assert error.correlation_id
    # redacted by default: the class and the correlation id reach the caller, not the text
    assert "kaboom" not in error.message and "4111" not in str(error)
    assert "ValueError" in error.message and error.correlation_id in error.message
    # the whole exception, with its traceback, is in the server's log at ERROR
    (logged,) = [r for r in caplog.records if r.exc_info and r.levelno == logging.ERROR]
    assert error.correlation_id in logged.getMessage()
    assert "kaboom: card 4111-1111" in caplog.text and "Traceback" in caplog.text
    assert client.send_text("again") == "fine"


@pytest.mark.slow
def test_error_detail_full_sends_the_exceptions_message_to_the_caller(serve, connect) -> None:
    serve(fragile, error_detail="full")

    with pytest.raises(InternalError) as caught:
        connect().send_text("boom")

    assert caught.value.message == "ValueError: kaboom: card 4111-1111"


@pytest.mark.slow
def test_a_stream_that_fails_midway_is_redacted_too(serve, connect) -> None:
    def breaks(message: Message) -> Iterator[str]:
        yield "one"
        raise RuntimeError("lost the thread at /srv/secret/path")

    serve(breaks)
    stream = connect().send_message_streaming("go")
    events: list[Any] = []

    with pytest.raises(InternalError) as caught:
        events.extend(stream)
    assert [e.artifact.text for e in events if isinstance(e, TaskArtifactUpdateEvent)] == ["one"]
    assert "RuntimeError" in caught.value.message
    assert "/srv/secret/path" not in caught.value.message
    failed = events[-1]  # the task failed first, as redacted
    assert isinstance(failed, TaskStatusUpdateEvent) and failed.status.state is TaskState.failed
    assert "/srv/secret/path" not in failed.status.message.text


def test_an_a2a_error_raised_by_a_handler_keeps_its_class_and_code(serve, connect) -> None:
    def missing(message: Message) -> str:
        raise TaskNotFoundError("no task t-404")

    serve(missing)

    with pytest.raises(TaskNotFoundError) as caught:
        connect().send_text("where is it")

    assert caught.value.code == -32001
    assert "t-404" in caught.value.message  # an A2AError is for the caller: never redacted


@pytest.mark.slow
def test_a_stream_that_fails_midway_yields_its_events_then_raises(serve, connect) -> None:
    def breaks(message: Message) -> Iterator[str]:
        yield "one"
        yield "two"
        raise RuntimeError("lost the thread")

    serve(breaks)
    stream = connect().send_message_streaming("go")
    texts = stream.texts()

    assert next(texts) == "one"
    assert next(texts) == "two"
    with pytest.raises(A2AError) as caught:
        next(texts)
    assert caught.value.code == -32603
    assert list(stream) == []


def test_a_handler_object_serves_unary_and_streaming_calls(serve, connect) -> None:
    class Agent(RequestHandler):
        def on_message_send(self, params: MessageSendParams, context: RequestContext) -> Message:
            return Message.agent_text(f"unary {context.method}")

        def on_message_send_stream(
            self, params: MessageSendParams, context: RequestContext
        ) -> Iterator[Any]:
            task = Task(id="t1", context_id="c1", status=TaskStatus(state=TaskState.working))
            yield task
            yield TaskArtifactUpdateEvent(
                task_id="t1",
                context_id="c1",
                artifact=Artifact(parts=[TextPart(text="result")]),
                last_chunk=True,
            )
            yield TaskStatusUpdateEvent(
                task_id="t1",
                context_id="c1",
                status=TaskStatus(state=TaskState.completed),
                final=True,
            )

    serve(Agent())
    client = connect()

    assert client.send_text("x") == "unary message_send"
    events = list(client.send_message_streaming("y"))
    assert [type(e).__name__ for e in events] == [
        "Task",
        "TaskArtifactUpdateEvent",
        "TaskStatusUpdateEvent",
    ]
    assert events[1].artifact.text == "result"
    assert events[2].final is True


@pytest.mark.slow
def test_a_plain_function_called_for_a_stream_yields_its_one_answer(serve, connect) -> None:
    serve(echo)
    events = list(connect().send_message_streaming("once"))
    assert [e.text for e in events] == ["echo: once"]


@pytest.mark.slow
def test_a_generator_called_without_a_stream_answers_with_its_last_message(serve, connect) -> None:
    def steps(message: Message) -> Iterator[str]:
        yield "thinking"
        yield "done"

    serve(steps)
    assert connect().send_text("go") == "done"


@pytest.mark.slow
def test_the_handler_context_carries_the_callers_headers(serve, connect) -> None:
    seen: list[RequestContext] = []

    def record(message: Message, context: RequestContext) -> str:
        seen.append(context)
        return "ok"

    serve(record)
    client = connect(agent_id="caller-7")
    client.send_text("hi", timeout=20)

    (context,) = seen
    assert context.agent_id == "caller-7"
    assert context.reply_topic == client.reply_topic
    assert context.method == "message_send"
    assert context.deadline is not None and 0 < context.time_left() <= 20


@pytest.mark.slow
def test_a_reply_too_large_to_produce_is_answered_with_an_internal_error(serve, connect) -> None:
    serve(lambda message: "x" * 2_000_000)  # over the producer's max_request_size (1 MB)

    with pytest.raises(InternalError) as caught:
        connect().send_text("big")

    assert "reply not sent" in caught.value.message


@pytest.mark.slow
def test_a_library_error_raised_inside_a_handler_is_reported_as_the_handlers(
    serve, connect
) -> None:
    from a2a_kafka_sync import RequestTimeoutError

    def calls_a_slow_agent(message: Message) -> str:
        raise RequestTimeoutError("the downstream agent did not answer")

    serve(calls_a_slow_agent)
    with pytest.raises(InternalError) as caught:
        connect().send_text("x")

    assert "RequestTimeoutError" in caught.value.message
    assert "reply not sent" not in caught.value.message


@pytest.mark.slow
def test_stream_complete_delay_holds_back_the_end_of_a_stream(serve, connect) -> None:
    import time

    def two(message: Message) -> Iterator[str]:
        yield "a"
        yield "b"

    serve(two, stream_complete_delay=0.5)
    stream = connect().send_message_streaming("go")
    texts = stream.texts()
    assert [next(texts), next(texts)] == ["a", "b"]
    last_event_at = time.monotonic()

    rest = list(stream)  # the stream still ends, every event delivered first
    assert [type(e).__name__ for e in rest] == ["TaskArtifactUpdateEvent", "TaskStatusUpdateEvent"]
    assert rest[0].last_chunk and rest[1].final
    assert time.monotonic() - last_event_at >= 0.4
