"""The A2A v1.0 translation layer (``a2a_kafka_sync.v1``): pure logic, no broker.

Round trips on every model and method (hypothesis), the output checked against the
normative ``a2a-v1.0.1.proto`` (``v1_proto``), examples from the v1.0.1 specification,
and the errors bad input gets.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from v1_examples import METHOD_EXAMPLES, MODELS, v1_name
from v1_proto import ENUMS, RPCS, problems

import a2a_kafka_sync.types as t
from a2a_kafka_sync import v1, wire
from a2a_kafka_sync.errors import MethodNotFoundError
from a2a_kafka_sync.types import A2ABaseModel
from a2a_kafka_sync.v1 import (
    V1_METHODS,
    from_v1,
    reply_from_v1,
    reply_to_v1,
    request_from_v1,
    request_to_v1,
    to_v1,
    v1_method_name,
)

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def through_json(data: Any) -> Any:
    """``data`` as a peer reads it: serialized and parsed again."""
    return json.loads(json.dumps(data, allow_nan=False))


def expected_back(obj: A2ABaseModel) -> A2ABaseModel:
    """What from_v1(to_v1(obj)) must give: ``obj``, and a card with its v1 interfaces filled."""
    if isinstance(obj, t.AgentCard) and obj.supported_interfaces is None:
        version = ".".join(obj.protocol_version.split(".")[:2])
        endpoints = [(obj.url, obj.preferred_transport)]
        endpoints += [(i.url, i.transport) for i in obj.additional_interfaces or ()]
        interfaces = [
            t.ProtocolInterface(url=u, protocol_binding=b, protocol_version=version)
            for u, b in endpoints
        ]
        return obj.model_copy(update={"supported_interfaces": interfaces})
    return obj


# -- the names match the proto ----------------------------------------------------------------


def test_v1_methods_are_the_rpcs_of_the_proto_and_canonical_on_the_wire() -> None:
    assert set(V1_METHODS) == set(RPCS)
    for method, streaming in V1_METHODS.values():
        assert method in wire.METHODS
        assert wire.METHODS[method].streaming != ("never" if streaming else "always")
    assert {m for m, _ in V1_METHODS.values()} == set(wire.METHODS)


@pytest.mark.parametrize(("name", "canonical"), sorted(V1_METHODS.items()))
def test_v1_method_name_inverts_v1_methods(name: str, canonical: tuple[str, bool]) -> None:
    assert v1_method_name(*canonical) == name


def test_v1_method_name_ignores_the_flag_where_the_wire_does() -> None:
    assert v1_method_name("task_resubscribe", False) == "SubscribeToTask"
    assert v1_method_name("task_get", True) == "GetTask"
    assert v1.PROTOCOL_VERSION == "1.0"
    with pytest.raises(MethodNotFoundError, match="no A2A v1.0 method"):
        v1_method_name("message/send", False)


# -- every model, both ways -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
@PROPERTY
@given(data=st.data())
def test_every_model_survives_the_round_trip_through_v1(name: str, data: st.DataObject) -> None:
    obj = data.draw(MODELS[name])
    out = through_json(to_v1(obj))
    assert problems(out, v1_name(obj)) == []
    back = from_v1(type(obj), out)
    assert back == expected_back(obj)
    assert to_v1(back) == out


def test_the_enums_map_one_to_one() -> None:
    from a2a_kafka_sync.v1.content import STATE_TO_V1

    assert sorted(STATE_TO_V1.values()) == sorted(ENUMS["TaskState"])
    for state in t.TaskState:
        status = t.TaskStatus(state=state)
        assert from_v1(t.TaskStatus, to_v1(status)) == status
    assert STATE_TO_V1[t.TaskState.unknown] == "TASK_STATE_UNSPECIFIED"
    assert to_v1(t.Message.user_text("x"))["role"] == "ROLE_USER"
    assert to_v1(t.Message.agent_text("x"))["role"] == "ROLE_AGENT"


# -- every method: request and reply ----------------------------------------------------------


def _v03_reply(result: Any, method: str) -> tuple[str, Any]:
    """The (type, data) a v0.3 reply carries for ``result``, as wire.decode_reply reads it."""
    if isinstance(result, t.TaskPage):
        return "task_list", result
    reply = wire.decode_reply(wire.encode_reply(result, method=method))
    if isinstance(reply.data, t.AgentCard):
        return reply.type, expected_back(reply.data)
    return reply.type, reply.data


@pytest.mark.parametrize(("method", "streaming", "params", "results"), METHOD_EXAMPLES)
def test_every_method_round_trips(
    method: str, streaming: bool, params: A2ABaseModel, results: list[Any]
) -> None:
    name, request = request_to_v1(method, params, streaming)
    request = through_json(request)
    assert problems(request, RPCS[name][0]) == []
    assert request_from_v1(name, request) == (method, params, V1_METHODS[name][1])
    for result in results:
        reply_type, data = reply_to_v1(result, method, streaming)
        assert reply_type == RPCS[name][1]
        assert problems(json.loads(data), reply_type) == []
        assert reply_from_v1(reply_type, json.loads(data)) == _v03_reply(result, method)
        assert reply_from_v1(reply_type, data) == reply_from_v1(reply_type, json.loads(data))


@PROPERTY
@given(params=MODELS["MessageSendParams"], streaming=st.booleans())
def test_send_message_requests_round_trip(params: t.MessageSendParams, streaming: bool) -> None:
    name, request = request_to_v1("message_send", params, streaming)
    assert name == ("SendStreamingMessage" if streaming else "SendMessage")
    assert problems(through_json(request), "SendMessageRequest") == []
    assert request_from_v1(name, through_json(request)) == ("message_send", params, streaming)


@PROPERTY
@given(params=MODELS["ListTasksParams"])
def test_list_tasks_requests_round_trip(params: t.ListTasksParams) -> None:
    name, request = request_to_v1("task_list", params, False)
    assert problems(through_json(request), "ListTasksRequest") == []
    assert request_from_v1(name, through_json(request)) == ("task_list", params, False)


@PROPERTY
@given(
    event=MODELS["Task"]
    | MODELS["Message"]
    | MODELS["TaskStatusUpdateEvent"]
    | MODELS["TaskArtifactUpdateEvent"],
    method=st.sampled_from(["message_send", "task_resubscribe"]),
)
def test_every_stream_event_is_a_stream_response(event: Any, method: str) -> None:
    reply_type, data = reply_to_v1(event, method, True)
    assert reply_type == "StreamResponse"
    assert problems(json.loads(data), "StreamResponse") == []
    assert reply_from_v1(reply_type, json.loads(data)) == _v03_reply(event, method)


def test_a_bare_task_list_is_one_full_page_and_the_stream_marker_passes() -> None:
    task = t.Task(id="t", context_id="c", status=t.TaskStatus(state=t.TaskState.working))
    reply_type, data = reply_to_v1([task, task], "task_list", False)
    assert json.loads(data) == {
        "tasks": [to_v1(task), to_v1(task)],
        "nextPageToken": "",
        "pageSize": 2,
        "totalSize": 2,
    }
    assert reply_to_v1("stream_complete", "message_send", True) == ("stream_complete", b"{}")
    assert reply_to_v1("success", "task_push_notification_config_delete", False) == ("Empty", b"{}")


def test_a_task_list_params_without_the_model_still_reads_context_id() -> None:
    bare = A2ABaseModel.model_validate({"contextId": "ctx"})
    assert request_to_v1("task_list", bare, False) == ("ListTasks", {"contextId": "ctx"})
