"""The ``params`` objects of the A2A requests."""

from __future__ import annotations

from typing import Any

from ._base import A2ABaseModel
from .messages import Message
from .push import PushNotificationConfig


class MessageSendConfiguration(A2ABaseModel):
    """Options of ``message/send`` and ``message/stream``: output modes, blocking, history, push."""

    accepted_output_modes: list[str] | None = None
    blocking: bool | None = None
    history_length: int | None = None
    push_notification_config: PushNotificationConfig | None = None


class MessageSendParams(A2ABaseModel):
    """The params of ``message/send`` and ``message/stream``: the message and options."""

    message: Message
    configuration: MessageSendConfiguration | None = None
    metadata: dict[str, Any] | None = None


class TaskIdParams(A2ABaseModel):
    """Params naming one task, e.g. for ``tasks/cancel`` and ``tasks/resubscribe``."""

    id: str
    metadata: dict[str, Any] | None = None


class TaskQueryParams(A2ABaseModel):
    """The params of ``tasks/get``: a task id and how much history to return."""

    id: str
    history_length: int | None = None
    metadata: dict[str, Any] | None = None


class GetTaskPushNotificationConfigParams(A2ABaseModel):
    """The params of ``tasks/pushNotificationConfig/get``: task id and optional config id."""

    id: str
    push_notification_config_id: str | None = None
    metadata: dict[str, Any] | None = None


class ListTaskPushNotificationConfigParams(A2ABaseModel):
    """The params of ``tasks/pushNotificationConfig/list``: the task id."""

    id: str
    metadata: dict[str, Any] | None = None


class DeleteTaskPushNotificationConfigParams(A2ABaseModel):
    """The params of ``tasks/pushNotificationConfig/delete``: task id and config id."""

    id: str
    push_notification_config_id: str
    metadata: dict[str, Any] | None = None
