"""The wire codec on its own: records <-> models, as WIRE.md says (no broker)."""

from __future__ import annotations

import json

import pytest

from a2a_kafka_sync import errors
from a2a_kafka_sync.errors import A2AError, ProtocolError
from a2a_kafka_sync.types import (
    AgentCard,
    Artifact,
    Message,
    MessageSendParams,
    PushNotificationConfig,
    Task,
    TaskArtifactUpdateEvent,
    TaskPushNotificationConfig,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
    TextPart,
)
from a2a_kafka_sync.wire import (
    METHODS,
    STREAM_COMPLETE,
    SUCCESS,
    RequestHeaders,
    decode_reply,
    decode_request,
    encode_error,
    encode_reply,
    encode_request,
    read_request_headers,
    resolve_method,
)

HEADERS = RequestHeaders(correlation_id="c-1", reply_topic="replies")


def test_an_encoded_request_has_the_seeds_shape_and_headers() -> None:
    params = MessageSendParams(message=Message.user_text("hi", message_id="m-1"))
    headers = RequestHeaders(correlation_id="c-1", reply_topic="r", agent_id="me", deadline_ms=5)

    value, record_headers = encode_request("message_send", params, headers, streaming=True)

    body = json.loads(value)
    assert body["method"] == "message_send"
    assert body["streaming"] is True
    assert body["params"]["message"] == {
        "kind": "message",
        "messageId": "m-1",
        "role": "user",
        "parts": [{"kind": "text", "text": "hi"}],
    }
    assert dict(record_headers) == {
        "correlation_id": b"c-1",
        "reply_topic": b"r",
        "agent_id": b"me",
        "deadline_ms": b"5",
    }


def test_a_request_decodes_back_to_its_params_model() -> None:
    params = MessageSendParams(message=Message.user_text("hi"))
    value, record_headers = encode_request("message_send", params, HEADERS)
    headers, error = read_request_headers(record_headers)

    request = decode_request(value, headers)

    assert error is None
    assert request.method.name == "message_send"
    assert request.streaming is False
    assert request.params == params


@pytest.mark.parametrize(
    ("alias", "canonical", "streams"),
    [
        ("message/send", "message_send", False),
        ("message/stream", "message_send", True),
        ("tasks/get", "task_get", False),
        ("tasks/cancel", "task_cancel", False),
        ("tasks/resubscribe", "task_resubscribe", True),
        ("tasks/pushNotificationConfig/set", "task_push_notification_config_set", False),
        ("tasks/pushNotificationConfig/get", "task_push_notification_config_get", False),
        ("tasks/pushNotificationConfig/list", "task_push_notification_config_list", False),
        ("tasks/pushNotificationConfig/delete", "task_push_notification_config_delete", False),
        ("agent/getAuthenticatedExtendedCard", "agent_card_get", False),
    ],
)
def test_a2a_method_names_are_aliases_of_the_seeds(
    alias: str, canonical: str, streams: bool
) -> None:
    spec, alias_streams = resolve_method(alias)
    assert (spec.name, alias_streams) == (canonical, streams)


def test_every_canonical_method_resolves_to_itself() -> None:
    for name in METHODS:
        assert resolve_method(name)[0].name == name


def test_streaming_is_forced_or_ignored_by_the_method() -> None:
    resub = json.dumps({"method": "task_resubscribe", "params": {"id": "t"}}).encode()
    get = json.dumps({"method": "task_get", "params": {"id": "t"}, "streaming": True}).encode()
    assert decode_request(resub, HEADERS).streaming is True
    assert decode_request(get, HEADERS).streaming is False


def test_missing_routing_headers_make_a_request_unanswerable() -> None:
    headers, error = read_request_headers([("correlation_id", b"c")])
    assert not headers.answerable
    assert isinstance(error, errors.InvalidRequestError)
    assert "reply_topic" in error.message


def test_the_first_of_duplicated_headers_wins() -> None:
    headers, error = read_request_headers(
        [("correlation_id", b"a"), ("correlation_id", b"b"), ("reply_topic", b"r")]
    )
    assert error is None and headers.correlation_id == "a"


def test_a_non_utf8_header_is_an_invalid_request_that_still_keeps_its_route() -> None:
    headers, error = read_request_headers(
        [("correlation_id", b"c"), ("reply_topic", b"r"), ("agent_id", b"\xff")]
    )
    assert isinstance(error, errors.InvalidRequestError)
    assert headers.answerable


def _task() -> Task:
    return Task(id="t", context_id="c", status=TaskStatus(state=TaskState.completed))


@pytest.mark.parametrize(
    ("result", "reply_type"),
    [
        (Message.agent_text("hi"), "message"),
        (_task(), "task"),
        (
            TaskStatusUpdateEvent(
                task_id="t", context_id="c", status=TaskStatus(state=TaskState.working), final=False
            ),
            "task_status_update",
        ),
        (
            TaskArtifactUpdateEvent(
                task_id="t", context_id="c", artifact=Artifact(parts=[TextPart(text="x")])
            ),
            "task_artifact_update",
        ),
        (
            TaskPushNotificationConfig(
                task_id="t", push_notification_config=PushNotificationConfig(url="http://x")
            ),
            "task_push_notification_config",
        ),
        (AgentCard(name="a"), "agent_card"),
        ([_task(), _task()], "task_list"),
        ([], "task_list"),
    ],
)
def test_every_reply_type_round_trips(result: object, reply_type: str) -> None:
    value = encode_reply(result)
    assert json.loads(value)["type"] == reply_type

    reply = decode_reply(value)

    assert reply.type == reply_type
    assert reply.data == result
    assert not reply.is_final


def test_an_empty_list_takes_its_type_from_the_method() -> None:
    push_list = encode_reply([], method="task_push_notification_config_list")
    assert json.loads(push_list)["type"] == "task_push_notification_config_list"
    assert json.loads(encode_reply([], method="task_list"))["type"] == "task_list"


def test_the_end_markers_round_trip() -> None:
    assert decode_reply(encode_reply(STREAM_COMPLETE)).is_final
    assert json.loads(encode_reply(STREAM_COMPLETE)) == {"type": "stream_complete", "data": {}}
    assert json.loads(encode_reply(SUCCESS)) == {"type": "success", "data": {"success": True}}


def test_an_error_reply_carries_the_old_peers_text_and_our_code() -> None:
    value = encode_error(errors.TaskNotFoundError("no such task", data={"id": "t"}))

    assert json.loads(value) == {
        "type": "error",
        "data": {"error": "no such task", "code": -32001, "data": {"id": "t"}},
    }
    reply = decode_reply(value, correlation_id="c-9")
    assert reply.is_final
    assert isinstance(reply.data, errors.TaskNotFoundError)
    assert reply.data.correlation_id == "c-9"


def test_an_old_peers_error_without_a_code_is_an_internal_error() -> None:
    reply = decode_reply(b'{"type": "error", "data": {"error": "it broke"}}')
    assert isinstance(reply.data, errors.InternalError)
    assert reply.data.message == "it broke"


def test_an_error_with_data_that_is_not_json_keeps_the_error() -> None:
    value = encode_error(errors.InternalError("oops", data=object()))
    assert json.loads(value)["data"] == {"error": "oops", "code": -32603, "data": None}


def test_push_records_decode_with_their_push_type() -> None:
    value = b'{"type": "push_message", "data": ' + Message.agent_text("ping").to_json() + b"}"
    reply = decode_reply(value)
    assert reply.type == "push_message" and reply.data.text == "ping"


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"not json",
        b'{"type": "martian", "data": {}}',
        b'{"data": {}}',
        b'{"type": "message", "data": {"role": "robot"}}',
        b"[]",
    ],
)
def test_a_bad_reply_is_a_protocol_error(value: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_reply(value, correlation_id="c")


def test_a_handler_result_without_a_reply_type_is_an_internal_error() -> None:
    with pytest.raises(errors.InternalError):
        encode_reply(3.14)


@pytest.mark.parametrize(
    "code",
    [
        -32700,
        -32600,
        -32601,
        -32602,
        -32603,
        -32001,
        -32002,
        -32003,
        -32004,
        -32005,
        -32006,
        -32007,
    ],
)
def test_every_a2a_code_maps_to_its_own_error_class(code: int) -> None:
    error = A2AError.for_code(code, "m")
    assert type(error) is not A2AError
    assert error.code == code


def test_an_unknown_code_keeps_its_number() -> None:
    error = A2AError.for_code(-31999, "custom")
    assert type(error) is A2AError and error.code == -31999
    assert str(error) == "[-31999] custom"
