"""The A2A v1.0 methods and their request messages <-> our canonical methods and params.

v1 requests may carry a ``tenant``; we keep it as the extra field ``tenant`` of the params
model (so a handler can read it from ``params.model_extra``) and send it back from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import MethodNotFoundError
from ..types import (
    A2ABaseModel,
    DeleteTaskPushNotificationConfigParams,
    GetTaskPushNotificationConfigParams,
    ListTaskPushNotificationConfigParams,
    ListTasksParams,
    MessageSendConfiguration,
    MessageSendParams,
    TaskIdParams,
    TaskPushNotificationConfig,
    TaskQueryParams,
    TaskState,
)
from ._json import V1Object, check_int32, check_timestamp, extra, put
from .content import STATE_FROM_V1, STATE_TO_V1, TASK_STATES, message_from_v1, message_to_v1
from .push import (
    push_config_from_v1,
    push_config_to_v1,
    task_push_config_from_v1,
    task_push_config_to_v1,
)

V1_METHODS: dict[str, tuple[str, bool]] = {
    "SendMessage": ("message_send", False),
    "SendStreamingMessage": ("message_send", True),
    "GetTask": ("task_get", False),
    "ListTasks": ("task_list", False),
    "CancelTask": ("task_cancel", False),
    "SubscribeToTask": ("task_resubscribe", True),
    "CreateTaskPushNotificationConfig": ("task_push_notification_config_set", False),
    "GetTaskPushNotificationConfig": ("task_push_notification_config_get", False),
    "ListTaskPushNotificationConfigs": ("task_push_notification_config_list", False),
    "DeleteTaskPushNotificationConfig": ("task_push_notification_config_delete", False),
    "GetExtendedAgentCard": ("agent_card_get", False),
}
"""v1 method name -> (canonical wire method, whether it streams)."""

_V1_NAMES: dict[tuple[str, bool], str] = {value: name for name, value in V1_METHODS.items()}


def v1_method_name(method: str, streaming: bool) -> str:
    """The v1 name of a canonical method; ``streaming`` matters only for ``message_send``.

    As on the wire, a method that always (``task_resubscribe``) or never streams ignores
    the flag. Raises MethodNotFoundError for a name that is not canonical.
    """
    for key in ((method, streaming), (method, not streaming)):
        if key in _V1_NAMES:
            return _V1_NAMES[key]
    raise MethodNotFoundError(f"no A2A v1.0 method for {method[:100]!r}")


def _with_tenant(out: dict[str, Any], params: A2ABaseModel) -> dict[str, Any]:
    tenant = extra(params, "tenant")
    if tenant is not None:
        if not isinstance(tenant, str):
            raise ValueError(f"tenant must be a string, not {type(tenant).__name__}")
        out = {"tenant": tenant, **out}
    return out


def _tenant(obj: V1Object) -> dict[str, Any]:
    tenant = obj.text("tenant")
    return {} if tenant is None else {"tenant": tenant}


def configuration_to_v1(config: MessageSendConfiguration) -> dict[str, Any]:
    """v0.3 MessageSendConfiguration as v1's SendMessageConfiguration.

    ``blocking`` is v1's ``returnImmediately`` inverted; left unset when unset.
    """
    out: dict[str, Any] = {}
    put(out, "acceptedOutputModes", config.accepted_output_modes)
    if config.push_notification_config is not None:
        out["taskPushNotificationConfig"] = push_config_to_v1(config.push_notification_config)
    if config.history_length is not None:
        out["historyLength"] = check_int32(config.history_length, "historyLength")
    if config.blocking is not None:
        out["returnImmediately"] = not config.blocking
    return out


def configuration_from_v1(obj: V1Object) -> MessageSendConfiguration:
    """v1 SendMessageConfiguration as ours."""
    push = obj.obj("taskPushNotificationConfig")
    immediately = obj.flag("returnImmediately")
    return MessageSendConfiguration(
        accepted_output_modes=obj.texts("acceptedOutputModes"),
        push_notification_config=push_config_from_v1(push) if push else None,
        history_length=obj.int32("historyLength", minimum=0),
        blocking=None if immediately is None else not immediately,
    )


def send_params_to_v1(params: MessageSendParams) -> dict[str, Any]:
    """MessageSendParams as a v1 ``SendMessageRequest``."""
    out: dict[str, Any] = {"message": message_to_v1(params.message)}
    if params.configuration is not None:
        out["configuration"] = configuration_to_v1(params.configuration)
    put(out, "metadata", params.metadata)
    return _with_tenant(out, params)


def send_params_from_v1(obj: V1Object) -> MessageSendParams:
    """A v1 ``SendMessageRequest`` as MessageSendParams."""
    config = obj.obj("configuration")
    return MessageSendParams(
        message=message_from_v1(obj.req_obj("message")),
        configuration=configuration_from_v1(config) if config else None,
        metadata=obj.struct("metadata"),
        **_tenant(obj),
    )


def list_params_to_v1(params: A2ABaseModel) -> dict[str, Any]:
    """ListTasksParams (or a bare params model with the same fields) as ``ListTasksRequest``."""
    if not isinstance(params, ListTasksParams):
        params = ListTasksParams.model_validate(params.to_wire())
    out: dict[str, Any] = {}
    put(out, "contextId", params.context_id)
    if params.status is not None:
        if params.status is TaskState.unknown:
            raise ValueError("ListTasks cannot filter on 'unknown': v1 reads it as no filter")
        out["status"] = STATE_TO_V1[params.status]
    if params.page_size is not None:
        out["pageSize"] = check_int32(params.page_size, "pageSize")
    put(out, "pageToken", params.page_token)
    if params.history_length is not None:
        out["historyLength"] = check_int32(params.history_length, "historyLength")
    if params.status_timestamp_after is not None:
        out["statusTimestampAfter"] = check_timestamp(
            params.status_timestamp_after, "statusTimestampAfter"
        )
    put(out, "includeArtifacts", params.include_artifacts)
    return _with_tenant(out, params)


def list_params_from_v1(obj: V1Object) -> ListTasksParams:
    """A v1 ``ListTasksRequest``; ``TASK_STATE_UNSPECIFIED`` is no status filter."""
    status = obj.enum("status", TASK_STATES, "TaskState")
    return ListTasksParams(
        context_id=obj.text("contextId"),
        status=None if status in (None, "TASK_STATE_UNSPECIFIED") else STATE_FROM_V1[status],
        page_size=obj.int32("pageSize", minimum=1),
        page_token=obj.text("pageToken"),
        history_length=obj.int32("historyLength", minimum=0),
        status_timestamp_after=obj.timestamp("statusTimestampAfter"),
        include_artifacts=obj.flag("includeArtifacts"),
        **_tenant(obj),
    )


def _config_id(params: GetTaskPushNotificationConfigParams) -> str:
    if params.push_notification_config_id is None:
        raise ValueError(
            "GetTaskPushNotificationConfig needs the config id (pushNotificationConfigId): "
            "v1 has no 'the first config of the task'"
        )
    return params.push_notification_config_id


def _params_to_v1(method: str, params: Any) -> dict[str, Any]:
    """The v1 request message of a canonical method's params."""
    if method == "message_send":
        return send_params_to_v1(params)
    if method == "task_get":
        out: dict[str, Any] = {"id": params.id}
        if params.history_length is not None:
            out["historyLength"] = check_int32(params.history_length, "historyLength")
    elif method == "task_cancel":
        out = {"id": params.id}
        put(out, "metadata", params.metadata)
    elif method == "task_resubscribe":
        out = {"id": params.id}
    elif method == "task_list":
        return list_params_to_v1(params)
    elif method == "task_push_notification_config_set":
        return task_push_config_to_v1(params)
    elif method == "task_push_notification_config_get":
        out = {"taskId": params.id, "id": _config_id(params)}
    elif method == "task_push_notification_config_list":
        out = {"taskId": params.id}
        if (size := extra(params, "pageSize")) is not None:
            out["pageSize"] = check_int32(int(size), "pageSize")
        put(out, "pageToken", extra(params, "pageToken"))
    elif method == "task_push_notification_config_delete":
        out = {"taskId": params.id, "id": params.push_notification_config_id}
    else:  # agent_card_get
        out = {}
    return _with_tenant(out, params)


_PARAMS: dict[str, type[A2ABaseModel]] = {
    "message_send": MessageSendParams,
    "task_get": TaskQueryParams,
    "task_cancel": TaskIdParams,
    "task_resubscribe": TaskIdParams,
    "task_list": A2ABaseModel,
    "task_push_notification_config_set": TaskPushNotificationConfig,
    "task_push_notification_config_get": GetTaskPushNotificationConfigParams,
    "task_push_notification_config_list": ListTaskPushNotificationConfigParams,
    "task_push_notification_config_delete": DeleteTaskPushNotificationConfigParams,
    "agent_card_get": A2ABaseModel,
}


def request_to_v1(method: str, params: A2ABaseModel, streaming: bool) -> tuple[str, dict[str, Any]]:
    """A canonical method and its params as (v1 method name, v1 request JSON).

    Raises MethodNotFoundError for an unknown method, TypeError for params of the wrong
    model, ValueError for a value v1 cannot carry.
    """
    name = v1_method_name(method, streaming)
    expected = _PARAMS[method]
    if not isinstance(params, expected):
        raise TypeError(f"{method} takes {expected.__name__}, not {type(params).__name__}")
    return name, _params_to_v1(method, params)


def request_from_v1(v1_method: str, params: Mapping[str, Any]) -> tuple[str, A2ABaseModel, bool]:
    """A v1 request as (canonical method, our params model, streaming).

    Raises MethodNotFoundError for an unknown v1 method and InvalidParamsError for params
    that are not its request message.
    """
    if v1_method not in V1_METHODS:
        raise MethodNotFoundError(f"method not found: {v1_method[:100]!r}")
    method, streaming = V1_METHODS[v1_method]
    obj = V1Object(params, "params", request=True)
    model: A2ABaseModel
    if method == "message_send":
        model = send_params_from_v1(obj)
    elif method == "task_get":
        model = TaskQueryParams(
            id=obj.req_text("id"),
            history_length=obj.int32("historyLength", minimum=0),
            **_tenant(obj),
        )
    elif method == "task_cancel":
        model = TaskIdParams(id=obj.req_text("id"), metadata=obj.struct("metadata"), **_tenant(obj))
    elif method == "task_resubscribe":
        model = TaskIdParams(id=obj.req_text("id"), **_tenant(obj))
    elif method == "task_list":
        model = list_params_from_v1(obj)
    elif method == "task_push_notification_config_set":
        model = task_push_config_from_v1(obj)
    elif method == "task_push_notification_config_get":
        model = GetTaskPushNotificationConfigParams(
            id=obj.req_text("taskId"),
            push_notification_config_id=obj.req_text("id"),
            **_tenant(obj),
        )
    elif method == "task_push_notification_config_list":
        paging = {"pageSize": obj.int32("pageSize", minimum=0), "pageToken": obj.text("pageToken")}
        model = ListTaskPushNotificationConfigParams(
            id=obj.req_text("taskId"),
            **{k: v for k, v in paging.items() if v is not None},
            **_tenant(obj),
        )
    elif method == "task_push_notification_config_delete":
        model = DeleteTaskPushNotificationConfigParams(
            id=obj.req_text("taskId"),
            push_notification_config_id=obj.req_text("id"),
            **_tenant(obj),
        )
    else:
        model = A2ABaseModel(**_tenant(obj))
    return method, model, streaming
