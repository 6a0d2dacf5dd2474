"""Streams that resume without gaps: per-task sequence numbers, the task-event log, resubscribe
after a sequence, and the client's auto-resume."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from a2a_kafka_sync import (
    KafkaServerApp,
    Message,
    RequestContext,
    Task,
    TaskState,
    TaskStatusUpdateEvent,
)
from a2a_kafka_sync.client import ReplyStream
from a2a_kafka_sync.client.resume import is_break
from a2a_kafka_sync.errors import (
    BrokerUnavailableError,
    InternalError,
    InvalidParamsError,
    KafkaAuthenticationError,
    RequestTimeoutError,
    StreamGapError,
    TaskNotFoundError,
)
from a2a_kafka_sync.server import DefaultRequestHandler
from a2a_kafka_sync.server.tasks import (
    InMemoryTaskEventLog,
    KafkaTaskEventLog,
    KafkaTaskEventLogConfig,
    KafkaTaskStore,
)
from a2a_kafka_sync.server.tasks.event_log import RUN_ENDED, LoggedEvent
from a2a_kafka_sync.types import TaskArtifactUpdateEvent, TaskStatus

SAFETY = 30.0  # seconds: a safety net, never a measure


def stepped(gate: threading.Event) -> Any:
    """An agent whose turn is 7 events, with a pause (until ``gate``) after the 4th."""

    def agent(message: Message, context: RequestContext) -> None:
        task = context.task
        task.start_work()  # 1: the Task (submitted), 2: working
        task.add_artifact("one")  # 3
        task.add_artifact("two")  # 4
        assert gate.wait(SAFETY)
        task.add_artifact("three")  # 5
        task.add_artifact("four")  # 6
        task.complete("done")  # 7

    return agent


def read(stream: ReplyStream, count: int | None = None) -> list[tuple[int | None, Any]]:
    """(sequence, event) of the next ``count`` events, or of all of them."""
    seen = []
    for event in stream:
        seen.append((stream.last_sequence, event))
        if count is not None and len(seen) == count:
            break
    return seen


def describe(event: Any) -> str:
    """What an event is, in a word: its state or its artifact's text."""
    if isinstance(event, Task):
        return f"task:{event.status.state.value}"
    if isinstance(event, TaskStatusUpdateEvent):
        return event.status.state.value
    assert isinstance(event, TaskArtifactUpdateEvent)
    return event.artifact.parts[0].text  # type: ignore[no-any-return,union-attr]


REST = [(5, "three"), (6, "four"), (7, "completed")]


def _kafka_instance(broker: dict[str, Any], topic: str, shared: str, **settings: Any) -> Any:
    """An app on ``topic`` whose tasks and events live on the topics named after ``shared``."""
    store = KafkaTaskStore(**{**broker, "topic": f"{shared}.tasks"})
    log = KafkaTaskEventLog(**{**broker, "topic": f"{shared}.task-events"})
    return {"task_store": store, "event_log": log, "request_topic": topic, **settings}


# -- numbering ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_sequences_are_contiguous_across_turns_and_replay_from_zero(serve, connect) -> None:
    def two_turns(message: Message, context: RequestContext) -> None:
        if context.task.state is TaskState.submitted:
            context.task.start_work()
            context.task.add_artifact("menu")
            context.task.requires_input("Which size?")
        else:
            context.task.start_work()
            context.task.complete("large it is")

    serve(two_turns)
    client = connect()
    first = read(client.send_message_streaming("pizza"))
    task_id = first[0][1].id
    second = read(client.send_message_streaming(Message.user_text("large", task_id=task_id)))

    numbered = [(seq, describe(event)) for seq, event in first + second]
    assert numbered == [
        (1, "task:submitted"),
        (2, "working"),
        (3, "menu"),
        (4, "input-required"),
        (5, "task:input-required"),  # turn 2 starts with the task, the new message in it
        (6, "working"),
        (7, "completed"),
    ]
    replayed = read(client.resubscribe(task_id, after_sequence=0))
    assert [(seq, describe(e)) for seq, e in replayed] == numbered
    snapshot = client.resubscribe(task_id)  # no after_sequence: the task, as of its last event
    assert [(seq, describe(e)) for seq, e in read(snapshot)] == [(7, "task:completed")]


# -- resubscribe after a sequence -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("when", ["while it runs", "after it finished"])
def test_a_new_client_resubscribing_after_n_gets_exactly_the_rest(serve, connect, when) -> None:
    gate = threading.Event()
    serve(stepped(gate), max_workers=4)
    starter = connect()
    stream = starter.send_message_streaming("go")
    seen = read(stream, 4)
    task_id, last = stream.task_id, stream.last_sequence
    assert [s for s, _ in seen] == [1, 2, 3, 4] and last == 4 and task_id == seen[0][1].id
    starter.close()  # the stream breaks: its client is gone

    follower = connect()
    if when == "after it finished":
        gate.set()
        assert follower.get_task(task_id) is not None
        _wait_until_completed(follower, task_id)
        rest = read(follower.resubscribe(task_id, after_sequence=last))
    else:
        resumed = follower.resubscribe(task_id, after_sequence=last)
        gate.set()
        rest = read(resumed)
    assert [(seq, describe(e)) for seq, e in rest] == REST


def _wait_until_completed(client: Any, task_id: str) -> None:
    with client.resubscribe(task_id) as events:
        for event in events:
            if isinstance(event, Task) and event.status.state is TaskState.completed:
                return
            if isinstance(event, TaskStatusUpdateEvent) and event.final:
                return
    raise AssertionError("the task did not complete")


@pytest.mark.slow
def test_asking_after_a_sequence_no_longer_kept_is_a_clear_error(serve, connect) -> None:
    gate = threading.Event()
    gate.set()
    serve(stepped(gate), event_log=InMemoryTaskEventLog(max_events_per_task=3))
    client = connect()
    stream = client.send_message_streaming("go")
    assert [s for s, _ in read(stream)] == [1, 2, 3, 4, 5, 6, 7]

    with pytest.raises(InvalidParamsError) as caught:
        read(client.resubscribe(stream.task_id, after_sequence=1))
    assert caught.value.code == -32602
    assert "after sequence 1" in caught.value.message
    assert caught.value.data["firstKept"] == 5 and caught.value.data["lastSequence"] == 7
    # the last three are still there
    assert [
        (s, describe(e)) for s, e in read(client.resubscribe(stream.task_id, after_sequence=4))
    ] == REST
    with pytest.raises(TaskNotFoundError):
        read(client.resubscribe("no-such-task", after_sequence=0))


# -- auto-resume ----------------------------------------------------------------------------------


class CountingHandler(DefaultRequestHandler):
    """Opens ``resubscribed`` on each resubscription it is asked for."""

    def __init__(self, agent: Any, **options: Any) -> None:
        super().__init__(agent, **options)
        self.resubscribed = threading.Event()
        self.resubscriptions: list[int | None] = []

    def on_resubscribe_to_task(self, params: Any, context: RequestContext) -> Any:
        self.resubscriptions.append(context.after_sequence)
        self.resubscribed.set()
        return super().on_resubscribe_to_task(params, context)


@pytest.mark.slow
def test_auto_resume_yields_every_event_once_in_order_across_a_break(serve, connect) -> None:
    gate = threading.Event()
    handler = CountingHandler(stepped(gate))
    serve(handler, max_workers=4)
    client = connect()
    # The handler pauses longer than the client's timeout: the stream breaks after event 4.
    # The agent goes on once the client has resubscribed.
    threading.Thread(
        target=lambda: handler.resubscribed.wait(SAFETY) and gate.set(), daemon=True
    ).start()
    stream = client.send_message_streaming("go", timeout=1.0, resume=True)
    events = read(stream)
    gate.set()

    assert [(seq, describe(e)) for seq, e in events] == [
        (1, "task:submitted"),
        (2, "working"),
        (3, "one"),
        (4, "two"),
        *REST,
    ]
    assert handler.resubscriptions[0] == 4


@pytest.mark.slow
def test_without_resume_a_break_is_raised(serve, connect) -> None:
    gate = threading.Event()
    serve(stepped(gate), max_workers=4)
    try:
        stream = connect().send_message_streaming("go", timeout=1.0)
        assert len(read(stream, 4)) == 4
        with pytest.raises(RequestTimeoutError):
            next(stream)
    finally:
        gate.set()


def inject_event(
    broker: dict[str, Any], client: Any, stream: ReplyStream, sequence: int, text: str
) -> None:
    """Produce an artifact event of ``stream``'s task numbered ``sequence`` straight into the
    client's reply topic, as a run the client never heard from would (a plain producer)."""
    from kafka import KafkaProducer

    from a2a_kafka_sync.types import Artifact
    from a2a_kafka_sync.wire import encode_reply
    from a2a_kafka_sync.wire.headers import reply_headers

    assert stream.task_id is not None
    event = TaskArtifactUpdateEvent(
        task_id=stream.task_id,
        context_id="injected",
        artifact=Artifact.from_text(text),
    )
    producer = KafkaProducer(bootstrap_servers=broker["bootstrap_servers"])
    try:
        headers = reply_headers(stream.correlation_id, sequence=sequence)
        producer.send(client.reply_topic, encode_reply(event), headers=headers).get(30)
    finally:
        producer.close()


@pytest.mark.slow
def test_a_jump_in_the_sequence_is_a_gap_error_without_resume(
    serve, connect, broker_settings
) -> None:
    gate = threading.Event()
    serve(stepped(gate), max_workers=4)
    try:
        client = connect()
        stream = client.send_message_streaming("go", timeout=SAFETY)
        assert [seq for seq, _ in read(stream, 4)] == [1, 2, 3, 4]
        inject_event(broker_settings, client, stream, 7, "seven")
        with pytest.raises(StreamGapError) as caught:
            next(stream)
        assert (caught.value.after, caught.value.got) == (4, 7)
        assert "events 5..6 did not reach it" in str(caught.value)
    finally:
        gate.set()


@pytest.mark.slow
def test_with_resume_a_jump_in_the_sequence_resubscribes_and_yields_the_missing_events(
    serve, connect, broker_settings
) -> None:
    """The gap a request run again after its server died leaves (the dead run's last events
    never reached the stream, the new run's numbering goes on after them), made on purpose:
    the stream resubscribes after its last event and yields every event once, in order."""
    gate = threading.Event()
    handler = CountingHandler(stepped(gate))
    serve(handler, max_workers=4)
    client = connect()
    # No timeout ends the wait here: only the jump makes the stream resubscribe.
    stream = client.send_message_streaming("go", timeout=SAFETY, resume=True)
    first = read(stream, 4)
    threading.Thread(
        target=lambda: handler.resubscribed.wait(SAFETY) and gate.set(), daemon=True
    ).start()
    inject_event(broker_settings, client, stream, 6, "injected")
    events = first + read(stream)
    gate.set()

    assert [(seq, describe(e)) for seq, e in events] == [
        (1, "task:submitted"),
        (2, "working"),
        (3, "one"),
        (4, "two"),
        *REST,
    ]
    assert handler.resubscriptions == [4]


def test_what_counts_as_a_break() -> None:
    assert is_break(RequestTimeoutError("quiet"))
    assert is_break(InternalError("stopping", data={"reason": "server_stopping"}))
    assert not is_break(InternalError("the agent failed"))
    assert not is_break(InvalidParamsError("not kept"))
    assert is_break(BrokerUnavailableError("the request was not delivered within 4.0s"))
    assert not is_break(KafkaAuthenticationError("SASL authentication failed"))


# -- the Kafka log: another instance replays -----------------------------------------------------


@pytest.mark.slow
def test_another_instance_that_never_ran_the_task_replays_it_from_kafka(
    broker_settings, topic, connect
) -> None:
    """Two apps on one topic with the Kafka log; the first runs the task and stops."""
    gate = threading.Event()
    shared = f"{topic}-{uuid.uuid4().hex[:6]}"
    options = {**broker_settings, "max_workers": 4}
    first = KafkaServerApp(
        stepped(gate), **options, **_kafka_instance(broker_settings, topic, shared)
    )
    second = None
    try:
        first.start()
        assert first.wait_until_assigned(SAFETY)
        starter = connect()
        stream = starter.send_message_streaming("go")
        assert [s for s, _ in read(stream, 4)] == [1, 2, 3, 4]
        task_id = stream.task_id
        starter.close()  # the stream breaks mid-way
        gate.set()
        _wait_until_completed(connect(), task_id)
        first.stop(timeout=5)
        second = KafkaServerApp(  # a new instance, in the same group: it serves from now on
            stepped(gate), **options, **_kafka_instance(broker_settings, topic, shared)
        ).start()
        assert second.wait_until_assigned(SAFETY)
        rest = read(connect().resubscribe(task_id, after_sequence=4))
        assert [(seq, describe(e)) for seq, e in rest] == REST
    finally:
        gate.set()
        first.stop(timeout=5)
        if second is not None:
            second.stop(timeout=5)


@pytest.mark.slow
def test_instances_share_live_events_and_continue_each_others_numbering(
    broker_settings, topic, connect
) -> None:
    """Two instances of one agent (each on a request topic of its own here, so the test
    decides which runs what) share the task store and the event log on Kafka."""
    gate = threading.Event()

    def agent(message: Message, context: RequestContext) -> None:
        task = context.task
        if task.state is TaskState.input_required:
            task.complete("thanks")
            return
        task.start_work()
        task.add_artifact("one")
        task.add_artifact("two")
        assert gate.wait(SAFETY)
        task.add_artifact("three")
        task.add_artifact("four")
        task.requires_input("more?")

    shared = f"{topic}-{uuid.uuid4().hex[:6]}"
    other_topic = f"{topic}-b"
    options = {**broker_settings, "max_workers": 4}
    apps = [
        KafkaServerApp(agent, **options, **_kafka_instance(broker_settings, name, shared))
        for name in (topic, other_topic)
    ]
    try:
        for app in apps:
            app.start()
        assert all(app.wait_until_assigned(SAFETY) for app in apps)
        first, second = connect(), connect(request_topic=other_topic)
        stream = first.send_message_streaming("go")
        assert [s for s, _ in read(stream, 4)] == [1, 2, 3, 4]
        resumed = second.resubscribe(stream.task_id, after_sequence=4)  # the other instance
        gate.set()
        live = [(seq, describe(e)) for seq, e in read(resumed)]  # from the first, via Kafka
        assert live == [(5, "three"), (6, "four"), (7, "input-required")]
        stream.close()

        # the next turn runs on the other instance and goes on numbering
        turn = second.send_message_streaming(Message.user_text("yes", task_id=stream.task_id))
        assert [(seq, describe(e)) for seq, e in read(turn)] == [
            (8, "task:input-required"),
            (9, "completed"),
        ]
        replayed = read(first.resubscribe(stream.task_id, after_sequence=6))
        assert [seq for seq, _ in replayed] == [7, 8, 9]
    finally:
        gate.set()
        for app in apps:
            app.stop(timeout=5)


# -- the log itself (no broker) --------------------------------------------------------------------


def _status(task_id: str, state: TaskState, final: bool = False) -> TaskStatusUpdateEvent:
    return TaskStatusUpdateEvent(
        task_id=task_id, context_id="c", status=TaskStatus.now(state), final=final
    )


def test_the_in_memory_log_numbers_replays_and_bounds_what_it_keeps() -> None:
    log = InMemoryTaskEventLog(max_events_per_task=2, max_tasks=2)
    assert [log.append("a", _status("a", TaskState.working)) for _ in range(3)] == [1, 2, 3]
    with log.subscribe("a", after=1) as events:
        assert [e.sequence for e in events.replayed] == [2, 3]
        assert log.append("a", _status("a", TaskState.completed, final=True)) == 4
        live = events.next(SAFETY)
        assert isinstance(live, LoggedEvent) and live.sequence == 4
    with pytest.raises(InvalidParamsError):
        log.subscribe("a", after=1)  # 2 is gone: only 3 and 4 are kept
    log.append("b", _status("b", TaskState.working))
    log.append("c", _status("c", TaskState.working))  # a third task: the oldest's events go
    with pytest.raises(InvalidParamsError):
        log.subscribe("a", after=3)
    assert log.last_sequence("a") == 4  # numbering never restarts
    assert log.append("a", _status("a", TaskState.working)) == 5


def test_a_run_that_ends_with_its_turn_open_wakes_subscribers() -> None:
    log = InMemoryTaskEventLog()
    log.append("a", _status("a", TaskState.working))
    with log.subscribe("a", after=1) as events:
        assert not events.settled
        log.end_run("a")
        assert events.next(SAFETY) is RUN_ENDED
    assert log.subscribe("a", after=1).settled


def test_the_kafka_log_topic_defaults_to_one_per_agent() -> None:
    config = KafkaTaskEventLogConfig(request_topic="pizza")
    assert config.topic_name == "pizza.task-events"
    assert KafkaTaskEventLogConfig(topic="events").topic_name == "events"
