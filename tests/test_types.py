"""Conformance tests for ``a2a_kafka_sync.types`` (the A2A v0.3.0 data model).

The official JSON Schema in ``tests/data`` is the reference; a2a-sdk's own models
are a second opinion (those tests skip when a2a-sdk is not installed).
"""

from __future__ import annotations

import copy
import enum
import inspect
import json
import string
import typing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

import a2a_kafka_sync.types as t
from a2a_kafka_sync.types import A2ABaseModel

sdk: Any
try:
    import a2a.types as sdk
except ImportError:  # pragma: no cover - depends on the environment
    sdk = None
if sdk is not None and not hasattr(sdk, "TextPart"):  # pragma: no cover
    sdk = None  # a2a-sdk >= 1.0: protobuf types, not the v0.3 models (see test_v1_conformance)

st: Any
try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - depends on the environment
    st = None

requires_sdk = pytest.mark.skipif(sdk is None, reason="a2a-sdk 0.3 is not installed")

SCHEMA_PATH = Path(__file__).parent / "data" / "a2a-v0.3.0.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
DEFS: dict[str, Any] = SCHEMA["definitions"]

# Keys our wire output may carry beyond the schema's required ones, even when the
# Python object was built with nothing but its required fields.
ALWAYS_SENT = {"preferredTransport"}

# Models that are not v0.3 schema definitions: our extensions for A2A v1.0 (tested below
# and in test_v1.py), and the extension fields of schema models (which the v0.3 schema
# allows as additional properties).
EXTENSION_MODELS = {"ListTasksParams", "ProtocolInterface", "TaskPage"}
EXTENSION_FIELDS: dict[str, dict[str, Any]] = {
    "AgentCard": {
        "supportedInterfaces": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["url", "protocolBinding", "protocolVersion"],
                "properties": {
                    "url": {"type": "string"},
                    "protocolBinding": {"type": "string"},
                    "protocolVersion": {"type": "string"},
                    "tenant": {"type": "string"},
                },
                "additionalProperties": False,
            },
        }
    }
}


def _closed(doc: dict[str, Any]) -> dict[str, Any]:
    """Copy of the schema where objects reject unknown keys (catches misspelt names), but
    for our extension fields, which must have their own shape."""
    doc = copy.deepcopy(doc)
    for definition in doc["definitions"].values():
        if "properties" in definition and "additionalProperties" not in definition:
            definition["additionalProperties"] = False
    for name, fields in EXTENSION_FIELDS.items():
        doc["definitions"][name]["properties"].update(fields)
    return doc


def _registry(doc: dict[str, Any]) -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(doc, default_specification=DRAFT7)
    registry: Registry[Any] = Registry().with_resource("urn:a2a", resource)
    return registry


OPEN_REGISTRY = _registry(SCHEMA)
CLOSED_REGISTRY = _registry(_closed(SCHEMA))


def assert_valid(name: str, wire: Any, *, closed: bool = True) -> None:
    """Validate ``wire`` against ``#/definitions/<name>`` of the official schema."""
    registry = CLOSED_REGISTRY if closed else OPEN_REGISTRY
    validator = jsonschema.Draft7Validator(
        {"$ref": f"urn:a2a#/definitions/{name}"}, registry=registry
    )
    validator.validate(wire)


def exported_models(*, extensions: bool = False) -> list[type[A2ABaseModel]]:
    """Every model class exported by the package (the base class excluded): those of the
    v0.3 schema, or (``extensions=True``) our extension models."""
    return [
        obj
        for name in t.__all__
        if inspect.isclass(obj := getattr(t, name))
        and issubclass(obj, A2ABaseModel)
        and obj is not A2ABaseModel
        and (name in EXTENSION_MODELS) is extensions
    ]


# --------------------------------------------------------------------------- #
# Instances: one rich (every field set) and one minimal per model.
# --------------------------------------------------------------------------- #


def rich_objects() -> dict[str, A2ABaseModel]:
    """Label -> instance with every optional field set."""
    text = t.TextPart(text="Hello\nworld", metadata={"lang": "en"})
    raw = t.FileWithBytes(bytes="aGVsbG8=", mime_type="text/plain", name="hello.txt")
    at_uri = t.FileWithUri(
        uri="https://example.com/a.pdf", mime_type="application/pdf", name="a.pdf"
    )
    data = t.DataPart(
        data={"answer": 42, "nested": {"items": [1, "two", None, 3.5]}},
        metadata={"schema": "urn:answer"},
    )
    message = t.Message(
        role=t.Role.agent,
        parts=[text, t.FilePart(file=raw), t.FilePart(file=at_uri), data],
        message_id="msg-1",
        context_id="ctx-1",
        task_id="task-1",
        reference_task_ids=["task-0"],
        extensions=["https://example.com/ext/v1"],
        metadata={"trace": {"id": 7}},
    )
    status = t.TaskStatus(
        state=t.TaskState.input_required,
        message=message,
        timestamp="2025-01-01T00:00:00Z",
    )
    artifact = t.Artifact(
        artifact_id="art-1",
        parts=[text, data],
        name="result",
        description="The result.",
        extensions=["https://example.com/ext/v1"],
        metadata={"size": 2},
    )
    code_flow = t.AuthorizationCodeOAuthFlow(
        authorization_url="https://auth.example.com/authorize",
        token_url="https://auth.example.com/token",
        refresh_url="https://auth.example.com/refresh",
        scopes={"read": "Read access"},
    )
    client_flow = t.ClientCredentialsOAuthFlow(
        token_url="https://auth.example.com/token",
        refresh_url="https://auth.example.com/refresh",
        scopes={"write": "Write access"},
    )
    implicit_flow = t.ImplicitOAuthFlow(
        authorization_url="https://auth.example.com/authorize",
        refresh_url="https://auth.example.com/refresh",
        scopes={},
    )
    password_flow = t.PasswordOAuthFlow(
        token_url="https://auth.example.com/token",
        refresh_url="https://auth.example.com/refresh",
        scopes={"admin": "Everything"},
    )
    flows = t.OAuthFlows(
        authorization_code=code_flow,
        client_credentials=client_flow,
        implicit=implicit_flow,
        password=password_flow,
    )
    schemes: dict[str, t.SecurityScheme] = {
        "api": t.APIKeySecurityScheme(
            name="X-API-Key", in_="header", description="Key in a header"
        ),
        "http": t.HTTPAuthSecurityScheme(
            scheme="Bearer", bearer_format="JWT", description="Bearer token"
        ),
        "oauth": t.OAuth2SecurityScheme(
            flows=flows,
            oauth2_metadata_url="https://auth.example.com/.well-known/oauth",
            description="OAuth 2.0",
        ),
        "oidc": t.OpenIdConnectSecurityScheme(
            open_id_connect_url="https://auth.example.com/.well-known/openid",
            description="OIDC",
        ),
        "mtls": t.MutualTLSSecurityScheme(description="Client certificates"),
    }
    extension = t.AgentExtension(
        uri="https://example.com/ext/v1",
        description="An extension",
        required=True,
        params={"level": 2},
    )
    capabilities = t.AgentCapabilities(
        streaming=True,
        push_notifications=True,
        state_transition_history=False,
        extensions=[extension],
    )
    skill = t.AgentSkill(
        id="echo",
        name="Echo",
        description="Repeats what it hears.",
        tags=["test", "echo"],
        examples=["say hi"],
        input_modes=["text/plain"],
        output_modes=["text/plain", "application/json"],
        security=[{"oauth": ["read"]}],
    )
    interface = t.AgentInterface(url="kafka://broker:9092/agent", transport="KAFKA")
    provider = t.AgentProvider(organization="Example", url="https://example.com")
    signature = t.AgentCardSignature(
        protected="eyJhbGciOiJFUzI1NiJ9", signature="c2ln", header={"kid": "key-1"}
    )
    card = t.AgentCard(
        name="Echo agent",
        description="Echoes messages.",
        url="kafka://broker:9092/agent",
        version="2.1.0",
        protocol_version="0.3.0",
        preferred_transport="KAFKA",
        capabilities=capabilities,
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["text/plain"],
        skills=[skill],
        additional_interfaces=[interface],
        provider=provider,
        documentation_url="https://example.com/docs",
        icon_url="https://example.com/icon.png",
        security_schemes=schemes,
        security=[{"oauth": ["read"]}, {"api": [], "mtls": []}],
        signatures=[signature],
        supports_authenticated_extended_card=True,
        supported_interfaces=[
            t.ProtocolInterface(
                url="kafka://broker:9092/agent", protocol_binding="KAFKA", protocol_version="1.0"
            ),
            t.ProtocolInterface(
                url="kafka://broker:9092/agent",
                protocol_binding="KAFKA",
                protocol_version="0.3",
                tenant="t1",
            ),
        ],
    )
    auth = t.PushNotificationAuthenticationInfo(schemes=["Bearer"], credentials="s3cret")
    push = t.PushNotificationConfig(
        url="https://client.example.com/hook",
        id="push-1",
        token="tok-1",
        authentication=auth,
    )
    configuration = t.MessageSendConfiguration(
        accepted_output_modes=["text/plain"],
        blocking=True,
        history_length=5,
        push_notification_config=push,
    )
    objects: dict[str, A2ABaseModel] = {
        "TextPart": text,
        "FileWithBytes": raw,
        "FileWithUri": at_uri,
        "FilePart-bytes": t.FilePart(file=raw, metadata={"origin": "upload"}),
        "FilePart-uri": t.FilePart(file=at_uri, metadata={"origin": "link"}),
        "DataPart": data,
        "Message": message,
        "TaskStatus": status,
        "Artifact": artifact,
        "Task": t.Task(
            id="task-1",
            context_id="ctx-1",
            status=status,
            artifacts=[artifact],
            history=[message, t.Message.user_text("hi", message_id="msg-0")],
            metadata={"priority": "high"},
        ),
        "TaskStatusUpdateEvent": t.TaskStatusUpdateEvent(
            task_id="task-1",
            context_id="ctx-1",
            status=status,
            final=True,
            metadata={"seq": 3},
        ),
        "TaskArtifactUpdateEvent": t.TaskArtifactUpdateEvent(
            task_id="task-1",
            context_id="ctx-1",
            artifact=artifact,
            append=True,
            last_chunk=False,
            metadata={"seq": 4},
        ),
        "OAuthFlows": flows,
        "AuthorizationCodeOAuthFlow": code_flow,
        "ClientCredentialsOAuthFlow": client_flow,
        "ImplicitOAuthFlow": implicit_flow,
        "PasswordOAuthFlow": password_flow,
        "AgentExtension": extension,
        "AgentCapabilities": capabilities,
        "AgentSkill": skill,
        "AgentInterface": interface,
        "AgentProvider": provider,
        "AgentCardSignature": signature,
        "AgentCard": card,
        "PushNotificationAuthenticationInfo": auth,
        "PushNotificationConfig": push,
        "TaskPushNotificationConfig": t.TaskPushNotificationConfig(
            task_id="task-1", push_notification_config=push
        ),
        "MessageSendConfiguration": configuration,
        "MessageSendParams": t.MessageSendParams(
            message=message, configuration=configuration, metadata={"via": "kafka"}
        ),
        "TaskQueryParams": t.TaskQueryParams(id="task-1", history_length=3, metadata={"a": 1}),
        "TaskIdParams": t.TaskIdParams(id="task-1", metadata={"a": 1}),
        "GetTaskPushNotificationConfigParams": t.GetTaskPushNotificationConfigParams(
            id="task-1", push_notification_config_id="push-1", metadata={"a": 1}
        ),
        "ListTaskPushNotificationConfigParams": t.ListTaskPushNotificationConfigParams(
            id="task-1", metadata={"a": 1}
        ),
        "DeleteTaskPushNotificationConfigParams": (
            t.DeleteTaskPushNotificationConfigParams(
                id="task-1", push_notification_config_id="push-1", metadata={"a": 1}
            )
        ),
    }
    for scheme in schemes.values():
        objects[type(scheme).__name__] = scheme
    return objects


def minimal_objects() -> dict[str, A2ABaseModel]:
    """Label -> instance built from required arguments only."""
    hello = t.Message(role=t.Role.user, parts=[t.TextPart(text="hi")])
    push = t.PushNotificationConfig(url="https://client.example.com/hook")
    return {
        "TextPart": t.TextPart(text=""),
        "FileWithBytes": t.FileWithBytes(bytes=""),
        "FileWithUri": t.FileWithUri(uri="https://example.com/f"),
        "FilePart-bytes": t.FilePart(file=t.FileWithBytes(bytes="aGk=")),
        "FilePart-uri": t.FilePart(file=t.FileWithUri(uri="https://example.com/f")),
        "DataPart": t.DataPart(data={}),
        "Message": hello,
        "TaskStatus": t.TaskStatus(state=t.TaskState.submitted),
        "Artifact": t.Artifact(parts=[]),
        "Task": t.Task(
            id="task-1",
            context_id="ctx-1",
            status=t.TaskStatus(state=t.TaskState.working),
        ),
        "TaskStatusUpdateEvent": t.TaskStatusUpdateEvent(
            task_id="task-1",
            context_id="ctx-1",
            status=t.TaskStatus(state=t.TaskState.working),
        ),
        "TaskArtifactUpdateEvent": t.TaskArtifactUpdateEvent(
            task_id="task-1", context_id="ctx-1", artifact=t.Artifact(parts=[])
        ),
        "APIKeySecurityScheme": t.APIKeySecurityScheme(name="key", in_="query"),
        "HTTPAuthSecurityScheme": t.HTTPAuthSecurityScheme(scheme="Basic"),
        "OAuth2SecurityScheme": t.OAuth2SecurityScheme(flows=t.OAuthFlows()),
        "OpenIdConnectSecurityScheme": t.OpenIdConnectSecurityScheme(
            open_id_connect_url="https://auth.example.com/.well-known/openid"
        ),
        "MutualTLSSecurityScheme": t.MutualTLSSecurityScheme(),
        "OAuthFlows": t.OAuthFlows(),
        "AuthorizationCodeOAuthFlow": t.AuthorizationCodeOAuthFlow(
            authorization_url="https://a", token_url="https://t", scopes={}
        ),
        "ClientCredentialsOAuthFlow": t.ClientCredentialsOAuthFlow(
            token_url="https://t", scopes={}
        ),
        "ImplicitOAuthFlow": t.ImplicitOAuthFlow(authorization_url="https://a", scopes={}),
        "PasswordOAuthFlow": t.PasswordOAuthFlow(token_url="https://t", scopes={}),
        "AgentExtension": t.AgentExtension(uri="urn:ext"),
        "AgentCapabilities": t.AgentCapabilities(),
        "AgentSkill": t.AgentSkill(id="s", name="S", description="", tags=[]),
        "AgentInterface": t.AgentInterface(url="https://a", transport="JSONRPC"),
        "AgentProvider": t.AgentProvider(organization="Org", url="https://org"),
        "AgentCardSignature": t.AgentCardSignature(protected="p", signature="s"),
        "AgentCard": t.AgentCard(name="Minimal"),
        "PushNotificationAuthenticationInfo": t.PushNotificationAuthenticationInfo(schemes=[]),
        "PushNotificationConfig": push,
        "TaskPushNotificationConfig": t.TaskPushNotificationConfig(
            task_id="task-1", push_notification_config=push
        ),
        "MessageSendConfiguration": t.MessageSendConfiguration(),
        "MessageSendParams": t.MessageSendParams(message=hello),
        "TaskQueryParams": t.TaskQueryParams(id="task-1"),
        "TaskIdParams": t.TaskIdParams(id="task-1"),
        "GetTaskPushNotificationConfigParams": t.GetTaskPushNotificationConfigParams(id="task-1"),
        "ListTaskPushNotificationConfigParams": t.ListTaskPushNotificationConfigParams(id="task-1"),
        "DeleteTaskPushNotificationConfigParams": (
            t.DeleteTaskPushNotificationConfigParams(
                id="task-1", push_notification_config_id="push-1"
            )
        ),
    }


def state_objects() -> dict[str, A2ABaseModel]:
    """Label -> a task and a status event in each TaskState."""
    objects: dict[str, A2ABaseModel] = {}
    for state in t.TaskState:
        status = t.TaskStatus(state=state, timestamp="2025-01-01T00:00:00Z")
        objects[f"Task-{state.value}"] = t.Task(id="t", context_id="c", status=status)
        objects[f"TaskStatusUpdateEvent-{state.value}"] = t.TaskStatusUpdateEvent(
            task_id="t", context_id="c", status=status, final=state.is_terminal
        )
    return objects


CASES = [
    pytest.param(obj, id=f"{kind}-{label}")
    for kind, objects in (
        ("rich", rich_objects()),
        ("minimal", minimal_objects()),
        ("state", state_objects()),
    )
    for label, obj in objects.items()
]

UNION_OF: dict[type[A2ABaseModel], str] = {
    t.TextPart: "Part",
    t.FilePart: "Part",
    t.DataPart: "Part",
    t.APIKeySecurityScheme: "SecurityScheme",
    t.HTTPAuthSecurityScheme: "SecurityScheme",
    t.OAuth2SecurityScheme: "SecurityScheme",
    t.OpenIdConnectSecurityScheme: "SecurityScheme",
    t.MutualTLSSecurityScheme: "SecurityScheme",
}


# --------------------------------------------------------------------------- #
# The package surface
# --------------------------------------------------------------------------- #


def _ruf022_order(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then CamelCase, then the rest."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_importable() -> None:
    assert t.__all__ == sorted(t.__all__, key=_ruf022_order)
    assert len(set(t.__all__)) == len(t.__all__)
    for name in t.__all__:
        assert hasattr(t, name), name


def test_every_exported_model_is_a_schema_definition_and_has_cases() -> None:
    models = exported_models()
    assert len(models) == 38
    assert {m.__name__ for m in exported_models(extensions=True)} == EXTENSION_MODELS
    assert not EXTENSION_MODELS & set(DEFS)
    for model in models:
        assert model.__name__ in DEFS, model.__name__
        assert (model.__dict__.get("__doc__") or "").strip(), f"{model} lacks a docstring"
    for objects in (rich_objects(), minimal_objects()):
        assert {type(obj) for obj in objects.values()} == set(models)


@pytest.mark.parametrize("model", exported_models(), ids=lambda m: m.__name__)
def test_field_names_match_schema(model: type[A2ABaseModel]) -> None:
    definition = DEFS[model.__name__]
    aliases = {field.alias or name for name, field in model.model_fields.items()}
    extension_fields = set(EXTENSION_FIELDS.get(model.__name__, {}))
    assert aliases - extension_fields == set(definition.get("properties", {}))
    assert not extension_fields & set(definition.get("properties", {}))
    required = set(definition.get("required", []))
    for name, field in model.model_fields.items():
        alias = field.alias or name
        if field.is_required():
            assert alias in required, f"{alias} is optional in the schema"
        elif alias in required:
            # A Python default for a schema-required field must be sent on the wire.
            has_value = field.default_factory is not None or field.default is not None
            assert has_value, f"{alias} is required but defaults to None"


def test_enums_match_schema() -> None:
    assert [s.value for s in t.TaskState] == DEFS["TaskState"]["enum"]
    assert [p.value for p in t.TransportProtocol] == DEFS["TransportProtocol"]["enum"]
    assert {r.value for r in t.Role} == set(DEFS["Message"]["properties"]["role"]["enum"])
    api_in = t.APIKeySecurityScheme.model_fields["in_"].annotation
    schema_in = DEFS["APIKeySecurityScheme"]["properties"]["in"]["enum"]
    assert set(typing.get_args(api_in)) == set(schema_in)


def test_closed_schema_catches_misspelt_keys() -> None:
    """Guards the guard: the closed schema really rejects unknown keys."""
    assert_valid("TextPart", {"kind": "text", "text": "x"})
    with pytest.raises(jsonschema.ValidationError):
        assert_valid("TextPart", {"kind": "text", "text": "x", "meta_data": {}})


# --------------------------------------------------------------------------- #
# Wire output against the official schema
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("obj", CASES)
def test_wire_validates_against_schema(obj: A2ABaseModel) -> None:
    wire = obj.to_wire()
    assert_valid(type(obj).__name__, wire)
    if type(obj) in UNION_OF:
        assert_valid(UNION_OF[type(obj)], wire)


@pytest.mark.parametrize("obj", CASES)
def test_json_bytes_equal_wire_dict(obj: A2ABaseModel) -> None:
    raw = obj.to_json()
    assert isinstance(raw, bytes)
    assert json.loads(raw) == obj.to_wire()


@pytest.mark.parametrize("obj", CASES)
def test_round_trip_through_our_models(obj: A2ABaseModel) -> None:
    model = type(obj)
    assert model.from_wire(obj.to_wire()) == obj
    assert model.from_json(obj.to_json()) == obj
    assert model.model_validate(obj.to_wire()).to_wire() == obj.to_wire()


@pytest.mark.parametrize("obj", [pytest.param(o, id=k) for k, o in rich_objects().items()])
def test_rich_objects_set_every_field(obj: A2ABaseModel) -> None:
    unset = [name for name in type(obj).model_fields if getattr(obj, name) is None]
    assert not unset
    assert_valid(type(obj).__name__, obj.to_wire())


@pytest.mark.parametrize("obj", [pytest.param(o, id=k) for k, o in minimal_objects().items()])
def test_minimal_objects_send_only_required_keys(obj: A2ABaseModel) -> None:
    required = set(DEFS[type(obj).__name__].get("required", []))
    assert set(obj.to_wire()) - required <= ALWAYS_SENT


# --------------------------------------------------------------------------- #
# Interoperability with a2a-sdk's generated models
# --------------------------------------------------------------------------- #


def sdk_dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


@requires_sdk
@pytest.mark.parametrize("obj", CASES)
def test_sdk_reads_our_wire_identically(obj: A2ABaseModel) -> None:
    wire = obj.to_wire()
    theirs = getattr(sdk, type(obj).__name__).model_validate(wire)
    # a2a-sdk (v0.3) drops the fields it does not know: our extensions.
    v03_wire = _without_extensions(type(obj).__name__, wire)
    assert sdk_dump(theirs) == v03_wire
    assert type(obj).model_validate(sdk_dump(theirs)).to_wire() == v03_wire


def _without_extensions(name: str, wire: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wire.items() if k not in EXTENSION_FIELDS.get(name, {})}


def test_extension_fields_are_kept_and_validate_against_the_open_schema() -> None:
    card = rich_objects()["AgentCard"]
    assert isinstance(card, t.AgentCard)
    wire = card.to_wire()
    assert [i["protocolVersion"] for i in wire["supportedInterfaces"]] == ["1.0", "0.3"]
    assert wire["supportedInterfaces"][1]["tenant"] == "t1"
    assert_valid("AgentCard", wire, closed=False)
    assert t.AgentCard.from_wire(wire) == card
    bad = {**wire, "supportedInterfaces": [{"url": "u"}]}
    with pytest.raises(jsonschema.ValidationError):
        assert_valid("AgentCard", bad)


@pytest.mark.parametrize("model", exported_models(extensions=True), ids=lambda m: m.__name__)
def test_extension_models_round_trip_in_camel_case(model: type[A2ABaseModel]) -> None:
    assert (model.__dict__.get("__doc__") or "").strip()
    task = t.Task(id="t", context_id="c", status=t.TaskStatus(state=t.TaskState.working))
    examples: dict[str, A2ABaseModel] = {
        "ListTasksParams": t.ListTasksParams(
            context_id="c",
            status=t.TaskState.working,
            page_size=10,
            page_token="p",
            history_length=2,
            status_timestamp_after="2026-01-01T00:00:00Z",
            include_artifacts=True,
        ),
        "ProtocolInterface": t.ProtocolInterface(
            url="u", protocol_binding="KAFKA", protocol_version="1.0", tenant="x"
        ),
        "TaskPage": t.TaskPage(tasks=[task], next_page_token="n", page_size=1, total_size=3),
    }
    obj = examples[model.__name__]
    wire = obj.to_wire()
    assert all("_" not in key for key in wire)
    assert not [name for name in model.model_fields if getattr(obj, name) is None]
    assert model.from_wire(wire) == obj


def test_list_tasks_params_keep_context_id_for_old_callers() -> None:
    params = t.ListTasksParams.from_wire({"contextId": "ctx", "x-other": 1})
    assert params.context_id == "ctx"
    assert params.model_extra == {"x-other": 1}


def sdk_objects() -> dict[str, Any]:
    """Objects built with a2a-sdk, keyed by schema name (our class name)."""
    s: Any = sdk
    message = s.Message(
        role=s.Role.user,
        message_id="m1",
        context_id="c1",
        task_id="t1",
        reference_task_ids=["t0"],
        extensions=["urn:ext"],
        metadata={"k": 1},
        parts=[
            s.Part(root=s.TextPart(text="hi", metadata={"a": 1})),
            s.Part(
                root=s.FilePart(
                    file=s.FileWithBytes(bytes="aGk=", mime_type="text/plain", name="a")
                )
            ),
            s.Part(root=s.FilePart(file=s.FileWithUri(uri="https://x/y.png"))),
            s.Part(root=s.DataPart(data={"x": [1, None, {"y": True}]})),
        ],
    )
    status = s.TaskStatus(
        state=s.TaskState.auth_required,
        message=message,
        timestamp="2025-01-01T00:00:00Z",
    )
    artifact = s.Artifact(
        artifact_id="a1",
        name="out",
        description="d",
        parts=[s.Part(root=s.TextPart(text="out"))],
        extensions=["urn:ext"],
        metadata={},
    )
    push = s.PushNotificationConfig(
        url="https://hook",
        id="p1",
        token="tok",
        authentication=s.PushNotificationAuthenticationInfo(schemes=["Bearer"], credentials="c"),
    )
    flows = s.OAuthFlows(
        authorization_code=s.AuthorizationCodeOAuthFlow(
            authorization_url="https://a", token_url="https://t", scopes={"r": "read"}
        ),
        client_credentials=s.ClientCredentialsOAuthFlow(
            token_url="https://t", scopes={}, refresh_url="https://r"
        ),
        implicit=s.ImplicitOAuthFlow(authorization_url="https://a", scopes={}),
        password=s.PasswordOAuthFlow(token_url="https://t", scopes={}),
    )
    schemes = {
        "key": s.APIKeySecurityScheme(name="k", in_=s.In.cookie, description="d"),
        "http": s.HTTPAuthSecurityScheme(scheme="Bearer", bearer_format="JWT"),
        "oauth": s.OAuth2SecurityScheme(flows=flows, oauth2_metadata_url="https://m"),
        "oidc": s.OpenIdConnectSecurityScheme(open_id_connect_url="https://o"),
        "mtls": s.MutualTLSSecurityScheme(),
    }
    card = s.AgentCard(
        name="SDK agent",
        description="Built with a2a-sdk",
        url="https://agent",
        version="0.1",
        capabilities=s.AgentCapabilities(
            streaming=True,
            push_notifications=False,
            state_transition_history=True,
            extensions=[s.AgentExtension(uri="urn:ext", required=False, params={})],
        ),
        default_input_modes=["text/plain"],
        default_output_modes=["application/json"],
        skills=[s.AgentSkill(id="s", name="S", description="d", tags=["t"], examples=["e"])],
        additional_interfaces=[s.AgentInterface(url="https://agent", transport="GRPC")],
        provider=s.AgentProvider(organization="O", url="https://o"),
        documentation_url="https://docs",
        icon_url="https://icon",
        preferred_transport="HTTP+JSON",
        security=[{"oauth": ["r"]}],
        security_schemes={k: s.SecurityScheme(root=v) for k, v in schemes.items()},
        signatures=[s.AgentCardSignature(protected="p", signature="s", header={})],
        supports_authenticated_extended_card=False,
    )
    objects: dict[str, Any] = {
        "Message": message,
        "TaskStatus": status,
        "Artifact": artifact,
        "Task": s.Task(
            id="t1",
            context_id="c1",
            status=status,
            artifacts=[artifact],
            history=[message],
            metadata={"m": True},
        ),
        "TaskStatusUpdateEvent": s.TaskStatusUpdateEvent(
            task_id="t1", context_id="c1", status=status, final=True
        ),
        "TaskArtifactUpdateEvent": s.TaskArtifactUpdateEvent(
            task_id="t1",
            context_id="c1",
            artifact=artifact,
            append=False,
            last_chunk=True,
        ),
        "AgentCard": card,
        "AgentCard-minimal": s.AgentCard(
            name="n",
            description="d",
            url="u",
            version="v",
            capabilities=s.AgentCapabilities(),
            default_input_modes=[],
            default_output_modes=[],
            skills=[],
        ),
        "TaskPushNotificationConfig": s.TaskPushNotificationConfig(
            task_id="t1", push_notification_config=push
        ),
        "MessageSendParams": s.MessageSendParams(
            message=message,
            configuration=s.MessageSendConfiguration(
                accepted_output_modes=["text/plain"],
                blocking=False,
                history_length=0,
                push_notification_config=push,
            ),
            metadata={"x": "y"},
        ),
        "TaskQueryParams": s.TaskQueryParams(id="t1", history_length=2),
        "TaskIdParams": s.TaskIdParams(id="t1", metadata={}),
        "GetTaskPushNotificationConfigParams": s.GetTaskPushNotificationConfigParams(
            id="t1", push_notification_config_id="p1"
        ),
        "ListTaskPushNotificationConfigParams": s.ListTaskPushNotificationConfigParams(id="t1"),
        "DeleteTaskPushNotificationConfigParams": (
            s.DeleteTaskPushNotificationConfigParams(id="t1", push_notification_config_id="p1")
        ),
    }
    for scheme in schemes.values():
        objects[type(scheme).__name__] = scheme
    return objects


SDK_CASES = [pytest.param(label, id=label) for label in sdk_objects()] if sdk is not None else []


@requires_sdk
@pytest.mark.parametrize("label", SDK_CASES)
def test_we_read_sdk_objects_identically(label: str) -> None:
    theirs = sdk_dump(sdk_objects()[label])
    model: type[A2ABaseModel] = getattr(t, label.split("-")[0])
    ours = model.model_validate(theirs)
    assert ours.to_wire() == theirs
    assert_valid(model.__name__, ours.to_wire())


# --------------------------------------------------------------------------- #
# Input tolerance and rejection
# --------------------------------------------------------------------------- #


def test_unknown_fields_are_kept() -> None:
    wire = {
        "kind": "message",
        "role": "user",
        "messageId": "m",
        "parts": [{"kind": "text", "text": "hi", "x-part": [1]}],
        "x-future": {"nested": True},
    }
    message = t.Message.model_validate(wire)
    assert message.to_wire() == wire
    assert json.loads(message.to_json()) == wire
    card = t.AgentCard.model_validate({"name": "a", "extraThing": 1})
    assert card.to_wire()["extraThing"] == 1


def test_null_optional_fields_are_accepted_and_dropped() -> None:
    wire = {
        "kind": "task",
        "id": "t",
        "contextId": "c",
        "status": {"state": "working", "message": None, "timestamp": None},
        "artifacts": None,
        "history": None,
        "metadata": None,
    }
    task = t.Task.model_validate(wire)
    assert task.artifacts is None
    assert task.to_wire() == {
        "kind": "task",
        "id": "t",
        "contextId": "c",
        "status": {"state": "working"},
    }
    card = t.AgentCard.model_validate(
        {"name": "a", "description": None, "preferredTransport": None, "skills": None}
    )
    assert card.description == ""
    assert card.preferred_transport == "JSONRPC"
    assert card.skills == []
    assert_valid("AgentCard", card.to_wire())


def test_null_inside_free_form_objects_is_preserved() -> None:
    part = t.DataPart(data={"answer": None}, metadata={"m": None})
    assert part.to_wire() == {
        "kind": "data",
        "data": {"answer": None},
        "metadata": {"m": None},
    }


def test_snake_case_input_is_accepted() -> None:
    message = t.Message.model_validate(
        {
            "role": "agent",
            "parts": [{"kind": "file", "file": {"uri": "u", "mime_type": "a/b"}}],
            "message_id": "m",
            "context_id": "c",
            "reference_task_ids": ["r"],
        }
    )
    assert message.to_wire() == {
        "kind": "message",
        "role": "agent",
        "parts": [{"kind": "file", "file": {"uri": "u", "mimeType": "a/b"}}],
        "messageId": "m",
        "contextId": "c",
        "referenceTaskIds": ["r"],
    }
    scheme = t.APIKeySecurityScheme.model_validate({"type": "apiKey", "name": "k", "in_": "header"})
    assert scheme.to_wire()["in"] == "header"


def test_camel_case_keyword_arguments_work_too() -> None:
    message = t.Message(role=t.Role.user, parts=[], messageId="m", contextId="c")
    assert (message.message_id, message.context_id) == ("m", "c")


@pytest.mark.parametrize(
    ("model", "wire"),
    [
        (t.Message, {"kind": "task", "role": "user", "parts": [], "messageId": "m"}),
        (
            t.Task,
            {
                "kind": "message",
                "id": "t",
                "contextId": "c",
                "status": {"state": "working"},
            },
        ),
        (t.TextPart, {"kind": "data", "text": "x"}),
        (
            t.TaskStatusUpdateEvent,
            {
                "kind": "artifact-update",
                "taskId": "t",
                "contextId": "c",
                "status": {"state": "working"},
                "final": True,
            },
        ),
        (
            t.Message,
            {
                "role": "user",
                "messageId": "m",
                "parts": [{"kind": "image", "text": "x"}],
            },
        ),
        (t.Message, {"role": "user", "messageId": "m", "parts": [{"text": "x"}]}),
        (t.Message, {"role": "robot", "parts": [], "messageId": "m"}),
        (t.Message, {"role": "user", "messageId": "m"}),
        (t.TaskStatus, {"state": "done"}),
        (t.TaskStatus, {"state": "Completed"}),
        (t.Task, {"id": "t", "contextId": "c", "status": {"state": "finished"}}),
        (t.Task, {"contextId": "c", "status": {"state": "working"}}),
        (t.FilePart, {"kind": "file", "file": {}}),
        (t.FilePart, {"kind": "file", "file": {"name": "a.txt"}}),
        (t.AgentCard, {"description": "no name"}),
        (t.AgentCard, {"name": "a", "securitySchemes": {"s": {"type": "kerberos"}}}),
        (t.APIKeySecurityScheme, {"type": "apiKey", "name": "k", "in": "body"}),
        (t.DataPart, {"kind": "data", "data": [1, 2]}),
    ],
)
def test_invalid_input_is_rejected(model: type[A2ABaseModel], wire: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        model.model_validate(wire)


def test_wrong_kind_keyword_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError):
        t.TextPart.model_validate({"text": "x", "kind": "file"})
    with pytest.raises(pydantic.ValidationError):
        t.PART_ADAPTER.validate_python({"kind": "video", "uri": "u"})


def test_file_variant_is_chosen_by_content_key() -> None:
    by_uri = t.FilePart.model_validate({"kind": "file", "file": {"uri": "u"}})
    by_bytes = t.FilePart.model_validate({"kind": "file", "file": {"bytes": "aGk="}})
    assert isinstance(by_uri.file, t.FileWithUri)
    assert isinstance(by_bytes.file, t.FileWithBytes)
    both = {"kind": "file", "file": {"bytes": "aGk=", "uri": "u"}}
    inline = t.FilePart.model_validate(both)
    assert isinstance(inline.file, t.FileWithBytes)  # inline content wins
    assert inline.to_wire() == both


def test_transport_fields_accept_any_string() -> None:
    card = t.AgentCard.model_validate(
        {
            "name": "a",
            "preferredTransport": "KAFKA",
            "additionalInterfaces": [{"url": "kafka://b/t", "transport": "KAFKA"}],
        }
    )
    assert card.preferred_transport == "KAFKA"
    assert card.additional_interfaces is not None
    assert card.additional_interfaces[0].transport == "KAFKA"
    grpc = t.AgentCard(name="a", preferred_transport=t.TransportProtocol.grpc)
    assert grpc.to_wire()["preferredTransport"] == "GRPC"


# --------------------------------------------------------------------------- #
# Unions and adapters
# --------------------------------------------------------------------------- #


def test_part_adapter_dispatches_on_kind() -> None:
    assert isinstance(t.PART_ADAPTER.validate_python({"kind": "text", "text": "a"}), t.TextPart)
    assert isinstance(t.PART_ADAPTER.validate_python({"kind": "data", "data": {}}), t.DataPart)
    assert isinstance(
        t.PART_ADAPTER.validate_json(b'{"kind":"file","file":{"uri":"u"}}'), t.FilePart
    )


def test_security_scheme_adapter_dispatches_on_type() -> None:
    for scheme in (o for o in rich_objects().values() if type(o) in UNION_OF):
        if UNION_OF[type(scheme)] == "SecurityScheme":
            parsed = t.SECURITY_SCHEME_ADAPTER.validate_python(scheme.to_wire())
            assert type(parsed) is type(scheme)
            assert parsed == scheme


def test_event_adapters_dispatch_on_kind() -> None:
    rich = rich_objects()
    for label in (
        "Message",
        "Task",
        "TaskStatusUpdateEvent",
        "TaskArtifactUpdateEvent",
    ):
        event = t.STREAM_EVENT_ADAPTER.validate_json(rich[label].to_json())
        assert type(event) is type(rich[label])
        assert event == rich[label]
    for label in ("Message", "Task"):
        result = t.SEND_MESSAGE_RESULT_ADAPTER.validate_python(rich[label].to_wire())
        assert result == rich[label]
    with pytest.raises(pydantic.ValidationError):
        t.SEND_MESSAGE_RESULT_ADAPTER.validate_python(rich["TaskStatusUpdateEvent"].to_wire())


# --------------------------------------------------------------------------- #
# Conveniences
# --------------------------------------------------------------------------- #


def test_message_text_helpers() -> None:
    hi = t.Message.user_text("hi")
    assert hi.text == "hi"
    assert hi.role is t.Role.user
    reply = t.Message.agent_text("hello", context_id="c", task_id="t")
    assert (reply.role, reply.context_id, reply.task_id) == (t.Role.agent, "c", "t")
    assert reply.to_wire()["parts"] == [{"kind": "text", "text": "hello"}]


def test_text_property_joins_text_parts_only() -> None:
    parts: list[t.Part] = [
        t.TextPart(text="one"),
        t.DataPart(data={"two": 2}),
        t.TextPart(text="three"),
    ]
    assert t.Message(role=t.Role.agent, parts=parts).text == "one\nthree"
    assert t.Artifact(parts=parts).text == "one\nthree"
    assert t.Message(role=t.Role.agent, parts=[t.DataPart(data={})]).text == ""
    assert t.Artifact.from_text("out").text == "out"


def test_fresh_ids_differ_and_are_hex() -> None:
    ids = {t.Message.user_text("x").message_id for _ in range(50)}
    ids |= {t.Artifact(parts=[]).artifact_id for _ in range(50)}
    assert len(ids) == 100
    assert all(len(i) == 32 and set(i) <= set(string.hexdigits.lower()) for i in ids)
    assert t.new_id() != t.new_id()


def test_given_ids_are_kept() -> None:
    assert t.Message.user_text("x", message_id="mine").message_id == "mine"
    assert t.Artifact.from_text("x", artifact_id="a").artifact_id == "a"


def test_terminal_states() -> None:
    terminal = {t.TaskState(v) for v in ("completed", "canceled", "failed", "rejected")}
    assert terminal == t.TERMINAL_TASK_STATES
    for state in t.TaskState:
        assert state.is_terminal is (state in terminal)


def test_enums_read_and_print_as_wire_values() -> None:
    assert t.TaskState("input-required") is t.TaskState.input_required
    assert str(t.TaskState.auth_required) == "auth-required"
    assert f"{t.Role.agent}" == "agent"
    assert t.TaskState.completed == "completed"
    assert issubclass(t.TaskState, str) and issubclass(t.TaskState, enum.Enum)


def test_task_status_now_is_current_utc_iso8601() -> None:
    status = t.TaskStatus.now("working", message=t.Message.agent_text("busy"))
    assert status.state is t.TaskState.working
    assert status.timestamp is not None and status.timestamp.endswith("Z")
    stamp = datetime.fromisoformat(status.timestamp.replace("Z", "+00:00"))
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - stamp) < timedelta(seconds=5)
    assert_valid("TaskStatus", status.to_wire())


def test_agent_card_defaults_make_a_valid_card() -> None:
    card = t.AgentCard(name="Echo")
    assert card.to_wire() == {
        "name": "Echo",
        "description": "",
        "url": "",
        "version": "1.0.0",
        "protocolVersion": "0.3.0",
        "preferredTransport": "JSONRPC",
        "capabilities": {},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [],
    }
    other = t.AgentCard(name="Other")
    other.default_input_modes.append("application/json")
    assert card.default_input_modes == ["text/plain"]  # defaults are not shared


def test_message_send_params_shortcut() -> None:
    params = t.MessageSendParams(message=t.Message.user_text("hi", message_id="m"))
    assert params.to_wire() == {
        "message": {
            "kind": "message",
            "role": "user",
            "parts": [{"kind": "text", "text": "hi"}],
            "messageId": "m",
        }
    }


def test_file_with_bytes_encodes_and_decodes() -> None:
    blob = bytes(range(256))
    file = t.FileWithBytes.from_bytes(blob, mime_type="application/octet-stream")
    assert file.to_bytes() == blob
    assert t.FileWithBytes.from_json(file.to_json()).to_bytes() == blob
    assert file.bytes.isascii()


# --------------------------------------------------------------------------- #
# Property-based round trips
# --------------------------------------------------------------------------- #

if st is not None:
    _text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
    _json = st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**53), 2**53)
        | st.floats(allow_nan=False, allow_infinity=False)
        | _text,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
        max_leaves=8,
    )
    _meta = st.none() | st.dictionaries(_text, _json, max_size=3)
    _file = st.builds(
        t.FileWithBytes.from_bytes,
        st.binary(max_size=32),
        mime_type=st.none() | _text,
        name=st.none() | _text,
    ) | st.builds(t.FileWithUri, uri=_text, mime_type=st.none() | _text, name=st.none() | _text)
    _part = (
        st.builds(t.TextPart, text=_text, metadata=_meta)
        | st.builds(t.FilePart, file=_file, metadata=_meta)
        | st.builds(t.DataPart, data=st.dictionaries(_text, _json, max_size=3), metadata=_meta)
    )
    _message = st.builds(
        t.Message,
        role=st.sampled_from(t.Role),
        parts=st.lists(_part, max_size=4),
        message_id=_text,
        context_id=st.none() | _text,
        task_id=st.none() | _text,
        reference_task_ids=st.none() | st.lists(_text, max_size=2),
        extensions=st.none() | st.lists(_text, max_size=2),
        metadata=_meta,
    )

    @settings(max_examples=150, deadline=None)
    @given(_message)
    def test_message_round_trip_property(message: t.Message) -> None:
        assert_valid("Message", message.to_wire())
        assert t.Message.from_json(message.to_json()) == message
        assert t.Message.from_wire(json.loads(message.to_json())) == message
        texts = [p.text for p in message.parts if isinstance(p, t.TextPart)]
        assert message.text == "\n".join(texts)
        if sdk is not None:
            theirs = sdk.Message.model_validate_json(message.to_json())
            assert sdk_dump(theirs) == message.to_wire()

    @settings(max_examples=100, deadline=None)
    @given(_part)
    def test_part_round_trip_property(part: t.Part) -> None:
        assert_valid("Part", part.to_wire())
        assert t.PART_ADAPTER.validate_json(part.to_json()) == part

else:  # pragma: no cover - depends on the environment

    @pytest.mark.skip(reason="hypothesis is not installed")
    def test_message_round_trip_property() -> None:
        """Placeholder reported as skipped when hypothesis is missing."""
