"""Objects for the A2A v1.0 tests: hypothesis strategies of v0.3 models that have an exact v1
counterpart, and one example per method of its params and of its result.

"Exact" means the shapes the translation keeps whole: a status update's ``final`` agrees
with its state, push authentication has one scheme, OAuth flows hold one flow, a card's
``protocolVersion`` is ``X.Y.0`` of a 0.x version and it has no ``stateTransitionHistory``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

import a2a_kafka_sync.types as t
from a2a_kafka_sync.types import A2ABaseModel

TURN_ENDING = {
    t.TaskState.completed,
    t.TaskState.canceled,
    t.TaskState.failed,
    t.TaskState.rejected,
    t.TaskState.input_required,
    t.TaskState.auth_required,
}

ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
words = st.text(min_size=0, max_size=20)
urls = ids.map(lambda s: f"https://example.com/{s}")
keys = st.text("abcdefghijklmnopqrstuvwxyzABC_", min_size=1, max_size=8).filter(
    lambda k: k != "data_part_compat"
)
scalars = st.none() | st.booleans() | st.integers(-(2**31), 2**31) | words
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
structs = st.dictionaries(keys, json_values, max_size=3)
int32s = st.integers(-(2**31), 2**31 - 1)


def _rfc3339(moment: datetime, digits: int, offset: str) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}{moment.microsecond % 1000:03d}"[:digits]
    return text + offset


timestamps = st.builds(
    _rfc3339,
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 31)),
    st.sampled_from([0, 3, 6, 9]),
    st.sampled_from(["Z", "+00:00", "+05:30", "-08:00"]),
)


def build(model: type[A2ABaseModel], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``model(**fields)`` with each field drawn (by its Python name: unlike ``st.builds``,
    which reads the camelCase signature and would infer the required fields again)."""
    return st.fixed_dictionaries(fields).map(lambda values: model(**values))


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy`` or None."""
    return st.none() | strategy


text_parts = build(t.TextPart, text=words, metadata=optional(structs))
files = build(
    t.FileWithBytes,
    bytes=st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()),
    mime_type=optional(st.sampled_from(["text/plain", "image/png"])),
    name=optional(ids),
) | build(
    t.FileWithUri, uri=urls, mime_type=optional(st.just("application/pdf")), name=optional(ids)
)
file_parts = build(t.FilePart, file=files, metadata=optional(structs))
data_parts = build(t.DataPart, data=structs, metadata=optional(structs))
parts = st.one_of(text_parts, file_parts, data_parts)


def _messages(min_parts: int) -> st.SearchStrategy[Any]:
    return build(
        t.Message,
        role=st.sampled_from(t.Role),
        parts=st.lists(parts, min_size=min_parts, max_size=3),
        message_id=ids,
        context_id=optional(ids),
        task_id=optional(ids),
        reference_task_ids=optional(st.lists(ids, max_size=2)),
        extensions=optional(st.lists(urls, max_size=2)),
        metadata=optional(structs),
    )


messages = _messages(0)
request_messages = _messages(1)  # a request's message has at least one part

statuses = build(
    t.TaskStatus,
    state=st.sampled_from(t.TaskState),
    message=optional(messages),
    timestamp=optional(timestamps),
)
artifacts = build(
    t.Artifact,
    artifact_id=ids,
    parts=st.lists(parts, max_size=3),
    name=optional(words),
    description=optional(words),
    extensions=optional(st.lists(urls, max_size=2)),
    metadata=optional(structs),
)
tasks = build(
    t.Task,
    id=ids,
    context_id=ids,
    status=statuses,
    artifacts=optional(st.lists(artifacts, max_size=2)),
    history=optional(st.lists(messages, max_size=2)),
    metadata=optional(structs),
)
status_updates = st.builds(
    lambda task_id, context_id, status, metadata: t.TaskStatusUpdateEvent(
        task_id=task_id,
        context_id=context_id,
        status=status,
        final=status.state in TURN_ENDING,
        metadata=metadata,
    ),
    ids,
    ids,
    statuses,
    optional(structs),
)
artifact_updates = build(
    t.TaskArtifactUpdateEvent,
    task_id=ids,
    context_id=ids,
    artifact=artifacts,
    append=optional(st.booleans()),
    last_chunk=optional(st.booleans()),
    metadata=optional(structs),
)
auths = build(
    t.PushNotificationAuthenticationInfo,
    schemes=st.lists(st.sampled_from(["Bearer", "Basic"]), min_size=1, max_size=1),
    credentials=optional(words),
)
push_configs = build(
    t.PushNotificationConfig,
    url=urls,
    id=optional(ids),
    token=optional(words),
    authentication=optional(auths),
)
task_push_configs = build(
    t.TaskPushNotificationConfig, task_id=ids, push_notification_config=push_configs
)
send_configurations = build(
    t.MessageSendConfiguration,
    accepted_output_modes=optional(st.lists(st.just("text/plain"), max_size=2)),
    blocking=optional(st.booleans()),
    history_length=optional(st.integers(0, 2**31 - 1)),
    push_notification_config=optional(push_configs),
)
send_params = build(
    t.MessageSendParams,
    message=request_messages,
    configuration=optional(send_configurations),
    metadata=optional(structs),
)
list_params = build(
    t.ListTasksParams,
    context_id=optional(ids),
    status=optional(st.sampled_from([s for s in t.TaskState if s is not t.TaskState.unknown])),
    page_size=optional(st.integers(1, 100)),
    page_token=optional(ids),
    history_length=optional(st.integers(0, 50)),
    status_timestamp_after=optional(timestamps),
    include_artifacts=optional(st.booleans()),
)
task_pages = build(
    t.TaskPage,
    tasks=st.lists(tasks, max_size=2),
    next_page_token=ids | st.just(""),
    page_size=st.integers(0, 100),
    total_size=st.integers(0, 1000),
)

scopes = st.dictionaries(keys, words, max_size=2)
flows = st.one_of(
    st.just(t.OAuthFlows()),
    st.builds(
        lambda a, b, r, s: t.OAuthFlows(
            authorization_code=t.AuthorizationCodeOAuthFlow(
                authorization_url=a, token_url=b, refresh_url=r, scopes=s
            )
        ),
        urls,
        urls,
        optional(urls),
        scopes,
    ),
    st.builds(
        lambda b, r, s: t.OAuthFlows(
            client_credentials=t.ClientCredentialsOAuthFlow(token_url=b, refresh_url=r, scopes=s)
        ),
        urls,
        optional(urls),
        scopes,
    ),
    st.builds(
        lambda a, s: t.OAuthFlows(implicit=t.ImplicitOAuthFlow(authorization_url=a, scopes=s)),
        urls,
        scopes,
    ),
    st.builds(
        lambda b, s: t.OAuthFlows(password=t.PasswordOAuthFlow(token_url=b, scopes=s)),
        urls,
        scopes,
    ),
)
schemes = st.one_of(
    st.builds(
        lambda n, i, d: t.APIKeySecurityScheme.model_validate(
            {"name": n, "in": i, "description": d}
        ),
        ids,
        st.sampled_from(["cookie", "header", "query"]),
        optional(words),
    ),
    build(
        t.HTTPAuthSecurityScheme,
        scheme=st.sampled_from(["Bearer", "Basic"]),
        bearer_format=optional(st.just("JWT")),
        description=optional(words),
    ),
    build(
        t.OAuth2SecurityScheme,
        flows=flows,
        oauth2_metadata_url=optional(urls),
        description=optional(words),
    ),
    build(t.OpenIdConnectSecurityScheme, open_id_connect_url=urls, description=optional(words)),
    build(t.MutualTLSSecurityScheme, description=optional(words)),
)
requirements = st.lists(st.dictionaries(ids, st.lists(ids, max_size=2), max_size=2), max_size=2)
skills = build(
    t.AgentSkill,
    id=ids,
    name=words,
    description=words,
    tags=st.lists(ids, max_size=3),
    examples=optional(st.lists(words, max_size=2)),
    input_modes=optional(st.lists(st.just("text/plain"), max_size=1)),
    output_modes=optional(st.lists(st.just("application/json"), max_size=1)),
    security=optional(requirements),
)
extensions = build(
    t.AgentExtension,
    uri=urls,
    description=optional(words),
    required=optional(st.booleans()),
    params=optional(structs),
)
capabilities = build(
    t.AgentCapabilities,
    streaming=optional(st.booleans()),
    push_notifications=optional(st.booleans()),
    extensions=optional(st.lists(extensions, max_size=2)),
)
transports = st.sampled_from(["JSONRPC", "GRPC", "HTTP+JSON", "KAFKA"])
cards = build(
    t.AgentCard,
    name=words,
    description=words,
    url=urls,
    version=st.sampled_from(["1.0.0", "2.3"]),
    protocol_version=st.sampled_from(["0.3.0", "0.2.0"]),
    preferred_transport=transports,
    capabilities=capabilities,
    default_input_modes=st.lists(st.just("text/plain"), max_size=2),
    default_output_modes=st.lists(st.just("text/plain"), max_size=2),
    skills=st.lists(skills, max_size=2),
    additional_interfaces=optional(
        # v1 has one list of interfaces: an empty additionalInterfaces reads back as absent
        st.lists(build(t.AgentInterface, url=urls, transport=transports), min_size=1, max_size=2)
    ),
    provider=optional(build(t.AgentProvider, organization=words, url=urls)),
    documentation_url=optional(urls),
    icon_url=optional(urls),
    security_schemes=optional(st.dictionaries(ids, schemes, max_size=2)),
    security=optional(requirements),
    signatures=optional(
        st.lists(
            build(t.AgentCardSignature, protected=ids, signature=ids, header=optional(structs)),
            max_size=1,
        )
    ),
    supports_authenticated_extended_card=optional(st.booleans()),
)

# Every v1 object the translation emits, by the v0.3 model it comes from.
MODELS: dict[str, st.SearchStrategy[Any]] = {
    "TextPart": text_parts,
    "FilePart": file_parts,
    "DataPart": data_parts,
    "Message": messages,
    "TaskStatus": statuses,
    "Artifact": artifacts,
    "Task": tasks,
    "TaskStatusUpdateEvent": status_updates,
    "TaskArtifactUpdateEvent": artifact_updates,
    "PushNotificationAuthenticationInfo": auths,
    "PushNotificationConfig": push_configs,
    "TaskPushNotificationConfig": task_push_configs,
    "MessageSendConfiguration": send_configurations,
    "MessageSendParams": send_params,
    "ListTasksParams": list_params,
    "TaskPage": task_pages,
    "AgentCard": cards,
    "AgentSkill": skills,
    "AgentCapabilities": capabilities,
    "AgentExtension": extensions,
    "OAuthFlows": flows,
    "SecurityScheme": schemes,
}


def v1_name(model: A2ABaseModel) -> str:
    """The name of the proto message ``to_v1(model)`` is."""
    name = type(model).__name__
    return {
        "TextPart": "Part",
        "FilePart": "Part",
        "DataPart": "Part",
        "PushNotificationAuthenticationInfo": "AuthenticationInfo",
        "PushNotificationConfig": "TaskPushNotificationConfig",
        "MessageSendConfiguration": "SendMessageConfiguration",
        "MessageSendParams": "SendMessageRequest",
        "ListTasksParams": "ListTasksRequest",
        "TaskPage": "ListTasksResponse",
        "ProtocolInterface": "AgentInterface",
    }.get(name, "SecurityScheme" if name.endswith("SecurityScheme") else name)


# -- one example per method: (canonical method, streaming, params, results) --------------------

_TASK = t.Task(
    id="task-1",
    context_id="ctx-1",
    status=t.TaskStatus(state=t.TaskState.working, timestamp="2026-11-26T10:00:00Z"),
    history=[t.Message.user_text("hi", message_id="m-1", context_id="ctx-1")],
)
_PUSH = t.TaskPushNotificationConfig(
    task_id="task-1",
    push_notification_config=t.PushNotificationConfig(
        url="https://client.example.com/hook", id="p-1", token="tok"
    ),
)
_EVENTS: list[Any] = [
    _TASK,
    t.TaskArtifactUpdateEvent(
        task_id="task-1",
        context_id="ctx-1",
        artifact=t.Artifact.from_text("out", artifact_id="a-1"),
        append=False,
        last_chunk=True,
    ),
    t.TaskStatusUpdateEvent(
        task_id="task-1",
        context_id="ctx-1",
        status=t.TaskStatus(state=t.TaskState.completed),
        final=True,
    ),
]
CARD = t.AgentCard(name="Echo", url="kafka://broker:9092/echo", preferred_transport="KAFKA")

METHOD_EXAMPLES: list[tuple[str, bool, A2ABaseModel, list[Any]]] = [
    (
        "message_send",
        False,
        t.MessageSendParams(message=t.Message.user_text("hi", message_id="m-1")),
        [_TASK, t.Message.agent_text("hello", message_id="m-2")],
    ),
    (
        "message_send",
        True,
        t.MessageSendParams(message=t.Message.user_text("hi", message_id="m-1")),
        [*_EVENTS, t.Message.agent_text("hello", message_id="m-2")],
    ),
    ("task_get", False, t.TaskQueryParams(id="task-1", history_length=1), [_TASK]),
    ("task_cancel", False, t.TaskIdParams(id="task-1", metadata={"why": "test"}), [_TASK]),
    ("task_resubscribe", True, t.TaskIdParams(id="task-1"), _EVENTS),
    (
        "task_list",
        False,
        t.ListTasksParams(context_id="ctx-1", status=t.TaskState.working, page_size=10),
        [t.TaskPage(tasks=[_TASK], next_page_token="n", page_size=10, total_size=11)],
    ),
    ("task_push_notification_config_set", False, _PUSH, [_PUSH]),
    (
        "task_push_notification_config_get",
        False,
        t.GetTaskPushNotificationConfigParams(id="task-1", push_notification_config_id="p-1"),
        [_PUSH],
    ),
    (
        "task_push_notification_config_list",
        False,
        t.ListTaskPushNotificationConfigParams(id="task-1"),
        [[_PUSH, _PUSH]],
    ),
    (
        "task_push_notification_config_delete",
        False,
        t.DeleteTaskPushNotificationConfigParams(id="task-1", push_notification_config_id="p-1"),
        ["success"],
    ),
    ("agent_card_get", False, A2ABaseModel(), [CARD]),
]
