"""kafka-python's log lines that are routine for us, moved down to DEBUG.

kafka-python 3.0.12 logs, at levels meant for trouble, lines that every healthy
process of ours produces:

- ``kafka.cluster`` ERROR "Metadata refresh: failed Cancelled": a client closing while a
  metadata refresh was in flight (every close of a producer, consumer or admin client);
- ``kafka.net.selector`` WARNING "... blocking the event loop ...": one step of its I/O
  loop took over 0.1 s, which on a busy machine (the GIL shared with handler threads)
  happens under any load and says nothing about the broker.

:class:`RoutineKafkaLines` turns those records into DEBUG ones: a logger set to DEBUG
(``logging.getLogger("kafka").setLevel(logging.DEBUG)``) still shows them, nothing above
does. Every other line of those loggers passes unchanged.

:func:`quiet_thread` does the same for every line of one I/O thread while a block runs:
the admin client that asks the brokers' size limits, whose connection a broker without
DescribeConfigs (the embedded one) drops; the library logs the outcome itself.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

__all__ = ["ROUTINE_LINES", "RoutineKafkaLines", "quiet_thread", "quieten_routine_lines"]

_NETWORK_LOGGERS = ("kafka.net.transport", "kafka.net.connection", "kafka.net.manager")

ROUTINE_LINES: dict[str, tuple[str, ...]] = {
    "kafka.cluster": ("Metadata refresh: failed Cancelled",),
    "kafka.net.selector": ("blocking the event loop",),
}
"""Logger name -> the texts whose lines are routine (matched in the formatted message)."""


class RoutineKafkaLines(logging.Filter):
    """Moves the routine lines of one kafka-python logger down to DEBUG (see the module)."""

    def __init__(self, logger_name: str, texts: tuple[str, ...]) -> None:
        super().__init__()
        self._logger = logging.getLogger(logger_name)
        self._texts = texts

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format itself is not one of ours
            return True
        if not any(text in message for text in self._texts):
            return True
        record.levelno = logging.DEBUG
        record.levelname = logging.getLevelName(logging.DEBUG)
        return self._logger.isEnabledFor(logging.DEBUG)


def quieten_routine_lines() -> None:
    """Put a :class:`RoutineKafkaLines` on each logger of :data:`ROUTINE_LINES`, once."""
    for name, texts in ROUTINE_LINES.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, RoutineKafkaLines) for f in logger.filters):
            logger.addFilter(RoutineKafkaLines(name, texts))


class _ThreadLines(logging.Filter):
    """Moves the lines one thread logs down to DEBUG (see :func:`quiet_thread`)."""

    def __init__(self, logger: logging.Logger, ident: int | None) -> None:
        super().__init__()
        self._logger = logger
        self._ident = ident

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG or record.thread != self._ident:
            return True
        record.levelno = logging.DEBUG
        record.levelname = logging.getLevelName(logging.DEBUG)
        return self._logger.isEnabledFor(logging.DEBUG)


@contextlib.contextmanager
def quiet_thread(thread: threading.Thread | None) -> Iterator[None]:
    """While the block runs, kafka-python's network lines logged by ``thread`` (an I/O
    thread of a client of our own) go down to DEBUG. None: nothing changes."""
    if thread is None or thread.ident is None:
        yield
        return
    filters = []
    for name in _NETWORK_LOGGERS:
        logger = logging.getLogger(name)
        line_filter = _ThreadLines(logger, thread.ident)
        logger.addFilter(line_filter)
        filters.append((logger, line_filter))
    try:
        yield
    finally:
        for logger, line_filter in filters:
            logger.removeFilter(line_filter)
