"""Conformance of the A2A v1.0 translation with a2a-sdk 1.x's own protobuf types.

Every v1 object we emit parses with ``google.protobuf.json_format.ParseDict`` into the
message of a2a-sdk's ``a2a.types.a2a_pb2`` (unknown fields refused), and what a2a-sdk makes,
``MessageToDict``'ed, decodes with ``from_v1`` / ``request_from_v1`` / ``reply_from_v1``.
Needs a2a-sdk >= 1.0 (``tox -e v1``); skipped elsewhere, e.g. where a2a-sdk 0.3 is installed.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

import pytest

try:
    _SDK_VERSION: str | None = metadata.version("a2a-sdk")
except metadata.PackageNotFoundError:  # pragma: no cover - depends on the environment
    _SDK_VERSION = None
if _SDK_VERSION is None or int(_SDK_VERSION.split(".")[0]) < 1:
    pytest.skip(
        "needs a2a-sdk >= 1.0 (its protobuf types a2a.types.a2a_pb2); this environment has "
        + (f"a2a-sdk {_SDK_VERSION}" if _SDK_VERSION else "no a2a-sdk"),
        allow_module_level=True,
    )

from a2a.types import a2a_pb2 as pb
from google.protobuf import empty_pb2
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.message import Message as ProtoMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_types import DEFS as V03_DEFINITIONS
from test_types import assert_valid
from v1_examples import METHOD_EXAMPLES, MODELS, v1_name

import a2a_kafka_sync.types as t
from a2a_kafka_sync.types import A2ABaseModel
from a2a_kafka_sync.v1 import (
    V1_METHODS,
    from_v1,
    reply_from_v1,
    reply_to_v1,
    request_from_v1,
    request_to_v1,
    to_v1,
)

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def proto_class(name: str) -> type[ProtoMessage]:
    """a2a-sdk's protobuf class of a v1 message name."""
    found: type[ProtoMessage] = empty_pb2.Empty if name == "Empty" else getattr(pb, name)
    return found


def parse(data: Any, name: str) -> ProtoMessage:
    """``data`` parsed strictly as the v1 message ``name`` (unknown fields refused)."""
    return ParseDict(data, proto_class(name)(), ignore_unknown_fields=False)


def as_dict(message: ProtoMessage) -> dict[str, Any]:
    """What a2a-sdk sends for ``message``: its protobuf JSON."""
    return MessageToDict(message)


def test_the_sdk_is_the_v1_one() -> None:
    assert pb.DESCRIPTOR.package == "lf.a2a.v1"
    assert set(V1_METHODS) == set(pb.DESCRIPTOR.services_by_name["A2AService"].methods_by_name)


# -- everything we emit parses; what the SDK re-emits decodes to the same message -------------


@pytest.mark.parametrize("name", sorted(MODELS))
@PROPERTY
@given(data=st.data())
def test_every_v1_object_we_emit_parses_with_the_sdk(name: str, data: st.DataObject) -> None:
    obj = data.draw(MODELS[name])
    message_name = v1_name(obj)
    message = parse(to_v1(obj), message_name)
    # ... and what the SDK makes of it comes back to the same protobuf message.
    back = from_v1(type(obj), as_dict(message))
    assert parse(to_v1(back), message_name) == message
    if type(back).__name__ in V03_DEFINITIONS:
        assert_valid(type(back).__name__, back.to_wire())


@pytest.mark.parametrize(("method", "streaming", "params", "results"), METHOD_EXAMPLES)
def test_every_request_and_reply_parses_with_the_sdk(
    method: str, streaming: bool, params: A2ABaseModel, results: list[Any]
) -> None:
    service = pb.DESCRIPTOR.services_by_name["A2AService"]
    name, request = request_to_v1(method, params, streaming)
    rpc = service.methods_by_name[name]
    message = parse(request, rpc.input_type.name)
    assert request_from_v1(name, as_dict(message))[0] == method
    for result in results:
        reply_type, data = reply_to_v1(result, method, streaming)
        assert reply_type == rpc.output_type.name
        reply = parse(json.loads(data), reply_type)
        v03_type, ours = reply_from_v1(reply_type, as_dict(reply))
        assert v03_type == reply_from_v1(reply_type, json.loads(data))[0]
        again = reply_to_v1("success" if v03_type == "success" else ours, method, streaming)
        assert parse(json.loads(again[1]), reply_type) == reply


@PROPERTY
@given(
    event=MODELS["Task"]
    | MODELS["Message"]
    | MODELS["TaskStatusUpdateEvent"]
    | MODELS["TaskArtifactUpdateEvent"]
)
def test_every_stream_event_parses_as_a_stream_response(event: Any) -> None:
    reply_type, data = reply_to_v1(event, "message_send", True)
    message = parse(json.loads(data), reply_type)
    assert message.WhichOneof("payload") is not None
    _v03_type, back = reply_from_v1(reply_type, as_dict(message))
    assert type(back) is type(event)
    assert parse(json.loads(reply_to_v1(back, "message_send", True)[1]), reply_type) == message


@PROPERTY
@given(params=MODELS["MessageSendParams"], streaming=st.booleans())
def test_send_message_requests_parse_with_the_sdk(
    params: t.MessageSendParams, streaming: bool
) -> None:
    name, request = request_to_v1("message_send", params, streaming)
    message = parse(request, "SendMessageRequest")
    _, back, _ = request_from_v1(name, as_dict(message))
    assert isinstance(back, t.MessageSendParams)
    assert parse(request_to_v1("message_send", back, streaming)[1], "SendMessageRequest") == message


# -- objects a2a-sdk makes decode to what they mean -------------------------------------------


def _sdk_task() -> Any:
    message = pb.Message(
        message_id="m-1",
        context_id="ctx-1",
        task_id="task-1",
        role=pb.ROLE_AGENT,
        extensions=["urn:ext"],
        reference_task_ids=["task-0"],
        parts=[
            pb.Part(text="hello", media_type="text/plain"),
            pb.Part(raw=b"\x00\x01\xff", filename="b.bin", media_type="application/octet-stream"),
            pb.Part(url="https://example.com/f.pdf", filename="f.pdf"),
            pb.Part(data=ParseDict({"k": [1, "two"]}, pb.Part().data)),
        ],
    )
    message.metadata.update({"trace": "x"})
    task = pb.Task(
        id="task-1",
        context_id="ctx-1",
        status=pb.TaskStatus(state=pb.TASK_STATE_INPUT_REQUIRED, message=message),
        history=[message],
        artifacts=[pb.Artifact(artifact_id="a-1", name="out", parts=[pb.Part(text="done")])],
    )
    task.status.timestamp.FromJsonString("2026-11-26T10:00:00.5Z")
    return task


def test_a_task_the_sdk_makes_decodes_to_what_it_means() -> None:
    task = from_v1(t.Task, as_dict(_sdk_task()))
    assert task.status.state is t.TaskState.input_required
    assert task.status.timestamp == "2026-11-26T10:00:00.500Z"
    message = task.status.message
    assert message is not None and message.role is t.Role.agent
    assert message.parts == [
        t.TextPart(text="hello", mediaType="text/plain"),
        t.FilePart(
            file=t.FileWithBytes(bytes="AAH/", mime_type="application/octet-stream", name="b.bin")
        ),
        t.FilePart(file=t.FileWithUri(uri="https://example.com/f.pdf", name="f.pdf")),
        t.DataPart(data={"k": [1.0, "two"]}),
    ]
    assert (message.metadata, message.extensions, message.reference_task_ids) == (
        {"trace": "x"},
        ["urn:ext"],
        ["task-0"],
    )
    assert task.artifacts == [
        t.Artifact(artifact_id="a-1", name="out", parts=[t.TextPart(text="done")])
    ]
    assert parse(to_v1(task), "Task") == _sdk_task()


def test_a_card_the_sdk_makes_decodes_with_both_shapes() -> None:
    card = pb.AgentCard(
        name="Echo",
        description="Echoes",
        version="2.0.0",
        supported_interfaces=[
            pb.AgentInterface(
                url="kafka://b/echo", protocol_binding="KAFKA", protocol_version="1.0"
            ),
            pb.AgentInterface(
                url="kafka://b/echo", protocol_binding="KAFKA", protocol_version="0.3"
            ),
        ],
        capabilities=pb.AgentCapabilities(streaming=True, extended_agent_card=False),
        security_schemes={
            "oauth": pb.SecurityScheme(
                oauth2_security_scheme=pb.OAuth2SecurityScheme(
                    flows=pb.OAuthFlows(
                        device_code=pb.DeviceCodeOAuthFlow(
                            device_authorization_url="https://id/device",
                            token_url="https://id/token",
                            scopes={"read": "Read"},
                        )
                    )
                )
            ),
            "key": pb.SecurityScheme(
                api_key_security_scheme=pb.APIKeySecurityScheme(location="header", name="X-Key")
            ),
        },
        security_requirements=[
            pb.SecurityRequirement(schemes={"oauth": pb.StringList(list=["read"])})
        ],
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[pb.AgentSkill(id="echo", name="Echo", description="Echoes", tags=["echo"])],
    )
    ours = from_v1(t.AgentCard, as_dict(card))
    assert (ours.url, ours.preferred_transport, ours.protocol_version) == (
        "kafka://b/echo",
        "KAFKA",
        "0.3.0",
    )
    assert [i.protocol_version for i in ours.supported_interfaces or ()] == ["1.0", "0.3"]
    assert ours.supports_authenticated_extended_card is False
    assert ours.security == [{"oauth": ["read"]}]
    assert ours.security_schemes is not None
    key = ours.security_schemes["key"]
    assert isinstance(key, t.APIKeySecurityScheme) and key.in_ == "header"
    oauth = ours.security_schemes["oauth"]
    assert isinstance(oauth, t.OAuth2SecurityScheme)
    assert oauth.flows.model_extra == {
        "deviceCode": {
            "deviceAuthorizationUrl": "https://id/device",
            "tokenUrl": "https://id/token",
            "scopes": {"read": "Read"},
        }
    }
    assert parse(to_v1(ours), "AgentCard") == card
    assert_valid("AgentCard", ours.to_wire(), closed=False)


@pytest.mark.parametrize(
    ("name", "request_message", "expected"),
    [
        (
            "GetTask",
            pb.GetTaskRequest(id="task-1", history_length=0, tenant="acme"),
            t.TaskQueryParams(id="task-1", history_length=0, tenant="acme"),
        ),
        ("CancelTask", pb.CancelTaskRequest(id="task-1"), t.TaskIdParams(id="task-1")),
        ("SubscribeToTask", pb.SubscribeToTaskRequest(id="task-1"), t.TaskIdParams(id="task-1")),
        (
            "ListTasks",
            pb.ListTasksRequest(context_id="c", status=pb.TASK_STATE_WORKING, page_size=5),
            t.ListTasksParams(context_id="c", status=t.TaskState.working, page_size=5),
        ),
        (
            "CreateTaskPushNotificationConfig",
            pb.TaskPushNotificationConfig(
                task_id="task-1",
                id="p-1",
                url="https://hook",
                authentication=pb.AuthenticationInfo(scheme="Bearer", credentials="c"),
            ),
            t.TaskPushNotificationConfig(
                task_id="task-1",
                push_notification_config=t.PushNotificationConfig(
                    id="p-1",
                    url="https://hook",
                    authentication=t.PushNotificationAuthenticationInfo(
                        schemes=["Bearer"], credentials="c"
                    ),
                ),
            ),
        ),
        (
            "GetTaskPushNotificationConfig",
            pb.GetTaskPushNotificationConfigRequest(task_id="task-1", id="p-1"),
            t.GetTaskPushNotificationConfigParams(id="task-1", push_notification_config_id="p-1"),
        ),
        (
            "ListTaskPushNotificationConfigs",
            pb.ListTaskPushNotificationConfigsRequest(task_id="task-1", page_size=2),
            t.ListTaskPushNotificationConfigParams(id="task-1", pageSize=2),
        ),
        (
            "DeleteTaskPushNotificationConfig",
            pb.DeleteTaskPushNotificationConfigRequest(task_id="task-1", id="p-1"),
            t.DeleteTaskPushNotificationConfigParams(
                id="task-1", push_notification_config_id="p-1"
            ),
        ),
        ("GetExtendedAgentCard", pb.GetExtendedAgentCardRequest(), A2ABaseModel()),
    ],
)
def test_requests_the_sdk_makes_decode_to_our_params(
    name: str, request_message: ProtoMessage, expected: A2ABaseModel
) -> None:
    method, params, streaming = request_from_v1(name, as_dict(request_message))
    assert (method, streaming) == V1_METHODS[name]
    assert params == expected
    assert parse(request_to_v1(method, params, streaming)[1], type(request_message).__name__) == (
        request_message
    )


def test_a_send_message_request_the_sdk_makes_decodes() -> None:
    request = pb.SendMessageRequest(
        message=pb.Message(message_id="m", role=pb.ROLE_USER, parts=[pb.Part(text="hi")]),
        configuration=pb.SendMessageConfiguration(
            accepted_output_modes=["text/plain"],
            return_immediately=True,
            history_length=3,
            task_push_notification_config=pb.TaskPushNotificationConfig(url="https://hook"),
        ),
    )
    method, params, streaming = request_from_v1("SendStreamingMessage", as_dict(request))
    assert (method, streaming) == ("message_send", True)
    assert params == t.MessageSendParams(
        message=t.Message.user_text("hi", message_id="m"),
        configuration=t.MessageSendConfiguration(
            accepted_output_modes=["text/plain"],
            blocking=False,
            history_length=3,
            push_notification_config=t.PushNotificationConfig(url="https://hook"),
        ),
    )
    assert parse(request_to_v1(method, params, streaming)[1], "SendMessageRequest") == request


def test_replies_the_sdk_makes_decode() -> None:
    task = _sdk_task()
    stream = pb.StreamResponse(
        status_update=pb.TaskStatusUpdateEvent(
            task_id="task-1",
            context_id="ctx-1",
            status=pb.TaskStatus(state=pb.TASK_STATE_COMPLETED),
        )
    )
    v03_type, event = reply_from_v1("StreamResponse", as_dict(stream))
    assert v03_type == "task_status_update" and event.final is True
    page = pb.ListTasksResponse(tasks=[task], page_size=1, total_size=1)
    v03_type, ours = reply_from_v1("ListTasksResponse", as_dict(page))
    assert v03_type == "task_list"
    assert (ours.next_page_token, ours.page_size, ours.total_size, len(ours.tasks)) == ("", 1, 1, 1)
    configs = pb.ListTaskPushNotificationConfigsResponse(
        configs=[pb.TaskPushNotificationConfig(task_id="task-1", url="https://hook")]
    )
    v03_type, items = reply_from_v1("ListTaskPushNotificationConfigsResponse", as_dict(configs))
    assert v03_type == "task_push_notification_config_list"
    assert [c.task_id for c in items] == ["task-1"]
    assert reply_from_v1("Empty", as_dict(empty_pb2.Empty())) == ("success", {"success": True})
    v03_type, sent = reply_from_v1(
        "SendMessageResponse", as_dict(pb.SendMessageResponse(task=task))
    )
    assert v03_type == "task" and parse(to_v1(sent), "Task") == task
