"""``WorkerThreads``: the app's worker threads, an executor whose threads are daemons.

``concurrent.futures.ThreadPoolExecutor`` starts non-daemon threads and joins them at
interpreter exit (Python 3.9+), so one handler that never returns keeps the process alive
after ``stop()`` has returned. Python cannot stop a thread; what the server can do is not
wait for it: these threads are daemons, and nothing joins them at exit. ``stop()`` still
lets running handlers finish within its drain timeout.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

__all__ = ["WorkerThreads"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class WorkerThreads(Executor):
    """An executor of at most ``max_workers`` daemon threads named ``<prefix>_<n>``.

    As ``ThreadPoolExecutor``: a thread is started when work is submitted and no thread
    is idle, up to ``max_workers``; threads are reused; ``shutdown(cancel_futures=True)``
    cancels what has not started. Unlike it, a thread still running at interpreter exit
    does not hold the exit up.
    """

    def __init__(self, max_workers: int, thread_name_prefix: str) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._shutdown = False

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        """Run ``fn(*args, **kwargs)`` on a worker thread; its Future. RuntimeError after
        :meth:`shutdown`."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new work after shutdown")
            future: Future[_T] = Future()
            self._jobs.put((future, fn, args, kwargs))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._max_workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._prefix}_{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more work; idle threads end, busy ones when their work returns.

        ``cancel_futures`` cancels the work not started yet; ``wait`` joins every thread
        (for ever, when a handler never returns: the app never waits so).
        """
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while True:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is not None:
                        job[0].cancel()
            self._jobs.put(None)  # each thread that takes it puts it back for the next
            threads = list(self._threads)
        if wait:
            for thread in threads:
                thread.join()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                self._jobs.put(None)
                return
            future, fn, args, kwargs = job
            del job
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del future, fn, args, kwargs
            self._idle.release()
