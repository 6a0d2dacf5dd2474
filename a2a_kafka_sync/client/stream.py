"""The iterator a streaming call returns."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Union

from ..errors import ClientClosedError
from ..types import Message, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent
from ..wire import STREAM_COMPLETE
from .correlation import CorrelationManager, StreamWaiter

__all__ = ["ReplyStream", "StreamEvent"]

StreamEvent = Union[Message, Task, TaskStatusUpdateEvent, TaskArtifactUpdateEvent]
"""What a stream yields: the agent's Message, or its Task and the Task's update events."""


class ReplyStream(Iterator[StreamEvent]):
    """The events of one streaming call, in the order the agent sent them.

    Iteration ends at the agent's ``stream_complete``; an ``error`` record is
    raised as its :class:`~a2a_kafka_sync.errors.A2AError`, and a wait longer than
    the timeout for the next event raises RequestTimeoutError. Leaving a ``with``
    block, calling :meth:`close`, or dropping the last reference frees the
    waiter, so a caller may stop iterating at any point.
    """

    def __init__(
        self, registry: CorrelationManager, waiter: StreamWaiter, timeout: float | None
    ) -> None:
        self._registry = registry
        self._waiter = waiter
        self._timeout = timeout
        self._closed = False

    @property
    def correlation_id(self) -> str:
        """The correlation id of the request behind this stream."""
        return self._waiter.correlation_id

    def __iter__(self) -> ReplyStream:
        return self

    def __next__(self) -> StreamEvent:
        if self._closed:
            raise StopIteration
        try:
            reply = self._waiter.next(self._timeout)
        except BaseException as exc:
            self._end(exc)
            raise
        if reply.type == STREAM_COMPLETE:
            self.close()
            raise StopIteration
        if reply.type == "error":
            self.close()
            raise reply.data
        data: StreamEvent = reply.data
        return data

    def close(self) -> None:
        """Stop listening: later events of this stream are dropped when they arrive.

        A thread blocked waiting on this stream wakes with ClientClosedError.
        """
        self._end(None)

    def _end(self, error: BaseException | None, *, report: bool = True) -> None:
        """Close; a stream still pending ends with ``error`` (by default ClientClosedError).

        ``report=False`` (from a finaliser, which may run while this thread holds
        any lock) only forgets the call: its metrics and span are not told.
        """
        if not self._closed:
            self._closed = True
            closed = ClientClosedError("the stream was closed", correlation_id=self.correlation_id)
            if report:
                self._registry.abandon(self._waiter.correlation_id, error or closed)
            else:
                self._registry.discard(self._waiter.correlation_id)
            self._waiter.set_error(closed)

    def __enter__(self) -> ReplyStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown, anything may be gone
            self._end(None, report=False)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<ReplyStream {self.correlation_id} {state}>"

    def collect(self) -> list[Any]:
        """Read the stream to its end and return every event (handy in notebooks and tests)."""
        return list(self)
