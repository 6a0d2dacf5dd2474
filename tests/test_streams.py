"""A generator agent's stream is A2A-shaped: a Task, its text as chunks of one artifact, the
final status; quiet streams are kept alive. On a real broker, with this library's client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from a2a_kafka_sync import Message, Task, TaskState
from a2a_kafka_sync.errors import InternalError, InvalidParamsError, RequestTimeoutError
from a2a_kafka_sync.server import RequestContext
from a2a_kafka_sync.types import (
    TaskArtifactUpdateEvent,
    TaskStatus,
    TaskStatusUpdateEvent,
    TextPart,
)

pytestmark = pytest.mark.slow

WORDS = ["one", "two", "three"]


def words(message: Message, context: RequestContext) -> Iterator[str]:
    """Each word of the message is one piece of the streamed answer."""
    yield from message.text.split()


def shape(events: list[Any]) -> list[str]:
    """Each event as a short tag: task:STATE, status:STATE[:final], chunk:TEXT[:append][:last]."""
    tags = []
    for event in events:
        if isinstance(event, Task):
            tags.append(f"task:{event.status.state.value}")
        elif isinstance(event, TaskStatusUpdateEvent):
            tags.append(f"status:{event.status.state.value}" + (":final" if event.final else ""))
        elif isinstance(event, TaskArtifactUpdateEvent):
            tag = f"chunk:{event.artifact.text}"
            tag += ":append" if event.append else ""
            tag += ":last" if event.last_chunk else ""
            tags.append(tag)
        else:
            tags.append(f"message:{event.text}")
    return tags


STREAMED = [
    "task:submitted",
    "status:working",
    "chunk:one",
    "chunk:two:append",
    "chunk:three:append",
    "chunk::append:last",
    "status:completed:final",
]


def test_a_generators_stream_is_a_task_then_one_artifact_in_chunks_then_completed(
    serve, connect
) -> None:
    serve(words)
    client = connect()

    request = Message.user_text("one two three", context_id="ctx-7")
    with client.send_message_streaming(request) as stream:
        events = list(stream)

    assert shape(events) == STREAMED
    task = events[0]
    assert isinstance(task, Task) and task.context_id == "ctx-7" and task.id
    assert all(e.task_id == task.id and e.context_id == "ctx-7" for e in events[1:])
    chunks = [e for e in events if isinstance(e, TaskArtifactUpdateEvent)]
    assert len({c.artifact.artifact_id for c in chunks}) == 1
    assert [c.append for c in chunks] == [False, True, True, True]
    assert [c.last_chunk for c in chunks] == [False, False, False, True]
    assert chunks[-1].artifact.parts == [TextPart(text="")]  # A2A 1.0: at least one part
    assert stream.task_id == task.id and stream.last_sequence == len(STREAMED)


def test_the_streamed_task_is_stored_with_its_artifact_and_can_be_replayed(serve, connect) -> None:
    serve(words)
    client = connect()
    with client.send_message_streaming("one two three") as stream:
        events = list(stream)
    task_id = events[0].id

    stored = client.get_task(task_id)
    assert stored.status.state is TaskState.completed
    [artifact] = stored.artifacts
    assert artifact.parts == [TextPart(text=w) for w in WORDS]  # the closing chunk adds none
    assert [m.text for m in stored.history] == ["one two three"]
    assert [t.id for t in client.list_tasks()] == [task_id]

    with client.resubscribe(task_id, after_sequence=0) as replay:
        assert shape(list(replay)) == STREAMED
    with client.resubscribe(task_id) as snapshot:
        [again] = list(snapshot)
    assert isinstance(again, Task) and again.status.state is TaskState.completed


def test_texts_yields_the_streamed_pieces_as_the_agent_yielded_them(serve, connect) -> None:
    serve(words)
    client = connect()
    with client.send_message_streaming("one two three") as stream:
        assert list(stream.texts()) == WORDS
    assert stream.last_sequence == len(STREAMED)


def test_a_plain_functions_stream_and_a_generators_unary_answer_stay_one_message(
    serve, connect
) -> None:
    def echo(message: Message) -> str:
        return f"echo {message.text}"

    serve(words)
    client = connect()
    reply = client.send_message("one two three")  # not a stream: the last piece, no task
    assert isinstance(reply, Message) and reply.text == "three"
    assert client.list_tasks() == []

    echo_topic = f"{client.config.request_topic}-echo"
    serve(echo, request_topic=echo_topic)  # served before the client asks who serves it
    other = connect(request_topic=echo_topic)
    with other.send_message_streaming("hi") as stream:
        assert shape(list(stream)) == ["message:echo hi"]


def test_an_agent_that_yields_its_own_task_keeps_it_and_its_text_joins_it(serve, connect) -> None:
    def own(message: Message, context: RequestContext) -> Iterator[object]:
        task = Task(id="own-1", context_id="c-own", status=TaskStatus.now(TaskState.working))
        yield task
        yield "part a"
        yield "part b"
        yield TaskStatusUpdateEvent(
            task_id=task.id,
            context_id=task.context_id,
            status=TaskStatus.now(TaskState.input_required),
            final=True,
        )

    serve(own)
    client = connect()
    with client.send_message_streaming("go") as stream:
        events = list(stream)

    # Its own Task first, no task of the stream's; the turn it ended is not completed, and
    # the chunks' artifact is not closed after the final status.
    assert shape(events) == [
        "task:working",
        "chunk:part a",
        "chunk:part b:append",
        "status:input-required:final",
    ]
    assert {e.task_id for e in events[1:]} == {"own-1"}
    stored = client.get_task("own-1")
    assert stored.status.state is TaskState.input_required
    assert [p.text for p in stored.artifacts[0].parts] == ["part a", "part b"]


def test_an_agent_that_yields_its_own_status_is_not_completed_for_it(serve, connect) -> None:
    def background(message: Message, context: RequestContext) -> Iterator[Any]:
        yield TaskStatusUpdateEvent(
            task_id=context.task.task_id,
            context_id=context.task.context_id,
            status=TaskStatus(state=TaskState.working),
            final=False,
        )
        yield "first results"  # the rest comes later, elsewhere

    serve(background)
    client = connect()
    with client.send_message_streaming("go") as stream:
        events = list(stream)
    assert shape(events)[-2:] == ["chunk:first results", "chunk::append:last"]
    assert "status:completed" not in shape(events)
    assert client.get_task(events[0].id).status.state is TaskState.working


def test_start_work_first_does_not_keep_a_generators_task_open(serve, connect) -> None:
    """start_work() before the first text (for a quiet start's keep-alive) is not taking
    control: the task completes when the generator returns."""

    def marks_working_first(message: Message, context: RequestContext) -> Iterator[str]:
        context.task.start_work("on it")
        yield "first results"

    serve(marks_working_first)
    client = connect()
    with client.send_message_streaming("go") as stream:
        events = list(stream)
    assert shape(events) == [
        "task:submitted",
        "status:working",
        "chunk:first results",
        "chunk::append:last",
        "status:completed:final",
    ]
    assert client.get_task(events[0].id).status.state is TaskState.completed


def test_a_continued_task_streams_its_next_turn_back_to_working_then_completed(
    serve, connect
) -> None:
    def two_turns(message: Message, context: RequestContext) -> Iterator[str]:
        if context.task.state is TaskState.submitted:
            context.task.requires_input("which size?")
            return
        yield f"one {message.text} pizza"
        yield "on its way"

    serve(two_turns)
    client = connect()
    waiting = client.send_message("a pizza")
    assert isinstance(waiting, Task) and waiting.status.state is TaskState.input_required

    with client.send_message_streaming(Message.user_text("large", task_id=waiting.id)) as stream:
        events = list(stream)
    assert shape(events) == [
        "task:input-required",  # the task as stored, the new message in its history
        "status:working",
        "chunk:one large pizza",
        "chunk:on its way:append",
        "chunk::append:last",
        "status:completed:final",
    ]
    assert {e.id if isinstance(e, Task) else e.task_id for e in events} == {waiting.id}
    stored = client.get_task(waiting.id)
    assert stored.status.state is TaskState.completed
    assert [p.text for p in stored.artifacts[0].parts] == ["one large pizza", "on its way"]


@pytest.mark.parametrize(
    ("raised", "error", "status_text"),
    [
        (InvalidParamsError("no more words"), InvalidParamsError, "no more words"),
        (RuntimeError("secret detail"), InternalError, "internal error (RuntimeError)"),
    ],
    ids=["a2a-error", "unexpected"],
)
def test_an_exception_mid_stream_fails_the_task_then_ends_the_stream_with_the_error(
    serve, connect, raised: Exception, error: type[Exception], status_text: str
) -> None:
    def breaks(message: Message, context: RequestContext) -> Iterator[str]:
        yield "before"
        raise raised

    serve(breaks)
    client = connect()
    events: list[Any] = []
    with client.send_message_streaming("go") as stream, pytest.raises(error) as caught:
        for event in stream:
            events.append(event)

    assert shape(events) == [
        "task:submitted",
        "status:working",
        "chunk:before",
        "status:failed:final",
    ]
    assert events[-1].status.message.text == status_text
    assert "secret detail" not in str(caught.value)  # redacted as before
    stored = client.get_task(events[0].id)
    assert stored.status.state is TaskState.failed


# -- keep-alive -----------------------------------------------------------------------------------


def slow(message: Message, context: RequestContext) -> Iterator[str]:
    """Quiet for 2.5 s between its two pieces: longer than the client's 1 s per-event wait."""
    yield "a"
    context.cancelled.wait(2.5)
    yield "b"


def test_a_keepalive_keeps_a_stream_quieter_than_the_clients_timeout_going(serve, connect) -> None:
    serve(slow, stream_keepalive=0.3)
    client = connect(timeout=1.0)
    with client.send_message_streaming("go") as stream:
        events = list(stream)  # no RequestTimeoutError, and no keep-alive among the events
    assert shape(events) == [
        "task:submitted",
        "status:working",
        "chunk:a",
        "chunk:b:append",
        "chunk::append:last",
        "status:completed:final",
    ]


def test_without_a_keepalive_the_same_stream_times_out(serve, connect) -> None:
    serve(slow, stream_keepalive=0)
    client = connect(timeout=1.0)
    with client.send_message_streaming("go") as stream, pytest.raises(RequestTimeoutError):
        list(stream)


def test_keepalives_repeat_the_working_status_marked_and_only_while_quiet(
    serve, connect, replies
) -> None:
    serve(slow, stream_keepalive=0.3)
    client = connect(reply_topic=replies.topic, timeout=5.0)
    with client.send_message_streaming("go") as stream:
        list(stream)

    records = replies.records(20, timeout=5.0)
    kinds = [
        ("keepalive" if headers.get("keepalive") == b"1" else value["type"])
        for headers, value in records
    ]
    assert kinds[-1] == "stream_complete"
    keepalives = [value for headers, value in records if headers.get("keepalive") == b"1"]
    # about 2.5 s / 0.3 s of them, all between the first chunk and the second
    assert 2 <= len(keepalives) <= 10, kinds
    first, last = kinds.index("keepalive"), len(kinds) - 1 - kinds[::-1].index("keepalive")
    assert kinds[first - 1] == "task_artifact_update" and kinds[last + 1] == "task_artifact_update"
    assert set(kinds[first : last + 1]) == {"keepalive"}
    for value in keepalives:
        assert value["type"] == "task_status_update"
        data = value["data"]
        assert data["status"]["state"] == "working" and data["final"] is False
        assert "message" not in data["status"]
    assert all("sequence" not in h for h, v in records if h.get("keepalive"))


def test_no_keepalive_before_the_task_exists(serve, connect, replies) -> None:
    started = threading.Event()

    def late(message: Message, context: RequestContext) -> Iterator[str]:
        started.set()
        context.cancelled.wait(1.0)  # quiet, and no task yet
        yield "done"

    serve(late, stream_keepalive=0.2)
    client = connect(reply_topic=replies.topic, timeout=5.0)
    with client.send_message_streaming("go") as stream:
        events = list(stream)
    assert started.is_set()
    assert shape(events)[:3] == ["task:submitted", "status:working", "chunk:done"]
    records = replies.records(len(events) + 1, timeout=5.0)
    assert not [h for h, _ in records if h.get("keepalive")]
    time.sleep(0.5)  # none after the end either
    assert replies.records(1, timeout=0.5) == []


# -- A2A 1.0 ---------------------------------------------------------------------------------------


def test_the_v1_stream_has_the_same_shape_on_the_wire(serve, connect, replies) -> None:
    serve(words)
    client = connect(reply_topic=replies.topic, protocol_version="1.0")
    with client.send_message_streaming("one two three") as stream:
        ours = list(stream)
    assert shape(ours) == STREAMED  # read back: final from the state, as v1 has no final

    records = [value for _, value in replies.records(len(STREAMED) + 1, timeout=5.0)]
    assert [r["type"] for r in records] == ["StreamResponse"] * len(STREAMED) + ["stream_complete"]
    payloads = [r["data"] for r in records[:-1]]
    assert [next(iter(p)) for p in payloads] == [
        "task",
        "statusUpdate",
        "artifactUpdate",
        "artifactUpdate",
        "artifactUpdate",
        "artifactUpdate",
        "statusUpdate",
    ]
    updates = [p["artifactUpdate"] for p in payloads if "artifactUpdate" in p]
    assert [u.get("append", False) for u in updates] == [False, True, True, True]
    assert [u.get("lastChunk", False) for u in updates] == [False, False, False, True]
    assert all(len(u["artifact"]["parts"]) == 1 for u in updates)
    assert payloads[0]["task"]["status"]["state"] == "TASK_STATE_SUBMITTED"
    assert payloads[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_COMPLETED"
    assert all("final" not in p.get("statusUpdate", {}) for p in payloads)


# -- the keep-alive's rules, without a broker or a clock ------------------------------------------


def _quiet() -> tuple[Any, list[TaskStatusUpdateEvent]]:
    from a2a_kafka_sync.server.keepalive import QuietStream

    beats: list[TaskStatusUpdateEvent] = []
    return QuietStream(beats.append, due=10.0), beats


def _working(final: bool = False, state: TaskState = TaskState.working) -> TaskStatusUpdateEvent:
    status = TaskStatus(
        state=state, message=Message.agent_text("busy"), timestamp="2026-01-01T00:00:00Z"
    )
    return TaskStatusUpdateEvent(task_id="t", context_id="c", status=status, final=final)


def test_a_keepalive_waits_for_the_task_and_repeats_its_state_without_its_message() -> None:
    stream, beats = _quiet()
    stream.beat(now=11.0, interval=1.0)
    assert beats == []  # due, but no task yet
    stream.sent(Task(id="t", context_id="c", status=TaskStatus(state=TaskState.submitted)), 1.0)
    stream.sent(_working(), 1.0)
    stream.due = 20.0
    stream.beat(now=19.9, interval=1.0)
    assert beats == []  # not due yet
    stream.beat(now=20.0, interval=1.0)
    [beat] = beats
    assert beat.status.state is TaskState.working and beat.status.message is None
    assert beat.status.timestamp == "2026-01-01T00:00:00Z" and beat.final is False
    assert (beat.task_id, beat.context_id) == ("t", "c") and stream.due == 21.0


def test_no_keepalive_while_the_worker_sends_nor_after_a_final_status() -> None:
    stream, beats = _quiet()
    stream.sent(_working(), 1.0)
    stream.due = 0.0
    with stream.sending:  # the worker is sending an event
        stream.beat(now=5.0, interval=1.0)
    assert beats == []
    stream.sent(_working(final=True, state=TaskState.completed), 1.0)
    stream.due = 0.0
    stream.beat(now=5.0, interval=1.0)
    assert beats == [] and stream.ended


def test_an_artifact_chunk_defers_the_keepalive_and_keeps_the_status() -> None:
    stream, beats = _quiet()
    stream.sent(_working(), 1.0)
    chunk = TaskArtifactUpdateEvent(
        task_id="t", context_id="c", artifact={"artifactId": "a", "parts": [TextPart(text="x")]}
    )
    stream.sent(chunk, 1.0)
    stream.beat(now=stream.due - 0.01, interval=1.0)
    assert beats == []
    stream.beat(now=stream.due, interval=1.0)
    assert [b.status.state for b in beats] == [TaskState.working]
