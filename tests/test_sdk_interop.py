"""a2a-sdk (v0.3) interop: its objects go in, and come back out on request, over a real broker."""

from __future__ import annotations

from collections.abc import Iterator

import a2a.types as sdk
import pytest

from a2a_kafka_sync import Message, Task
from a2a_kafka_sync.server import RequestContext
from a2a_kafka_sync.types import TaskQueryParams, TextPart
from a2a_kafka_sync.types.sdk import from_a2a_sdk, is_a2a_sdk_object, to_a2a_sdk


def _sdk_message(text: str, **fields: object) -> sdk.Message:
    return sdk.Message(
        role=sdk.Role.user,
        parts=[sdk.Part(root=sdk.TextPart(text=text))],
        message_id="m-1",
        **fields,
    )


def test_an_sdk_message_converts_both_ways_without_loss() -> None:
    theirs = _sdk_message("hi", context_id="c-1", metadata={"k": [1, 2]})
    ours = from_a2a_sdk(theirs)

    assert isinstance(ours, Message) and ours.text == "hi" and ours.context_id == "c-1"
    assert ours.metadata == {"k": [1, 2]}
    back = to_a2a_sdk(ours)
    assert isinstance(back, sdk.Message) and back == theirs


def test_conversion_leaves_other_values_alone_and_maps_lists() -> None:
    assert from_a2a_sdk("text") == "text" and to_a2a_sdk(None) is None
    assert not is_a2a_sdk_object(Message.user_text("x")) and is_a2a_sdk_object(_sdk_message("x"))
    parts = from_a2a_sdk([sdk.Part(root=sdk.TextPart(text="a")), sdk.TextPart(text="b")])
    assert parts == [TextPart(text="a"), TextPart(text="b")]  # a2a-sdk's Part wrapper unwrapped
    assert isinstance(from_a2a_sdk(sdk.TaskQueryParams(id="t", history_length=2)), TaskQueryParams)


def test_an_sdk_class_without_a_counterpart_is_refused_clearly() -> None:
    with pytest.raises(TypeError, match="no counterpart"):
        from_a2a_sdk(sdk.JSONRPCErrorResponse(id=1, error=sdk.InternalError()))


def echo_task(message: Message, context: RequestContext) -> Iterator[object]:
    context.task.start_work("on it")
    yield f"echo {message.text}"
    context.task.complete("done")


@pytest.mark.slow
def test_the_client_takes_sdk_objects_and_the_view_returns_them(serve, connect) -> None:
    serve(lambda message: f"echo {message.text}")
    client = connect()

    ours = client.send_message(_sdk_message("one"))  # an a2a-sdk Message goes in as it is
    assert isinstance(ours, Message) and ours.text == "echo one"

    theirs = client.a2a_sdk.send_message(sdk.MessageSendParams(message=_sdk_message("two")))
    assert isinstance(theirs, sdk.Message)
    assert theirs.role == sdk.Role.agent and theirs.parts[0].root.text == "echo two"


@pytest.mark.slow
def test_streams_and_task_calls_through_the_sdk_view(serve, connect) -> None:
    serve(echo_task)
    client = connect()

    events = list(client.a2a_sdk.send_message_streaming(_sdk_message("go")))
    # A2A-shaped: the task, its status, the yielded text as an artifact chunk, the final status
    assert [type(e) for e in events] == [
        sdk.Task,
        sdk.TaskStatusUpdateEvent,
        sdk.TaskArtifactUpdateEvent,
        sdk.TaskStatusUpdateEvent,
    ]
    chunk = events[2]
    assert chunk.artifact.parts[0].root.text == "echo go" and not chunk.append
    assert events[1].status.state == sdk.TaskState.working and not events[1].final
    assert {e.task_id for e in events[1:]} == {events[0].id}
    final = events[-1]
    assert isinstance(final, sdk.TaskStatusUpdateEvent) and final.final
    assert final.status.state == sdk.TaskState.completed

    task = client.a2a_sdk.get_task(sdk.TaskQueryParams(id=final.task_id))
    assert isinstance(task, sdk.Task) and task.status.state == sdk.TaskState.completed
    assert [t.id for t in client.a2a_sdk.list_tasks()] == [task.id]
    ours = client.get_task(sdk.TaskQueryParams(id=task.id))  # the client's own call takes it too
    assert isinstance(ours, Task) and ours.id == task.id


# -- the seed's asyncio client ---------------------------------------------------------------------

_SEED_TYPES = {  # how the seed's client reads a stream record: by its type, else a Message
    "task": sdk.Task,
    "task_status_update": sdk.TaskStatusUpdateEvent,
    "task_artifact_update": sdk.TaskArtifactUpdateEvent,
}


def pauses(message: Message, context: RequestContext) -> Iterator[str]:
    yield "before"
    context.cancelled.wait(1.0)  # quiet: keep-alives go out
    yield "after"


@pytest.mark.slow
def test_every_record_of_a_generators_stream_reads_as_the_seeds_client_reads_it(
    serve, connect, replies
) -> None:
    # The seed's client (not in this repository) validates each stream record into
    # a2a-sdk 0.3's model of its type, and stops at stream_complete.
    serve(pauses, stream_keepalive=0.2)
    client = connect(reply_topic=replies.topic)
    with client.send_message_streaming("go") as stream:
        ours = list(stream)

    records = replies.records(len(ours) + 10, timeout=5.0)
    assert records[-1][1]["type"] == "stream_complete"
    theirs = [
        _SEED_TYPES.get(value["type"], sdk.Message).model_validate(value["data"])
        for _, value in records[:-1]
    ]
    marked = [bool(headers.get("keepalive")) for headers, _ in records[:-1]]
    keepalives = [t for t, keepalive in zip(theirs, marked, strict=True) if keepalive]
    assert keepalives and all(
        isinstance(k, sdk.TaskStatusUpdateEvent)
        and k.status.state == sdk.TaskState.working
        and not k.final
        for k in keepalives
    )
    rest = [t for t, keepalive in zip(theirs, marked, strict=True) if not keepalive]
    assert [type(t) for t in rest] == [
        sdk.Task,
        sdk.TaskStatusUpdateEvent,
        *[sdk.TaskArtifactUpdateEvent] * 3,
        sdk.TaskStatusUpdateEvent,
    ]
    assert [t.artifact.parts[0].root.text for t in rest[2:5]] == ["before", "after", ""]
    assert rest[-1].final and rest[-1].status.state == sdk.TaskState.completed
    assert len(rest) == len(ours)  # our client yields the same events, keep-alives left out
