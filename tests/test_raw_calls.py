"""Raw calls: one A2A request by method name and params dict, in either version, on a real
broker; the raw JSON-RPC results back, through the waiters, timeouts, credentials and
trace context every call has."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from a2a_kafka_sync import Message, RequestContext
from a2a_kafka_sync.auth import Principal, api_key_authenticator
from a2a_kafka_sync.client import RawReplyStream
from a2a_kafka_sync.errors import (
    AuthenticatedExtendedCardNotConfiguredError,
    InvalidParamsError,
    MethodNotFoundError,
    RequestTimeoutError,
    TaskNotFoundError,
    UnauthenticatedError,
    UnsupportedOperationError,
)
from a2a_kafka_sync.tracing import continue_trace
from a2a_kafka_sync.wire import resolve_any_method

pytestmark = pytest.mark.slow

KEY = "key-raw-7d21"
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Agent:
    """Answers with the version it was asked in; 'task' runs a task; 'wait' blocks."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.contexts: list[RequestContext] = []

    def __call__(self, message: Message, context: RequestContext) -> str | None:
        self.contexts.append(context)
        if message.text == "wait":
            self.gate.wait(30)
        if message.text == "task":
            context.task.start_work()
            context.task.add_artifact("the artifact", name="out")
            return "done"
        return f"{context.a2a_version}: {message.text}"


def v03_send(text: str) -> dict[str, Any]:
    return {
        "message": {
            "kind": "message",
            "messageId": f"m-{text}",
            "role": "user",
            "parts": [{"kind": "text", "text": text}],
        }
    }


def v1_send(text: str) -> dict[str, Any]:
    return {"message": {"messageId": f"m-{text}", "role": "ROLE_USER", "parts": [{"text": text}]}}


@pytest.fixture
def agent(serve) -> Iterator[Agent]:
    served = Agent()
    serve(served)
    yield served
    served.gate.set()


# -- the names, without a broker ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "resolved"),
    [
        ("message/send", ("message_send", False, "0.3")),
        ("message/stream", ("message_send", True, "0.3")),
        ("message_send", ("message_send", False, "0.3")),
        ("tasks/resubscribe", ("task_resubscribe", True, "0.3")),
        ("agent/getAuthenticatedExtendedCard", ("agent_card_get", False, "0.3")),
        ("SendMessage", ("message_send", False, "1.0")),
        ("SendStreamingMessage", ("message_send", True, "1.0")),
        ("SubscribeToTask", ("task_resubscribe", True, "1.0")),
        ("ListTasks", ("task_list", False, "1.0")),
    ],
)
def test_a_method_name_tells_its_version_and_whether_it_streams(name, resolved) -> None:
    assert resolve_any_method(name) == resolved


def test_a_name_of_neither_version_is_method_not_found() -> None:
    with pytest.raises(MethodNotFoundError) as caught:
        resolve_any_method("tasks/explode")
    assert caught.value.code == -32601 and caught.value.data == {"method": "tasks/explode"}


# -- on the broker -------------------------------------------------------------------------------


def test_a_raw_call_in_0_3_returns_the_json_rpc_result(agent: Agent, connect) -> None:
    client = connect(protocol_version="1.0")  # the method's name decides the version
    reply = client.raw_call("message/send", v03_send("hi"))
    assert reply["kind"] == "message" and reply["role"] == "agent"
    assert reply["parts"] == [{"kind": "text", "text": "0.3: hi"}]
    task = client.raw_call("message/send", v03_send("task"))
    assert task["kind"] == "task" and task["status"]["state"] == "completed"
    got = client.raw_call("tasks/get", {"id": task["id"], "historyLength": 0})
    assert got["id"] == task["id"] and got["kind"] == "task"
    config = {"taskId": task["id"], "pushNotificationConfig": {"url": "https://h.example/x"}}
    stored = client.raw_call("tasks/pushNotificationConfig/set", config)
    assert stored["pushNotificationConfig"]["id"] == task["id"]
    listed = client.raw_call("tasks/pushNotificationConfig/list", {"id": task["id"]})
    assert [c["pushNotificationConfig"]["url"] for c in listed] == ["https://h.example/x"]
    gone = {"id": task["id"], "pushNotificationConfigId": task["id"]}
    assert client.raw_call("tasks/pushNotificationConfig/delete", gone) is None  # A2A's null
    assert [c.a2a_version for c in agent.contexts] == ["0.3", "0.3"]


def test_a_raw_call_in_1_0_returns_the_json_rpc_result(agent: Agent, connect) -> None:
    client = connect(protocol_version="0.3")
    reply = client.raw_call("SendMessage", v1_send("hi"))
    assert list(reply) == ["message"]  # a SendMessageResponse
    assert reply["message"]["role"] == "ROLE_AGENT"
    assert reply["message"]["parts"] == [{"text": "1.0: hi"}]
    task = client.raw_call("SendMessage", v1_send("task"))["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED" and "kind" not in task
    got = client.raw_call("GetTask", {"id": task["id"]})
    assert got["id"] == task["id"] and got["status"]["state"] == "TASK_STATE_COMPLETED"
    page = client.raw_call("ListTasks", {"pageSize": 1})
    assert [t["id"] for t in page["tasks"]] == [task["id"]] and page["totalSize"] == 1
    assert [c.a2a_version for c in agent.contexts] == ["1.0", "1.0"]


@pytest.mark.parametrize(
    ("method", "params", "first_key", "last"),
    [
        ("message/stream", v03_send("task"), "kind", ("status-update", "completed")),
        ("SendStreamingMessage", v1_send("task"), None, ("statusUpdate", "TASK_STATE_COMPLETED")),
    ],
)
def test_a_raw_stream_yields_the_raw_results_of_its_version(
    agent: Agent, connect, method: str, params: dict[str, Any], first_key: str | None, last: Any
) -> None:
    client = connect()
    with client.raw_stream(method, params) as stream:
        assert isinstance(stream, RawReplyStream)
        results = list(stream)
    if first_key == "kind":  # v0.3: the objects themselves, told apart by kind
        assert results[0]["kind"] == "task"
        assert results[-1]["kind"] == last[0] and results[-1]["final"] is True
        assert results[-1]["status"]["state"] == last[1]
        assert any(r["kind"] == "artifact-update" for r in results)
    else:  # v1.0: each a StreamResponse holding exactly one of them
        assert all(len(r) == 1 for r in results)
        assert list(results[0]) == ["task"]
        assert results[-1][last[0]]["status"]["state"] == last[1]
        assert any("artifactUpdate" in r for r in results)
    assert stream.last_sequence == len(results)  # every task event numbered, in order
    if first_key:  # a finished task's 0.3 resubscription: the task, then the end
        again = list(client.raw_stream("tasks/resubscribe", {"id": results[0]["id"]}))
        assert [r["kind"] for r in again] == ["task"]
    else:  # 1.0 refuses it (-32004), raised from the stream
        with pytest.raises(UnsupportedOperationError) as refused:
            list(client.raw_stream("SubscribeToTask", {"id": results[0]["task"]["id"]}))
        assert refused.value.code == -32004


def test_a2a_errors_are_raised_with_their_code_and_data(agent: Agent, connect) -> None:
    client = connect()
    with pytest.raises(TaskNotFoundError) as missing:
        client.raw_call("GetTask", {"id": "no-such-task"})
    assert missing.value.code == -32001
    with pytest.raises(TaskNotFoundError):
        client.raw_call("tasks/get", {"id": "no-such-task"})
    with pytest.raises(InvalidParamsError) as invalid:
        client.raw_call("message/send", {"message": {"parts": "not a list"}})
    assert invalid.value.code == -32602
    with pytest.raises(InvalidParamsError):
        client.raw_call("SendMessage", {"message": {"role": "ROLE_USER"}})  # no messageId
    with pytest.raises(AuthenticatedExtendedCardNotConfiguredError) as no_card:
        client.raw_call("GetExtendedAgentCard")
    assert no_card.value.code == -32007
    sent = client.metrics.value("requests_sent", method="message_send")
    with pytest.raises(MethodNotFoundError) as unknown:
        client.raw_call("tasks/explode", {})
    assert unknown.value.code == -32601
    with pytest.raises(TypeError, match="raw_stream"):
        client.raw_call("message/stream", v03_send("x"))
    with pytest.raises(TypeError, match="raw_call"):
        client.raw_stream("SendMessage", v1_send("x"))
    with pytest.raises(TypeError, match="JSON"):
        client.raw_call("message/send", {"message": object()})
    assert client.metrics.value("requests_sent", method="message_send") == sent  # none sent
    assert client.pending == 0


def test_a_raw_call_and_a_raw_stream_end_at_their_timeout(agent: Agent, connect) -> None:
    client = connect()
    with pytest.raises(RequestTimeoutError):
        client.raw_call("message/send", v03_send("wait"), timeout=0.5)
    stream = client.raw_stream("SendStreamingMessage", v1_send("wait"), timeout=0.5)
    with pytest.raises(RequestTimeoutError):
        next(stream)
    assert client.pending == 0
    agent.gate.set()


def test_credentials_reach_the_servers_authenticator(serve, connect) -> None:
    agent = Agent()
    serve(agent, authenticator=api_key_authenticator({KEY: "alice"}))
    client = connect()
    with pytest.raises(UnauthenticatedError) as refused:
        client.raw_call("SendMessage", v1_send("hi"))
    assert refused.value.code == -32040
    assert client.raw_call("message/send", v03_send("hi"), credentials=KEY)["kind"] == "message"
    keyed = connect(credentials=KEY)
    with keyed.raw_stream("SendStreamingMessage", v1_send("task")) as stream:
        assert list(stream)[-1]["statusUpdate"]["status"]["state"] == "TASK_STATE_COMPLETED"
    assert [c.principal for c in agent.contexts] == [Principal("alice", "apiKey")] * 2


def test_a_calls_extensions_are_sent_with_the_clients(agent: Agent, connect) -> None:
    client = connect(extensions=["urn:client"])
    client.raw_call("SendMessage", v1_send("a"), extensions=["urn:call", "urn:client"])
    with client.raw_stream("SendStreamingMessage", v1_send("b"), extensions=[" urn:s "]) as s:
        list(s)
    client.raw_call("SendMessage", v1_send("c"))
    assert [c.extensions for c in agent.contexts] == [
        ("urn:client", "urn:call"),
        ("urn:client", "urn:s"),
        ("urn:client",),
    ]
    with pytest.raises(TypeError, match="list of URIs"):
        client.raw_call("SendMessage", v1_send("d"), extensions="urn:x")  # type: ignore[arg-type]


def test_a_raw_call_carries_the_trace_and_is_counted_as_its_method(agent: Agent, connect) -> None:
    client = connect()
    with continue_trace(PARENT):
        client.raw_call("SendMessage", v1_send("traced"))
    context = agent.contexts[-1]
    assert context.trace_context is not None
    assert context.trace_context.trace_id == PARENT.split("-")[1]
    assert client.metrics.value("requests_sent", method="message_send") == 1
    assert client.metrics.value("calls_finished", method="message_send", outcome="ok") == 1
