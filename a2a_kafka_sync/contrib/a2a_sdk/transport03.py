"""The Kafka ``ClientTransport`` of a2a-sdk 0.3 (imported only with a2a-sdk 0.3 installed).

a2a-sdk 0.3 and this library share the A2A v0.3.0 classes, so requests go to
the blocking client as they are (it converts them) and results come back
through :func:`~a2a_kafka_sync.types.sdk.to_a2a_sdk`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any, cast

from a2a.client.middleware import ClientCallContext
from a2a.client.transports.base import ClientTransport
from a2a.types import (
    AgentCard,
    GetTaskPushNotificationConfigParams,
    Message,
    MessageSendParams,
    Task,
    TaskArtifactUpdateEvent,
    TaskIdParams,
    TaskPushNotificationConfig,
    TaskQueryParams,
    TaskStatusUpdateEvent,
)

from ...types.sdk import to_a2a_sdk
from .client import KafkaBridge

__all__ = ["KafkaTransport03"]

Event = Message | Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent


class KafkaTransport03(ClientTransport):
    """a2a-sdk 0.3's ``ClientTransport`` over Kafka: the blocking client's calls, in threads.

    ``card`` is the a2a-sdk card the factory chose this transport from
    (``get_card`` answers with it). Errors are raised as a2a-sdk 0.3's transports
    raise them: ``A2AClientJSONRPCError`` for an agent's error,
    ``A2AClientTimeoutError``, ``A2AClientError``.
    """

    def __init__(self, bridge: KafkaBridge, card: AgentCard) -> None:
        self.bridge = bridge
        self.card = card

    async def send_message(
        self,
        request: MessageSendParams,
        *,
        context: ClientCallContext | None = None,
        extensions: list[str] | None = None,
    ) -> Task | Message:
        """``message/send``: the agent's Task or Message."""
        result = await self.bridge.call(self.bridge.client.send_message, request)
        return cast("Task | Message", to_a2a_sdk(result))

    async def send_message_streaming(
        self,
        request: MessageSendParams,
        *,
        context: ClientCallContext | None = None,
        extensions: list[str] | None = None,
    ) -> AsyncGenerator[Event]:
        """``message/stream``: the events, converted as they arrive."""
        client = self.bridge.client
        async for event in self.bridge.stream(client.send_message_streaming, request):
            yield cast("Event", to_a2a_sdk(event))

    async def get_task(
        self,
        request: TaskQueryParams,
        *,
        context: ClientCallContext | None = None,
        extensions: list[str] | None = None,
    ) -> Task:
        """``tasks/get``."""
        result = await self.bridge.call(self.bridge.client.get_task, request)
        return cast("Task", to_a2a_sdk(result))

    async def cancel_task(
        self,
        request: TaskIdParams,
        *,
        context: ClientCallContext | None = None,
        extensions: list[str] | None = None,
    ) -> Task:
        """``tasks/cancel``."""
        result = await self.bridge.call(self.bridge.client.cancel_task, request)
        return cast("Task", to_a2a_sdk(result))

    async def set_task_callback(
        self,
        request: TaskPushNotificationConfig,
        *,
        context: ClientCallContext | None = None,
        extensions: list[str] | None = None,
    ) -> TaskPushNotificationConfig:
        """``tasks/pushNotificationConfig/set``."""
        result = await self.bridge.call(self.bridge.client.set_task_callback, request)
        return cast("TaskPushNotificationConfig", to_a2a_sdk(result))

    async def get_task_callback(
        self,
        request: GetTaskPushNotificationConfigParams,
        *,
        context: ClientCallContext | None = None,
        extensions: list[str] | None = None,
    ) -> TaskPushNotificationConfig:
        """``tasks/pushNotificationConfig/get``."""
        client = self.bridge.client
        config_id = request.push_notification_config_id
        result = await self.bridge.call(client.get_task_callback, request.id, config_id)
        return cast("TaskPushNotificationConfig", to_a2a_sdk(result))

    async def resubscribe(
        self,
        request: TaskIdParams,
        *,
        context: ClientCallContext | None = None,
        extensions: list[str] | None = None,
    ) -> AsyncGenerator[Event]:
        """``tasks/resubscribe``: the task, then its events."""
        async for event in self.bridge.stream(self.bridge.client.resubscribe, request):
            yield cast("Event", to_a2a_sdk(event))

    async def get_card(
        self,
        *,
        context: ClientCallContext | None = None,
        extensions: list[str] | None = None,
        signature_verifier: Callable[[AgentCard], None] | None = None,
    ) -> AgentCard:
        """The card, or the agent's authenticated extended card when the card announces one."""
        card = self.card
        if card.supports_authenticated_extended_card:
            extended: Any = await self.bridge.call(self.bridge.client.get_card, extended=True)
            card = cast("AgentCard", to_a2a_sdk(extended))
        if signature_verifier is not None:
            signature_verifier(card)
        self.card = card
        return card

    async def close(self) -> None:
        """Close the Kafka client."""
        await self.bridge.close()
