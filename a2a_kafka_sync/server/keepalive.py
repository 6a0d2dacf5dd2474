"""``StreamKeepAlive``: a quiet stream's task status, sent again so the caller keeps waiting.

A client waits for each next event of a stream at most its timeout. An agent that works
longer than that between two events (a slow model, a long tool call) would trip it. While
a ``message_send`` stream (the dispatcher registers no other) has sent nothing for
``interval`` seconds, and once its task is known (a ``Task``
went out), one thread per app, ``a2a-kafka-keepalive``, sends the task's current status
again: a ``TaskStatusUpdateEvent`` with the same state, no message and ``final=false``, which
every A2A client takes (it changes nothing), with the ``keepalive`` reply header, by which
this library's client drops it after resetting its wait. Nothing is sent before a task
exists (a Message is the only other first event, and a stream has only one), after the
stream's final status, or after its end.

The worker that runs the stream holds the stream's lock while it sends an event; the
keep-alive thread only tries that lock, so the two never interleave within a record and a
keep-alive never follows the stream's end.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..types import Task, TaskStatus, TaskStatusUpdateEvent

__all__ = ["QuietStream", "StreamKeepAlive"]

logger = logging.getLogger(__name__)


class QuietStream:
    """One stream the keep-alive thread watches: when it last sent, and its task's status.

    The dispatcher sends each event inside ``with stream.sending:`` and calls
    :meth:`sent` after it; :meth:`end` (under the same lock) before the stream's end.
    """

    __slots__ = ("_send", "due", "ended", "sending", "status")

    def __init__(self, send: Callable[[TaskStatusUpdateEvent], None], due: float) -> None:
        self._send = send
        self.sending = threading.Lock()
        self.due = due
        self.ended = False
        self.status: TaskStatusUpdateEvent | None = None

    def sent(self, event: Any, interval: float) -> None:
        """``event`` went out: the next keep-alive is due ``interval`` s from now; a Task or a
        status update is the status to repeat (none after a final one)."""
        self.due = time.monotonic() + interval
        if isinstance(event, Task):
            status = event.status
            self.status = _repeat(event.id, event.context_id, status)
        elif isinstance(event, TaskStatusUpdateEvent):
            if event.final or event.status.state.is_terminal:
                self.ended = True
            self.status = _repeat(event.task_id, event.context_id, event.status)

    def beat(self, now: float, interval: float) -> None:
        """Send the repeated status, if due and the worker is not sending (caller: the thread)."""
        if not self.sending.acquire(blocking=False):
            return  # the worker is sending: the stream is not quiet
        try:
            if now < self.due:
                return
            self.due = now + interval
            if self.ended or self.status is None:
                return
            self._send(self.status)
        except Exception:  # a keep-alive is best effort: the next one may get through
            logger.warning("could not send a stream keep-alive", exc_info=True)
        finally:
            self.sending.release()


def _repeat(task_id: str, context_id: str, status: TaskStatus) -> TaskStatusUpdateEvent:
    """The status update a keep-alive sends: the state (and its time) only, not final."""
    return TaskStatusUpdateEvent(
        task_id=task_id,
        context_id=context_id,
        status=TaskStatus(state=status.state, timestamp=status.timestamp),
        final=False,
    )


class StreamKeepAlive:
    """The ``a2a-kafka-keepalive`` thread: sends the keep-alives of every quiet stream.

    It sleeps until the earliest stream is due (or ``interval`` when none is open), so it
    costs nothing between keep-alives. :meth:`close` stops it.

    Args:
        interval: seconds of silence after which a stream's status is sent again (> 0).
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._streams: set[QuietStream] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="a2a-kafka-keepalive", daemon=True)
        self._thread.start()

    def open(self, send: Callable[[TaskStatusUpdateEvent], None]) -> QuietStream:
        """Watch a new stream; ``send`` sends one keep-alive event on it."""
        stream = QuietStream(send, time.monotonic() + self.interval)
        with self._lock:
            self._streams.add(stream)
        return stream

    def close_stream(self, stream: QuietStream) -> None:
        """Stop watching ``stream`` (call it holding ``stream.sending``, before its end)."""
        stream.ended = True
        with self._lock:
            self._streams.discard(stream)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                streams = list(self._streams)
            now = time.monotonic()
            for stream in streams:
                if stream.due <= now:
                    stream.beat(now, self.interval)
            next_due = min((s.due for s in streams if not s.ended), default=now + self.interval)
            self._stop.wait(max(0.01, min(next_due, now + self.interval) - time.monotonic()))

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread (idempotent); open streams get no more keep-alives."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
