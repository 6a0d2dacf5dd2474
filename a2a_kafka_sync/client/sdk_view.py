"""The client's calls with a2a-sdk's types in and out: ``client.a2a_sdk``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Union, cast

from ..types.sdk import to_a2a_sdk
from .timeouts import USE_CLIENT_DEFAULT, Timeout

if TYPE_CHECKING:
    import a2a.types as sdk

    from .transport import KafkaClientTransport

    SdkEvent = Union[sdk.Message, sdk.Task, sdk.TaskStatusUpdateEvent, sdk.TaskArtifactUpdateEvent]

__all__ = ["A2ASdkClient"]


class A2ASdkClient:
    """A :class:`KafkaClientTransport` seen through a2a-sdk's (v0.3) models.

    For code written against a2a-sdk: every call takes and returns ``a2a.types``
    objects, so a team switches transport without rewriting its types. Each
    call is the client's own call of the same name (same timeouts, same
    errors), its results converted through their A2A JSON. Get one with
    ``client.a2a_sdk``; it needs the ``a2a-sdk`` package. (The client's own
    calls accept a2a-sdk arguments too; only their results are this library's.)
    """

    def __init__(self, client: KafkaClientTransport) -> None:
        self.client = client

    def send_message(
        self,
        message: sdk.MessageSendParams | sdk.Message | str,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
    ) -> sdk.Message | sdk.Task:
        """``send_message``: the agent's Message or Task."""
        result = self.client.send_message(_given(message), timeout=timeout)
        return cast("sdk.Message | sdk.Task", to_a2a_sdk(result))

    def send_message_streaming(
        self,
        message: sdk.MessageSendParams | sdk.Message | str,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
    ) -> Iterator[SdkEvent]:
        """``send_message_streaming``: the events, converted as they arrive."""
        with self.client.send_message_streaming(_given(message), timeout=timeout) as stream:
            for event in stream:
                yield cast("SdkEvent", to_a2a_sdk(event))

    def get_task(
        self,
        task: str | sdk.TaskQueryParams,
        *,
        history_length: int | None = None,
        timeout: Timeout = USE_CLIENT_DEFAULT,
    ) -> sdk.Task:
        """``get_task``."""
        result = self.client.get_task(_given(task), history_length=history_length, timeout=timeout)
        return cast("sdk.Task", to_a2a_sdk(result))

    def cancel_task(
        self, task: str | sdk.TaskIdParams, *, timeout: Timeout = USE_CLIENT_DEFAULT
    ) -> sdk.Task:
        """``cancel_task``."""
        return cast("sdk.Task", to_a2a_sdk(self.client.cancel_task(_given(task), timeout=timeout)))

    def resubscribe(
        self, task: str | sdk.TaskIdParams, *, timeout: Timeout = USE_CLIENT_DEFAULT
    ) -> Iterator[SdkEvent]:
        """``resubscribe``: the task, then its events, converted as they arrive."""
        with self.client.resubscribe(_given(task), timeout=timeout) as stream:
            for event in stream:
                yield cast("SdkEvent", to_a2a_sdk(event))

    def list_tasks(
        self, *, context_id: str | None = None, timeout: Timeout = USE_CLIENT_DEFAULT
    ) -> list[sdk.Task]:
        """``list_tasks``."""
        result = self.client.list_tasks(context_id=context_id, timeout=timeout)
        return cast("list[sdk.Task]", to_a2a_sdk(result))

    def set_task_callback(
        self, config: sdk.TaskPushNotificationConfig, *, timeout: Timeout = USE_CLIENT_DEFAULT
    ) -> sdk.TaskPushNotificationConfig:
        """``set_task_callback``."""
        result = self.client.set_task_callback(_given(config), timeout=timeout)
        return cast("sdk.TaskPushNotificationConfig", to_a2a_sdk(result))

    def get_task_callback(
        self, task_id: str, config_id: str | None = None, *, timeout: Timeout = USE_CLIENT_DEFAULT
    ) -> sdk.TaskPushNotificationConfig:
        """``get_task_callback``."""
        result = self.client.get_task_callback(task_id, config_id, timeout=timeout)
        return cast("sdk.TaskPushNotificationConfig", to_a2a_sdk(result))

    def list_task_callbacks(
        self, task_id: str, *, timeout: Timeout = USE_CLIENT_DEFAULT
    ) -> list[sdk.TaskPushNotificationConfig]:
        """``list_task_callbacks``."""
        result = self.client.list_task_callbacks(task_id, timeout=timeout)
        return cast("list[sdk.TaskPushNotificationConfig]", to_a2a_sdk(result))

    def delete_task_callback(
        self, task_id: str, config_id: str, *, timeout: Timeout = USE_CLIENT_DEFAULT
    ) -> None:
        """``delete_task_callback``."""
        self.client.delete_task_callback(task_id, config_id, timeout=timeout)

    def get_card(
        self, *, extended: bool = False, timeout: Timeout = USE_CLIENT_DEFAULT
    ) -> sdk.AgentCard:
        """``get_card``."""
        result = self.client.get_card(extended=extended, timeout=timeout)
        return cast("sdk.AgentCard", to_a2a_sdk(result))


def _given(value: Any) -> Any:
    """An a2a-sdk argument, handed on as it is: the client's calls convert it themselves."""
    return value
