"""``Connector``: the client's connecting, on a thread of its own, so a call waits for it only
until its deadline; after a failure, calls fail fast for a while instead of paying again.

Opening the client (producer, topics, reply reader), repairing it after a failed send,
and checking the brokers after a call timed out all take as long as the brokers make
them take: up to ``connect_timeout`` when none answers. None of it runs on a caller's
thread. A call that needs it starts it (one attempt at a time) and waits for it at most
until the call's own deadline, then raises BrokerUnavailableError; the attempt goes on,
and the next call finds its result. An attempt that failed is not tried again before a
cool-down (0.25 s, doubling up to 5 s, plus up to 0.25 s of jitter; tenacity's waits):
meanwhile every call that needs it raises the attempt's error at once.

Thread: ``a2a-kafka-connect``, one at a time, living for one attempt; owned by the client,
which waits for it briefly at close (an attempt that finishes after the close closes
what it built).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable

from tenacity import RetryCallState, wait_exponential, wait_random

from ..errors import A2AKafkaError, BrokerUnavailableError

__all__ = ["Connector"]

logger = logging.getLogger(__name__)

COOL_DOWN = wait_exponential(multiplier=0.25, max=5.0) + wait_random(0, 0.25)
"""How long calls fail fast after a failed attempt, by the number of failures in a row."""


def _cool_down(failures: int) -> float:
    state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
    state.attempt_number = failures
    return float(COOL_DOWN(state))


class Connector:
    """Runs ``attempt`` (open, repair or check the client's connections) on its own thread.

    ``attempt`` decides what to do from the client's state, and raises what went wrong
    (BrokerUnavailableError, KafkaAuthorizationError...).
    """

    def __init__(self, attempt: Callable[[], None], servers: str) -> None:
        self._attempt = attempt
        self._servers = servers
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._done.set()
        self._error: BaseException | None = None
        self._failures = 0
        self._retry_at = 0.0

    @property
    def busy(self) -> bool:
        """True while an attempt runs."""
        return self._thread is not None

    def start(self) -> bool:
        """Start an attempt unless one runs or a cool-down holds; True when one runs now."""
        with self._lock:
            return self._start_locked()

    def _start_locked(self) -> bool:
        if self._thread is not None:
            return True
        if self._error is not None and time.monotonic() < self._retry_at:
            return False
        self._done.clear()
        self._thread = threading.Thread(target=self._run, name="a2a-kafka-connect", daemon=True)
        self._thread.start()
        return True

    def ensure(self, deadline: float | None, timeout: float | None) -> None:
        """Return once an attempt succeeded; raise its error when it failed (at once during a
        cool-down), or BrokerUnavailableError at ``deadline`` (time.monotonic(); None: no
        limit) while it still runs. ``timeout`` is the call's, for the message."""
        with self._lock:
            if not self._start_locked():
                assert self._error is not None
                raise self._failing_fast(self._error)
            done = self._done
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not done.wait(left):
            raise BrokerUnavailableError(
                f"not connected to Kafka at {self._servers} within the call's timeout "
                f"({timeout}s); still trying in the background"
            )
        error = self._error
        if error is not None:
            raise self._copy(error)

    @staticmethod
    def _copy(error: BaseException) -> BaseException:
        """A copy of ``error`` for one caller (each raise would add to its traceback)."""
        fresh = copy.copy(error)
        fresh.__cause__ = error.__cause__
        return fresh

    def _failing_fast(self, error: BaseException) -> BaseException:
        """The last attempt's error, for a caller who did not wait for it (a cool-down)."""
        fresh = self._copy(error)
        left = self._retry_at - time.monotonic()
        if isinstance(fresh, A2AKafkaError) and left > 0:
            fresh.message = f"{fresh.message} (failing fast: next try in {left:.1f}s)"
            fresh.args = (fresh.message,)
        return fresh

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            self._attempt()
        except BaseException as exc:  # handed to the callers waiting for it
            error = exc
        with self._lock:
            self._error = error
            if error is None:
                self._failures = 0
            else:
                self._failures += 1
                self._retry_at = time.monotonic() + _cool_down(self._failures)
                logger.debug("connecting failed (%d in a row): %s", self._failures, error)
            self._thread = None
            self._done.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a running attempt to end (at close); True when idle."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()
