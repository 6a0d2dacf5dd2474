"""The Kafka ``ClientTransport`` of a2a-sdk 1.x (imported only with a2a-sdk 1.x installed).

a2a-sdk 1.x speaks A2A v1.0 in protobuf messages. Each request is taken to the
A2A v0.3 classes by a2a-sdk's own ``a2a.compat.v0_3.conversions``, from there to
this library's models (the blocking client sends them), and each result makes
the way back. The module type-checks against either line: a2a-sdk 1.x's names
are looked up at import time and typed ``Any``.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncGenerator
from typing import Any

from ...types import Task
from .client import KafkaBridge, call_timeout
from .convert import from_v03, to_v03, v03_types

__all__ = ["KafkaTransport1"]

_base: Any = importlib.import_module("a2a.client.transports.base")
_pb: Any = importlib.import_module("a2a.types.a2a_pb2")
_conv: Any = importlib.import_module("a2a.compat.v0_3.conversions")

_ID = 0  # the JSON-RPC id the compat request wrappers need; it never leaves this module


def _event(ours: Any) -> Any:
    """A StreamResponse holding one of our stream events."""
    event = to_v03(ours)
    wrapper = v03_types().SendStreamingMessageSuccessResponse(id=_ID, result=event)
    return _conv.to_core_stream_response(wrapper)


class KafkaTransport1(_base.ClientTransport):  # type: ignore[misc]
    """a2a-sdk 1.x's ``ClientTransport`` over Kafka: the blocking client's calls, in threads.

    ``card`` is the a2a-sdk (protobuf) card the factory chose this transport
    from. A ``ClientCallContext.timeout`` bounds the call (else the client's
    timeout does). Errors are raised as a2a-sdk 1.x's transports raise them:
    the ``a2a.utils.errors`` class of the agent's code, ``A2AClientTimeoutError``,
    ``A2AClientError``.
    """

    def __init__(self, bridge: KafkaBridge, card: Any) -> None:
        self.bridge = bridge
        self.card = card

    async def send_message(self, request: Any, *, context: Any = None) -> Any:
        """``SendMessage``: a SendMessageResponse holding the Task or the Message."""
        params = from_v03(_conv.to_compat_send_message_request(request, _ID).params)
        client = self.bridge.client
        result = await self.bridge.call(client.send_message, params, timeout=call_timeout(context))
        response = _pb.SendMessageResponse()
        if isinstance(result, Task):
            response.task.CopyFrom(_conv.to_core_task(to_v03(result)))
        else:
            response.message.CopyFrom(_conv.to_core_message(to_v03(result)))
        return response

    async def send_message_streaming(
        self, request: Any, *, context: Any = None
    ) -> AsyncGenerator[Any]:
        """``SendStreamingMessage``: StreamResponses, converted as they arrive."""
        params = from_v03(_conv.to_compat_send_message_request(request, _ID).params)
        client = self.bridge.client
        stream = self.bridge.stream(
            client.send_message_streaming, params, timeout=call_timeout(context)
        )
        async for event in stream:
            yield _event(event)

    async def get_task(self, request: Any, *, context: Any = None) -> Any:
        """``GetTask``."""
        params = from_v03(_conv.to_compat_get_task_request(request, _ID).params)
        task = await self.bridge.call(
            self.bridge.client.get_task, params, timeout=call_timeout(context)
        )
        return _conv.to_core_task(to_v03(task))

    async def list_tasks(self, request: Any, *, context: Any = None) -> Any:
        """``ListTasks``: this library's ``list_tasks`` (its context filter; no paging)."""
        tasks = await self.bridge.call(
            self.bridge.client.list_tasks,
            context_id=request.context_id or None,
            timeout=call_timeout(context),
        )
        core = [_conv.to_core_task(to_v03(task)) for task in tasks]
        return _pb.ListTasksResponse(tasks=core, page_size=len(core), total_size=len(core))

    async def cancel_task(self, request: Any, *, context: Any = None) -> Any:
        """``CancelTask``."""
        params = from_v03(_conv.to_compat_cancel_task_request(request, _ID).params)
        task = await self.bridge.call(
            self.bridge.client.cancel_task, params, timeout=call_timeout(context)
        )
        return _conv.to_core_task(to_v03(task))

    async def create_task_push_notification_config(
        self, request: Any, *, context: Any = None
    ) -> Any:
        """``CreateTaskPushNotificationConfig``."""
        config = from_v03(_conv.to_compat_task_push_notification_config(request))
        stored = await self.bridge.call(
            self.bridge.client.set_task_callback, config, timeout=call_timeout(context)
        )
        return _conv.to_core_task_push_notification_config(to_v03(stored))

    async def get_task_push_notification_config(self, request: Any, *, context: Any = None) -> Any:
        """``GetTaskPushNotificationConfig``."""
        config = await self.bridge.call(
            self.bridge.client.get_task_callback,
            request.task_id,
            request.id or None,
            timeout=call_timeout(context),
        )
        return _conv.to_core_task_push_notification_config(to_v03(config))

    async def list_task_push_notification_configs(
        self, request: Any, *, context: Any = None
    ) -> Any:
        """``ListTaskPushNotificationConfigs`` (no paging)."""
        configs = await self.bridge.call(
            self.bridge.client.list_task_callbacks, request.task_id, timeout=call_timeout(context)
        )
        core = [_conv.to_core_task_push_notification_config(to_v03(c)) for c in configs]
        return _pb.ListTaskPushNotificationConfigsResponse(configs=core)

    async def delete_task_push_notification_config(
        self, request: Any, *, context: Any = None
    ) -> None:
        """``DeleteTaskPushNotificationConfig``."""
        await self.bridge.call(
            self.bridge.client.delete_task_callback,
            request.task_id,
            request.id,
            timeout=call_timeout(context),
        )

    async def subscribe(self, request: Any, *, context: Any = None) -> AsyncGenerator[Any]:
        """``SubscribeToTask``: the task, then its events."""
        params = from_v03(_conv.to_compat_subscribe_to_task_request(request, _ID).params)
        client = self.bridge.client
        async for event in self.bridge.stream(
            client.resubscribe, params, timeout=call_timeout(context)
        ):
            yield _event(event)

    async def get_extended_agent_card(self, request: Any, *, context: Any = None) -> Any:
        """``GetExtendedAgentCard``: the agent's authenticated extended card."""
        card = await self.bridge.call(
            self.bridge.client.get_card, extended=True, timeout=call_timeout(context)
        )
        return _conv.to_core_agent_card(to_v03(card))

    async def close(self) -> None:
        """Close the Kafka client."""
        await self.bridge.close()
