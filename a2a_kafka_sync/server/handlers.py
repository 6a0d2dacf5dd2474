"""Handlers: the code that answers requests, as plain functions or as handler objects.

A plain function ``fn(message, context)`` (or ``fn(message)``) answers
``message_send``: it returns a Message, a Task or a str. A generator function
yields events, which makes a stream. A handler object has ``on_*`` methods named
as in a2a-python's ``RequestHandler`` (``on_message_send``,
``on_message_send_stream``, ``on_get_task``, ...); subclass
:class:`RequestHandler` to get the ones you leave out answered with
UnsupportedOperationError.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import InvalidAgentResponseError, UnsupportedOperationError
from ..types import (
    Message,
    MessageSendParams,
    Task,
    TaskArtifactUpdateEvent,
    TaskPage,
    TaskStatusUpdateEvent,
)
from .context import RequestContext

__all__ = [
    "HANDLER_METHODS",
    "FunctionHandler",
    "RequestHandler",
    "check_handler",
]

HANDLER_METHODS: dict[str, tuple[str, str | None]] = {
    "message_send": ("on_message_send", "on_message_send_stream"),
    "task_get": ("on_get_task", None),
    "task_cancel": ("on_cancel_task", None),
    "task_resubscribe": ("on_resubscribe_to_task", "on_resubscribe_to_task"),
    "task_list": ("on_list_tasks", None),
    "task_push_notification_config_set": ("on_set_task_push_notification_config", None),
    "task_push_notification_config_get": ("on_get_task_push_notification_config", None),
    "task_push_notification_config_list": ("on_list_task_push_notification_config", None),
    "task_push_notification_config_delete": ("on_delete_task_push_notification_config", None),
    "agent_card_get": ("on_get_authenticated_extended_card", None),
}
"""Canonical method -> (handler attribute for a unary call, handler attribute for a stream)."""

_EVENT_TYPES = (Message, Task, TaskStatusUpdateEvent, TaskArtifactUpdateEvent)


class RequestHandler:
    """Base class of handler objects: every method answers UnsupportedOperationError (-32004).

    Override the ones your agent supports. Each takes the method's params model
    and a :class:`~a2a_kafka_sync.server.context.RequestContext`; streaming methods
    return an iterator of events.
    """

    def _unsupported(self, what: str) -> UnsupportedOperationError:
        return UnsupportedOperationError(f"this agent does not support {what}")

    def on_message_send(self, params: MessageSendParams, context: RequestContext) -> Message | Task:
        """Answer ``message_send``: a Message, or the Task the message started or continued."""
        raise self._unsupported("message_send")

    def on_message_send_stream(
        self, params: MessageSendParams, context: RequestContext
    ) -> Iterator[Any]:
        """Answer a streaming ``message_send``; by default the unary answer, as one event."""
        yield self.on_message_send(params, context)

    def on_get_task(self, params: Any, context: RequestContext) -> Task:
        """Answer ``task_get``."""
        raise self._unsupported("task_get")

    def on_cancel_task(self, params: Any, context: RequestContext) -> Task:
        """Answer ``task_cancel``."""
        raise self._unsupported("task_cancel")

    def on_resubscribe_to_task(self, params: Any, context: RequestContext) -> Iterator[Any]:
        """Answer ``task_resubscribe`` with a stream of the task's events."""
        raise self._unsupported("task_resubscribe")

    def on_list_tasks(self, params: Any, context: RequestContext) -> list[Task] | TaskPage:
        """Answer ``task_list`` (``ListTasks``): a page, or a plain list taken as one page."""
        raise self._unsupported("task_list")

    def on_set_task_push_notification_config(self, params: Any, context: RequestContext) -> Any:
        """Answer ``task_push_notification_config_set``."""
        raise self._unsupported("push notifications")

    def on_get_task_push_notification_config(self, params: Any, context: RequestContext) -> Any:
        """Answer ``task_push_notification_config_get``."""
        raise self._unsupported("push notifications")

    def on_list_task_push_notification_config(self, params: Any, context: RequestContext) -> Any:
        """Answer ``task_push_notification_config_list``."""
        raise self._unsupported("push notifications")

    def on_delete_task_push_notification_config(self, params: Any, context: RequestContext) -> Any:
        """Answer ``task_push_notification_config_delete``."""
        raise self._unsupported("push notifications")

    def on_get_authenticated_extended_card(self, params: Any, context: RequestContext) -> Any:
        """Answer ``agent_card_get``."""
        raise self._unsupported("agent_card_get")


_SHAPES = (
    "a function fn(message) or fn(message, context), a generator function, or a handler "
    "object with on_message_send (a RequestHandler subclass's instance)"
)


def _is_async(fn: Any) -> bool:
    call = getattr(fn, "__call__", None)  # noqa: B004 - a callable object's own method
    return any(inspect.iscoroutinefunction(f) or inspect.isasyncgenfunction(f) for f in (fn, call))


def is_handler_object(handler: Any) -> bool:
    """True for a handler object (it has ``on_message_send`` or ``on_message_send_stream``)."""
    return hasattr(handler, "on_message_send") or hasattr(handler, "on_message_send_stream")


def check_handler(handler: Any) -> None:
    """Raise TypeError, saying what is wrong and what to pass, unless ``handler`` can serve.

    Accepted: a plain function (or callable object) taking the message, or the message and
    the RequestContext; a generator function; a handler object with ``on_*`` methods.
    Refused, when the server is built rather than at its first request: an ``async def``
    function or method (handlers run on worker threads; a2a-sdk's async handlers go through
    :class:`~a2a_kafka_sync.contrib.a2a_sdk.A2ASdkHandler`), a coroutine, a class instead
    of an instance, a function needing no argument, more than two, or a keyword-only one,
    and anything that is not callable.
    """
    if inspect.iscoroutine(handler):
        handler.close()  # no "never awaited" warning on top of this error
        raise TypeError(
            "the handler is a coroutine (an async function that was called); handlers run "
            f"on worker threads and must be plain: pass {_SHAPES}"
        )
    if inspect.isclass(handler):
        name = handler.__name__
        raise TypeError(
            f"the handler is the class {name}, not an instance of it: pass {name}() (or a function)"
        )
    if is_handler_object(handler):
        for unary, stream in HANDLER_METHODS.values():
            for attribute in (unary, stream):
                method = getattr(handler, attribute, None) if attribute else None
                if method is None:
                    continue
                if not callable(method):
                    raise TypeError(
                        f"{type(handler).__name__}.{attribute} is a "
                        f"{type(method).__name__}, not a method"
                    )
                if _is_async(method):
                    raise TypeError(
                        f"{type(handler).__name__}.{attribute} is async (async def); handlers "
                        "run on worker threads and must be plain def methods (a2a-sdk's "
                        "async handlers: a2a_kafka_sync.contrib.a2a_sdk.A2ASdkHandler)"
                    )
        return
    if not callable(handler):
        raise TypeError(f"the handler must be {_SHAPES}, not {type(handler).__name__}")
    name = getattr(handler, "__qualname__", type(handler).__name__)
    if _is_async(handler):
        raise TypeError(
            f"the handler {name} is async (async def); handlers run on worker threads: "
            f"make it a plain def (a generator for a stream), i.e. {_SHAPES}"
        )
    _check_arguments(handler, name)


def _check_arguments(fn: Callable[..., Any], name: str) -> None:
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: let them be
        return
    positional = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    required = [p.name for p in positional if p.default is inspect.Parameter.empty]
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
    keyword_only = [
        p.name
        for p in parameters
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    ]
    if len(required) > 2:
        raise TypeError(
            f"the handler {name} needs {len(required)} arguments ({', '.join(required)}); it "
            "is called with the message, or the message and the context: fn(message, context)"
        )
    if keyword_only:
        raise TypeError(
            f"the handler {name} needs the keyword-only argument(s) {', '.join(keyword_only)}, "
            "which nobody passes; it is called as fn(message) or fn(message, context)"
        )
    if not positional and not variadic:
        raise TypeError(
            f"the handler {name} takes no argument; it is called with the request's message: "
            "fn(message) or fn(message, context)"
        )


def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: assume (message, context)
        return 2
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(1 for p in parameters if p.kind in kinds)


class FunctionHandler(RequestHandler):
    """Adapts a plain function (or generator function) to a handler that answers ``message_send``.

    The function gets the request's Message (and the RequestContext when it
    takes two arguments). A returned or yielded str becomes an agent Message in
    the request's context; Message, Task and the update events pass as they are.
    A plain function called for a stream yields its one result; a generator
    called without a stream answers with the last Message or Task it yielded.
    Without tasks, a generator's stream is what it yields, as it is (a Message per
    str): the A2A-shaped stream of a task is :class:`DefaultRequestHandler`'s.
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        if is_handler_object(fn):
            raise TypeError("FunctionHandler adapts a function; a handler object is used as it is")
        check_handler(fn)
        self.fn = fn
        self._generator = inspect.isgeneratorfunction(fn)
        self._with_context = _positional_arity(fn) >= 2

    def __repr__(self) -> str:
        return f"<FunctionHandler {getattr(self.fn, '__qualname__', self.fn)!r}>"

    def _invoke(self, params: MessageSendParams, context: RequestContext) -> Any:
        if self._with_context:
            return self.fn(params.message, context)
        return self.fn(params.message)

    def on_message_send(self, params: MessageSendParams, context: RequestContext) -> Message | Task:
        """Run the function; a generator's last Message or Task is the answer."""
        if not self._generator:
            return _as_result(self._invoke(params, context), params)
        result: Message | Task | None = None
        for item in self._invoke(params, context):
            event = _as_event(item, params)
            if isinstance(event, (Message, Task)):
                result = event
        if result is None:
            raise InvalidAgentResponseError(
                "the handler yielded no Message or Task to answer a non-streaming message_send"
            )
        return result

    def on_message_send_stream(
        self, params: MessageSendParams, context: RequestContext
    ) -> Iterator[Any]:
        """Run the function; each yielded item is one event of the stream."""
        if not self._generator:
            yield _as_result(self._invoke(params, context), params)
            return
        items: Iterable[Any] = self._invoke(params, context)
        for item in items:
            yield _as_event(item, params)


def _reply_text(text: str, params: MessageSendParams) -> Message:
    request = params.message
    return Message.agent_text(text, context_id=request.context_id, task_id=request.task_id)


def _as_result(value: Any, params: MessageSendParams) -> Message | Task:
    if isinstance(value, str):
        return _reply_text(value, params)
    if isinstance(value, (Message, Task)):
        return value
    raise InvalidAgentResponseError(
        f"the handler returned {type(value).__name__}; expected Message, Task or str"
    )


def _as_event(value: Any, params: MessageSendParams) -> Any:
    if isinstance(value, str):
        return _reply_text(value, params)
    if isinstance(value, _EVENT_TYPES):
        return value
    raise InvalidAgentResponseError(
        f"the handler yielded {type(value).__name__}; expected Message, Task, "
        "TaskStatusUpdateEvent, TaskArtifactUpdateEvent or str"
    )
