"""Request records <-> models: the methods a server answers, and their requests.

A request record's value is ``{"method", "params", "streaming", "agent_card"}`` with
``correlation_id`` and ``reply_topic`` headers (``docs/wire.md``). A 1.0 request (its
``a2a_version`` header says so) carries a v1.0 method name and request object instead,
translated by ``v1`` here, so that everything past the edge sees the same models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from ..errors import InvalidParamsError, InvalidRequestError, JSONParseError, MethodNotFoundError
from ..types import (
    AgentCard,
    DeleteTaskPushNotificationConfigParams,
    GetTaskPushNotificationConfigParams,
    ListTaskPushNotificationConfigParams,
    ListTasksParams,
    MessageSendParams,
    TaskIdParams,
    TaskPushNotificationConfig,
    TaskQueryParams,
)
from ..types._base import A2ABaseModel
from ..v1 import V1_METHODS, request_from_v1, request_to_v1, v1_method_name
from ._validation import errors_of, summarise
from .headers import HEADER_A2A_VERSION, RequestHeaders
from .versions import V0_3, V1_0, version_of

__all__ = [
    "METHODS",
    "MethodSpec",
    "Request",
    "decode_request",
    "encode_request",
    "resolve_any_method",
    "resolve_method",
]


@dataclass(frozen=True)
class MethodSpec:
    """One method of the wire: its name, its params model and whether it streams.

    ``streaming`` is ``"never"``, ``"optional"`` (the request's ``streaming`` flag
    decides) or ``"always"``.
    """

    name: str
    params: type[A2ABaseModel]
    streaming: Literal["never", "optional", "always"] = "never"


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec("message_send", MessageSendParams, "optional"),
        MethodSpec("task_get", TaskQueryParams),
        MethodSpec("task_cancel", TaskIdParams),
        MethodSpec("task_resubscribe", TaskIdParams, "always"),
        MethodSpec("task_list", ListTasksParams),
        MethodSpec("task_push_notification_config_set", TaskPushNotificationConfig),
        MethodSpec("task_push_notification_config_get", GetTaskPushNotificationConfigParams),
        MethodSpec("task_push_notification_config_list", ListTaskPushNotificationConfigParams),
        MethodSpec("task_push_notification_config_delete", DeleteTaskPushNotificationConfigParams),
        MethodSpec("agent_card_get", A2ABaseModel),
    )
}
"""The methods a server answers, by their canonical (the seed's) names."""

# A2A JSON-RPC names accepted as aliases: alias -> (canonical name, forces streaming).
_ALIASES: dict[str, tuple[str, bool]] = {
    "message/send": ("message_send", False),
    "message/stream": ("message_send", True),
    "tasks/get": ("task_get", False),
    "tasks/cancel": ("task_cancel", False),
    "tasks/resubscribe": ("task_resubscribe", True),
    "tasks/pushNotificationConfig/set": ("task_push_notification_config_set", False),
    "tasks/pushNotificationConfig/get": ("task_push_notification_config_get", False),
    "tasks/pushNotificationConfig/list": ("task_push_notification_config_list", False),
    "tasks/pushNotificationConfig/delete": ("task_push_notification_config_delete", False),
    "agent/getAuthenticatedExtendedCard": ("agent_card_get", False),
}


def resolve_method(name: str) -> tuple[MethodSpec, bool]:
    """The spec of a method name or alias, and whether the alias itself asks for a stream."""
    if name in METHODS:
        return METHODS[name], False
    if name in _ALIASES:
        canonical, streams = _ALIASES[name]
        return METHODS[canonical], streams
    raise MethodNotFoundError(f"method not found: {name[:100]!r}")


def resolve_any_method(name: str) -> tuple[str, bool, str]:
    """A method name of either A2A version as (canonical name, whether it streams, version).

    A v1.0 name (``SendMessage``, ``SendStreamingMessage``, ``GetTask`` ...) is a 1.0
    request; a v0.3 A2A JSON-RPC name (``message/send``, ``message/stream``, ``tasks/get``
    ...) or a canonical (the seed's) name (``message_send``, ``task_get`` ...) a 0.3 one.
    Only the names that always stream (``message/stream``, ``SendStreamingMessage``,
    ``tasks/resubscribe``, ``SubscribeToTask``, ``task_resubscribe``) stream. Raises
    MethodNotFoundError (-32601) for any other name.
    """
    if name in V1_METHODS:
        canonical, streams = V1_METHODS[name]
        return canonical, streams, V1_0
    try:
        spec, alias_streams = resolve_method(name)
    except MethodNotFoundError:
        raise MethodNotFoundError(
            f"method not found in A2A 0.3 or 1.0: {name[:100]!r}", data={"method": name[:100]}
        ) from None
    return spec.name, alias_streams or spec.streaming == "always", V0_3


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded request: the method, its validated params, whether to stream, and routing."""

    method: MethodSpec
    params: A2ABaseModel
    streaming: bool
    headers: RequestHeaders
    caller_card: dict[str, Any] | None = None
    version: str = V0_3


def encode_request(
    method: str,
    params: A2ABaseModel | Mapping[str, Any],
    headers: RequestHeaders,
    *,
    streaming: bool = False,
    caller_card: AgentCard | None = None,
    version: str = V0_3,
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers of a request record, in A2A ``version`` (0.3 or 1.0).

    ``method`` is the canonical (the seed's) name; a 1.0 request carries the v1.0
    method name and request object instead, and the ``a2a_version`` header. ``params``
    is the params model, or a mapping sent as it is: the A2A JSON of the request's
    version (a raw call's; raises TypeError when it is not JSON).
    """
    if version == V1_0:
        if isinstance(params, A2ABaseModel):
            v1_method, v1_params = request_to_v1(method, params, streaming)
        else:
            v1_method, v1_params = v1_method_name(method, streaming), json.loads(_raw_json(params))
        body: dict[str, Any] = {"method": v1_method, "params": v1_params}
        if caller_card is not None:
            body["agent_card"] = caller_card.to_wire()
        record_headers = headers.to_kafka()
        if headers.a2a_version is None:
            record_headers.append((HEADER_A2A_VERSION, V1_0.encode()))
        return json.dumps(body, separators=(",", ":")).encode(), record_headers
    params_json = params.to_json() if isinstance(params, A2ABaseModel) else _raw_json(params)
    parts = [
        b'{"method":',
        json.dumps(method).encode(),
        b',"params":',
        params_json,
        b',"streaming":',
        b"true" if streaming else b"false",
    ]
    if caller_card is not None:
        parts += [b',"agent_card":', caller_card.to_json()]
    parts.append(b"}")
    return b"".join(parts), headers.to_kafka()


def _raw_json(params: Mapping[str, Any]) -> bytes:
    """The JSON of a raw call's params; TypeError for what is not a JSON object."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict (a JSON object), not {type(params).__name__}")
    try:
        return json.dumps(params, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"params must be JSON: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_request(value: bytes | None, headers: RequestHeaders) -> Request:
    """Decode a request record's value; raises the A2AError to answer it with."""
    if not value:
        raise InvalidRequestError("empty request record")
    try:
        # UTF-8 only (json.loads on bytes would also take UTF-16/32 and lone surrogates),
        # and no NaN/Infinity, which are not JSON.
        body = json.loads(value.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise JSONParseError(f"request is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidRequestError("request JSON is nested too deeply") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("request must be a JSON object")
    method_name = body.get("method")
    if not isinstance(method_name, str) or not method_name:
        raise InvalidRequestError("request has no 'method' string")
    version = version_of(headers.a2a_version)
    caller_card = body.get("agent_card")
    caller_card = caller_card if isinstance(caller_card, dict) else None
    if version == V1_0:
        return _decode_v1_request(method_name, body.get("params"), headers, caller_card)
    spec, alias_streams = resolve_method(method_name)
    streaming = body.get("streaming")
    if streaming is None:  # absent or null: an optional field
        streaming = False
    if not isinstance(streaming, bool):
        raise InvalidRequestError("'streaming' must be true or false")
    if spec.streaming == "always" or alias_streams:
        streaming = True
    elif spec.streaming == "never":
        streaming = False
    raw_params = body.get("params")
    if raw_params is None:
        raw_params = {}
    if not isinstance(raw_params, dict):
        raise InvalidParamsError(f"params of {spec.name} must be a JSON object")
    try:
        params = spec.params.from_request(raw_params)
    except ValidationError as exc:
        first, _ = errors_of(exc, "params")[0]
        raise InvalidParamsError(
            f"invalid params for {spec.name}: {summarise(exc, root='params')}",
            data={"field": first},
        ) from None
    except RecursionError:
        raise InvalidParamsError(f"params of {spec.name} are nested too deeply") from None
    return Request(
        method=spec, params=params, streaming=streaming, headers=headers, caller_card=caller_card
    )


def _decode_v1_request(
    method_name: str, raw_params: Any, headers: RequestHeaders, caller_card: dict[str, Any] | None
) -> Request:
    """A 1.0 request: a v1.0 method name and request object, translated to the model."""
    if method_name not in V1_METHODS:
        raise MethodNotFoundError(f"method not found in A2A 1.0: {method_name[:100]!r}")
    if raw_params is None:
        raw_params = {}
    if not isinstance(raw_params, dict):
        raise InvalidParamsError(f"params of {method_name} must be a JSON object")
    try:
        canonical, params, streaming = request_from_v1(method_name, raw_params)
    except RecursionError:
        raise InvalidParamsError(f"params of {method_name} are nested too deeply") from None
    if isinstance(params, ListTasksParams) and params.include_artifacts is None:
        params = params.model_copy(update={"include_artifacts": False})  # 1.0's default
    return Request(
        method=METHODS[canonical],
        params=params,
        streaming=streaming,
        headers=headers,
        caller_card=caller_card,
        version=V1_0,
    )
