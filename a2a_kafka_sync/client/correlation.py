"""Waiters keyed by correlation id: how a reply read on one thread reaches the caller on another.

The caller registers a waiter *before* its request leaves, the reply-reader
thread resolves it when the reply arrives, and the caller waits on it with a
timeout. A unary call waits on a :class:`Waiter` (a ``threading.Event`` with a
value or an error, like a ``concurrent.futures.Future``); a stream reads a
:class:`StreamWaiter` (a queue of replies that ends with a final one).

A waiter may carry a :class:`CallObserver` (the client's metrics and span of
the call): whoever takes the waiter out of the registry tells it how the call
ended, exactly once, before the caller wakes. "Takes" is one ``dict.pop`` (atomic):
of a reply, a failure, a timeout and a close that meet on one call, only the one
whose pop returned the waiter tells its observer, whatever the interleaving.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import ClientClosedError, PendingLimitError, RequestTimeoutError
from ..wire import Reply

__all__ = ["CallObserver", "CorrelationManager", "StreamWaiter", "Waiter"]

logger = logging.getLogger(__name__)


class CallObserver(Protocol):
    """Told what happens to one call: each stream event, then how it ended (once)."""

    def event(self) -> None:
        """A stream event arrived (not the record that ends the stream)."""

    def done(self, reply: Reply | None, error: BaseException | None) -> None:
        """The call ended with its final ``reply``, or with ``error``."""


def _tell(observer: CallObserver, reply: Reply | None, error: BaseException | None) -> None:
    """Tell ``observer`` how its call ended; its failure never keeps a caller waiting."""
    try:
        observer.done(reply, error)
    except Exception:
        logger.warning("a call observer failed", exc_info=True)


class Waiter:
    """A pending unary call: resolved once, by a reply or an error, then read by the caller."""

    __slots__ = ("_error", "_event", "_reply", "correlation_id", "observer", "sent")

    def __init__(self, correlation_id: str, observer: CallObserver | None = None) -> None:
        self.correlation_id = correlation_id
        self.observer = observer
        self.sent: Any = None
        """The producer's future of the request record, once handed to the producer."""
        self._event = threading.Event()
        self._reply: Reply | None = None
        self._error: BaseException | None = None

    def set_reply(self, reply: Reply) -> None:
        """Resolve with a reply (the first resolution wins)."""
        if not self._event.is_set():
            self._reply = reply
            self._event.set()

    def set_error(self, error: BaseException) -> None:
        """Resolve with an error, raised to the caller (the first resolution wins)."""
        if not self._event.is_set():
            self._error = error
            self._event.set()

    def done(self) -> bool:
        """True once a reply or an error has arrived."""
        return self._event.is_set()

    def wait_done(self, timeout: float | None) -> bool:
        """Block until resolved, at most ``timeout`` s; True once resolved."""
        return self._event.wait(timeout)

    def wait(self, timeout: float | None) -> Reply:
        """The reply; raises the error it was resolved with, or RequestTimeoutError.

        Waits at most ``timeout`` seconds (None: until resolved).
        """
        if not self._event.wait(timeout):
            raise RequestTimeoutError(
                f"no reply within {timeout}s", correlation_id=self.correlation_id
            )
        if self._error is not None:
            raise self._error
        assert self._reply is not None
        return self._reply


class StreamWaiter:
    """A pending stream: replies queue up in arrival order until the final one."""

    __slots__ = ("_queue", "correlation_id", "observer", "sent")

    def __init__(self, correlation_id: str, observer: CallObserver | None = None) -> None:
        self.correlation_id = correlation_id
        self.observer = observer
        self.sent: Any = None
        """The producer's future of the request record, once handed to the producer."""
        self._queue: queue.SimpleQueue[Reply | BaseException] = queue.SimpleQueue()

    def set_reply(self, reply: Reply) -> None:
        """Queue one reply of the stream."""
        self._queue.put(reply)

    def set_error(self, error: BaseException) -> None:
        """Queue an error: the stream ends with it."""
        self._queue.put(error)

    def next(self, timeout: float | None) -> Reply:
        """The next reply; raises a queued error, or RequestTimeoutError after ``timeout`` s."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise RequestTimeoutError(
                f"no stream event within {timeout}s", correlation_id=self.correlation_id
            ) from None
        if isinstance(item, BaseException):
            raise item
        return item


class CorrelationManager:
    """The registry of pending calls: a lock-guarded dict of waiters keyed by correlation id.

    Thread-safe. A waiter leaves the dict when its call is answered (a unary
    reply, or a stream's final record), fails, times out or is discarded, so
    nothing is left behind; :meth:`fail_all` wakes every caller still waiting.
    """

    def __init__(self, max_pending: int | None = None) -> None:
        self.max_pending = max_pending
        self.activity = threading.Event()
        """Set whenever a call is registered (the reply reader sleeps on it while idle)."""
        self._lock = threading.Lock()
        self._waiters: dict[str, Waiter | StreamWaiter] = {}
        self._closed: str | None = None

    def __len__(self) -> int:
        return len(self._waiters)

    def register(
        self, correlation_id: str, *, stream: bool = False, observer: CallObserver | None = None
    ) -> Waiter | StreamWaiter:
        """Add a waiter for a request about to be sent (with the call's ``observer``).

        Raises ClientClosedError after fail_all(), PendingLimitError when
        ``max_pending`` calls already wait.
        """
        waiter: Waiter | StreamWaiter = (
            StreamWaiter(correlation_id, observer) if stream else Waiter(correlation_id, observer)
        )
        with self._lock:
            if self._closed is not None:
                raise ClientClosedError(self._closed, correlation_id=correlation_id)
            if correlation_id in self._waiters:
                raise ValueError(f"correlation id {correlation_id!r} is already pending")
            if self.max_pending is not None and len(self._waiters) >= self.max_pending:
                raise PendingLimitError(
                    f"{len(self._waiters)} calls are already waiting (max_pending)",
                    correlation_id=correlation_id,
                )
            self._waiters[correlation_id] = waiter
        self.activity.set()
        return waiter

    def resolve(self, correlation_id: str, reply: Reply) -> bool:
        """Hand a reply to its waiter; False when nobody waits for it (a late or foreign reply)."""
        with self._lock:
            waiter = self._waiters.get(correlation_id)
            if waiter is None:
                return False
            final = isinstance(waiter, Waiter) or reply.is_final
            if final and self._waiters.pop(correlation_id, None) is not waiter:
                return False  # abandoned (no lock) since the get: abandon() told the observer
        observer = waiter.observer
        if observer is not None:
            if final:
                _tell(observer, reply, None)
            else:
                try:
                    observer.event()
                except Exception:
                    logger.warning("a call observer failed", exc_info=True)
        waiter.set_reply(reply)
        return True

    def fail(self, correlation_id: str, error: BaseException) -> bool:
        """Fail one pending call with ``error``; False when it was no longer pending."""
        with self._lock:
            waiter = self._waiters.pop(correlation_id, None)
        if waiter is None:
            return False
        if waiter.observer is not None:
            _tell(waiter.observer, None, error)
        waiter.set_error(error)
        return True

    def fail_pending(self, error_for: Callable[[str], BaseException]) -> int:
        """Fail every call pending now with ``error_for(correlation_id)``; new calls may
        still register (unlike :meth:`fail_all`). Returns how many calls were failed."""
        with self._lock:
            pending = list(self._waiters)
        return sum(self.fail(cid, error_for(cid)) for cid in pending)

    def discard(self, correlation_id: str) -> None:
        """Forget a call whose caller stopped waiting (timeout, abandoned stream, failed send).

        Takes no lock (a dict pop is atomic), so a finaliser may call it at any point,
        even while its own thread holds the registry's lock.
        """
        self._waiters.pop(correlation_id, None)

    def abandon(self, correlation_id: str, error: BaseException) -> bool:
        """Like :meth:`discard`, and tell the call's observer it ended with ``error``.

        Only when the call was still pending (True): a call already answered or
        failed was reported by whoever ended it. Takes no lock either.
        """
        waiter = self._waiters.pop(correlation_id, None)
        if waiter is None:
            return False
        if waiter.observer is not None:
            _tell(waiter.observer, None, error)
        return True

    def fail_all(self, reason: str) -> int:
        """Fail every pending call with ClientClosedError(``reason``) and refuse new ones.

        Each caller gets an error of its own, naming its correlation id. Returns
        how many calls were failed.
        """
        with self._lock:
            self._closed = reason
            # Each taken by its own pop: abandon() (no lock) may take one meanwhile, and
            # then it, not this, tells that call's observer.
            taken = (self._waiters.pop(cid, None) for cid in list(self._waiters))
            waiters = [waiter for waiter in taken if waiter is not None]
        for waiter in waiters:
            error = ClientClosedError(reason, correlation_id=waiter.correlation_id)
            if waiter.observer is not None:
                _tell(waiter.observer, None, error)
            waiter.set_error(error)
        return len(waiters)
