"""An asyncio event loop on a thread of its own: where a served a2a-sdk agent's code runs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from ...errors import A2AKafkaError

__all__ = ["CallTasks", "EventLoopThread"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

CANCEL_GRACE = 2.0
"""At stop, how long the tasks still running get to finish once cancelled."""


_SCOPE: contextvars.ContextVar[CallTasks | None] = contextvars.ContextVar(
    "a2a_kafka_sdk_call", default=None
)


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    """The loop's task factory: a plain Task, kept by the call whose code created it."""
    task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
    scope = _SCOPE.get()
    if scope is not None:
        scope.tasks.add(task)
    return task


class CallTasks:
    """The asyncio tasks one call's coroutines start on the loop, so they can be cancelled.

    a2a-sdk's request handlers run the ``AgentExecutor`` in a task of their own,
    which outlives the awaited coroutine it was started from: cancelling that
    coroutine (a deadline passed, the app's watchdog gave up on the call) leaves
    the executor running. Coroutines run through :meth:`run` mark the context the
    tasks they start inherit (a ``contextvars`` variable, read by the loop's task
    factory), so every task started for the call, and every task those start, is
    kept here (weakly) and :meth:`cancel` cancels those still running.
    """

    def __init__(self, loop: EventLoopThread) -> None:
        self._loop = loop
        self.tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()

    async def run(self, start: Callable[[], Awaitable[T]]) -> T:
        """Await ``start()`` with this call's mark on the tasks it starts (the coroutine is
        made here, so one never submitted is never made)."""
        _SCOPE.set(self)  # in this task's own context copy only
        return await start()

    def cancel(self) -> None:
        """Cancel, on the loop, the call's tasks still running. Any thread; never blocks."""
        loop = self._loop._loop
        if loop is None or not self._loop.running:
            return  # stopping the loop cancels everything anyway
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._cancel_all)

    def _cancel_all(self) -> None:
        for task in list(self.tasks):
            if not task.done():
                task.cancel()


class EventLoopThread:
    """One event loop, run forever by the ``a2a-kafka-sdk-loop`` thread until :meth:`stop`.

    Any thread hands it coroutines with :meth:`submit` and waits on the returned
    ``concurrent.futures.Future``. :meth:`stop` cancels what still runs (giving it
    ``CANCEL_GRACE`` seconds), closes async generators and the loop, and joins
    the thread. A stopped loop cannot be started again: a2a-sdk's handlers keep
    asyncio objects bound to the loop they first ran on.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    def start(self) -> None:
        """Start the loop and its thread. Idempotent; raises A2AKafkaError after :meth:`stop`."""
        with self._lock:
            if self._stopped:
                raise A2AKafkaError("a stopped event loop thread cannot be started again")
            if self._thread is not None:
                return
            loop = asyncio.new_event_loop()
            loop.set_task_factory(_task_factory)
            self._loop = loop
            self._thread = threading.Thread(
                target=self._run, args=(loop,), name="a2a-kafka-sdk-loop", daemon=True
            )
            self._thread.start()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and not self._stopped

    @property
    def thread(self) -> threading.Thread | None:
        """The loop's thread, once started."""
        return self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; its result (or error) arrives in the returned future."""
        loop = self._loop
        if loop is None or not self.running:
            coro.close()
            raise A2AKafkaError("the event loop thread is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def call_tasks(self) -> CallTasks:
        """A new :class:`CallTasks`: the tasks of one call, to cancel when it is given up."""
        return CallTasks(self)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop, cancel what still runs, and join the thread (up to ``timeout`` s).

        Idempotent; never joins itself when called from the loop's own thread.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("the a2a-sdk event loop thread did not stop within %ss", timeout)

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            try:
                tasks = asyncio.all_tasks(loop)
                for task in tasks:
                    task.cancel()
                if tasks:
                    loop.run_until_complete(asyncio.wait(tasks, timeout=CANCEL_GRACE))
                loop.run_until_complete(loop.shutdown_asyncgens())
            except Exception:  # closing must go on: the loop is closed below either way
                logger.exception("shutting down the a2a-sdk event loop failed")
            finally:
                asyncio.set_event_loop(None)
                loop.close()
