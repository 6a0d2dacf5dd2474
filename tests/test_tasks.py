"""Every A2A method over Kafka, with the task lifecycle behind it, on a real broker."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
from helpers import Webhook, wait_for

from a2a_kafka_sync import (
    AgentCard,
    KafkaServerApp,
    Message,
    RequestContext,
    RequestHandler,
    Task,
    TaskState,
    TaskStatusUpdateEvent,
)
from a2a_kafka_sync.client import push_config
from a2a_kafka_sync.discovery import AgentDirectory
from a2a_kafka_sync.errors import (
    AuthenticatedExtendedCardNotConfiguredError,
    InvalidParamsError,
    PushNotificationNotSupportedError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from a2a_kafka_sync.types import AgentCapabilities, TaskArtifactUpdateEvent


def pizza_order(message: Message, context: RequestContext) -> str | None:
    """A multi-turn agent: asks for the size, then completes the order."""
    task = context.task
    if task.state is TaskState.submitted:
        task.start_work("looking at the menu")
        task.requires_input("Which size?")
        return None
    task.add_artifact(f"order: one {message.text} pizza", name="order")
    return f"A {message.text} pizza is on its way."


def chunked_job(saw_cancel: threading.Event) -> Any:
    """An agent that streams 400 chunks, 50 ms apart, and stops when it is cancelled."""

    def long_job(message: Message, context: RequestContext) -> None:
        context.task.start_work()
        for i in range(400):
            if context.is_cancelled():
                saw_cancel.set()
                return
            context.task.add_artifact(f"chunk {i}", artifact_id="out", append=i > 0)
            time.sleep(0.05)

    return long_job


@pytest.mark.slow
def test_a_multi_turn_conversation_continues_an_input_required_task(serve, connect) -> None:
    serve(pizza_order)
    client = connect()

    first = client.send_text("I want a pizza")
    assert isinstance(first, Task)
    assert first.status.state is TaskState.input_required
    assert first.status.message is not None and first.status.message.text == "Which size?"

    second = client.send_text("large", task_id=first.id, context_id=first.context_id)
    assert isinstance(second, Task) and second.id == first.id
    assert second.status.state is TaskState.completed
    assert second.artifacts and second.artifacts[0].text == "order: one large pizza"
    texts = [m.text for m in second.history or []]
    assert texts[0] == "I want a pizza" and "large" in texts
    assert texts[-1] == "A large pizza is on its way."

    with pytest.raises(InvalidParamsError) as caught:  # a terminal task takes no more messages
        client.send_text("and a drink", task_id=first.id)
    assert caught.value.code == -32602


@pytest.mark.slow
def test_a_message_to_an_unknown_task_is_task_not_found(serve, connect) -> None:
    serve(pizza_order)
    with pytest.raises(TaskNotFoundError):
        connect().send_text("large", task_id="no-such-task")


def test_a_streamed_task_starts_with_the_task_and_ends_final(serve, connect) -> None:
    serve(pizza_order)
    events = list(connect().send_message_streaming("I want a pizza"))

    assert isinstance(events[0], Task)
    assert [e.status.state for e in events[1:]] == [TaskState.working, TaskState.input_required]
    assert events[-1].final is True


@pytest.mark.slow
def test_task_get_honours_history_length_and_answers_task_not_found(serve, connect) -> None:
    serve(pizza_order)
    client = connect()
    task = client.send_text("I want a pizza")
    assert isinstance(task, Task)

    full = client.get_task(task.id)
    assert full.status.state is TaskState.input_required
    assert len(full.history or []) == 3  # the request, "looking at the menu", "Which size?"
    assert [m.text for m in client.get_task(task.id, history_length=1).history or []] == [
        "Which size?"
    ]
    assert client.get_task(task.id, history_length=0).history in (None, [])
    with pytest.raises(TaskNotFoundError) as caught:
        client.get_task("missing")
    assert caught.value.code == -32001


@pytest.mark.slow
def test_task_list_lists_tasks_and_filters_by_context(serve, connect) -> None:
    serve(pizza_order)
    client = connect()
    a = client.send_text("pizza", context_id="ctx-a")
    b = client.send_text("pizza", context_id="ctx-b")
    assert isinstance(a, Task) and isinstance(b, Task)

    assert {t.id for t in client.list_tasks()} == {a.id, b.id}
    assert [t.id for t in client.list_tasks(context_id="ctx-b")] == [b.id]


@pytest.mark.slow
def test_cancel_an_idle_task_then_cancel_again_is_not_cancelable(serve, connect) -> None:
    serve(pizza_order)
    client = connect()
    task = client.send_text("pizza")
    assert isinstance(task, Task)

    canceled = client.cancel_task(task.id)
    assert canceled.status.state is TaskState.canceled

    with pytest.raises(TaskNotCancelableError) as caught:
        client.cancel_task(task.id)
    assert caught.value.code == -32002
    with pytest.raises(TaskNotFoundError):
        client.cancel_task("missing")


@pytest.mark.slow
def test_cancelling_a_running_stream_reaches_the_handler_and_ends_the_stream(
    serve, connect
) -> None:
    saw_cancel = threading.Event()
    long_job = chunked_job(saw_cancel)

    serve(long_job)
    client = connect()
    stream = client.send_message_streaming("go")
    task = next(stream)
    assert isinstance(task, Task)
    assert next(stream).status.state is TaskState.working
    assert isinstance(next(stream), TaskArtifactUpdateEvent)

    assert connect().cancel_task(task.id).status.state is TaskState.canceled
    rest = list(stream)

    assert saw_cancel.wait(10)
    final = rest[-1]
    assert isinstance(final, TaskStatusUpdateEvent)
    assert final.status.state is TaskState.canceled and final.final is True
    assert len(rest) < 400
    assert client.get_task(task.id).status.state is TaskState.canceled


@pytest.mark.slow
def test_resubscribe_after_the_starting_client_is_gone(serve, connect) -> None:
    release = threading.Event()

    def slow(message: Message, context: RequestContext) -> str:
        context.task.start_work()
        assert release.wait(30)
        context.task.add_artifact("the answer", name="answer")
        return "done"

    serve(slow, max_workers=4)
    starter = connect()
    stream = starter.send_message_streaming("work")
    task = next(stream)
    assert isinstance(task, Task)
    assert next(stream).status.state is TaskState.working
    starter.close()  # the caller that started the task is gone

    follower = connect()
    with follower.resubscribe(task.id) as events:
        current = next(events)
        assert isinstance(current, Task) and current.status.state is TaskState.working
        release.set()
        rest = list(events)

    assert isinstance(rest[0], TaskArtifactUpdateEvent)
    assert rest[-1].status.state is TaskState.completed and rest[-1].final is True
    with pytest.raises(TaskNotFoundError):
        list(follower.resubscribe("missing"))


@pytest.mark.slow
def test_resubscribe_to_a_finished_task_yields_it_and_ends(serve, connect) -> None:
    serve(lambda message, context: context.task.complete("done") and None)
    client = connect()
    task = client.send_text("x")
    assert isinstance(task, Task) and task.status.state is TaskState.completed
    events = list(client.resubscribe(task.id))
    assert len(events) == 1 and events[0].status.state is TaskState.completed


@pytest.mark.slow
def test_push_configs_set_get_list_delete_and_a_webhook_receives_updates(
    serve, connect, webhook: Webhook
) -> None:
    serve(pizza_order, allow_insecure_webhooks=True)  # the webhook is http://127.0.0.1
    client = connect()
    task = client.send_text("pizza")
    assert isinstance(task, Task)

    stored = client.set_task_callback(push_config(task.id, webhook.url(), token="s3cret"))
    assert stored.push_notification_config.id == task.id  # the default id
    second = client.set_task_callback(push_config(task.id, webhook.url("/hook2"), id="second"))
    assert client.get_task_callback(task.id, "second") == second
    assert len(client.list_task_callbacks(task.id)) == 2
    client.delete_task_callback(task.id, "second")
    assert [c.push_notification_config.id for c in client.list_task_callbacks(task.id)] == [task.id]
    with pytest.raises(InvalidParamsError):
        client.delete_task_callback(task.id, "second")
    with pytest.raises(TaskNotFoundError):
        client.set_task_callback(push_config("missing", webhook.url()))

    client.send_text("large", task_id=task.id)  # the task completes: a push goes out

    def completed() -> list[dict[str, Any]]:
        bodies = [json.loads(r["body"]) for r in webhook.received]
        return [b for b in bodies if b["status"]["state"] == "completed"]

    assert wait_for(lambda: bool(completed()), 15)
    body = completed()[-1]
    headers = webhook.received[-1]["headers"]
    assert body["id"] == task.id and body["kind"] == "task"
    assert headers["X-A2A-Notification-Token"] == "s3cret"


@pytest.mark.slow
def test_push_config_calls_answer_not_supported_when_the_card_says_so(serve, connect) -> None:
    card = AgentCard(name="no-push", capabilities=AgentCapabilities(push_notifications=False))
    serve(pizza_order, agent_card=card)
    client = connect()
    task = client.send_text("pizza")
    assert isinstance(task, Task)
    with pytest.raises(PushNotificationNotSupportedError) as caught:
        client.set_task_callback(push_config(task.id, "https://hooks.example.com/hook"))
    assert caught.value.code == -32003
    with pytest.raises(PushNotificationNotSupportedError):
        client.list_task_callbacks(task.id)


@pytest.mark.slow
def test_agent_card_get_answers_the_extended_card_or_not_configured(serve, connect) -> None:
    extended = AgentCard(name="pizza", description="the full menu")
    serve(pizza_order, extended_agent_card=extended)
    got = connect().get_card(extended=True)
    assert (got.name, got.description) == ("pizza", "the full menu")
    assert got.url.startswith("kafka://")  # with the agent's Kafka interface (test_auth.py)


@pytest.mark.slow
def test_agent_card_get_without_an_extended_card_is_not_configured(serve, connect) -> None:
    serve(pizza_order)
    with pytest.raises(AuthenticatedExtendedCardNotConfiguredError) as caught:
        connect().get_card(extended=True)
    assert caught.value.code == -32007


@pytest.mark.slow
def test_a_handler_object_without_task_methods_answers_unsupported(serve, connect) -> None:
    class OnlyMessages(RequestHandler):
        def on_message_send(self, params: Any, context: RequestContext) -> Message:
            return Message.agent_text("hi")

    serve(OnlyMessages())
    client = connect()
    assert client.send_text("x") == "hi"
    for call in (
        lambda: client.get_task("t"),
        lambda: client.cancel_task("t"),
        lambda: client.list_tasks(),
    ):
        with pytest.raises(UnsupportedOperationError) as caught:
            call()
        assert caught.value.code == -32004


@pytest.mark.slow
def test_push_records_reach_a_callback_while_requests_are_in_flight(
    broker_settings, topic, connect
) -> None:
    apps: list[KafkaServerApp] = []

    def chatty(message: Message, context: RequestContext) -> str:
        apps[0].push(context.reply_topic, Message.agent_text(f"heads-up {message.text}"))
        return f"answer {message.text}"

    app = KafkaServerApp(chatty, request_topic=topic, **broker_settings)
    apps.append(app)
    with app:
        assert app.wait_until_assigned(30)
        client = connect()
        pushed: list[Any] = []
        client.on_push(pushed.append)
        answers = [client.send_text(str(i)) for i in range(10)]

        assert answers == [f"answer {i}" for i in range(10)]
        assert wait_for(lambda: len(pushed) == 10, 10)
        assert sorted(p.text for p in pushed) == sorted(f"heads-up {i}" for i in range(10))


@pytest.mark.slow
def test_servers_publish_their_cards_for_discovery(broker_settings) -> None:
    card_topic = f"cards-{uuid.uuid4().hex[:8]}"
    topics = [f"agent-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    cards = [AgentCard(name=f"agent-{i}", description=f"agent {i}") for i in range(2)]
    apps = [
        KafkaServerApp(
            lambda m: "hello from discovery",
            request_topic=t,
            agent_card=c,
            card_topic=card_topic,
            **broker_settings,
        ).start()
        for t, c in zip(topics, cards, strict=True)
    ]
    try:
        with AgentDirectory(topic=card_topic, **broker_settings) as directory:
            assert [c.name for c in directory.list()] == ["agent-0", "agent-1"]
            found = directory.resolve("agent-1")
        assert found.url.endswith("/" + topics[1]) and found.preferred_transport == "KAFKA"
        from a2a_kafka_sync.discovery import client_for

        with client_for(found, **broker_settings) as client:
            assert client.send_text("hi") == "hello from discovery"
    finally:
        for app in apps:
            app.stop()


@pytest.mark.slow
def test_task_get_is_answered_by_another_instance_through_the_kafka_task_store(
    broker_settings, topic, connect
) -> None:
    from a2a_kafka_sync.server.tasks import KafkaTaskStore

    store_topic = f"tasks-{uuid.uuid4().hex[:8]}"

    def instance() -> KafkaServerApp:
        store = KafkaTaskStore(topic=store_topic, **broker_settings)
        app = KafkaServerApp(pizza_order, request_topic=topic, task_store=store, **broker_settings)
        app.start()
        assert app.wait_until_assigned(30)
        return app

    first = instance()
    client = connect()
    try:
        task = client.send_text("pizza")
        assert isinstance(task, Task)
    finally:
        first.stop()

    second = instance()  # a new process would start just like this: an empty view
    try:
        again = client.get_task(task.id)
        assert again.id == task.id and again.status.state is TaskState.input_required
        done = client.send_text("small", task_id=task.id)
        assert isinstance(done, Task) and done.status.state is TaskState.completed
    finally:
        second.stop()


@pytest.mark.slow
def test_resubscribe_ends_when_the_agent_returns_with_the_turn_open(serve, connect) -> None:
    release = threading.Event()

    def leaves_it_working(message: Message, context: RequestContext) -> None:
        context.task.start_work()
        assert release.wait(30)

    serve(leaves_it_working, max_workers=4)
    client = connect()
    stream = client.send_message_streaming("go")
    task = next(stream)
    assert isinstance(task, Task)
    with connect().resubscribe(task.id) as follower:
        assert next(follower).status.state is TaskState.working
        release.set()
        rest = list(follower)  # ends instead of waiting for a final event that never comes
    assert rest and isinstance(rest[-1], Task) and rest[-1].status.state is TaskState.working


@pytest.mark.slow
def test_stopping_the_server_ends_open_resubscriptions_with_an_error(
    broker_settings, topic, connect
) -> None:
    from a2a_kafka_sync.errors import InternalError

    release = threading.Event()

    def waits(message: Message, context: RequestContext) -> None:
        context.task.start_work()
        release.wait(30)

    app = KafkaServerApp(waits, request_topic=topic, max_workers=4, **broker_settings).start()
    assert app.wait_until_assigned(30)
    try:
        stream = connect().send_message_streaming("go")
        task = next(stream)
        follower = connect().resubscribe(task.id)
        assert next(follower).status.state is TaskState.working
        app.stop(timeout=2)  # the agent still runs: only stopping() can end the follower
        remaining: list[Any] = []
        with pytest.raises(InternalError) as caught:
            remaining.extend(follower)
        assert "stopping" in caught.value.message
    finally:
        release.set()
        app.stop()


def test_task_store_options_with_a_handler_object_are_refused() -> None:
    from a2a_kafka_sync import InMemoryTaskStore

    class Agent(RequestHandler):
        pass

    with pytest.raises(TypeError):
        KafkaServerApp(Agent(), task_store=InMemoryTaskStore())


@pytest.mark.slow
def test_a_cancel_received_by_another_instance_stops_the_running_task(
    broker_settings, connect
) -> None:
    from a2a_kafka_sync.server.tasks import KafkaTaskStore

    store_topic = f"tasks-{uuid.uuid4().hex[:8]}"
    topics = [f"agent-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    saw_cancel = threading.Event()
    long_job = chunked_job(saw_cancel)

    apps = [
        KafkaServerApp(
            long_job,
            request_topic=t,
            task_store=KafkaTaskStore(topic=store_topic, **broker_settings),
            **broker_settings,
        ).start()
        for t in topics
    ]
    try:
        for app in apps:
            assert app.wait_until_assigned(30)
        runner = connect(request_topic=topics[0])
        stream = runner.send_message_streaming("go")
        task = next(stream)
        assert next(stream).status.state is TaskState.working

        other = connect(request_topic=topics[1])  # an instance that is not running it
        assert other.cancel_task(task.id).status.state is TaskState.canceled
        rest = list(stream)

        assert saw_cancel.wait(10)
        assert rest[-1].status.state is TaskState.canceled and rest[-1].final is True
        assert runner.get_task(task.id).status.state is TaskState.canceled
    finally:
        for app in apps:
            app.stop()


# -- a task whose worker died (issue 18, item 1) ---------------------------------------------------


@pytest.mark.slow
def test_a_follower_of_a_task_that_never_advances_ends_and_frees_its_worker(serve, connect) -> None:
    """A task whose worker died sends no more events: its followers used to wait for ever,
    each holding a worker thread and its request's offset. resubscribe_idle_timeout ends
    them with -32603 (reason no_progress), which a resume=True client treats as a break."""
    from a2a_kafka_sync.client.resume import is_break
    from a2a_kafka_sync.errors import InternalError

    release = threading.Event()

    def stalls(message: Message, context: RequestContext) -> str | None:
        if message.text == "quick":
            return "still here"
        context.task.start_work()
        release.wait(60)  # as good as dead: no event until released
        return None

    serve(stalls, max_workers=2, resubscribe_idle_timeout=1.5)
    client = connect(timeout=20)
    try:
        stream = client.send_message_streaming("go")
        task = next(stream)
        follower = connect(timeout=20).resubscribe(task.id)
        assert next(follower).status.state is TaskState.working
        began = time.monotonic()
        with pytest.raises(InternalError) as caught:
            list(follower)
        waited = time.monotonic() - began
        assert caught.value.data["reason"] == "no_progress"
        assert caught.value.data["taskId"] == task.id
        assert is_break(caught.value)
        assert waited < 15, waited  # the follow's bound, far below the client's 20 s
        # Its worker is free again: with max_workers=2 (one held by the stalled agent),
        # a new call runs.
        assert client.send_text("quick") == "still here"
    finally:
        release.set()


@pytest.mark.slow
def test_a_redelivered_request_runs_under_the_same_task_id(serve, raw, replies, topic) -> None:
    """A request read again (after its instance died, say) runs its handler again under the
    task id its first run used, so a caller following that task sees the new run."""
    request = json.dumps(
        {
            "method": "message_send",
            "params": {
                "message": {
                    "kind": "message",
                    "messageId": "m-1",
                    "role": "user",
                    "parts": [{"kind": "text", "text": "pizza"}],
                }
            },
        }
    ).encode()
    runs: list[str] = []

    def counted(message: Message, context: RequestContext) -> str:
        runs.append(context.task.task_id)
        context.task.start_work()
        return "done"

    serve(counted, dedupe_window=0)  # no reply cache: the copy runs again, as after a crash
    for cid in (b"first", b"first", b"second"):
        raw.send(topic, request, [("correlation_id", cid), ("reply_topic", replies.topic.encode())])
    got = replies.read(3, timeout=20)
    assert len(got) == 3 and len(runs) == 3
    # The records (no key) may land on different partitions and run in any order.
    ids = {cid: {data["data"]["id"] for c, data in got if c == cid} for cid in ("first", "second")}
    assert len(ids["first"]) == 1 and ids["first"] != ids["second"]
    assert sorted(runs) == sorted([*ids["first"], *ids["first"], *ids["second"]])
