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
from test_types import DEFS as V03_DEFINITIONS
from test_types import assert_valid
from v1_examples import METHOD_EXAMPLES, MODELS, TURN_ENDING, v1_name
from v1_proto import ENUMS, MESSAGES, RPCS, problems

import a2a_kafka_sync.types as t
from a2a_kafka_sync import v1, wire
from a2a_kafka_sync.errors import InvalidParamsError, MethodNotFoundError
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
    with pytest.raises(MethodNotFoundError, match=r"no A2A v1\.0 method"):
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
    if type(back).__name__ in V03_DEFINITIONS:  # what we decode is still v0.3 on the wire
        assert_valid(type(back).__name__, back.to_wire())


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
    _, data = reply_to_v1([task, task], "task_list", False)
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


# -- examples of the v1.0.1 specification -----------------------------------------------------

SPEC_CARD: dict[str, Any] = {  # section 8.5, abridged (one skill, one signature)
    "name": "GeoSpatial Route Planner Agent",
    "description": "Provides advanced route planning.",
    "supportedInterfaces": [
        {
            "url": "https://georoute-agent.example.com/a2a/v1",
            "protocolBinding": "JSONRPC",
            "protocolVersion": "1.0",
        },
        {
            "url": "https://georoute-agent.example.com/a2a/grpc",
            "protocolBinding": "GRPC",
            "protocolVersion": "1.0",
        },
    ],
    "provider": {
        "organization": "Example Geo Services Inc.",
        "url": "https://www.examplegeoservices.com",
    },
    "iconUrl": "https://georoute-agent.example.com/icon.png",
    "version": "1.2.0",
    "documentationUrl": "https://docs.examplegeoservices.com/georoute-agent/api",
    "capabilities": {"streaming": True, "pushNotifications": True, "extendedAgentCard": True},
    "securitySchemes": {
        "google": {
            "openIdConnectSecurityScheme": {
                "openIdConnectUrl": "https://accounts.google.com/.well-known/openid-configuration"
            }
        }
    },
    "security": [{"google": ["openid", "profile", "email"]}],
    "defaultInputModes": ["application/json", "text/plain"],
    "defaultOutputModes": ["application/json", "image/png"],
    "skills": [
        {
            "id": "route-optimizer-traffic",
            "name": "Traffic-Aware Route Optimizer",
            "description": "Calculates the optimal driving route.",
            "tags": ["maps", "routing"],
            "examples": ["Plan a route from A to B avoiding tolls."],
            "inputModes": ["application/json", "text/plain"],
            "outputModes": ["application/json"],
        }
    ],
    "signatures": [{"protected": "eyJhbGciOiJFUzI1NiJ9", "signature": "QFdkNLNszlGj3z3u0YQ"}],
}


def test_the_sample_agent_card_of_the_spec_decodes() -> None:
    card = from_v1(t.AgentCard, SPEC_CARD)
    assert card.supported_interfaces == [
        t.ProtocolInterface(
            url=i["url"], protocol_binding=i["protocolBinding"], protocol_version="1.0"
        )
        for i in SPEC_CARD["supportedInterfaces"]
    ]
    # Only 1.0 interfaces: nothing for a v0.3 caller, so the v0.3 endpoint stays empty.
    assert (card.url, card.additional_interfaces) == ("", None)
    assert card.provider == t.AgentProvider(
        organization="Example Geo Services Inc.", url="https://www.examplegeoservices.com"
    )
    assert card.capabilities == t.AgentCapabilities(streaming=True, push_notifications=True)
    assert card.supports_authenticated_extended_card is True
    assert card.security_schemes == {
        "google": t.OpenIdConnectSecurityScheme(
            open_id_connect_url="https://accounts.google.com/.well-known/openid-configuration"
        )
    }
    # The sample's "security" is not a field of the proto (it is "securityRequirements").
    assert card.security is None
    assert card.skills[0].tags == ["maps", "routing"]
    assert card.skills[0].input_modes == ["application/json", "text/plain"]
    assert card.signatures == [
        t.AgentCardSignature(protected="eyJhbGciOiJFUzI1NiJ9", signature="QFdkNLNszlGj3z3u0YQ")
    ]
    assert (card.icon_url, card.version) == ("https://georoute-agent.example.com/icon.png", "1.2.0")
    assert to_v1(card) == {k: v for k, v in SPEC_CARD.items() if k != "security"}


def test_the_send_message_request_of_the_spec_decodes() -> None:
    request = {
        "message": {
            "role": "ROLE_USER",
            "parts": [{"text": "Book me a flight"}],
            "messageId": "msg-1",
        }
    }
    method, params, streaming = request_from_v1("SendMessage", request)
    assert (method, streaming) == ("message_send", False)
    assert params == t.MessageSendParams(
        message=t.Message(
            role=t.Role.user, parts=[t.TextPart(text="Book me a flight")], message_id="msg-1"
        )
    )


def test_the_list_tasks_request_and_response_of_the_spec_decode() -> None:
    params = {
        "contextId": "context-uuid",
        "status": "TASK_STATE_WORKING",
        "pageSize": 50,
        "pageToken": "cursor-token",
    }
    assert request_from_v1("ListTasks", params) == (
        "task_list",
        t.ListTasksParams(
            context_id="context-uuid",
            status=t.TaskState.working,
            page_size=50,
            page_token="cursor-token",
        ),
        False,
    )
    response = {
        "tasks": [
            {
                "id": "789abc-def0-1234-5678-9abcdef01234",
                "contextId": "another-context-id",
                "status": {
                    "state": "TASK_STATE_WORKING",
                    "message": {
                        "role": "ROLE_AGENT",
                        "parts": [{"text": "Processing your document analysis..."}],
                        "messageId": "msg-status-update",
                    },
                    "timestamp": "2024-03-15T10:20:00Z",
                },
            }
        ],
        "totalSize": 1,
        "pageSize": 20,
        "nextPageToken": "",
    }
    status = t.TaskStatus(
        state=t.TaskState.working,
        message=t.Message.agent_text(
            "Processing your document analysis...", message_id="msg-status-update"
        ),
        timestamp="2024-03-15T10:20:00Z",
    )
    task = t.Task(
        id="789abc-def0-1234-5678-9abcdef01234", context_id="another-context-id", status=status
    )
    page = t.TaskPage(tasks=[task], next_page_token="", page_size=20, total_size=1)
    assert reply_from_v1("ListTasksResponse", response) == ("task_list", page)
    assert json.loads(reply_to_v1(page, "task_list", False)[1]) == response


def test_the_streamed_task_of_the_spec_decodes_and_its_abridged_status_update_is_refused() -> None:
    first = {"task": {"id": "task-uuid", "status": {"state": "TASK_STATE_WORKING"}}}
    assert reply_from_v1("StreamResponse", first) == (
        "task",
        t.Task(id="task-uuid", context_id="", status=t.TaskStatus(state=t.TaskState.working)),
    )
    # The spec's SSE sample leaves out contextId, which the proto marks REQUIRED.
    last = {"statusUpdate": {"taskId": "task-uuid", "status": {"state": "TASK_STATE_COMPLETED"}}}
    with pytest.raises(ValueError, match=r"StreamResponse\.statusUpdate\.contextId: is required"):
        reply_from_v1("StreamResponse", last)


# -- what a protobuf JSON parser accepts, we accept ---------------------------------------------


def test_proto_field_names_enum_numbers_and_numeric_strings_are_read() -> None:
    message = from_v1(
        t.Message,
        {"message_id": "m", "role": 2, "parts": [{"text": "x", "media_type": "text/plain"}]},
    )
    assert message == t.Message(
        role=t.Role.agent, message_id="m", parts=[t.TextPart(text="x", mediaType="text/plain")]
    )
    params = request_from_v1("ListTasks", {"page_size": "7", "status": 3, "contextId": None})[1]
    assert params == t.ListTasksParams(page_size=7, status=t.TaskState.completed)


def test_unknown_fields_are_ignored_and_tenant_is_kept() -> None:
    method, params, _ = request_from_v1("GetTask", {"id": "t", "tenant": "acme", "future": 1})
    assert params == t.TaskQueryParams(id="t", tenant="acme")
    assert request_to_v1(method, params, False) == ("GetTask", {"tenant": "acme", "id": "t"})


def test_v1_only_part_fields_survive_the_trip_through_v03() -> None:
    for part in (
        {"text": "x", "mediaType": "text/markdown", "filename": "a.md"},
        {"data": [1, "two", None], "metadata": {"k": 1}},
        {"data": "just a string", "mediaType": "text/plain"},
        {"data": {"object": True}},
    ):
        ours = from_v1(t.TextPart if "text" in part else t.DataPart, part)
        assert to_v1(ours) == part
    wrapped = from_v1(t.DataPart, {"data": 42})
    assert (wrapped.data, wrapped.metadata) == ({"value": 42}, {"data_part_compat": True})


def test_raw_bytes_in_url_safe_or_unpadded_base64_are_normalized() -> None:
    part = from_v1(t.FilePart, {"raw": "-_8", "filename": "b.bin"})
    assert part.file == t.FileWithBytes(bytes="+/8=", name="b.bin")


def test_blocking_is_return_immediately_inverted() -> None:
    for immediately, blocking in ((True, False), (False, True), (None, None)):
        config = {} if immediately is None else {"returnImmediately": immediately}
        ours = from_v1(t.MessageSendConfiguration, config)
        assert ours.blocking is blocking
        assert to_v1(ours) == config


@pytest.mark.parametrize("state", list(t.TaskState))
def test_final_is_true_exactly_where_a_v1_stream_closes(state: t.TaskState) -> None:
    event = {
        "taskId": "t",
        "contextId": "c",
        "status": {"state": to_v1(t.TaskStatus(state=state))["state"]},
    }
    ours = from_v1(t.TaskStatusUpdateEvent, event)
    assert ours.final is (state in TURN_ENDING)
    assert "final" not in to_v1(ours)


def test_a_card_with_v1_interfaces_gives_its_v03_endpoints_from_the_0x_ones() -> None:
    interfaces = [
        t.ProtocolInterface(url="kafka://b/a", protocol_binding="KAFKA", protocol_version="1.0"),
        t.ProtocolInterface(url="kafka://b/a", protocol_binding="KAFKA", protocol_version="0.3"),
        t.ProtocolInterface(
            url="https://x/rpc", protocol_binding="JSONRPC", protocol_version="0.3", tenant="t"
        ),
    ]
    card = t.AgentCard(name="a", url="ignored", supported_interfaces=interfaces)
    out = to_v1(card)
    assert [i["protocolVersion"] for i in out["supportedInterfaces"]] == ["1.0", "0.3", "0.3"]
    back = from_v1(t.AgentCard, out)
    assert back.supported_interfaces == interfaces
    assert (back.url, back.preferred_transport, back.protocol_version) == (
        "kafka://b/a",
        "KAFKA",
        "0.3.0",
    )
    assert back.additional_interfaces == [
        t.AgentInterface(url="https://x/rpc", transport="JSONRPC")
    ]


def test_what_v03_alone_has_is_dropped_on_the_way_to_v1() -> None:
    card = t.AgentCard(
        name="a",
        capabilities=t.AgentCapabilities(state_transition_history=True),
        supports_authenticated_extended_card=False,
    )
    assert to_v1(card)["capabilities"] == {"extendedAgentCard": False}
    query = t.TaskQueryParams(id="t", metadata={"dropped": True})
    assert request_to_v1("task_get", query, False) == ("GetTask", {"id": "t"})
    assert "kind" not in to_v1(t.Message.user_text("x"))


# -- bad input --------------------------------------------------------------------------------

_MSG = {"messageId": "m", "role": "ROLE_USER", "parts": []}
_WORKING = {"state": "TASK_STATE_WORKING"}


@pytest.mark.parametrize(
    ("model", "data", "expected"),
    [
        (
            t.Message,
            {**_MSG, "role": "ROLE_ROBOT"},
            "Message.role: unknown Role 'ROLE_ROBOT' (e.g. ROLE_USER)",
        ),
        (t.Message, {**_MSG, "role": 9}, "Message.role: unknown Role '9'"),
        (t.Message, {**_MSG, "role": "ROLE_UNSPECIFIED"}, "Message.role: ROLE_UNSPECIFIED has no"),
        (t.Message, {"role": "ROLE_USER", "parts": []}, "Message.messageId: is required"),
        (t.Message, {**_MSG, "parts": {"text": "x"}}, "Message.parts: expected a JSON array"),
        (t.Message, {**_MSG, "parts": [{}]}, "Message.parts[0]: a Part needs exactly one of"),
        (t.Message, {**_MSG, "parts": [{"text": "a", "url": "b"}]}, "got text, url"),
        (t.Message, {**_MSG, "parts": [{"raw": "*!*"}]}, "Message.parts[0].raw: is not base64"),
        (t.Message, {**_MSG, "metadata": [1]}, "Message.metadata: expected a JSON object, got an"),
        (t.Message, {**_MSG, "extensions": ["a", 1]}, "Message.extensions[1]: expected a string"),
        (t.Message, "hello", "Message: expected a JSON object, got a string"),
        (
            t.TaskStatus,
            {"state": "TASK_STATE_DONE"},
            "TaskStatus.state: unknown TaskState 'TASK_STATE_DONE'",
        ),
        (t.TaskStatus, {**_WORKING, "timestamp": "2026-11-26 10:00:00Z"}, "not an RFC 3339"),
        (t.TaskStatus, {**_WORKING, "timestamp": "2026-11-26T10:00:00"}, "with an offset"),
        (t.TaskStatus, {**_WORKING, "timestamp": "2026-02-30T10:00:00Z"}, "not a valid date"),
        (t.Task, {"id": "t"}, "Task.status: is required"),
        (t.Task, {"id": 5, "status": _WORKING}, "Task.id: expected a string, got a number"),
        (t.Task, {"id": "t", "status": _WORKING, "history": {}}, "Task.history: expected a JSON"),
        (t.TaskArtifactUpdateEvent, {"taskId": "t", "contextId": "c"}, "artifact: is required"),
        (
            t.TaskArtifactUpdateEvent,
            {"taskId": "t", "contextId": "c", "artifact": {"artifactId": "a"}, "append": "yes"},
            "TaskArtifactUpdateEvent.append: expected true or false, got a string",
        ),
        (t.TaskPushNotificationConfig, {"taskId": "t"}, "TaskPushNotificationConfig.url: is"),
        (t.TaskPushNotificationConfig, {"url": "u"}, "TaskPushNotificationConfig.taskId: is"),
        (
            t.PushNotificationConfig,
            {"url": "u", "authentication": {"credentials": "c"}},
            "authentication.scheme: is required",
        ),
        (t.ListTasksParams, {"pageSize": 2**31}, "pageSize: 2147483648 does not fit in an int32"),
        (t.ListTasksParams, {"pageSize": "ten"}, "pageSize: expected an integer, got a string"),
        (t.ListTasksParams, {"pageSize": True}, "pageSize: expected an integer, got a boolean"),
        (t.AgentCard, {"name": "a", "description": "", "version": "1"}, "capabilities: is req"),
        (t.AgentProvider, {"organization": "o"}, "AgentProvider.url: is required"),
        (t.AgentSkill, {"name": "n"}, "AgentSkill.id: is required"),
        (
            t.APIKeySecurityScheme,
            {"apiKeySecurityScheme": {"name": "k", "location": "body"}},
            "location: 'body' is not one of cookie, header, query",
        ),
        (
            t.MutualTLSSecurityScheme,
            {"mtlsSecurityScheme": {}, "httpAuthSecurityScheme": {"scheme": "Basic"}},
            "exactly one of its 5 variants; got httpAuthSecurityScheme, mtls",
        ),
        (
            t.MutualTLSSecurityScheme,
            {"httpAuthSecurityScheme": {"scheme": "Basic"}},
            "not a Mutual",
        ),
        (t.TextPart, {"url": "https://x"}, "TextPart: is a v1 FilePart, not a TextPart"),
        (
            t.OAuthFlows,
            {"implicit": {"scopes": {"a": 1}}},
            "implicit.scopes: expected a JSON object",
        ),
    ],
)
def test_bad_v1_input_raises_invalid_params_naming_the_field(
    model: type[A2ABaseModel], data: Any, expected: str
) -> None:
    with pytest.raises(InvalidParamsError) as caught:
        from_v1(model, data)
    assert expected in caught.value.message
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("SendMessage", {}, "message: is required"),
        ("GetTask", {"historyLength": 1}, "id: is required"),
        ("GetTaskPushNotificationConfig", {"taskId": "t"}, "id: is required"),
        ("DeleteTaskPushNotificationConfig", {"id": "p"}, "taskId: is required"),
        ("ListTasks", {"status": "WORKING"}, "status: unknown TaskState 'WORKING'"),
        ("ListTasks", {"statusTimestampAfter": "yesterday"}, "not an RFC 3339 timestamp"),
        ("SubscribeToTask", [], "expected a JSON object, got an array"),
    ],
)
def test_bad_v1_requests_raise_invalid_params(method: str, params: Any, expected: str) -> None:
    with pytest.raises(InvalidParamsError, match=expected):
        request_from_v1(method, params)


def test_an_unknown_v1_method_is_method_not_found() -> None:
    with pytest.raises(MethodNotFoundError, match="'message/send'"):
        request_from_v1("message/send", {})
    with pytest.raises(MethodNotFoundError):
        request_to_v1("tasks/get", t.TaskQueryParams(id="t"), False)


@pytest.mark.parametrize(
    ("reply_type", "data", "expected"),
    [
        ("Message", {}, "not an A2A v1.0 reply type: 'Message'"),
        ("error", {"error": "x"}, "not an A2A v1.0 reply type: 'error'"),
        ("Task", [], "Task reply data must be a JSON object"),
        ("Task", b"{not json", "Task reply data is not JSON"),
        ("Task", {"id": "t"}, "not a valid v1 reply: Task.status: is required"),
        ("StreamResponse", {}, "StreamResponse needs exactly one of task, message"),
        ("SendMessageResponse", {"statusUpdate": {}}, "got none"),
        ("ListTaskPushNotificationConfigsResponse", {"configs": [{}]}, r"configs\[0\]\.url: is"),
    ],
)
def test_a_reply_that_is_not_v1_raises_value_error(
    reply_type: str, data: Any, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        reply_from_v1(reply_type, data)


def _naive_status() -> t.TaskStatus:
    return t.TaskStatus(state=t.TaskState.working, timestamp="2026-11-26T10:00:00")


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            t.PushNotificationAuthenticationInfo(schemes=["Bearer", "Basic"]),
            r"exactly one scheme; this config has 2 \(Bearer, Basic\)",
        ),
        (t.PushNotificationAuthenticationInfo(schemes=[]), r"this config has 0 \(none\)"),
        (
            t.OAuthFlows(
                implicit=t.ImplicitOAuthFlow(authorization_url="a", scopes={}),
                password=t.PasswordOAuthFlow(token_url="b", scopes={}),
            ),
            "a single flow; this scheme has implicit, password",
        ),
        (_naive_status(), "TaskStatus.timestamp: '2026-11-26T10:00:00' is not an RFC 3339"),
        (t.FilePart(file=t.FileWithBytes(bytes="not base64!")), "FilePart.file.bytes"),
        (t.ListTasksParams(status=t.TaskState.unknown), "cannot filter on 'unknown'"),
        (t.ListTasksParams(page_size=2**31), "pageSize: 2147483648 does not fit in an int32"),
        (
            t.DataPart(data={"value": 1, "more": 2}, metadata={"data_part_compat": True}),
            "must hold only 'value'",
        ),
        (t.AgentCard(name="a", protocol_version="latest"), "'latest' is not a version"),
    ],
)
def test_what_v1_cannot_carry_raises_value_error(obj: A2ABaseModel, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        to_v1(obj)


def test_requests_and_replies_v1_cannot_carry_raise() -> None:
    no_config_id = t.GetTaskPushNotificationConfigParams(id="t")
    with pytest.raises(ValueError, match="needs the config id"):
        request_to_v1("task_push_notification_config_get", no_config_id, False)
    with pytest.raises(TypeError, match="task_get takes TaskQueryParams, not TaskIdParams"):
        request_to_v1("task_get", t.TaskIdParams(id="t"), False)
    with pytest.raises(TypeError, match=r"TaskQueryParams has no A2A v1\.0 counterpart"):
        to_v1(t.TaskQueryParams(id="t"))
    with pytest.raises(TypeError, match=r"no A2A v1\.0 counterpart"):
        from_v1(t.TaskQueryParams, {"id": "t"})
    message = t.Message.agent_text("x")
    event = t.TaskStatusUpdateEvent(
        task_id="t", context_id="c", status=t.TaskStatus(state=t.TaskState.working)
    )
    for result, method, streaming, expected in [
        (message, "task_get", False, "task_get answers Task, not Message"),
        (event, "message_send", False, "SendMessageResponse cannot carry TaskStatusUpdateEvent"),
        ("success", "task_cancel", False, "task_cancel answers Task, not str"),
        (message, "task_push_notification_config_delete", False, "answers 'success'"),
        ([message], "task_list", False, "ListTasks answers a TaskPage or a list of Tasks"),
        ([message], "task_push_notification_config_list", False, "answers TaskPushNotif"),
        (message, "agent_card_get", False, "agent_card_get answers AgentCard, not Message"),
        (message, "tasks/get", False, "no A2A v1.0 reply for method 'tasks/get'"),
    ]:
        with pytest.raises(ValueError, match=expected):
            reply_to_v1(result, method, streaming)


def test_every_message_the_proto_reader_knows_includes_what_we_emit() -> None:
    """Guards the guard: the proto reader refuses a misspelt field and a wrong enum."""
    assert {"Part", "Message", "AgentCard", "StreamResponse", "Empty"} <= set(MESSAGES)
    assert problems({"messageID": "m"}, "Message") == ["messageID: no field 'messageID' in Message"]
    assert problems({"role": "USER"}, "Message") == ["role: 'USER' is not a Role"]
    assert problems({"status": {"state": 2}}, "Task") == ["status.state: 2 is not a TaskState"]


def test_absent_zero_values_read_as_protobuf_json_writers_mean_them() -> None:
    """Protobuf JSON leaves out empty strings and zero enums: free text reads as ""."""
    assert from_v1(t.TaskStatus, {}) == t.TaskStatus(state=t.TaskState.unknown)
    card = from_v1(t.AgentCard, {"capabilities": {}})
    assert (card.name, card.description, card.version, card.skills) == ("", "", "", [])
    skill = from_v1(t.AgentSkill, {"id": "s"})
    assert (skill.name, skill.description, skill.tags) == ("", "", [])
