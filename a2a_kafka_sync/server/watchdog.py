"""``HandlerWatchdog``: a handler that overruns ``handler_timeout`` is answered and let go."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ActiveCall", "HandlerWatchdog"]

logger = logging.getLogger(__name__)


class ActiveCall:
    """One handler call the watchdog times."""

    __slots__ = ("abandoned", "correlation_id", "deadline", "lock", "moved", "payload", "released")

    def __init__(self, correlation_id: str, payload: Any, deadline: float) -> None:
        self.correlation_id = correlation_id
        self.payload = payload
        self.deadline = deadline
        self.abandoned = False
        """The watchdog gave up on it (it overran ``handler_timeout``)."""
        self.moved = False
        """Its partition moved to another server (see :mod:`.moved`)."""
        self.released = False
        self.lock = threading.Lock()

    @property
    def dropped(self) -> bool:
        """True once nothing it sends may reach its caller: abandoned or moved."""
        return self.abandoned or self.moved


class HandlerWatchdog:
    """Limits handler calls to ``max_running`` at once and to ``timeout`` seconds each.

    Python cannot stop a thread, so a call that overruns is *abandoned*: the
    ``on_overdue`` callback answers its caller with an error and finishes its
    request, its context's ``cancelled`` event is set (a cooperative handler
    stops), its slot is given back so another request can run, and whatever it
    sends later is dropped. Its worker thread stays busy until the handler
    returns, so the pool has spare threads for that (see KafkaServerApp);
    :attr:`stuck` counts the abandoned calls still holding theirs. The thread
    ``a2a-kafka-watchdog`` checks a few times a second; :meth:`close` stops it.
    """

    def __init__(
        self, timeout: float, max_running: int, on_overdue: Callable[[ActiveCall], None]
    ) -> None:
        self.timeout = timeout
        self._slots = threading.Semaphore(max_running)
        self._on_overdue = on_overdue
        self._lock = threading.Lock()
        self._active: dict[int, ActiveCall] = {}
        self._stuck = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="a2a-kafka-watchdog", daemon=True)
        self._thread.start()

    def begin(self, correlation_id: str, payload: Any) -> ActiveCall:
        """Wait for a free slot, then start timing a call (``payload`` is the caller's)."""
        while not self._slots.acquire(timeout=1.0):
            if self._stop.is_set():
                break
        call = ActiveCall(correlation_id, payload, time.monotonic() + self.timeout)
        with self._lock:
            self._active[id(call)] = call
        return call

    @property
    def stuck(self) -> int:
        """Abandoned calls whose handler has not returned yet (each holds a worker thread)."""
        with self._lock:
            return self._stuck

    def end(self, call: ActiveCall) -> None:
        """The call returned (or was abandoned earlier): stop timing it, free its slot once."""
        with self._lock:
            self._active.pop(id(call), None)
            with call.lock:
                if call.abandoned:
                    self._stuck -= 1  # its handler returned at last: its thread is back
        self._release(call)

    def _release(self, call: ActiveCall) -> None:
        with call.lock:
            if call.released:
                return
            call.released = True
        self._slots.release()

    def _run(self) -> None:
        interval = min(0.25, self.timeout / 4)
        while not self._stop.wait(interval):
            now = time.monotonic()
            with self._lock:
                overdue = [c for c in self._active.values() if c.deadline <= now]
                for call in overdue:
                    self._active.pop(id(call), None)
                    with call.lock:
                        call.abandoned = True
                    self._stuck += 1
            for call in overdue:
                if call.moved:  # its caller is served elsewhere: told nothing from here
                    self._release(call)
                    continue
                logger.warning(
                    "handler for request %s overran handler_timeout=%ss: answered with an "
                    "error, its worker is let go",
                    call.correlation_id,
                    self.timeout,
                )
                try:
                    self._on_overdue(call)
                except Exception:
                    logger.exception("answering the overdue request %s failed", call.correlation_id)
                self._release(call)

    def close(self, timeout: float = 2.0) -> None:
        """Stop the watchdog thread. Idempotent."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
