"""A ``message_send``'s ``configuration`` honoured (issue 16, item 1), on a real broker, in
both protocol versions: ``blocking: false`` (v1.0 ``returnImmediately``), ``historyLength``,
``pushNotificationConfig`` (v1.0 ``taskPushNotificationConfig``) and ``acceptedOutputModes``."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from helpers import Webhook, committed_and_end, wait_for

from a2a_kafka_sync import AgentCard, Message, RequestContext, Task, TaskState
from a2a_kafka_sync.errors import (
    ContentTypeNotSupportedError,
    ForbiddenError,
    InvalidParamsError,
    PushNotificationNotSupportedError,
)
from a2a_kafka_sync.server.send_config import output_modes_error
from a2a_kafka_sync.types import (
    AgentCapabilities,
    AgentSkill,
    MessageSendConfiguration,
    MessageSendParams,
    PushNotificationConfig,
)

pytestmark = pytest.mark.slow

VERSIONS = pytest.mark.parametrize("version", ["0.3", "1.0"])


def send_params(text: str, **configuration: Any) -> MessageSendParams:
    """A message with the configuration ``configuration`` (MessageSendConfiguration's fields)."""
    return MessageSendParams(
        message=Message.user_text(text),
        configuration=MessageSendConfiguration(**configuration),
    )


def worker(message: Message, context: RequestContext) -> str:
    """A task agent: working, then completed with its answer."""
    context.task.start_work("on it")
    return f"did {message.text}"


# -- blocking: false / returnImmediately: true ---------------------------------------------------


@VERSIONS
def test_a_non_blocking_send_answers_once_the_task_exists_and_the_agent_runs_on(
    serve, connect, broker_settings, topic, version
) -> None:
    release, finished = threading.Event(), threading.Event()

    def slow(message: Message, context: RequestContext) -> str:
        context.task.start_work()
        release.wait(60)
        context.task.add_artifact("the result")
        finished.set()
        return "done"

    app = serve(slow, commit_interval=0)
    client = connect(protocol_version=version, timeout=15)
    try:
        task = client.send_message(send_params("go", blocking=False))
        assert isinstance(task, Task)
        assert task.status.state in (TaskState.submitted, TaskState.working)
        assert not finished.is_set()  # answered while the agent still waits
    finally:
        release.set()
    assert wait_for(lambda: client.get_task(task.id).status.state is TaskState.completed, 20)
    assert client.get_task(task.id).artifacts[0].text == "the result"
    # Its record commits once the agent is done, like any other.
    bootstrap, group = broker_settings["bootstrap_servers"], app.config.group_id
    assert wait_for(lambda: len(set(committed_and_end(bootstrap, group, topic))) == 1, 10)

    # The default, and blocking: true, wait for the turn to end.
    for blocking in (None, True):
        answer = client.send_message(send_params("again", blocking=blocking))
        assert answer.status.state is TaskState.completed


@VERSIONS
def test_a_non_blocking_agent_that_raises_after_its_answer_fails_its_task(
    serve, connect, version
) -> None:
    release = threading.Event()

    def broken(message: Message, context: RequestContext) -> None:
        context.task.start_work()
        release.wait(60)
        raise RuntimeError("a detail the caller must not see")

    serve(broken)
    client = connect(protocol_version=version, timeout=15)
    try:
        task = client.send_message(send_params("go", blocking=False))
    finally:
        release.set()
    assert wait_for(lambda: client.get_task(task.id).status.state is TaskState.failed, 20)
    assert client.get_task(task.id).status.message.text == "internal error (RuntimeError)"


def test_a_non_blocking_send_that_overruns_handler_timeout_gets_no_second_reply(
    serve, raw, replies, broker_settings, topic
) -> None:
    """The watchdog lets the agent go (``context.cancelled``) and finishes its record, but its
    caller, answered already, gets no error after its answer."""

    def stuck(message: Message, context: RequestContext) -> str | None:
        if message.text == "ping":
            return "pong"
        context.task.start_work()
        context.cancelled.wait(60)
        return None

    app = serve(stuck, handler_timeout=1, commit_interval=0)

    def send(cid: str, text: str, **configuration: Any) -> None:
        params = send_params(text, **configuration).to_wire()
        value = json.dumps({"method": "message_send", "params": params}).encode()
        headers = [("correlation_id", cid.encode()), ("reply_topic", replies.topic.encode())]
        raw.send(topic, value, headers)

    send("non-blocking", "go", blocking=False)
    [(cid, answer)] = replies.read(1)
    assert cid == "non-blocking" and answer["type"] == "task", answer
    # Once its record is committed, every reply it had was acknowledged; a reply sent after
    # that lands behind the next call's on the reply topic's one partition.
    bootstrap, group = broker_settings["bootstrap_servers"], app.config.group_id
    assert wait_for(lambda: committed_and_end(bootstrap, group, topic) == (1, 1), 20)
    send("ping", "ping")
    got = replies.read(1)
    assert [cid for cid, _ in got] == ["ping"], got


# -- historyLength -------------------------------------------------------------------------------


@VERSIONS
def test_history_length_on_send_trims_the_answered_task(serve, connect, version) -> None:
    runs: list[str] = []

    def chatty(message: Message, context: RequestContext) -> None:
        runs.append(message.text)
        context.task.start_work("one")
        context.task.complete("two")

    serve(chatty)
    client = connect(protocol_version=version)
    full = client.send_message(send_params("hi"))
    assert [m.text for m in full.history] == ["hi", "one", "two"]
    trimmed = client.send_message(send_params("hi", history_length=2))
    assert [m.text for m in trimmed.history] == ["one", "two"]
    assert not client.send_message(send_params("hi", history_length=0)).history
    assert len(client.get_task(trimmed.id).history) == 3  # the stored task keeps them all
    with pytest.raises(InvalidParamsError, match="historyLength"):
        client.send_message(send_params("hi", history_length=-1))
    assert len(runs) == 3  # the refused one never ran


# -- pushNotificationConfig / taskPushNotificationConfig -----------------------------------------


@VERSIONS
def test_a_push_config_sent_with_the_message_gets_every_update_from_the_first(
    serve, connect, webhook: Webhook, version
) -> None:
    serve(worker, allow_insecure_webhooks=True)  # the webhook is http://127.0.0.1
    client = connect(protocol_version=version)
    config = PushNotificationConfig(url=webhook.url(), token="t-1")
    task = client.send_message(send_params("go", push_notification_config=config))
    assert task.status.state is TaskState.completed

    # The config remembers the version of the request that sent it: a 1.0 config's pushes
    # are StreamResponses (docs/push.md#the-version-of-a-push), a 0.3 config's the Task.
    def states() -> list[str]:
        bodies = [json.loads(r["body"]) for r in webhook.received]
        return [(b["task"] if version == "1.0" else b)["status"]["state"] for b in bodies]

    expected = ["submitted", "working", "completed"]
    if version == "1.0":
        expected = [f"TASK_STATE_{state.upper()}" for state in expected]
    assert wait_for(lambda: expected[-1] in states(), 15)
    assert states() == expected
    assert {r["headers"]["X-A2A-Notification-Token"] for r in webhook.received} == {"t-1"}
    [stored] = client.list_task_callbacks(task.id)
    assert stored.push_notification_config.url == webhook.url()


@VERSIONS
def test_a_push_config_with_the_message_is_refused_when_the_card_has_no_push(
    serve, connect, version
) -> None:
    runs: list[str] = []
    card = AgentCard(name="no-push", capabilities=AgentCapabilities(push_notifications=False))
    serve(lambda message: runs.append(message.text) or "ran", agent_card=card)
    client = connect(protocol_version=version)
    config = PushNotificationConfig(url="https://hooks.example.com/a2a")
    with pytest.raises(PushNotificationNotSupportedError) as caught:
        client.send_message(send_params("go", push_notification_config=config))
    assert caught.value.code == -32003
    assert runs == []
    assert client.send_message(send_params("go")).text == "ran"


@VERSIONS
def test_a_push_target_the_server_refuses_is_refused_with_the_message(
    serve, connect, webhook: Webhook, version
) -> None:
    runs: list[str] = []
    serve(lambda message: runs.append(message.text) or "ran")  # no allow_insecure_webhooks
    client = connect(protocol_version=version)
    config = PushNotificationConfig(url=webhook.url())  # http:// to loopback
    with pytest.raises(ForbiddenError):
        client.send_message(send_params("go", push_notification_config=config))
    assert runs == []


# -- acceptedOutputModes -------------------------------------------------------------------------

MODES_CARD = AgentCard(
    name="modes",
    default_output_modes=["text/plain"],
    skills=[
        AgentSkill(id="draw", name="draw", description="", tags=[], output_modes=["image/png"])
    ],
    capabilities=AgentCapabilities(streaming=True, push_notifications=True),
)


@VERSIONS
def test_accepted_output_modes_reach_the_agent_and_without_overlap_are_refused(
    serve, connect, version
) -> None:
    seen: list[Any] = []

    def agent(message: Message, context: RequestContext) -> str:
        seen.append(context.accepted_output_modes)
        return "ok"

    serve(agent, agent_card=MODES_CARD)
    client = connect(protocol_version=version)
    assert client.send_message(send_params("a", accepted_output_modes=["image/png"])).text == "ok"
    assert client.send_message(send_params("b", accepted_output_modes=["text/*"])).text == "ok"
    assert client.send_message(send_params("c")).text == "ok"
    with pytest.raises(ContentTypeNotSupportedError) as caught:
        client.send_message(send_params("d", accepted_output_modes=["audio/mpeg"]))
    assert caught.value.code == -32005
    with pytest.raises(ContentTypeNotSupportedError):
        list(client.send_message_streaming(send_params("e", accepted_output_modes=["audio/*"])))
    assert seen == [("image/png",), ("text/*",), None]


def test_output_modes_match_without_parameters_or_case_and_with_wildcards() -> None:
    def error(*accepted: str) -> Any:
        return output_modes_error(MODES_CARD, accepted or None)

    for ok in (("TEXT/Plain; charset=utf-8",), ("*/*",), ("image/*",), ("audio/x", "image/png")):
        assert error(*ok) is None, ok
    assert error() is None  # none named: anything goes
    refused = error("application/json")
    assert refused is not None and refused.code == -32005
    assert refused.data == {
        "acceptedOutputModes": ["application/json"],
        "outputModes": ["text/plain", "image/png"],
    }
    assert output_modes_error(MODES_CARD.model_copy(update={"skills": []}), ("image/png",))
    any_text = MODES_CARD.model_copy(update={"default_output_modes": ["text/*"], "skills": []})
    assert output_modes_error(any_text, ("text/markdown",)) is None
