"""The reply-reader thread: owns the reply consumer and feeds the correlation registry."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import kafka.errors
from kafka import KafkaConsumer, TopicPartition

from .._kafka import library_error
from ..errors import ProtocolError
from ..metrics import ClientMetrics
from ..wire import (
    HEADER_CORRELATION_ID,
    HEADER_KEEPALIVE,
    HEADER_NOTIFICATION_TOKEN,
    HEADER_NOTIFICATION_TYPE,
    HEADER_SEQUENCE,
    Reply,
    decode_reply,
)
from .correlation import CorrelationManager
from .handoff import Handled

__all__ = ["ReplyReader"]

logger = logging.getLogger(__name__)

POLL_TIMEOUT_MS = 100
"""How long one poll waits for records; also the longest stop() waits for the thread to notice."""

_ERROR_BACKOFF = 0.5

IDLE_CHECK = 1.0
"""While idle, how often the reader looks again whether push callbacks were registered."""

GAP_GRACE = 0.2
"""How long a hole in a reply partition's offsets must last before the reader reads past it.

Tansu (the embedded broker) gives a batch its offsets before it stores it, so
under concurrent produce a fetch can return a later batch while an earlier one
is still being written; a consumer then moves past the earlier one and never
reads it (a lost reply). Such holes were seen to fill within 20-40 ms. Real
Kafka never shows one, but has lasting holes of its own (transaction markers,
compaction): the records behind those wait this long, which is why the client
checks holes only with the low-latency (Tansu) profile.
"""

_GAP_RETRY = 0.005
"""While a hole is being checked, the pause before the reader fetches it again."""


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
        metrics: ClientMetrics | None = None,
        gap_grace: float = 0.0,
        positions: Mapping[TopicPartition, int] | None = None,
        skip: Mapping[TopicPartition, tuple[int, int]] | None = None,
    ) -> None:
        """``positions``: where the consumer was positioned, by partition (as far as known);
        ``skip``: the offsets the reader before this one handled already (:mod:`.handoff`)."""
        self._consumer = consumer
        self._metrics = metrics if metrics is not None else ClientMetrics(enabled=False)
        self._registry = registry
        self._on_push = on_push
        self._listening = listening
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._gap_grace = gap_grace
        """0: trust the broker; else re-read any hole in the offsets for this long (GAP_GRACE)."""
        self._next_offset: dict[TopicPartition, int] = {}
        self.handled = Handled(dict(positions or {}), dict(skip or {}))
        """What this reader handled, for the one that takes over from it (:mod:`.handoff`)."""
        self.read_to: dict[TopicPartition, int] = {}
        """The offset after the last record read, by partition (written by the reader's
        thread only): a reply topic whose end is below it was deleted and made again."""
        self._holes: dict[TopicPartition, dict[tuple[int, int], float]] = {}
        """Per partition, each hole seen (first missing offset, next present one): since when."""
        self._refusal: str | None = None
        """The last refusal by the broker's ACLs that was logged (each is logged once)."""

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
            if self._gap_grace > 0:
                self._start_offsets()
            while not self._stop.is_set():
                if self._idle():
                    continue
                try:
                    batches = self._consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
                except kafka.errors.AuthorizationError as exc:
                    self._refused(exc)
                    continue
                except Exception:
                    logger.warning("polling the reply topic failed; retrying", exc_info=True)
                    self._stop.wait(_ERROR_BACKOFF)
                    continue
                for partition, records in batches.items():
                    if records:
                        self.read_to[partition] = records[-1].offset + 1
                    if self._gap_grace > 0:
                        records = self._contiguous(partition, records)
                    for record in records:
                        if not self.handled.take(partition, record.offset):
                            continue  # handled by the reader before this one
                        try:
                            self._handle(record)
                        except Exception:  # one record must never stop the reader
                            logger.exception(
                                "dropped a reply record at %s[%s]@%s",
                                getattr(record, "topic", "?"),
                                getattr(record, "partition", "?"),
                                getattr(record, "offset", "?"),
                            )
                if self._holes:  # a hole is being checked: fetch it again shortly
                    self._stop.wait(_GAP_RETRY)
        finally:
            if not self._stop.is_set():  # died, not stopped: nobody will answer the callers
                self._registry.fail_all("the reply reader stopped unexpectedly")
            try:
                self._consumer.close(autocommit=False, timeout_ms=1000)
            except Exception:
                logger.warning("closing the reply consumer failed", exc_info=True)

    def _refused(self, exc: kafka.errors.KafkaError) -> None:
        """The broker's ACLs refuse reading the reply topic (Read taken away after open):
        fail the calls waiting now with that, since no reply can reach them, log it once,
        and keep trying every half second, so the client recovers once the ACL is back."""
        topics = ",".join(sorted({p.topic for p in self._consumer.assignment()}))

        def error_for(correlation_id: str) -> BaseException:
            return library_error(
                exc,
                "reading the reply topic",
                correlation_id=correlation_id,
                topic=topics,
                acl=f"Read on topic {topics!r}",
            )

        failed = self._registry.fail_pending(error_for)
        if str(exc) != self._refusal:
            self._refusal = str(exc)
            logger.error("%s; %d waiting call(s) failed", error_for(""), failed)
        self._stop.wait(_ERROR_BACKOFF)

    def _start_offsets(self) -> None:
        """Where each assigned partition starts (the client positioned the consumer already)."""
        for partition in self._consumer.assignment():
            try:
                self._next_offset[partition] = self._consumer.position(partition)
            except Exception:  # unknown yet: the first record read sets it
                logger.debug("no position yet for %s", partition, exc_info=True)

    def _contiguous(self, partition: TopicPartition, records: list[Any]) -> list[Any]:
        """The records to handle now: up to the first hole not yet known to last.

        A hole (records missing between the last one handled and the next one
        read) is read again (the consumer seeks back to it) until either its
        records show up or it has lasted ``gap_grace`` seconds; the records
        behind it wait meanwhile, so none is handled twice or skipped early.
        Every hole seen in one fetch is timed from then, so a run of lasting
        holes (transaction markers) costs one grace period, not one per hole.
        """
        expected = self._next_offset.get(partition)
        holes = self._holes.get(partition, {})
        now = time.monotonic()
        keep: list[Any] = []
        stop_at: int | None = None  # the first hole that must be read again
        for record in records:
            offset = record.offset
            if expected is not None and offset < expected:
                continue  # read again after a seek back, and handled already
            if expected is not None and offset > expected:
                hole = (expected, offset)
                since = holes.setdefault(hole, now)
                if stop_at is None and now - since < self._gap_grace:
                    stop_at = expected
                if stop_at is None:
                    logger.debug(
                        "offsets %d-%d of %s stayed absent for %.3fs: reading on",
                        expected,
                        offset - 1,
                        partition,
                        now - since,
                    )
            if stop_at is None:
                keep.append(record)
            expected = offset + 1
        if stop_at is not None:
            self._consumer.seek(partition, stop_at)  # read it again; the records behind wait
            self._next_offset[partition] = stop_at
        elif expected is not None:
            self._next_offset[partition] = expected
        start = self._next_offset.get(partition)
        holes = {hole: since for hole, since in holes.items() if start is None or hole[0] >= start}
        if holes:
            self._holes[partition] = holes
        else:
            self._holes.pop(partition, None)
        return keep

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
        notification = sequence = token = None
        keepalive = False
        for name, value in record.headers or ():
            if value is None:  # Kafka allows null header values
                continue
            if name == HEADER_CORRELATION_ID and correlation_id is None:
                correlation_id = value.decode("utf-8", "replace")
            elif name == HEADER_NOTIFICATION_TYPE:
                notification = value
            elif name == HEADER_SEQUENCE and value.isdigit():
                sequence = int(value)
            elif name == HEADER_KEEPALIVE:
                keepalive = value == b"1"
            elif name == HEADER_NOTIFICATION_TOKEN:
                token = value.decode("utf-8", "replace")
        if correlation_id is None:
            self._handle_uncorrelated(record, notification, token)
            return
        try:
            reply = decode_reply(record.value, correlation_id=correlation_id)
        except ProtocolError as exc:
            if not self._registry.fail(correlation_id, exc):
                self._metrics.reply_dropped("undecodable")
                logger.warning(
                    "dropped an undecodable reply at %s[%d]@%d: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    exc,
                )
            return
        if sequence is not None or keepalive:
            reply = replace(reply, sequence=sequence, keepalive=keepalive)
        if not self._registry.resolve(correlation_id, reply):
            self._metrics.reply_dropped("unknown_correlation_id")
            logger.debug(
                "no caller waits for reply %s (%s): late or not ours", correlation_id, reply.type
            )

    def _handle_uncorrelated(
        self, record: Any, notification: bytes | None, token: str | None
    ) -> None:
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        if notification != b"push":
            self._metrics.reply_dropped("no_correlation_id")
            logger.warning("dropped a reply record without correlation_id at %s", where)
            return
        try:
            reply = decode_reply(record.value)
        except ProtocolError as exc:
            self._metrics.reply_dropped("undecodable")
            logger.warning("dropped an undecodable push record at %s: %s", where, exc)
            return
        if self._on_push is None:
            logger.info("push record %s at %s: no push handler is registered", reply.type, where)
            return
        if token is not None:
            reply = replace(reply, token=token)
        try:
            self._on_push(reply)
        except Exception:
            logger.exception("the push handler failed on the record at %s", where)
