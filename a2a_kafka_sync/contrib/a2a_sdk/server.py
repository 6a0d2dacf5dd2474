"""An a2a-sdk agent served by :class:`~a2a_kafka_sync.server.KafkaServerApp`.

:class:`A2ASdkHandler` is a handler object of this library whose ``on_*``
methods run an a2a-sdk request handler (usually its ``DefaultRequestHandler``
around your ``AgentExecutor``) on an event loop the handler owns, on the
``a2a-kafka-sdk-loop`` thread: the app's ``start()`` starts it, ``stop()``
stops it. A worker thread converts the request's params to the installed
a2a-sdk line's classes, runs the coroutine on the loop and waits for it, and
converts the answer back; a stream is read one event per wait. The a2a-sdk
errors the handler raises become this library's A2AError of the same code.

This is the one module of ``contrib`` that imports ``server``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from ...errors import InternalError, TaskNotFoundError, UnsupportedOperationError
from ...server import RequestContext, RequestHandler
from ...types import AgentCapabilities, AgentCard, MessageSendParams, Task
from ...wire import SUCCESS
from .convert import from_v03, our_error, sdk_line, to_sdk_card, to_v03, v03_types
from .loop import CallTasks, EventLoopThread

__all__ = ["CONTEXT_KEY", "A2ASdkHandler"]

CONTEXT_KEY = "a2a_kafka_context"
"""The key of this library's RequestContext in the a2a-sdk ``ServerCallContext.state``."""

WAIT_STEP = 0.25
"""How often a worker waiting on the loop checks the request's deadline and cancellation."""

_END = object()

_DEFAULT_CARD = AgentCard(
    name="a2a-sdk agent",
    description="An a2a-sdk agent served over Kafka",
    capabilities=AgentCapabilities(streaming=True),
)

_Table = dict[str, tuple[str, str, str]]
# our method -> (0.3 handler method, 1.x v0.3-compat handler method, its request wrapper)
_UNARY: _Table = {
    "message_send": ("on_message_send", "on_message_send", "SendMessageRequest"),
    "task_get": ("on_get_task", "on_get_task", "GetTaskRequest"),
    "task_cancel": ("on_cancel_task", "on_cancel_task", "CancelTaskRequest"),
    "task_push_notification_config_set": (
        "on_set_task_push_notification_config",
        "on_create_task_push_notification_config",
        "SetTaskPushNotificationConfigRequest",
    ),
    "task_push_notification_config_get": (
        "on_get_task_push_notification_config",
        "on_get_task_push_notification_config",
        "GetTaskPushNotificationConfigRequest",
    ),
    "task_push_notification_config_list": (
        "on_list_task_push_notification_config",
        "on_list_task_push_notification_configs",
        "ListTaskPushNotificationConfigRequest",
    ),
    "task_push_notification_config_delete": (
        "on_delete_task_push_notification_config",
        "on_delete_task_push_notification_config",
        "DeleteTaskPushNotificationConfigRequest",
    ),
}
_STREAM: _Table = {
    "message_send": ("on_message_send_stream", "on_message_send_stream", "SendMessageRequest"),
    "task_resubscribe": (
        "on_resubscribe_to_task",
        "on_subscribe_to_task",
        "TaskResubscriptionRequest",
    ),
}


class A2ASdkHandler(RequestHandler):
    """Serves an a2a-sdk ``RequestHandler`` (0.3 or 1.x) from a :class:`KafkaServerApp`.

    Args:
        request_handler: the a2a-sdk request handler, e.g. its
            ``DefaultRequestHandler(agent_executor=..., task_store=...)``; see
            :meth:`for_executor` to have it built.

    ``KafkaServerApp(A2ASdkHandler(handler), ...)`` calls :meth:`start` and
    :meth:`close`. The handler's coroutines get an a2a-sdk ``ServerCallContext``
    whose ``state[CONTEXT_KEY]`` is this library's RequestContext. A call (a
    stream: each of its events) waits while the request's deadline allows; past
    it, or when the app's watchdog gives up on the call (``handler_timeout``),
    the coroutine is cancelled with every task it started on the loop (the
    ``AgentExecutor``'s among them, :class:`~.loop.CallTasks`), and the worker
    thread is free.
    """

    def __init__(self, request_handler: Any) -> None:
        self.request_handler = request_handler
        self.loop = EventLoopThread()
        self._line = sdk_line()
        self._face = request_handler
        if self._line == 1:  # a2a-sdk's own v0.3 face of a 1.x handler
            compat = importlib.import_module("a2a.compat.v0_3.request_handler")
            self._face = compat.RequestHandler03(request_handler)

    @classmethod
    def for_executor(
        cls, agent_executor: Any, *, agent_card: AgentCard | None = None, task_store: Any = None
    ) -> A2ASdkHandler:
        """Serve an a2a-sdk ``AgentExecutor`` behind the installed line's ``DefaultRequestHandler``.

        ``task_store`` is an a2a-sdk TaskStore (default: its ``InMemoryTaskStore``).
        ``agent_card`` is this library's card; a2a-sdk 1.x's handler needs one
        (default: a card named ``a2a-sdk agent``, with streaming); its
        capabilities decide what the handler accepts (streaming, push notifications).
        """
        handlers = importlib.import_module("a2a.server.request_handlers")
        if task_store is None:
            task_store = importlib.import_module("a2a.server.tasks").InMemoryTaskStore()
        if sdk_line() == 0:
            return cls(handlers.DefaultRequestHandler(agent_executor, task_store))
        card = to_sdk_card(agent_card or _DEFAULT_CARD)
        return cls(handlers.DefaultRequestHandler(agent_executor, task_store, card))

    # -- lifecycle (called by KafkaServerApp) -------------------------------------------------

    def start(self, producer: Any = None) -> None:
        """Start the event loop thread (``a2a-kafka-sdk-loop``). Idempotent."""
        self.loop.start()

    def close(self) -> None:
        """Stop the event loop thread: running coroutines are cancelled. Idempotent."""
        self.loop.stop()

    # -- the A2A methods -----------------------------------------------------------------------

    def on_message_send(self, params: MessageSendParams, context: RequestContext) -> Any:
        """``message_send`` through the a2a-sdk handler: its Message or Task."""
        return from_v03(self._call("message_send", params, context))

    def on_message_send_stream(
        self, params: MessageSendParams, context: RequestContext
    ) -> Iterator[Any]:
        """A streaming ``message_send``: the a2a-sdk handler's events, as it produces them."""
        return self._stream("message_send", params, context)

    def on_get_task(self, params: Any, context: RequestContext) -> Task:
        """``task_get``."""
        return self._task(self._call("task_get", params, context), params)

    def on_cancel_task(self, params: Any, context: RequestContext) -> Task:
        """``task_cancel``."""
        return self._task(self._call("task_cancel", params, context), params)

    def on_resubscribe_to_task(self, params: Any, context: RequestContext) -> Iterator[Any]:
        """``task_resubscribe``: the task's events from the a2a-sdk handler."""
        return self._stream("task_resubscribe", params, context)

    def on_set_task_push_notification_config(self, params: Any, context: RequestContext) -> Any:
        """``task_push_notification_config_set``."""
        return from_v03(self._call("task_push_notification_config_set", params, context))

    def on_get_task_push_notification_config(self, params: Any, context: RequestContext) -> Any:
        """``task_push_notification_config_get``."""
        return from_v03(self._call("task_push_notification_config_get", params, context))

    def on_list_task_push_notification_config(self, params: Any, context: RequestContext) -> Any:
        """``task_push_notification_config_list``."""
        return from_v03(self._call("task_push_notification_config_list", params, context))

    def on_delete_task_push_notification_config(self, params: Any, context: RequestContext) -> Any:
        """``task_push_notification_config_delete``."""
        self._call("task_push_notification_config_delete", params, context)
        return SUCCESS

    def on_list_tasks(self, params: Any, context: RequestContext) -> list[Task]:
        """``task_list``: a2a-sdk 1.x's ``ListTasks`` (0.3 has none: -32004)."""
        if self._line == 0:
            raise UnsupportedOperationError("a2a-sdk 0.3 handlers cannot list tasks")
        pb = importlib.import_module("a2a.types.a2a_pb2")
        conversions = importlib.import_module("a2a.compat.v0_3.conversions")
        context_id = (params.model_extra or {}).get("contextId") or ""
        request = pb.ListTasksRequest(context_id=context_id)
        handler = self.request_handler
        response = self._run(lambda ctx: handler.on_list_tasks(request, ctx), context)
        return [from_v03(conversions.to_compat_task(task)) for task in response.tasks]

    def on_get_authenticated_extended_card(self, params: Any, context: RequestContext) -> Any:
        """``agent_card_get``: a2a-sdk 1.x's extended card (0.3 handlers have none: -32004)."""
        if self._line == 0:
            raise UnsupportedOperationError("a2a-sdk 0.3 handlers serve no extended card")
        request = v03_types().GetAuthenticatedExtendedCardRequest(id=context.correlation_id)
        face = self._face
        card = self._run(lambda ctx: face.on_get_extended_agent_card(request, ctx), context)
        return from_v03(card)

    # -- plumbing --------------------------------------------------------------------------------

    def _invocation(
        self, table: _Table, method: str, params: Any, context: RequestContext
    ) -> Callable[[Any], Any]:
        """The call of the a2a-sdk method for ``method``, given a ServerCallContext."""
        on_03, on_1, wrapper = table[method]
        theirs = to_v03(params)
        if self._line == 0:
            function = getattr(self._face, on_03)
            return lambda ctx: function(theirs, ctx)
        request = getattr(v03_types(), wrapper)(id=context.correlation_id, params=theirs)
        function = getattr(self._face, on_1)
        return lambda ctx: function(request, ctx)

    def _call(self, method: str, params: Any, context: RequestContext) -> Any:
        return self._run(self._invocation(_UNARY, method, params, context), context)

    @staticmethod
    def _task(result: Any, params: Any) -> Task:
        if result is None:  # a2a-sdk 0.3 handlers may answer None for an unknown task
            raise TaskNotFoundError(f"no task {params.id}")
        task: Task = from_v03(result)
        return task

    def _server_context(self, context: RequestContext) -> Any:
        server_context = importlib.import_module("a2a.server.context").ServerCallContext
        return server_context(state={CONTEXT_KEY: context})

    def _run(self, invoke: Callable[[Any], Awaitable[Any]], context: RequestContext) -> Any:
        """Run ``invoke(server_context)`` on the loop; wait for its result."""
        server_context = self._server_context(context)
        tasks = self.loop.call_tasks()

        async def run() -> Any:
            return await invoke(server_context)

        return self._wait(self._submit(tasks.run(run)), context, tasks)

    def _stream(self, method: str, params: Any, context: RequestContext) -> Iterator[Any]:
        invoke = self._invocation(_STREAM, method, params, context)
        server_context = self._server_context(context)
        tasks = self.loop.call_tasks()
        events: AsyncIterator[Any] | None = None

        async def step() -> Any:
            nonlocal events
            if events is None:
                events = invoke(server_context)
            assert events is not None
            try:
                return await events.__anext__()
            except StopAsyncIteration:
                return _END

        try:
            while True:
                item = self._wait(self._submit(tasks.run(step)), context, tasks)
                if item is _END:
                    return
                yield from_v03(item.result if self._line == 1 else item)
        finally:
            if events is not None and self.loop.running:
                closing = events

                async def close() -> None:
                    await closing.aclose()  # type: ignore[attr-defined]

                with contextlib.suppress(Exception):  # the stream is over either way
                    self._submit(close()).result(WAIT_STEP * 4)

    def _submit(self, coro: Any) -> concurrent.futures.Future[Any]:
        if not self.loop.running:
            coro.close()
            raise InternalError("the a2a-sdk handler is not running (it starts with the app)")
        return self.loop.submit(coro)

    def _wait(
        self, future: concurrent.futures.Future[Any], context: RequestContext, tasks: CallTasks
    ) -> Any:
        """The future's result: a2a-sdk errors as ours. Past the request's deadline, or when
        its context is cancelled (the app's watchdog gave up on it at ``handler_timeout``),
        the future is cancelled and so are the call's ``tasks`` (the agent's executor among
        them): the worker goes back to the pool, the agent's code stops."""
        while True:
            left = context.time_left()
            step = WAIT_STEP if left is None else max(0.0, min(WAIT_STEP, left))
            try:
                return future.result(step)
            except concurrent.futures.CancelledError:
                raise InternalError("the a2a-sdk call was cancelled (server stopping)") from None
            except Exception as exc:
                if not future.done():  # this wait ran out, not the call
                    if context.is_cancelled() or (left is not None and left <= step):
                        future.cancel()
                        tasks.cancel()
                        raise InternalError("deadline passed, or the call cancelled") from None
                    continue
                ours = our_error(exc)
                if ours is None:
                    raise
                raise ours from exc
