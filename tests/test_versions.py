"""A2A v0.3 and v1.0 on one topic: the version per request, every method in 1.0, the pick."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from helpers import Webhook, wait_for

from a2a_kafka_sync import AgentCard, Message, RequestContext, Task, TaskState
from a2a_kafka_sync.client import push_config
from a2a_kafka_sync.discovery import AgentDirectory, client_for
from a2a_kafka_sync.errors import (
    InvalidParamsError,
    TaskNotCancelableError,
    TaskNotFoundError,
    VersionNotSupportedError,
)
from a2a_kafka_sync.interfaces import (
    KAFKA_BINDING,
    kafka_endpoint,
    protocol_version_for,
    with_kafka_interface,
)
from a2a_kafka_sync.server.tasks import KafkaTaskStore, SQLiteTaskStore
from a2a_kafka_sync.server.tasks.listing import page_of
from a2a_kafka_sync.types import (
    AgentCapabilities,
    ListTasksParams,
    ProtocolInterface,
    TaskArtifactUpdateEvent,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a_kafka_sync.wire import version_of

SEEN_VERSIONS: list[str] = []


def versioned_agent(message: Message, context: RequestContext) -> str | None:
    """Answers with the version it was asked in; 'task' runs a task with an artifact."""
    SEEN_VERSIONS.append(context.a2a_version)
    if message.text == "task":
        context.task.start_work()
        context.task.add_artifact("the artifact", name="out")
        return "done"
    if message.text == "ask":
        context.task.requires_input("Which one?")
        return None
    return f"{context.a2a_version}: {message.text}"


CARD = AgentCard(
    name="versions", capabilities=AgentCapabilities(streaming=True, push_notifications=True)
)


# -- pure logic --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "version"),
    [
        (None, "0.3"),
        ("", "0.3"),
        ("0.3", "0.3"),
        ("1.0", "1.0"),
        ("1.0.1", "1.0"),
        ("0.3.0", "0.3"),
    ],
)
def test_the_version_header_reads_as_major_minor_and_absent_is_0_3(header, version) -> None:
    assert version_of(header) == version


@pytest.mark.parametrize("header", ["0.2", "2.0", "1.1", "one"])
def test_an_unsupported_version_is_minus_32009_naming_the_supported_ones(header) -> None:
    with pytest.raises(VersionNotSupportedError) as caught:
        version_of(header)
    assert caught.value.code == -32009
    assert caught.value.data == {"supportedVersions": ["0.3", "1.0"]}


def test_a_card_with_the_kafka_interface_declares_both_shapes() -> None:
    card = with_kafka_interface(AgentCard(name="a"), "b1:9092,b2:9092", "a-requests")
    assert card.url == "kafka://b1:9092,b2:9092/a-requests"
    assert card.preferred_transport == "KAFKA"
    assert [(i.protocol_binding, i.protocol_version) for i in card.supported_interfaces] == [
        (KAFKA_BINDING, "1.0"),
        (KAFKA_BINDING, "0.3"),
    ]
    assert {i.url for i in card.supported_interfaces} == {card.url}
    assert protocol_version_for(card) == "1.0"
    again = with_kafka_interface(card, "b1:9092,b2:9092", "a-requests")
    assert len(again.supported_interfaces) == 2  # not declared twice


def test_a_card_keeps_its_http_url_and_other_interfaces() -> None:
    http = ProtocolInterface(
        url="https://a.example/a2a", protocol_binding="JSONRPC", protocol_version="1.0"
    )
    card = AgentCard(name="a", url="https://a.example/a2a", supported_interfaces=[http])
    card = with_kafka_interface(card, "b1:9092", "a-requests")
    assert card.url == "https://a.example/a2a"
    assert card.additional_interfaces[0].transport == "KAFKA"
    assert card.supported_interfaces[-1] == http
    assert kafka_endpoint(card) == (["b1:9092"], "a-requests")


def test_the_client_version_follows_the_card_and_defaults_to_0_3() -> None:
    assert protocol_version_for(AgentCard(name="plain")) == "0.3"
    v1_only = AgentCard(
        name="new",
        supported_interfaces=[
            ProtocolInterface(
                url="kafka://b:9092/t", protocol_binding=KAFKA_BINDING, protocol_version="1.0"
            )
        ],
    )
    assert protocol_version_for(v1_only) == "1.0"
    assert kafka_endpoint(v1_only) == (["b:9092"], "t")  # a v1.0-only card is reachable
    prefers_old = AgentCard(
        name="old-first",
        supported_interfaces=[
            ProtocolInterface(
                url="kafka://b:9092/t", protocol_binding="KAFKA", protocol_version="0.3"
            ),
            ProtocolInterface(
                url="kafka://b:9092/t", protocol_binding="KAFKA", protocol_version="1.0"
            ),
        ],
    )
    assert protocol_version_for(prefers_old) == "0.3"
    unknown = AgentCard(
        name="future",
        supported_interfaces=[
            ProtocolInterface(
                url="kafka://b:9092/t", protocol_binding=KAFKA_BINDING, protocol_version="2.0"
            )
        ],
    )
    assert protocol_version_for(unknown) == "0.3"


def _task(
    n: int, *, context: str = "c", state: str = "completed", second: int | None = None
) -> Task:
    stamp = f"2026-11-26T10:00:{second if second is not None else n:02d}.000Z"
    return Task(
        id=f"t{n:02d}",
        context_id=context,
        status=TaskStatus(state=TaskState(state), timestamp=stamp),
    )


def test_a_task_page_is_newest_first_and_cursors_walk_every_task_once() -> None:
    tasks = [_task(n) for n in range(25)]
    seen: list[str] = []
    token = None
    while True:
        page = page_of(tasks, ListTasksParams(page_size=10, page_token=token))
        assert page.total_size == 25 and page.page_size == 10
        seen += [t.id for t in page.tasks]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"t{n:02d}" for n in reversed(range(25))]


def test_a_task_updated_between_pages_does_not_shift_the_next_page() -> None:
    tasks = [_task(n) for n in range(6)]
    first = page_of(tasks, ListTasksParams(page_size=3))
    assert [t.id for t in first.tasks] == ["t05", "t04", "t03"]
    tasks[0] = _task(0, second=59)  # t00 updated: now the newest
    second = page_of(tasks, ListTasksParams(page_size=3, page_token=first.next_page_token))
    assert [t.id for t in second.tasks] == ["t02", "t01"]


def test_task_page_filters_and_trims() -> None:
    tasks = [_task(1, context="a"), _task(2, context="b", state="working"), _task(3, context="a")]
    tasks[0] = tasks[0].model_copy(
        update={"artifacts": [], "history": [Message.user_text(f"m{n}") for n in range(5)]}
    )
    page = page_of(
        tasks, ListTasksParams(context_id="a", history_length=2, include_artifacts=False)
    )
    assert [t.id for t in page.tasks] == ["t03", "t01"]
    assert page.tasks[1].artifacts is None and len(page.tasks[1].history) == 2
    working = page_of(tasks, ListTasksParams(status=TaskState.working))
    assert [t.id for t in working.tasks] == ["t02"]
    recent = page_of(tasks, ListTasksParams(status_timestamp_after="2026-11-26T10:00:02Z"))
    assert [t.id for t in recent.tasks] == ["t03", "t02"]
    assert page_of(tasks, ListTasksParams(), default_size=None).page_size == 3


@pytest.mark.parametrize(
    "params",
    [
        ListTasksParams(page_size=0),
        ListTasksParams(page_size=101),
        ListTasksParams(page_token="not a token"),
        ListTasksParams(status_timestamp_after="soon"),
    ],
)
def test_bad_list_params_are_invalid_params(params) -> None:
    with pytest.raises(InvalidParamsError):
        page_of([_task(1)], params)


# -- on the broker -----------------------------------------------------------------------------


@pytest.mark.slow
def test_every_method_in_1_0(serve, connect, webhook) -> None:
    serve(versioned_agent, agent_card=CARD, allow_insecure_webhooks=True)  # a local webhook
    client = connect(protocol_version="1.0")
    assert client.protocol_version == "1.0"
    reply = client.send_message(Message.user_text("hi"))
    assert isinstance(reply, Message) and reply.text == "1.0: hi"

    task = client.send_text("task")
    assert isinstance(task, Task) and task.status.state is TaskState.completed
    assert task.artifacts[0].text == "the artifact"
    fetched = client.get_task(task.id, history_length=0)
    assert fetched.id == task.id and fetched.history == []
    with pytest.raises(TaskNotFoundError):
        client.get_task("no-such-task")
    with pytest.raises(TaskNotCancelableError):
        client.cancel_task(task.id)

    events = list(client.send_message_streaming(Message.user_text("task")))
    assert isinstance(events[0], Task)
    assert any(isinstance(e, TaskArtifactUpdateEvent) for e in events)
    assert isinstance(events[-1], TaskStatusUpdateEvent) and events[-1].final

    waiting = client.send_text("ask")
    assert waiting.status.state is TaskState.input_required
    resubscribed = client.resubscribe(waiting.id).collect()
    assert isinstance(resubscribed[0], Task) and resubscribed[0].id == waiting.id
    canceled = client.cancel_task(waiting.id)
    assert canceled.status.state is TaskState.canceled

    config = client.set_task_callback(push_config(task.id, webhook.url(), token="t-1"))
    assert config.task_id == task.id and config.push_notification_config.token == "t-1"
    config_id = config.push_notification_config.id
    assert (
        client.get_task_callback(task.id, config_id).push_notification_config.url == webhook.url()
    )
    with pytest.raises(TypeError, match=r"needs a config_id in A2A 1\.0"):
        client.get_task_callback(task.id)  # v1.0 has no "the first config"
    assert [c.push_notification_config.id for c in client.list_task_callbacks(task.id)] == [
        config_id
    ]
    client.delete_task_callback(task.id, config_id)
    assert client.list_task_callbacks(task.id) == []

    page = client.list_task_page(page_size=2)
    assert len(page.tasks) == 2 and page.next_page_token and page.total_size == 3
    assert all(t.artifacts is None for t in page.tasks)  # 1.0: artifacts only when asked
    assert {t.id for t in client.list_tasks()} >= {task.id, waiting.id}
    assert set(SEEN_VERSIONS) >= {"1.0"}


@pytest.mark.slow
def test_a_0_3_client_and_a_1_0_client_talk_to_one_server_at_once(serve, connect) -> None:
    serve(versioned_agent, agent_card=CARD)
    old, new = connect(protocol_version="0.3"), connect(protocol_version="1.0")
    answers: dict[str, list[str]] = {"0.3": [], "1.0": []}
    errors: list[BaseException] = []

    def talk(client: Any, version: str) -> None:
        try:
            for n in range(20):
                answers[version].append(client.send_text(f"m{n}"))
                if n % 5 == 0:
                    events = list(client.send_message_streaming(Message.user_text("task")))
                    assert events[-1].final
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=talk, args=(old, "0.3")),
        threading.Thread(target=talk, args=(new, "1.0")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert answers["0.3"] == [f"0.3: m{n}" for n in range(20)]
    assert answers["1.0"] == [f"1.0: m{n}" for n in range(20)]


def _raw_request(raw, replies, topic: str, value: dict[str, Any], version: str | None) -> dict:
    headers = [("correlation_id", b"cid-1"), ("reply_topic", replies.topic.encode())]
    if version is not None:
        headers.append(("a2a_version", version.encode()))
    raw.send(topic, json.dumps(value).encode(), headers)
    [(cid, reply)] = replies.read(1)
    assert cid == "cid-1"
    return reply


@pytest.mark.slow
def test_a_raw_1_0_record_gets_1_0_shapes_back(serve, raw, replies, topic) -> None:
    serve(versioned_agent, agent_card=CARD)
    request = {
        "method": "SendMessage",
        "params": {
            "message": {
                "messageId": uuid.uuid4().hex,
                "role": "ROLE_USER",
                "parts": [{"text": "raw"}],
            }
        },
    }
    reply = _raw_request(raw, replies, topic, request, "1.0")
    assert reply["type"] == "SendMessageResponse"
    message = reply["data"]["message"]
    assert message["role"] == "ROLE_AGENT" and message["parts"] == [{"text": "1.0: raw"}]
    assert "kind" not in message


@pytest.mark.slow
@pytest.mark.parametrize(
    ("value", "version", "code"),
    [
        ({"method": "SendMessage", "params": {}}, "2.0", -32009),
        ({"method": "message_send", "params": {}}, "1.0", -32601),  # a 0.3 name in 1.0
        ({"method": "SendMessage", "params": {}}, None, -32601),  # a 1.0 name in 0.3
        ({"method": "SendMessage", "params": {"message": {"role": "ROLE_NOBODY"}}}, "1.0", -32602),
    ],
)
def test_a_request_in_the_wrong_version_is_answered_with_its_code(
    serve, raw, replies, topic, value, version, code
) -> None:
    serve(versioned_agent, agent_card=CARD)
    reply = _raw_request(raw, replies, topic, value, version)
    assert reply["type"] == "error" and reply["data"]["code"] == code, reply


@pytest.mark.slow
def test_a_client_from_a_published_card_speaks_1_0(broker_settings, serve, topic) -> None:
    cards = f"cards-{uuid.uuid4().hex[:8]}"
    serve(versioned_agent, agent_card=CARD, card_topic=cards)
    with AgentDirectory(topic=cards, **broker_settings) as directory:
        card = directory.resolve("versions")
    assert protocol_version_for(card) == "1.0"
    with client_for(card, **broker_settings) as client:
        assert client.protocol_version == "1.0"
        assert client.send_text("found") == "1.0: found"
    with client_for(card, protocol_version="0.3", **broker_settings) as client:
        assert client.send_text("found") == "0.3: found"


@pytest.mark.slow
def test_a_required_extension_missing_from_the_request_is_minus_32008(serve, connect) -> None:
    from a2a_kafka_sync.errors import ExtensionSupportRequiredError
    from a2a_kafka_sync.types import AgentExtension

    uri = "https://example.com/ext/billing/v1"
    card = CARD.model_copy(deep=True)
    card.capabilities.extensions = [AgentExtension(uri=uri, required=True)]
    seen: list[tuple[str, ...]] = []

    def agent(message: Message, context: RequestContext) -> str:
        seen.append(context.extensions)
        return "ok"

    serve(agent, agent_card=card)
    for version in ("0.3", "1.0"):
        with pytest.raises(ExtensionSupportRequiredError) as caught:
            connect(protocol_version=version).send_text("no extension")
        assert caught.value.code == -32008 and caught.value.data == {"requiredExtensions": [uri]}
    assert seen == []  # the handler never ran
    client = connect(extensions=[uri, "https://example.com/ext/other"])
    assert client.send_text("with it") == "ok"
    assert seen == [(uri, "https://example.com/ext/other")]


@pytest.mark.slow
def test_the_extended_card_in_1_0_keeps_what_both_versions_have(serve, connect, topic) -> None:
    extended = with_kafka_interface(
        AgentCard(name="versions", description="the full card", version="2.1.0"),
        "b1:9092",
        "versions-requests",
    )
    serve(versioned_agent, agent_card=CARD, extended_agent_card=extended)
    got = connect(protocol_version="1.0").get_card(extended=True)
    assert (got.name, got.description, got.version) == ("versions", "the full card", "2.1.0")
    # the server's own Kafka interface comes first, the card's others are kept after it
    assert got.supported_interfaces[2:] == extended.supported_interfaces
    assert kafka_endpoint(got)[1] == topic


@pytest.mark.slow
@pytest.mark.parametrize("store", ["memory", "sqlite", "kafka"])
def test_a_push_config_pushes_in_the_version_of_the_request_that_created_it(
    serve, connect, webhook: Webhook, broker_settings, tmp_path, store: str
) -> None:
    task_store: Any = None
    if store == "sqlite":
        task_store = SQLiteTaskStore(tmp_path / "tasks.db")
    elif store == "kafka":
        task_store = KafkaTaskStore(**broker_settings, topic=f"tasks-{uuid.uuid4().hex[:12]}")
    serve(versioned_agent, agent_card=CARD, task_store=task_store, allow_insecure_webhooks=True)
    v1, v03 = connect(protocol_version="1.0"), connect(protocol_version="0.3")
    task = v1.send_text("ask")
    assert isinstance(task, Task) and task.status.state is TaskState.input_required
    v1.set_task_callback(push_config(task.id, webhook.url("/v1"), id="v1", token="t-1"))
    v03.set_task_callback(push_config(task.id, webhook.url("/v03"), id="v03", token="t-3"))
    pushed: list[Any] = []
    v1.on_push(pushed.append)  # kafka:// to its own reply topic, set in 1.0
    v1.set_task_callback(push_config(task.id, f"kafka://{v1.reply_topic}", id="v1-kafka"))
    for client in (v1, v03):  # the remembered version is the server's, never answered back
        for config in client.list_task_callbacks(task.id):
            assert "a2aVersion" not in config.push_notification_config.to_wire()

    v03.send_text("task", task_id=task.id)  # the task completes: every config gets a push

    def last(path: str) -> dict[str, Any]:
        bodies = [r for r in webhook.received if r["path"] == path]
        return bodies[-1] if bodies else {}

    def completed() -> bool:
        v1_body = json.loads(last("/v1").get("body") or b"{}")
        v03_body = json.loads(last("/v03").get("body") or b"{}")
        return (
            v1_body.get("task", {}).get("status", {}).get("state") == "TASK_STATE_COMPLETED"
            and v03_body.get("status", {}).get("state") == "completed"
            and any(isinstance(p, Task) and p.status.state is TaskState.completed for p in pushed)
        )

    assert wait_for(completed, 20)
    v1_push, v03_push = last("/v1"), last("/v03")
    assert list(json.loads(v1_push["body"])) == ["task"]  # a v1.0 StreamResponse
    assert v1_push["headers"]["Content-Type"] == "application/a2a+json"
    assert v1_push["headers"]["X-A2A-Notification-Token"] == "t-1"
    v03_task = Task.from_json(v03_push["body"])  # the v0.3 Task, as before
    assert v03_task.id == task.id and json.loads(v03_push["body"])["kind"] == "task"
    assert v03_push["headers"]["Content-Type"] == "application/json"
    assert v03_push["headers"]["X-A2A-Notification-Token"] == "t-3"


@pytest.mark.slow
def test_subscribe_to_task_in_1_0_resumes_after_a_sequence(serve, connect) -> None:
    gate = threading.Event()

    def stepped(message: Message, context: RequestContext) -> None:
        context.task.start_work()
        context.task.add_artifact("one")
        assert gate.wait(30)
        context.task.add_artifact("two")
        context.task.complete("done")

    serve(stepped, agent_card=CARD)
    client = connect(protocol_version="1.0")
    stream = client.send_message_streaming(Message.user_text("go"))
    first = [next(stream) for _ in range(3)]  # the Task, working, artifact "one"
    assert isinstance(first[0], Task) and stream.last_sequence == 3
    stream.close()
    resumed = client.resubscribe(stream.task_id, after_sequence=2)
    gate.set()
    rest = list(resumed)
    assert [type(e).__name__ for e in rest] == [
        "TaskArtifactUpdateEvent",
        "TaskArtifactUpdateEvent",
        "TaskStatusUpdateEvent",
    ]
    assert [a.artifact.text for a in rest[:2]] == ["one", "two"]
    assert rest[-1].final and rest[-1].status.state is TaskState.completed
    assert resumed.last_sequence == 5


@pytest.mark.slow
def test_subscribing_in_1_0_to_a_finished_task_is_unsupported_but_resuming_it_is_not(
    serve, connect
) -> None:
    from a2a_kafka_sync.errors import UnsupportedOperationError

    serve(versioned_agent, agent_card=CARD)
    new, old = connect(protocol_version="1.0"), connect(protocol_version="0.3")
    done = new.send_message(Message.user_text("task"))
    assert done.status.state is TaskState.completed
    with pytest.raises(UnsupportedOperationError):
        list(new.resubscribe(done.id))
    assert [type(e) for e in old.resubscribe(done.id)] == [Task]  # 0.3: the task, then the end
    replayed = list(new.resubscribe(done.id, after_sequence=0))
    assert isinstance(replayed[0], Task) and replayed[-1].status.state is TaskState.completed
