"""The iterator a streaming call returns."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Union

from ..errors import ClientClosedError, RequestTimeoutError, StreamGapError
from ..types import Message, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent
from ..wire import STREAM_COMPLETE, Reply
from .correlation import CorrelationManager, StreamWaiter

if TYPE_CHECKING:
    from .resume import Resumer

__all__ = ["ReplyStream", "StreamEvent"]

StreamEvent = Union[Message, Task, TaskStatusUpdateEvent, TaskArtifactUpdateEvent]
"""What a stream yields: the agent's Message, or its Task and the Task's update events."""

_END = object()


class ReplyStream(Iterator[StreamEvent]):
    """The events of one streaming call, in the order the agent sent them.

    Iteration ends at the agent's ``stream_complete``; an ``error`` record is
    raised as its :class:`~a2a_kafka_sync.errors.A2AError`, and a wait longer than
    the timeout for the next event raises RequestTimeoutError. Leaving a ``with``
    block, calling :meth:`close`, or dropping the last reference frees the
    waiter, so a caller may stop iterating at any point.

    :attr:`last_sequence` and :attr:`task_id` say where a task's stream stands: a
    later ``client.resubscribe(task_id, after_sequence=last_sequence)`` (from any
    client) continues it. With a ``resumer`` (``resume=True`` on the call) the stream
    does that itself after a break (see :mod:`a2a_kafka_sync.client.resume`).
    """

    def __init__(
        self,
        registry: CorrelationManager,
        waiter: StreamWaiter,
        timeout: float | None,
        resumer: Resumer | None = None,
        *,
        first_by: float | None = None,
        on_timeout: Callable[[StreamWaiter, RequestTimeoutError], BaseException] | None = None,
    ) -> None:
        self._registry = registry
        self._waiter = waiter
        self._timeout = timeout
        self._first_by = first_by  # the call's deadline covers the first event
        self._on_timeout = on_timeout
        self._closed = False
        self._resumer = resumer
        self._last_sequence: int | None = None
        self._task_id: str | None = None
        self._floor: int | None = None  # after a resume: sequences up to it were seen

    @property
    def last_sequence(self) -> int | None:
        """The sequence number of the last task event this stream yielded (None before one)."""
        return self._last_sequence

    @property
    def task_id(self) -> str | None:
        """The id of the task whose events this stream yields, once one was seen."""
        return self._task_id

    @property
    def correlation_id(self) -> str:
        """The correlation id of the request behind this stream."""
        return self._waiter.correlation_id

    def __iter__(self) -> ReplyStream:
        return self

    def __next__(self) -> StreamEvent:
        item = self._read() if self._resumer is None else self._resumer.next(self, self._read)
        if item is _END:
            raise StopIteration
        data: StreamEvent = item
        return data

    def _read(self) -> Any:
        """The next event, or _END; raises what ended the stream."""
        reply = self._read_reply()
        return reply if reply is _END else reply.data

    def next_reply(self) -> Reply:
        """The next event's reply record as it arrived (``__next__`` yields its data); raises
        StopIteration at the end of the stream, and what ended it otherwise. Without the
        auto-resume of ``resume=True`` (the raw calls read their streams with it)."""
        reply = self._read_reply()
        if reply is _END:
            raise StopIteration
        assert isinstance(reply, Reply)
        return reply

    def _read_reply(self) -> Any:
        """The next event's reply, or _END; raises what ended the stream."""
        while not self._closed:
            try:
                reply = self._next()
            except BaseException as exc:
                self._end(exc)
                raise
            if reply.type == STREAM_COMPLETE:
                self.close()
                return _END
            if reply.type == "error":
                self.close()
                raise reply.data
            if reply.keepalive:
                continue  # the stream goes on: the wait for the next event starts again
            if reply.sequence is not None:
                if self._floor is not None and reply.sequence <= self._floor:
                    continue  # seen before the resume
                self._check_contiguous(reply.sequence)
                self._last_sequence = reply.sequence
            data = reply.data
            task_id = data.id if isinstance(data, Task) else getattr(data, "task_id", None)
            if task_id:
                self._task_id = task_id
            return reply
        return _END

    def _check_contiguous(self, sequence: int) -> None:
        """Raise StreamGapError (ending the stream) when ``sequence`` skips events: a resumer
        then resubscribes after the last one this stream yielded."""
        last = self._last_sequence
        if last is None or sequence <= last + 1:
            return
        gap = StreamGapError(
            f"the stream of task {self._task_id} went from event {last} to {sequence}: "
            f"events {last + 1}..{sequence - 1} did not reach it",
            after=last,
            got=sequence,
        )
        self._end(gap)
        raise gap

    def _next(self) -> Any:
        """The next reply; the first within what is left of the call's deadline (connecting
        and sending took part of it), each later one within ``timeout``."""
        wait = self._timeout
        if self._first_by is not None:
            wait = max(0.0, self._first_by - time.monotonic())
        try:
            reply = self._waiter.next(wait)
        except RequestTimeoutError as exc:
            if self._timeout is not None:
                exc.message = f"no stream event within {self._timeout}s"
                exc.args = (exc.message,)
            if self._on_timeout is not None:
                raise self._on_timeout(self._waiter, exc) from None
            raise
        self._first_by = None
        return reply

    def _take_over(self, other: ReplyStream) -> None:
        """Go on with ``other``'s call (the resubscription after a break) as this stream."""
        self._registry, self._waiter = other._registry, other._waiter
        self._first_by, self._on_timeout = other._first_by, other._on_timeout
        other._closed = True  # its waiter is this stream's now
        self._closed = False
        self._floor = self._last_sequence

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

    def texts(self) -> Iterator[str]:
        """The text the agent streams, piece by piece, as it arrives: each Message's text and
        each artifact chunk's text (a generator agent's yielded strings come as chunks). Task
        and status events are read and left out, and so is a chunk without text (the one that
        closes an artifact); ``last_sequence`` and ``task_id`` still follow them."""
        for event in self:
            if isinstance(event, Message):
                text = event.text
            elif isinstance(event, TaskArtifactUpdateEvent):
                text = event.artifact.text
            else:
                continue
            if text:
                yield text

    def collect(self) -> list[Any]:
        """Read the stream to its end and return every event (handy in notebooks and tests)."""
        return list(self)
