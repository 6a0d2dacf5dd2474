"""The reply-reader thread: owns the reply consumer and feeds the correlation registry."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer

from ..errors import ProtocolError
from ..wire import HEADER_CORRELATION_ID, HEADER_NOTIFICATION_TYPE, Reply, decode_reply
from .correlation import CorrelationManager

__all__ = ["ReplyReader"]

logger = logging.getLogger(__name__)

POLL_TIMEOUT_MS = 100
"""How long one poll waits for records; also the longest stop() waits for the thread to notice."""

_ERROR_BACKOFF = 0.5

IDLE_CHECK = 1.0
"""While idle, how often the reader looks again whether push callbacks were registered."""


class ReplyReader:
    """Reads the client's reply topic on a thread of its own and resolves waiters.

    The consumer must already be assigned and positioned; from :meth:`start` on
    it belongs to the thread, which closes it when it ends. While no call waits
    and nobody ``listening()`` for push records, the thread sleeps instead of
    polling (see :meth:`_idle`). A record that cannot
    be decoded fails its waiter with ProtocolError (or is logged, when it names
    no waiter); nothing a record holds can stop the thread.
    """

    def __init__(
        self,
        consumer: KafkaConsumer,
        registry: CorrelationManager,
        *,
        on_push: Callable[[Reply], None] | None = None,
        listening: Callable[[], bool] = lambda: False,
        name: str = "a2a-kafka-reply-reader",
    ) -> None:
        self._consumer = consumer
        self._registry = registry
        self._on_push = on_push
        self._listening = listening
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def thread(self) -> threading.Thread:
        """The reader's thread."""
        return self._thread

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Ask the thread to stop and wait up to ``timeout`` s; True when it has ended."""
        self._stop.set()
        self._registry.activity.set()  # wakes an idle reader
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._idle():
                    continue
                try:
                    batches = self._consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
                except Exception:
                    logger.warning("polling the reply topic failed; retrying", exc_info=True)
                    self._stop.wait(_ERROR_BACKOFF)
                    continue
                for records in batches.values():
                    for record in records:
                        try:
                            self._handle(record)
                        except Exception:  # one record must never stop the reader
                            logger.exception(
                                "dropped a reply record at %s[%s]@%s",
                                getattr(record, "topic", "?"),
                                getattr(record, "partition", "?"),
                                getattr(record, "offset", "?"),
                            )
        finally:
            if not self._stop.is_set():  # died, not stopped: nobody will answer the callers
                self._registry.fail_all("the reply reader stopped unexpectedly")
            try:
                self._consumer.close(autocommit=False, timeout_ms=1000)
            except Exception:
                logger.warning("closing the reply consumer failed", exc_info=True)

    def _idle(self) -> bool:
        """With no call waiting and no push callback, sleep until a call is registered.

        A consumer that polls an empty topic still costs a fetch every
        ``fetch_max_wait_ms`` (with the low-latency profile, ~100 a second and
        much of a core); an idle client should cost nothing. Records that arrive
        meanwhile (late replies) are read, and dropped, on the next call.
        Returns True when it slept.
        """
        activity = self._registry.activity
        activity.clear()
        if len(self._registry) or self._listening():
            return False
        activity.wait(IDLE_CHECK)
        return True

    def _handle(self, record: Any) -> None:
        correlation_id: str | None = None
        notification = None
        for name, value in record.headers or ():
            if value is None:  # Kafka allows null header values
                continue
            if name == HEADER_CORRELATION_ID and correlation_id is None:
                correlation_id = value.decode("utf-8", "replace")
            elif name == HEADER_NOTIFICATION_TYPE:
                notification = value
        if correlation_id is None:
            self._handle_uncorrelated(record, notification)
            return
        try:
            reply = decode_reply(record.value, correlation_id=correlation_id)
        except ProtocolError as exc:
            if not self._registry.fail(correlation_id, exc):
                logger.warning(
                    "dropped an undecodable reply at %s[%d]@%d: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    exc,
                )
            return
        if not self._registry.resolve(correlation_id, reply):
            logger.debug(
                "no caller waits for reply %s (%s): late or not ours", correlation_id, reply.type
            )

    def _handle_uncorrelated(self, record: Any, notification: bytes | None) -> None:
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        if notification != b"push":
            logger.warning("dropped a reply record without correlation_id at %s", where)
            return
        try:
            reply = decode_reply(record.value)
        except ProtocolError as exc:
            logger.warning("dropped an undecodable push record at %s: %s", where, exc)
            return
        if self._on_push is None:
            logger.info("push record %s at %s: no push handler is registered", reply.type, where)
            return
        try:
            self._on_push(reply)
        except Exception:
            logger.exception("the push handler failed on the record at %s", where)
