"""Strict input on the wire, convenience in Python (docs/binding.md, "Strict params").

A request's params are read to the letter of the spec in both versions: nothing the
caller left out is invented (``messageId``, ``kind``), a message has parts, ids are not
empty, counts are JSON integers in range, flags JSON booleans. Each refusal is -32602
naming the field (``data.field`` too). Python callers, replies and stored objects keep
the models' conveniences. The last tests send such records to a served agent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from a2a_kafka_sync import Message
from a2a_kafka_sync.errors import InvalidParamsError
from a2a_kafka_sync.types import (
    MessageSendConfiguration,
    MessageSendParams,
    Role,
    TaskQueryParams,
)
from a2a_kafka_sync.wire import RequestHeaders, decode_reply, decode_request

V03 = RequestHeaders(correlation_id="c-1", reply_topic="replies")
V10 = RequestHeaders(correlation_id="c-1", reply_topic="replies", a2a_version="1.0")

TEXT = {"kind": "text", "text": "hi"}


def message(**changes: Any) -> dict[str, Any]:
    """A good v0.3 message with ``changes`` (a value of ``...`` drops the key)."""
    base = {"kind": "message", "messageId": "m-1", "role": "user", "parts": [TEXT]}
    return {k: v for k, v in {**base, **changes}.items() if v is not ...}


def message_v1(**changes: Any) -> dict[str, Any]:
    """A good v1.0 message with ``changes`` (a value of ``...`` drops the key)."""
    base = {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}
    return {k: v for k, v in {**base, **changes}.items() if v is not ...}


def send(**config: Any) -> dict[str, Any]:
    return {"message": message(), "configuration": config}


# (method, params, field named, what is said about it)
V03_REFUSALS = [
    ("message_send", {"message": message(parts=[])}, "params.message.parts", "at least one part"),
    ("message/send", {"message": message(messageId=...)}, "params.message.messageId", "required"),
    ("message_send", {"message": message(messageId=None)}, "params.message.messageId", "required"),
    (
        "message_send",
        {"message": message(messageId="")},
        "params.message.messageId",
        "not be empty",
    ),
    ("message_send", {"message": message(kind=...)}, "params.message.kind", "Field required"),
    (
        "message_send",
        {"message": message(role="robot")},
        "params.message.role",
        "'user' or 'agent'",
    ),
    ("message_send", {"message": message(role=...)}, "params.message.role", "Field required"),
    (
        "message_send",
        {"message": message(parts=[{"text": "no kind"}])},
        "params.message.parts[0].kind",
        "Field required",
    ),
    (
        "message_send",
        {"message": message(parts=[TEXT, {"kind": "video", "text": "?"}])},
        "params.message.parts[1].kind",
        "must be one of 'text', 'file', 'data'",
    ),
    ("message_send", {}, "params.message", "Field required"),
    ("message_send", send(historyLength=-1), "params.configuration.historyLength", "0 or more"),
    ("message_send", send(historyLength="5"), "params.configuration.historyLength", "JSON integer"),
    ("message_send", send(historyLength=2.0), "params.configuration.historyLength", "JSON integer"),
    ("message_send", send(blocking="yes"), "params.configuration.blocking", "true or false"),
    ("message_send", send(blocking=1), "params.configuration.blocking", "true or false"),
    (
        "message_send",
        send(pushNotificationConfig={"token": "t"}),
        "params.configuration.pushNotificationConfig.url",
        "Field required",
    ),
    ("task_get", {}, "params.id", "Field required"),
    ("task_get", {"id": ""}, "params.id", "must not be empty"),
    ("task_get", {"id": "t", "historyLength": -2}, "params.historyLength", "0 or more, not -2"),
    ("task_get", {"id": "t", "historyLength": True}, "params.historyLength", "JSON integer"),
    ("tasks/cancel", {"id": ""}, "params.id", "must not be empty"),
    ("task_resubscribe", {"metadata": {}}, "params.id", "Field required"),
    ("task_list", {"pageSize": 0}, "params.pageSize", "1 or more, not 0"),
    ("task_list", {"pageSize": "10"}, "params.pageSize", "JSON integer"),
    ("task_list", {"historyLength": -1}, "params.historyLength", "0 or more"),
    ("task_list", {"includeArtifacts": "true"}, "params.includeArtifacts", "true or false"),
    ("task_list", {"status": "done"}, "params.status", "Input should be"),
    (
        "task_push_notification_config_set",
        {"taskId": "", "pushNotificationConfig": {"url": "https://x.example/hook"}},
        "params.taskId",
        "must not be empty",
    ),
    (
        "task_push_notification_config_set",
        {"taskId": "t"},
        "params.pushNotificationConfig",
        "Field required",
    ),
    (
        "task_push_notification_config_get",
        {"id": "t", "pushNotificationConfigId": ""},
        "params.pushNotificationConfigId",
        "must not be empty",
    ),
    ("task_push_notification_config_list", {"id": ""}, "params.id", "must not be empty"),
    (
        "task_push_notification_config_delete",
        {"id": "t"},
        "params.pushNotificationConfigId",
        "Field required",
    ),
]

V10_REFUSALS = [
    ("SendMessage", {"message": message_v1(parts=[])}, "params.message.parts", "at least one"),
    ("SendMessage", {"message": message_v1(parts=...)}, "params.message.parts", "at least one"),
    (
        "SendStreamingMessage",
        {"message": message_v1(messageId=...)},
        "params.message.messageId",
        "is required",
    ),
    ("SendMessage", {"message": message_v1(messageId="")}, "params.message.messageId", "empty"),
    ("SendMessage", {"message": message_v1(role="user")}, "params.message.role", "unknown Role"),
    (
        "SendMessage",
        {"message": message_v1(role="ROLE_UNSPECIFIED")},
        "params.message.role",
        "no v0.3 counterpart",
    ),
    ("SendMessage", {"message": message_v1(role=...)}, "params.message.role", "is required"),
    (
        "SendMessage",
        {"message": message_v1(parts=[{"metadata": {}}])},
        "params.message.parts[0]",
        "needs exactly one of",
    ),
    ("SendMessage", {}, "params.message", "is required"),
    (
        "SendMessage",
        {"message": message_v1(), "configuration": {"historyLength": -1}},
        "params.configuration.historyLength",
        "0 or more, not -1",
    ),
    (
        "SendMessage",
        {"message": message_v1(), "configuration": {"returnImmediately": "yes"}},
        "params.configuration.returnImmediately",
        "true or false",
    ),
    (
        "SendMessage",
        {"message": message_v1(), "configuration": {"taskPushNotificationConfig": {}}},
        "params.configuration.taskPushNotificationConfig.url",
        "is required",
    ),
    ("GetTask", {"id": ""}, "params.id", "must not be empty"),
    ("GetTask", {"id": "t", "historyLength": -1}, "params.historyLength", "0 or more"),
    ("CancelTask", {}, "params.id", "is required"),
    ("SubscribeToTask", {"id": ""}, "params.id", "must not be empty"),
    ("ListTasks", {"pageSize": 0}, "params.pageSize", "1 or more, not 0"),
    ("ListTasks", {"historyLength": -5}, "params.historyLength", "0 or more"),
    ("ListTasks", {"includeArtifacts": "true"}, "params.includeArtifacts", "true or false"),
    (
        "CreateTaskPushNotificationConfig",
        {"taskId": "", "url": "https://x.example/hook"},
        "params.taskId",
        "must not be empty",
    ),
    ("CreateTaskPushNotificationConfig", {"taskId": "t"}, "params.url", "is required"),
    ("GetTaskPushNotificationConfig", {"taskId": "t", "id": ""}, "params.id", "not be empty"),
    ("ListTaskPushNotificationConfigs", {"taskId": "t", "pageSize": -1}, "params.pageSize", "0"),
    ("DeleteTaskPushNotificationConfig", {"id": "p"}, "params.taskId", "is required"),
]


def _refusal(method: str, params: Any, headers: RequestHeaders) -> InvalidParamsError:
    value = json.dumps({"method": method, "params": params}).encode()
    with pytest.raises(InvalidParamsError) as caught:
        decode_request(value, headers)
    return caught.value


@pytest.mark.parametrize(("method", "params", "field", "said"), V03_REFUSALS)
def test_a_v03_request_breaking_a_rule_is_invalid_params_naming_the_field(
    method: str, params: Any, field: str, said: str
) -> None:
    error = _refusal(method, params, V03)
    assert f"{field}: " in error.message and said in error.message
    assert error.data == {"field": field}


@pytest.mark.parametrize(("method", "params", "field", "said"), V10_REFUSALS)
def test_a_v10_request_breaking_a_rule_is_invalid_params_naming_the_field(
    method: str, params: Any, field: str, said: str
) -> None:
    error = _refusal(method, params, V10)
    assert error.message.startswith(f"{field}: ") and said in error.message
    assert error.data == {"field": field}


def test_a_request_that_keeps_the_rules_decodes_as_sent() -> None:
    params = {
        "message": message(parts=[TEXT, {"kind": "data", "data": {}}], messageId="m-9"),
        "configuration": {"historyLength": 0, "blocking": False},
    }
    value = json.dumps({"method": "message_send", "params": params}).encode()
    request = decode_request(value, V03)
    assert isinstance(request.params, MessageSendParams)
    assert request.params.message.message_id == "m-9"  # not a fresh one
    assert request.params.configuration == MessageSendConfiguration(
        history_length=0, blocking=False
    )
    v1 = {
        "message": message_v1(),
        "configuration": {"historyLength": "3"},
    }  # int32 as text: proto JSON
    request = decode_request(json.dumps({"method": "SendMessage", "params": v1}).encode(), V10)
    assert request.params.configuration.history_length == 3  # type: ignore[attr-defined]
    assert request.params.message.message_id == "m-1"  # type: ignore[attr-defined]


def test_a_refusal_quotes_no_huge_or_secret_value() -> None:
    secret = "s3cret-" + "x" * 50
    huge = "k" * 100_000
    params = {
        "message": message(parts=[{"kind": huge, "text": "?"}]),
        "configuration": {"pushNotificationConfig": {"url": 5, "token": secret}},
    }
    error = _refusal("message_send", params, V03)
    assert "params.message.parts[0].kind" in error.message
    assert "params.configuration.pushNotificationConfig.url" in error.message
    assert huge[:50] not in error.message and secret not in error.message
    assert len(error.message) < 600


def test_python_callers_keep_their_conveniences() -> None:
    built = Message(role=Role.user, parts=[])  # a fresh messageId, kind filled in, no parts
    assert built.message_id and built.kind == "message" and built.parts == []
    read = Message.model_validate({"role": "user", "parts": []})  # not a request: lenient
    assert read.message_id and read.parts == []
    assert TaskQueryParams(id="t", history_length="4").history_length == 4  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one part"):
        Message.from_request({"kind": "message", "messageId": "m", "role": "user", "parts": []})


def test_replies_are_read_as_leniently_as_before() -> None:
    # Strictness is for requests: a reply without messageId, with no parts, still reads.
    reply = decode_reply(
        json.dumps({"type": "message", "data": {"role": "agent", "parts": []}}).encode()
    )
    assert isinstance(reply.data, Message) and reply.data.parts == []
    assert reply.data.message_id
    v1 = {
        "type": "SendMessageResponse",
        "data": {"message": {"messageId": "", "role": "ROLE_AGENT"}},
    }
    reply = decode_reply(json.dumps(v1).encode())
    assert isinstance(reply.data, Message) and reply.data.parts == []


# -- on the broker: a raw record with a bad message, to a served agent ----------------------


def _headers(reply_topic: str, correlation_id: str, version: str | None) -> list[tuple[str, bytes]]:
    headers = [("correlation_id", correlation_id.encode()), ("reply_topic", reply_topic.encode())]
    if version is not None:
        headers.append(("a2a_version", version.encode()))
    return headers


BAD_MESSAGES = [
    ("v03-no-parts", None, "message_send", {"message": message(parts=[])}, "params.message.parts"),
    (
        "v03-no-id",
        None,
        "message/send",
        {"message": message(messageId=...)},
        "params.message.messageId",
    ),
    (
        "v03-part-no-kind",
        None,
        "message_send",
        {"message": message(parts=[{"text": "hi"}])},
        "params.message.parts[0].kind",
    ),
    (
        "v10-no-parts",
        "1.0",
        "SendMessage",
        {"message": message_v1(parts=[])},
        "params.message.parts",
    ),
    (
        "v10-no-id",
        "1.0",
        "SendMessage",
        {"message": message_v1(messageId=...)},
        "params.message.messageId",
    ),
    (
        "v10-bad-role",
        "1.0",
        "SendMessage",
        {"message": message_v1(role="ROLE_ROBOT")},
        "params.message.role",
    ),
]


@pytest.mark.slow
def test_a_served_agent_answers_a_bad_message_with_invalid_params_naming_the_field(
    serve, connect, raw, replies, topic
) -> None:
    handled: list[Message] = []

    def echo(message: Message) -> str:
        handled.append(message)
        return f"echo: {message.text}"

    serve(echo)
    for name, version, method, params, _ in BAD_MESSAGES:
        body = json.dumps({"method": method, "params": params}).encode()
        raw.send(topic, body, _headers(replies.topic, name, version))
    got = dict(replies.read(len(BAD_MESSAGES)))

    assert {name: (reply["type"], reply["data"]["code"]) for name, reply in got.items()} == {
        name: ("error", -32602) for name, *_ in BAD_MESSAGES
    }
    for name, _, _, _, field in BAD_MESSAGES:
        assert f"{field}: " in got[name]["data"]["error"], got[name]
        assert got[name]["data"]["data"] == {"field": field}
    assert handled == []  # no handler saw a message the spec refuses
    assert connect().send_text("still there?") == "echo: still there?"
    assert connect(protocol_version="1.0").send_text("and 1.0?") == "echo: and 1.0?"


def test_a_message_read_as_a_request_on_its_own_invents_nothing_either() -> None:
    with pytest.raises(ValidationError) as caught:
        Message.from_request({"role": "user", "parts": [TEXT]})
    assert {err["loc"] for err in caught.value.errors()} == {("kind",), ("messageId",)}
