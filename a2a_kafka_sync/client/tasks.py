"""The task, push-config and card calls of the client, each one blocking call over ``_call``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ProtocolError
from ..types import (
    AgentCard,
    DeleteTaskPushNotificationConfigParams,
    GetTaskPushNotificationConfigParams,
    ListTaskPushNotificationConfigParams,
    ListTasksParams,
    PushNotificationConfig,
    Task,
    TaskIdParams,
    TaskPage,
    TaskPushNotificationConfig,
    TaskQueryParams,
    TaskState,
)
from ..types._base import A2ABaseModel
from ..types.sdk import from_a2a_sdk
from .credentials import CallCredentials
from .timeouts import USE_CLIENT_DEFAULT, Timeout

if TYPE_CHECKING:
    from ..wire import Reply
    from .stream import ReplyStream

__all__ = ["TaskCalls", "push_config"]


def _expect(reply: Reply, kind: type[Any] | tuple[type[Any], ...], method: str) -> Any:
    data = reply.data
    if isinstance(kind, tuple) or not isinstance(data, list):
        if isinstance(data, kind):
            return data
    elif all(isinstance(item, kind) for item in data):
        return data
    raise ProtocolError(f"{method} answered with a {reply.type!r} reply")


class TaskCalls:
    """Every A2A call beyond message send, mixed into :class:`KafkaClientTransport`.

    Names follow a2a-python's client transport (``get_task``, ``cancel_task``,
    ``resubscribe``, ``set_task_callback`` ...), made blocking; its (a2a-sdk v0.3)
    param objects are accepted as well as this library's. Each takes ``timeout``
    and ``credentials`` like ``send_message``, raises the agent's A2AError (TaskNotFoundError
    -32001, TaskNotCancelableError -32002, PushNotificationNotSupportedError -32003 ...)
    and RequestTimeoutError.
    """

    agent_card: AgentCard
    protocol_version: str

    def _call(
        self,
        method: str,
        params: A2ABaseModel,
        timeout: Timeout,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> Reply:
        raise NotImplementedError  # pragma: no cover - provided by the transport

    def _stream(
        self,
        method: str,
        params: A2ABaseModel,
        timeout: Timeout,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
        *,
        after_sequence: int | None = None,
        resume: bool | int = False,
    ) -> ReplyStream:
        raise NotImplementedError  # pragma: no cover - provided by the transport

    def get_task(
        self,
        task: str | TaskQueryParams,
        *,
        history_length: int | None = None,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> Task:
        """The task with this id, with at most ``history_length`` of its latest messages."""
        task = from_a2a_sdk(task)
        params = (
            task
            if isinstance(task, TaskQueryParams)
            else TaskQueryParams(id=task, history_length=history_length)
        )
        return _expect(self._call("task_get", params, timeout, credentials), Task, "task_get")  # type: ignore[no-any-return]

    def cancel_task(
        self,
        task: str | TaskIdParams,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> Task:
        """Ask the agent to cancel the task; returns it as it is after the cancel."""
        task = from_a2a_sdk(task)
        params = task if isinstance(task, TaskIdParams) else TaskIdParams(id=task)
        return _expect(self._call("task_cancel", params, timeout, credentials), Task, "task_cancel")  # type: ignore[no-any-return]

    def resubscribe(
        self,
        task: str | TaskIdParams,
        *,
        after_sequence: int | None = None,
        resume: bool | int = False,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> ReplyStream:
        """Follow a running task: its current state, then its events until its turn ends.

        Works from any client, e.g. after the one that started the task is gone.
        With ``after_sequence=N`` (a stream's ``last_sequence``) the stream is exactly
        the task's events after N, each once, in order, then its live ones until the
        turn ends, and no task snapshot; InvalidParamsError (-32602) when the agent
        no longer keeps them. ``resume`` as for ``send_message_streaming``.
        """
        task = from_a2a_sdk(task)
        params = task if isinstance(task, TaskIdParams) else TaskIdParams(id=task)
        return self._stream(
            "task_resubscribe",
            params,
            timeout,
            credentials,
            after_sequence=after_sequence,
            resume=resume,
        )

    def list_tasks(
        self,
        *,
        context_id: str | None = None,
        status: TaskState | str | None = None,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> list[Task]:
        """Every task of the agent the caller may see, or those of one context or state,
        most recently updated first (following every page, see :meth:`list_task_page`).

        With authentication, only the caller's tasks (and those created anonymously).
        """
        tasks: list[Task] = []
        token: str | None = None
        while True:
            page = self.list_task_page(
                context_id=context_id,
                status=status,
                page_token=token,
                timeout=timeout,
                credentials=credentials,
            )
            tasks += page.tasks
            token = page.next_page_token
            if not token or not page.tasks:
                return tasks

    def list_task_page(
        self,
        *,
        context_id: str | None = None,
        status: TaskState | str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
        history_length: int | None = None,
        include_artifacts: bool | None = None,
        status_timestamp_after: str | None = None,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> TaskPage:
        """One page of the agent's tasks (A2A 1.0 ``ListTasks``; ``task_list`` in 0.3).

        Pass the page's ``next_page_token`` as ``page_token`` for the next one; an
        empty token means the last page. A 0.3 agent answers with one page of
        every matching task (and no token) unless ``page_size`` is given.
        """
        params = ListTasksParams(
            context_id=context_id,
            status=TaskState(status) if status is not None else None,
            page_size=page_size,
            page_token=page_token,
            history_length=history_length,
            include_artifacts=include_artifacts,
            status_timestamp_after=status_timestamp_after,
        )
        reply = self._call("task_list", params, timeout, credentials)
        if isinstance(reply.data, TaskPage):
            return reply.data
        tasks = _expect(reply, Task, "task_list")
        count = len(tasks)
        return TaskPage(tasks=tasks, next_page_token="", page_size=count, total_size=count)

    def set_task_callback(
        self,
        config: TaskPushNotificationConfig,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> TaskPushNotificationConfig:
        """Register a push notification config for a task; returns it as stored (with its id)."""
        params = from_a2a_sdk(config)
        reply = self._call("task_push_notification_config_set", params, timeout, credentials)
        return _expect(reply, TaskPushNotificationConfig, "task_push_notification_config_set")  # type: ignore[no-any-return]

    def get_task_callback(
        self,
        task_id: str,
        config_id: str | None = None,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> TaskPushNotificationConfig:
        """One push notification config of a task (the first, when ``config_id`` is None).

        A2A v1.0 has no "the first config": a client that speaks 1.0 needs ``config_id``
        (TypeError without it, before anything is sent; :meth:`list_task_callbacks` lists
        the ids).
        """
        if config_id is None and not self.protocol_version.startswith("0."):
            raise TypeError(
                f"get_task_callback() needs a config_id in A2A {self.protocol_version}, which "
                "has no 'the first config of the task': pass one of the ids that "
                "list_task_callbacks(task_id) lists"
            )
        params = GetTaskPushNotificationConfigParams(
            id=task_id, push_notification_config_id=config_id
        )
        reply = self._call("task_push_notification_config_get", params, timeout, credentials)
        return _expect(reply, TaskPushNotificationConfig, "task_push_notification_config_get")  # type: ignore[no-any-return]

    def list_task_callbacks(
        self,
        task_id: str,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> list[TaskPushNotificationConfig]:
        """Every push notification config of a task."""
        params = ListTaskPushNotificationConfigParams(id=task_id)
        reply = self._call("task_push_notification_config_list", params, timeout, credentials)
        return _expect(  # type: ignore[no-any-return]
            reply, TaskPushNotificationConfig, "task_push_notification_config_list"
        )

    def delete_task_callback(
        self,
        task_id: str,
        config_id: str,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> None:
        """Remove one push notification config of a task."""
        params = DeleteTaskPushNotificationConfigParams(
            id=task_id, push_notification_config_id=config_id
        )
        reply = self._call("task_push_notification_config_delete", params, timeout, credentials)
        if reply.type != "success":
            raise ProtocolError(f"task_push_notification_config_delete answered {reply.type!r}")

    def get_card(
        self,
        *,
        extended: bool = False,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> AgentCard:
        """The agent's card: the one this client was given, or with ``extended`` the
        authenticated extended card, asked of the agent (-32007 when it has none)."""
        if not extended:
            return self.agent_card
        reply = self._call("agent_card_get", A2ABaseModel(), timeout, credentials)
        return _expect(reply, AgentCard, "agent_card_get")  # type: ignore[no-any-return]


def push_config(task_id: str, url: str, **fields: Any) -> TaskPushNotificationConfig:
    """A TaskPushNotificationConfig for ``task_id`` delivering to ``url`` (token, id, ...)."""
    return TaskPushNotificationConfig(
        task_id=task_id, push_notification_config=PushNotificationConfig(url=url, **fields)
    )
