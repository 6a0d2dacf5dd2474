"""The agents the benchmarks call, each served in a process of its own.

A server runs in its own process, as it would in production, so the client's
and the server's Python code do not share one GIL; the floor's echo server is
run the same way. :class:`ServerProcess` starts one and waits until it serves.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Iterator
from typing import Any

from a2a_kafka_sync import KafkaServerApp, Message

__all__ = ["STREAM_EVENTS", "ServerProcess"]

STREAM_EVENTS = 10_000

_spawn = multiprocessing.get_context("spawn")


def echo(message: Message) -> str:
    """Answers with the request's text."""
    return message.text


def streamer(message: Message) -> Iterator[str]:
    """Streams ``int(text)`` events (``STREAM_EVENTS`` by default), numbered from 0."""
    for number in range(int(message.text or STREAM_EVENTS)):
        yield str(number)


def sleeper(message: Message) -> str:
    """Answers after 20 ms, as if waiting on a database or a model."""
    time.sleep(0.020)
    return "slept"


AGENTS = {"echo": echo, "stream": streamer, "sleep": sleeper}


def _serve_library(
    settings: dict[str, Any], topic: str, agent: str, extra: dict[str, Any], ready: Any, stop: Any
) -> None:
    log_dir = os.environ.get("A2A_BENCH_LOG_DIR")  # diagnostics: each server logs to a file
    if log_dir:
        logging.basicConfig(
            filename=os.path.join(log_dir, f"server-{os.getpid()}.log"),
            level=logging.INFO,
            format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s",
        )
    with KafkaServerApp(AGENTS[agent], request_topic=topic, **settings, **extra) as app:
        app.wait_until_assigned(60)
        ready.set()
        stop.wait()


def _serve_floor(
    settings: dict[str, Any], topic: str, reply_value: bytes, ready: Any, stop: Any
) -> None:
    from floor import serve_echo

    serve_echo(settings, topic, reply_value, stop=stop.is_set, ready=ready.set)


class ServerProcess:
    """A library server (``agent`` from AGENTS) or the floor's echo (``floor_reply`` bytes)."""

    def __init__(
        self,
        settings: dict[str, Any],
        topic: str,
        *,
        agent: str | None = None,
        floor_reply: bytes | None = None,
        **extra: Any,
    ) -> None:
        self._ready = _spawn.Event()
        self._stop = _spawn.Event()
        if agent is not None:
            args: tuple[Any, ...] = (settings, topic, agent, extra, self._ready, self._stop)
            target: Any = _serve_library
        else:
            args = (settings, topic, floor_reply, self._ready, self._stop)
            target = _serve_floor
        self._process = _spawn.Process(target=target, args=args, daemon=True)

    def start(self, timeout: float = 90.0) -> ServerProcess:
        """Launch the process and wait until it serves."""
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> None:
        """Launch the process (several can then start side by side)."""
        self._process.start()

    def wait_ready(self, timeout: float = 90.0) -> ServerProcess:
        """Wait until the server serves; raises RuntimeError after ``timeout`` s."""
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("the benchmark server did not start serving")
        return self

    @property
    def pid(self) -> int:
        """The server process's id."""
        assert self._process.pid is not None
        return self._process.pid

    def stop(self) -> None:
        self._stop.set()
        self._process.join(30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
