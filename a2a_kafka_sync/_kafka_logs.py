"""kafka-python's log lines: the routine ones moved down to DEBUG, and what the lines
logged while a client connects say about why it could not.

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

:class:`ConnectionTrouble` listens while ``_kafka.py`` builds a client, so that a client
that could not connect can say why (see the class).

:func:`quiet_thread` moves down to DEBUG every line of one I/O thread while a block runs:
the admin client that asks the brokers' size limits, whose connection a broker without
DescribeConfigs (the embedded one) drops; the library logs the outcome itself.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import kafka.errors

__all__ = [
    "ROUTINE_LINES",
    "ConnectionTrouble",
    "RoutineKafkaLines",
    "quiet_thread",
    "quieten_routine_lines",
]

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


CLOSES_IN_SASL = 3
"""Connections lost during the SASL exchange after which connecting stops (see
:class:`ConnectionTrouble`); one such loss alone may be a broker going away."""


class ConnectionTrouble(logging.Handler):
    """What kafka-python logged (WARNING or worse) while a client connected.

    ``last`` is its last connection error, so a refused connection can say why (a
    certificate, a handshake, a refused port) instead of only "Unable to bootstrap".
    kafka-python's lines do not always name the broker, so in a process with other clients
    connecting at the same moment the line may be theirs: it is only added to an error.

    Two failures no retry can cure are recognised by the exception objects kafka-python
    logs with its lines, not by their wording (``fatal``): the brokers refused the SASL
    credentials (``authentication``), or a broker's certificate did not verify
    (``certificate``). kafka-python 3.0.12 drops the bytes it read with the end of a
    connection, so the broker's refusal, which Kafka sends and then closes, often reaches
    it as "socket disconnected": with ``sasl``, a connection lost after the broker
    answered its ApiVersions request and before it was ready, that is during the SASL
    exchange, is noted (``closed_in_authentication``); once it happened
    :data:`CLOSES_IN_SASL` times, retrying stops too.
    """

    def __init__(self, *, sasl: bool = False) -> None:
        super().__init__(logging.WARNING)
        self._sasl = sasl
        self.last: str | None = None
        self.authentication: str | None = None
        """The brokers' reason for refusing the SASL credentials, once seen."""
        self.certificate: str | None = None
        """The failed verification of a broker's certificate, once seen."""
        self.closed_in_authentication: str | None = None
        """Why, when connections were lost during the SASL exchange: most likely refused."""
        self._closed = 0

    @property
    def fatal(self) -> bool:
        """True once a failure was seen that retrying cannot cure: a refusal, a certificate,
        or connections lost during the SASL exchange again and again (three times)."""
        return (
            self.authentication is not None
            or self.certificate is not None
            or self._closed >= CLOSES_IN_SASL
        )

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("kafka.net", "kafka.conn", "kafka.client")):
            return
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, kafka.errors.SaslAuthenticationFailedError):
                self.authentication = str(arg)
            elif isinstance(arg, kafka.errors.KafkaConnectionError) and isinstance(
                arg.__context__, ssl.SSLCertVerificationError
            ):
                self.certificate = str(arg)
        if self._sasl and record.name == "kafka.net.connection" and _lost_in_sasl(args):
            self._closed += 1
            self.closed_in_authentication = (
                f"the broker closed the connection during the SASL exchange ({self._closed} "
                "time(s)), as Kafka does after refusing the credentials"
            )
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format itself tells us nothing
            return
        lowered = text.lower()
        if "unable to bootstrap" not in lowered and ("error" in lowered or "fail" in lowered):
            self.last = text[-300:]


def _lost_in_sasl(args: tuple[Any, ...]) -> bool:
    """True for kafka-python's "Connection lost" line (its args: the connection, the error)
    of a connection that had its ApiVersions answer and was not ready yet."""
    if len(args) != 2 or not isinstance(args[1], kafka.errors.KafkaConnectionError):
        return False
    connection = args[0]
    answered = getattr(connection, "broker_version_data", None) is not None
    init = getattr(connection, "_init_future", None)
    return answered and init is not None and getattr(init, "exception", None) is args[1]


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
