"""The ``params`` objects of the A2A requests."""

from __future__ import annotations

from typing import Annotated, Any

from ._base import A2ABaseModel
from ._wire import Count, Flag, Identifier, PageSize, with_required_fields
from .messages import Message
from .push import PushNotificationConfig
from .tasks import TaskState


class MessageSendConfiguration(A2ABaseModel):
    """Options of ``message/send`` and ``message/stream``: output modes, blocking, history, push."""

    accepted_output_modes: list[str] | None = None
    blocking: Flag | None = None
    history_length: Count | None = None
    push_notification_config: PushNotificationConfig | None = None


class MessageSendParams(A2ABaseModel):
    """The params of ``message/send`` and ``message/stream``: the message and options."""

    message: Annotated[Message, with_required_fields(Message)]
    configuration: MessageSendConfiguration | None = None
    metadata: dict[str, Any] | None = None


class TaskIdParams(A2ABaseModel):
    """Params naming one task, e.g. for ``tasks/cancel`` and ``tasks/resubscribe``."""

    id: Identifier
    metadata: dict[str, Any] | None = None


class TaskQueryParams(A2ABaseModel):
    """The params of ``tasks/get``: a task id and how much history to return."""

    id: Identifier
    history_length: Count | None = None
    metadata: dict[str, Any] | None = None


class GetTaskPushNotificationConfigParams(A2ABaseModel):
    """The params of ``tasks/pushNotificationConfig/get``: task id and optional config id."""

    id: Identifier
    push_notification_config_id: Identifier | None = None
    metadata: dict[str, Any] | None = None


class ListTaskPushNotificationConfigParams(A2ABaseModel):
    """The params of ``tasks/pushNotificationConfig/list``: the task id."""

    id: Identifier
    metadata: dict[str, Any] | None = None


class DeleteTaskPushNotificationConfigParams(A2ABaseModel):
    """The params of ``tasks/pushNotificationConfig/delete``: task id and config id."""

    id: Identifier
    push_notification_config_id: Identifier
    metadata: dict[str, Any] | None = None


class ListTasksParams(A2ABaseModel):
    """The params of ``task_list`` (an extension of v0.3; A2A v1.0's ``ListTasksRequest``).

    Every field is optional and filters or pages the list: ``context_id``, ``status``,
    ``page_size``, ``page_token``, ``history_length`` (messages kept per task),
    ``status_timestamp_after`` (an ISO 8601 / RFC 3339 time; tasks whose status is at
    least that recent) and ``include_artifacts``. Unknown fields are kept, as everywhere.
    """

    context_id: str | None = None
    status: TaskState | None = None
    page_size: PageSize | None = None
    page_token: str | None = None
    history_length: Count | None = None
    status_timestamp_after: str | None = None
    include_artifacts: Flag | None = None
