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
"""

from __future__ import annotations

import logging

__all__ = ["ROUTINE_LINES", "RoutineKafkaLines", "quieten_routine_lines"]

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
