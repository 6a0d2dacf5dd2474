"""Push records for a client: run its callbacks on a thread of their own."""

from __future__ import annotations

import hmac
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ClientClosedError
from ..wire import Reply

__all__ = ["PushDispatcher"]

logger = logging.getLogger(__name__)

_STOP = object()
_WAIT_SLICE = 1.0


class PushDispatcher:
    """Hands push records (``push_*``, unsolicited) to the client's callbacks, in order.

    The reply reader only queues each record (:meth:`deliver`), so a slow or
    failing callback never delays replies. The thread
    (``a2a-kafka-push-dispatcher``) starts with the first callback and stops in
    :meth:`close`; a callback that raises is logged and the others still run.
    """

    def __init__(self, callbacks: Iterable[tuple[Callable[[Any], None], str | None]] = ()) -> None:
        """``callbacks``: those registered already, as :attr:`callbacks` lists them (a
        forked child's client keeps its parent's); their thread starts with the first
        record."""
        self._lock = threading.Lock()
        self._callbacks: list[tuple[Callable[[Any], None], str | None]] = list(callbacks)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def callbacks(self) -> list[tuple[Callable[[Any], None], str | None]]:
        """The callbacks registered, each with its token (None: every push record)."""
        return list(self._callbacks)

    def add(self, callback: Callable[[Any], None], token: str | None = None) -> None:
        """Call ``callback(event)`` for every push record from now on; with ``token``, only
        for those carrying that token (the ``notification_token`` header).

        Raises ClientClosedError once :meth:`close` ran."""
        with self._lock:
            if self._closed:
                raise ClientClosedError("the client is closed")
            self._callbacks.append((callback, token))
            self._start_locked()

    def _start_locked(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="a2a-kafka-push-dispatcher", daemon=True
            )
            self._thread.start()

    def active(self) -> bool:
        """True once a callback is registered (the reader then keeps reading)."""
        return bool(self._callbacks)

    def deliver(self, reply: Reply) -> None:
        """Queue a decoded push record (called on the reply-reader thread)."""
        if not self._callbacks:
            logger.info("push record %s: no push callback is registered", reply.type)
            return
        if self._thread is None:  # callbacks kept through a fork: their thread starts now
            with self._lock:
                if self._closed:
                    return
                self._start_locked()
        self._queue.put(reply)

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=_WAIT_SLICE)
            except queue.Empty:
                if self._closed:  # closed while nothing was queued (the _STOP put races)
                    return
                continue
            if item is _STOP:
                return
            with self._lock:
                callbacks = list(self._callbacks)
            for callback, token in callbacks:
                if token is not None and not _same_token(token, item.token):
                    continue  # not a push this callback asked for
                try:
                    callback(item.data)
                except Exception:
                    logger.exception("a push callback failed on a %s record", item.type)

    def close(self, timeout: float) -> None:
        """Run what is queued (within ``timeout`` s), then stop the thread. Idempotent."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(_STOP)
            if thread is not threading.current_thread():
                thread.join(timeout)


def _same_token(expected: str, got: str | None) -> bool:
    """``got`` is ``expected``, compared in constant time."""
    return got is not None and hmac.compare_digest(expected.encode(), got.encode())
