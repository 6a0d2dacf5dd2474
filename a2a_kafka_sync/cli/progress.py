"""A progress line on a terminal's stderr while ``stream`` waits for events."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import TextIO

__all__ = ["Progress"]

_FRAMES = "|/-\\"
_CLEAR = "\r\x1b[K"  # back to the start of the line, and erase it


class Progress:
    """A spinner, the events received so far and the seconds waited, on one terminal line.

    It draws only when ``stream`` is a terminal (``isatty()``): otherwise every method
    does nothing, so output sent to a file or a pipe stays clean. Once started, a
    thread of its own (``a2a-kafka-cli-progress``) redraws the line every
    ``interval`` seconds until :meth:`stop` (or the end of a ``with`` block), which
    erases it; :meth:`printing` erases it while the caller prints an event.

    Args:
        stream: where to draw (the CLI passes ``sys.stderr``).
        label: what is awaited, e.g. ``"events from echo-agent"``.
        interval: seconds between redraws.
    """

    def __init__(self, stream: TextIO, label: str, *, interval: float = 0.1) -> None:
        self.enabled = stream.isatty()
        self._stream = stream
        self._label = label
        self._interval = interval
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._received = 0
        self._frame = 0
        self._started = time.monotonic()
        self._thread: threading.Thread | None = None

    def start(self) -> Progress:
        """Draw the line now, and start redrawing it. Idempotent; nothing when not a terminal."""
        if not self.enabled or self._thread is not None:
            return self
        self._started = time.monotonic()
        with self._lock:
            self._draw()
        self._thread = threading.Thread(
            target=self._spin, name="a2a-kafka-cli-progress", daemon=True
        )
        self._thread.start()
        return self

    def _spin(self) -> None:
        while not self._stopped.wait(self._interval):
            with self._lock:
                if not self._stopped.is_set():
                    self._draw()

    def _draw(self) -> None:
        """Write the line (called with the lock held)."""
        frame = _FRAMES[self._frame % len(_FRAMES)]
        self._frame += 1
        waited = time.monotonic() - self._started
        self._stream.write(
            f"{_CLEAR}{frame} waiting for {self._label}: {self._received} received, {waited:.1f}s"
        )
        self._stream.flush()

    def _erase(self) -> None:
        self._stream.write(_CLEAR)
        self._stream.flush()

    @contextlib.contextmanager
    def printing(self) -> Iterator[None]:
        """Count one event received, and keep the line off the screen while it is printed."""
        if not self.enabled:
            yield
            return
        with self._lock:
            self._received += 1
            self._erase()
            try:
                yield
            finally:
                if not self._stopped.is_set():
                    self._draw()

    def stop(self) -> None:
        """Stop redrawing and erase the line. Idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopped.set()
        thread.join(1.0)
        with self._lock:
            self._erase()

    def __enter__(self) -> Progress:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
