"""The Kafka ``ClientTransport`` of a2a-sdk 1.x (imported only with a2a-sdk 1.x installed).

a2a-sdk 1.x speaks A2A v1.0 in protobuf messages, and so does this transport, end to
end: each request is written as v1.0 JSON (protobuf's JSON mapping,
``json_format.MessageToDict``) and sent by its v1.0 method name with the blocking
client's raw calls (``raw_call`` / ``raw_stream``, ``docs/raw_calls.md``), and each
v1.0 JSON result is read back into its protobuf response (``json_format.ParseDict``).
No v0.3 step in between, so every v1.0 field travels: ``tenant``, ``ListTasks`` paging
and filters, ``historyLength``, metadata. The module type-checks against either line:
a2a-sdk 1.x's names are looked up at import time and typed ``Any``.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any

from ...client.credentials import CallCredentials
from ...client.timeouts import USE_CLIENT_DEFAULT
from .client import KafkaBridge, call_timeout

__all__ = ["KafkaTransport1", "call_options", "parse_result"]

_base: Any = importlib.import_module("a2a.client.transports.base")
_pb: Any = importlib.import_module("a2a.types.a2a_pb2")
_json_format: Any = importlib.import_module("google.protobuf.json_format")
_Empty: Any = importlib.import_module("google.protobuf.empty_pb2").Empty
_client_errors: Any = importlib.import_module("a2a.client.errors")
_EXTENSIONS_HEADER: str = importlib.import_module("a2a.extensions.common").HTTP_EXTENSION_HEADER
_AUTHORIZATION = "authorization"


def call_options(context: Any, api_key_headers: Iterable[str] = ()) -> dict[str, Any]:
    """The ``timeout``, ``credentials`` and ``extensions`` of one raw call, from an a2a-sdk
    ``ClientCallContext`` (None: the client's defaults).

    Its ``service_parameters`` are what a2a-sdk's HTTP transports send as HTTP headers
    (names compared without case): ``Authorization`` (a bearer token, as a2a-sdk's
    ``AuthInterceptor`` sets it) or, failing that, the header of one of the card's API
    key schemes (``api_key_headers``) becomes the call's ``credentials`` (the
    ``authorization`` record header); ``A2A-Extensions`` (comma separated URIs, as
    ``with_a2a_extensions`` sets it) is added to the client's ``extensions``. Other
    service parameters have no place on the Kafka binding and are not sent.
    """
    parameters: Mapping[str, str] = getattr(context, "service_parameters", None) or {}
    lowered = {name.lower(): value for name, value in parameters.items()}
    credentials: CallCredentials = USE_CLIENT_DEFAULT
    for name in (_AUTHORIZATION, *(h.lower() for h in api_key_headers)):
        if lowered.get(name):
            credentials = lowered[name]
            break
    extensions = lowered.get(_EXTENSIONS_HEADER.lower(), "")
    return {
        "timeout": call_timeout(context),
        "credentials": credentials,
        "extensions": [uri.strip() for uri in extensions.split(",") if uri.strip()],
    }


def parse_result(result: Any, response: Any) -> Any:
    """A v1.0 JSON result read into the protobuf message class ``response``; strictly (an
    unknown field is an error): what does not parse is raised as a2a-sdk's
    ``A2AClientError``, as its HTTP transports raise a body they cannot read."""
    try:
        return _json_format.ParseDict(result or {}, response())
    except _json_format.ParseError as exc:
        name = response.DESCRIPTOR.name
        raise _client_errors.A2AClientError(f"the agent's result is not a {name}: {exc}") from exc


def _api_key_headers(card: Any) -> list[str]:
    """The header names of the card's API key security schemes."""
    headers = []
    for scheme in card.security_schemes.values():
        if scheme.HasField("api_key_security_scheme"):
            api_key = scheme.api_key_security_scheme
            if api_key.location.lower() == "header" and api_key.name:
                headers.append(api_key.name)
    return headers


class KafkaTransport1(_base.ClientTransport):  # type: ignore[misc]
    """a2a-sdk 1.x's ``ClientTransport`` over Kafka: v1.0 raw calls of the blocking client,
    in threads.

    ``card`` is the a2a-sdk (protobuf) card the factory chose this transport from. A
    ``ClientCallContext`` gives the call its ``timeout`` (else the client's), and its
    service parameters its credentials and extensions (:func:`call_options`). Errors
    are raised as a2a-sdk 1.x's transports raise them: the ``a2a.utils.errors`` class
    of the agent's code, ``A2AClientTimeoutError``, ``A2AClientError``.
    """

    def __init__(self, bridge: KafkaBridge, card: Any) -> None:
        self.bridge = bridge
        self.card = card

    async def _call(self, method: str, request: Any, context: Any, response: Any) -> Any:
        """``method`` with ``request`` as its v1.0 params; the result parsed as ``response``."""
        result = await self.bridge.call(
            self.bridge.client.raw_call,
            method,
            _json_format.MessageToDict(request),
            **call_options(context, _api_key_headers(self.card)),
        )
        return parse_result(result, response)

    async def _stream(self, method: str, request: Any, context: Any) -> AsyncGenerator[Any]:
        """The StreamResponses of the streaming ``method``, parsed as they arrive."""
        stream = self.bridge.stream(
            self.bridge.client.raw_stream,
            method,
            _json_format.MessageToDict(request),
            **call_options(context, _api_key_headers(self.card)),
        )
        async for event in stream:
            yield parse_result(event, _pb.StreamResponse)

    async def send_message(self, request: Any, *, context: Any = None) -> Any:
        """``SendMessage``: a SendMessageResponse holding the Task or the Message."""
        return await self._call("SendMessage", request, context, _pb.SendMessageResponse)

    async def send_message_streaming(
        self, request: Any, *, context: Any = None
    ) -> AsyncGenerator[Any]:
        """``SendStreamingMessage``: StreamResponses, as they arrive."""
        async for event in self._stream("SendStreamingMessage", request, context):
            yield event

    async def get_task(self, request: Any, *, context: Any = None) -> Any:
        """``GetTask``."""
        return await self._call("GetTask", request, context, _pb.Task)

    async def list_tasks(self, request: Any, *, context: Any = None) -> Any:
        """``ListTasks``: one page (``pageSize``, ``pageToken``, the filters) of the tasks."""
        return await self._call("ListTasks", request, context, _pb.ListTasksResponse)

    async def cancel_task(self, request: Any, *, context: Any = None) -> Any:
        """``CancelTask``."""
        return await self._call("CancelTask", request, context, _pb.Task)

    async def create_task_push_notification_config(
        self, request: Any, *, context: Any = None
    ) -> Any:
        """``CreateTaskPushNotificationConfig``."""
        return await self._call(
            "CreateTaskPushNotificationConfig", request, context, _pb.TaskPushNotificationConfig
        )

    async def get_task_push_notification_config(self, request: Any, *, context: Any = None) -> Any:
        """``GetTaskPushNotificationConfig``."""
        return await self._call(
            "GetTaskPushNotificationConfig", request, context, _pb.TaskPushNotificationConfig
        )

    async def list_task_push_notification_configs(
        self, request: Any, *, context: Any = None
    ) -> Any:
        """``ListTaskPushNotificationConfigs``."""
        return await self._call(
            "ListTaskPushNotificationConfigs",
            request,
            context,
            _pb.ListTaskPushNotificationConfigsResponse,
        )

    async def delete_task_push_notification_config(
        self, request: Any, *, context: Any = None
    ) -> None:
        """``DeleteTaskPushNotificationConfig``."""
        await self._call("DeleteTaskPushNotificationConfig", request, context, _Empty)

    async def subscribe(self, request: Any, *, context: Any = None) -> AsyncGenerator[Any]:
        """``SubscribeToTask``: the task, then its events."""
        async for event in self._stream("SubscribeToTask", request, context):
            yield event

    async def get_extended_agent_card(self, request: Any, *, context: Any = None) -> Any:
        """``GetExtendedAgentCard``: the agent's authenticated extended card."""
        return await self._call("GetExtendedAgentCard", request, context, _pb.AgentCard)

    async def close(self) -> None:
        """Close the Kafka client."""
        await self.bridge.close()
