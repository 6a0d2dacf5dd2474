"""One request, start to end: decode, call the handler, produce every reply."""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import kafka.errors
from kafka import KafkaProducer
from kafka.future import Future
from kafka.partitioner import murmur2

from .. import tracing
from .._kafka import build_producer, close_producer, library_error, translate_kafka_errors
from ..auth import Principal
from ..config import ServerConfig
from ..errors import (
    A2AError,
    A2AKafkaError,
    ExtensionSupportRequiredError,
    InternalError,
    UnsupportedOperationError,
)
from ..metrics import ServerMetrics
from ..wire import (
    HEADER_AUTHORIZATION,
    STREAM_COMPLETE,
    Request,
    RequestHeaders,
    decode_request,
    encode_error,
    encode_reply,
    read_request_headers,
    reply_headers,
)
from .context import RequestContext
from .guard import RequestGuard
from .handlers import HANDLER_METHODS
from .ledger import RequestLedger, Seen
from .transactions import Outbox
from .watchdog import ActiveCall, HandlerWatchdog

__all__ = ["Dispatcher"]

logger = logging.getLogger(__name__)


def _ledger_key(headers: RequestHeaders) -> str:
    """The ledger's key of a request: its correlation id, reply topic and credentials.

    A redelivery is the same record, so it finds its replies; a request that copies
    someone's correlation id but names another reply topic or carries other
    credentials is a new request, and never gets the cached replies of the first.
    """
    key = f"{headers.correlation_id}\x1f{headers.reply_topic}"
    if headers.authorization:
        key += "\x1f" + hashlib.sha256(headers.authorization.encode()).hexdigest()[:32]
    return key


class Dispatcher:
    """Runs one request record through its handler and produces the replies, on a worker thread.

    :meth:`process` never raises: a bad record is answered with its A2A error
    (or logged and skipped when it names no reply topic), a handler's A2AError
    is answered with its code, and any other exception with InternalError
    (-32603). It returns the futures of the replies it produced; the app
    commits the request's offset once all of them are settled. It counts what
    happens in ``metrics`` and, with ``config.tracing``, runs each handler in
    its request's trace (:func:`a2a_kafka_sync.tracing.serve`).
    """

    def __init__(
        self,
        handler: Any,
        producer: KafkaProducer,
        config: ServerConfig,
        metrics: ServerMetrics | None = None,
        guard: RequestGuard | None = None,
        required_extensions: frozenset[str] = frozenset(),
    ) -> None:
        self._handler = handler
        self._guard = guard if guard is not None else RequestGuard(config)
        self._required_extensions = required_extensions
        self._producer = producer
        self._config = config
        self._metrics = metrics if metrics is not None else ServerMetrics(enabled=False)
        self._ledger = (
            RequestLedger(config.dedupe_window, config.reply_cache_bytes)
            if config.dedupe_window
            else None
        )
        self._large: KafkaProducer | None = None
        self._large_lock = threading.Lock()
        self._watchdog = (
            HandlerWatchdog(config.handler_timeout, config.max_workers, self._overdue)
            if config.handler_timeout
            else None
        )

    def _new_sent(self) -> Sent:
        return Sent(Outbox() if self._config.exactly_once else None)

    def use_producer(self, producer: KafkaProducer) -> None:
        """Send later replies through ``producer`` (after the app replaced a broken one)."""
        self._producer = producer

    def close(self) -> None:
        """Stop the handler watchdog and the large-record producer, if there are any."""
        if self._watchdog is not None:
            self._watchdog.close()
        if self._large is not None:
            close_producer(self._large, 2.0)

    def process(self, record: Any, settle: Callable[[list[Future]], None]) -> None:
        """Handle one request record, then call ``settle`` once with the futures of its replies.

        ``settle`` may come early, from the watchdog, when the handler overruns
        ``handler_timeout``: then it gets the future of the error reply.
        """
        once = _Once(settle)
        try:
            sent = self._process(record, once)
            if sent is not _SETTLED_LATER:
                once(sent)
        except Exception:  # _process answers everything; this guards the offset anyway
            logger.exception("processing the request at offset %s failed", record.offset)
            once([])

    def _process(self, record: Any, settle: _Once) -> list[Future]:
        sent = self._new_sent()
        headers, error = read_request_headers(record.headers)
        guard, principal = self._guard, None
        refused_route = guard.route_error(headers)  # nothing may be written to that topic
        error = refused_route or error or guard.size_error(record)
        if error is None:
            try:
                principal = guard.authenticate(headers)
                request = decode_request(record.value, headers)
                guard.check_request(request)
            except A2AError as exc:
                error = exc
        metrics = self._metrics
        if error is not None:
            metrics.request_received(_INVALID)
            self._refuse(record, headers, error, sent, answer=refused_route is None)
            metrics.request_handled(_INVALID, "invalid")
            return sent
        method = request.method.name
        metrics.request_received(method)
        if self._expired(record, headers, sent, method):
            metrics.request_handled(method, "expired")
            return sent
        correlation_id = headers.correlation_id
        assert correlation_id is not None
        if self._ledger is not None:
            seen, replies = self._ledger.begin(_ledger_key(headers))
            if seen is Seen.RUNNING:
                logger.info("request %s is redelivered while it runs: skipped", correlation_id)
                metrics.redelivered(method, "skipped")
                metrics.request_handled(method, "redelivered")
                self._ledger.follow(_ledger_key(headers), lambda: settle(sent))
                return _SETTLED_LATER
            if seen is Seen.ANSWERED:
                logger.info("request %s is redelivered: its replies are sent again", correlation_id)
                for value in replies:
                    self._send(headers, value, sent, remember=False)
                metrics.redelivered(method, "replayed")
                metrics.request_handled(method, "redelivered")
                return sent
        try:
            self._run(request, record, sent, settle, principal)
        finally:
            if self._ledger is not None:
                self._ledger.finish(_ledger_key(headers), answered=bool(sent))
        return sent

    def _run(
        self,
        request: Request,
        record: Any,
        sent: list[Future],
        settle: _Once,
        principal: Principal | None = None,
    ) -> None:
        headers = request.headers
        method = request.method.name
        context = RequestContext.from_request(request, principal)
        trace = self._enter_trace(request, record) if self._config.tracing else None
        call = None
        outcome, error = "ok", None
        started = time.perf_counter()
        try:
            if self._watchdog is not None:
                assert headers.correlation_id is not None
                call = self._watchdog.begin(headers.correlation_id, (headers, context, settle))
                started = time.perf_counter()  # the wait for a free slot is not the handler's
            if self._required_extensions:
                self._check_extensions(context)
            if request.streaming:
                self._stream(request, context, sent, call)
            else:
                result = self._call(request, context)
                reply = encode_reply(result, method=method, version=request.version)
                self._send(headers, reply, sent, call=call)
        except _Abandoned:
            outcome = "timeout"  # the watchdog answered this request already
        except Exception as exc:  # a stream ends with exactly one error record
            if call is None or not call.abandoned:
                error = self._as_a2a_error(exc, headers)
                self._send_error(headers, error, sent, method)
                outcome = "error"
            else:
                outcome = "timeout"
        finally:
            if call is not None:
                self._watchdog.end(call)  # type: ignore[union-attr]
                if call.abandoned:
                    outcome = "timeout"
            seconds = time.perf_counter() - started
            self._metrics.request_handled(
                method, outcome, stream=request.streaming, seconds=seconds
            )
            if trace is not None:
                self._end_trace(trace, outcome, error)

    def _check_extensions(self, context: RequestContext) -> None:
        """-32008 when the agent requires an extension the caller did not declare."""
        missing = sorted(self._required_extensions.difference(context.extensions))
        if missing:
            raise ExtensionSupportRequiredError(
                f"this agent requires the extension(s) {', '.join(missing)}: declare them "
                "in the a2a_extensions header",
                data={"requiredExtensions": missing},
            )

    @staticmethod
    def _enter_trace(request: Request, record: Any) -> tracing.ServerTrace | None:
        try:
            headers = request.headers
            return tracing.serve(
                request.method.name, request.streaming, headers, record.headers, record.topic
            )
        except Exception:  # tracing must never fail a request
            logger.warning("entering the trace of a request failed", exc_info=True)
            return None

    @staticmethod
    def _end_trace(trace: tracing.ServerTrace, outcome: str, error: A2AError | None) -> None:
        if outcome == "timeout" and error is None:
            error = InternalError("the handler overran handler_timeout")
        try:
            trace.end(error, error.code if error is not None else None)
        except Exception:  # tracing must never fail a request
            logger.warning("ending the trace of a request failed", exc_info=True)

    def _overdue(self, call: ActiveCall) -> None:
        """The watchdog gave up on a handler: answer its caller and finish its request."""
        headers, context, settle = call.payload
        context.cancelled.set()
        assert self._watchdog is not None
        error = InternalError(f"the handler did not finish within {self._watchdog.timeout}s")
        sent = self._new_sent()
        self._send_error(headers, error, sent, context.method)
        settle(sent)

    def _expired(
        self, record: Any, headers: RequestHeaders, sent: list[Future], method: str
    ) -> bool:
        """Answer or drop a request whose caller stopped waiting; True when it was expired."""
        if headers.deadline_ms is None or headers.deadline_ms > time.time() * 1000:
            return False
        late_ms = int(time.time() * 1000) - headers.deadline_ms
        logger.warning(
            "request %s at %s[%d]@%d expired %d ms ago: not run (%s)",
            headers.correlation_id,
            record.topic,
            record.partition,
            record.offset,
            late_ms,
            self._config.expired_requests,
        )
        if self._config.expired_requests == "answer":
            error = InternalError(f"the request expired {late_ms} ms before it could run")
            self._send_error(headers, error, sent, method)
        return True

    def _handler_method(self, name: str) -> Any:
        method = getattr(self._handler, name, None)
        if method is None:
            raise UnsupportedOperationError(f"this agent does not support {name}")
        return method

    def _call(self, request: Request, context: RequestContext) -> Any:
        unary, _ = HANDLER_METHODS[request.method.name]
        return self._handler_method(unary)(request.params, context)

    def _events(self, request: Request, context: RequestContext) -> Iterator[Any]:
        unary, streaming = HANDLER_METHODS[request.method.name]
        method = getattr(self._handler, streaming, None) if streaming else None
        if method is None:  # a handler object without the stream method: its unary answer
            yield self._handler_method(unary)(request.params, context)
            return
        yield from method(request.params, context)

    def _stream(
        self,
        request: Request,
        context: RequestContext,
        sent: list[Future],
        call: ActiveCall | None,
    ) -> None:
        headers = request.headers
        method = request.method.name
        metrics = self._metrics
        version = request.version

        def emit(event: Any, sequence: int | None = None) -> None:
            """Send one event now, with its task's ``sequence`` header; a failure is logged
            (the stream's end reports it)."""
            try:
                reply = encode_reply(event, method=method, version=version, streaming=True)
                self._send(headers, reply, sent, call=call, sequence=sequence)
                metrics.stream_event_sent(method)
            except _Abandoned:
                pass
            except _ReplyNotSent as exc:
                logger.warning("could not send a stream event to %s: %s", headers.reply_topic, exc)

        context = context.replace(emit=emit)
        for event in self._events(request, context):
            emitted = encode_reply(event, method=method, version=version, streaming=True)
            self._send(headers, emitted, sent, call=call)
            metrics.stream_event_sent(method)
        if self._config.stream_complete_delay and sent:
            time.sleep(self._config.stream_complete_delay)
        self._send(headers, encode_reply(STREAM_COMPLETE), sent, call=call)

    @staticmethod
    def _as_a2a_error(exc: Exception, headers: RequestHeaders) -> A2AError:
        if isinstance(exc, A2AError):
            return exc
        if isinstance(exc, _ReplyNotSent):
            logger.warning("could not send a reply to %s: %s", headers.reply_topic, exc.cause)
            return InternalError(f"reply not sent: {exc.cause.message}")
        logger.exception("handler failed on request %s", headers.correlation_id)
        return InternalError(f"{type(exc).__name__}: {exc}")

    def _refuse(
        self,
        record: Any,
        headers: RequestHeaders,
        error: A2AError,
        sent: list[Future],
        *,
        answer: bool = True,
    ) -> None:
        """Answer a refused request with ``error``; dead-letter it when it cannot be answered
        (or, ``answer`` False, must not be: its reply topic is refused)."""
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        if not headers.answerable or not answer:
            logger.warning(
                "dropped request %s at %s: %s (%s)",
                headers.correlation_id,
                where,
                error,
                "no reply topic to answer" if answer else "not answered",
            )
            self._dead_letter(record, error, sent)
            return
        logger.warning("refused request %s at %s: %s", headers.correlation_id, where, error)
        if not self._send_error(headers, error, sent, _INVALID):
            self._dead_letter(record, error, sent)  # its reply route is unusable

    def _target(self, sent: list[Future]) -> Any:
        """Where a record of this request goes: the producer, or its transaction's outbox."""
        outbox = getattr(sent, "outbox", None)
        return outbox if outbox is not None else self._producer

    def _dead_letter(self, record: Any, error: A2AError, sent: list[Future]) -> None:
        """Keep an unanswerable record on the dead-letter topic, with why and where from."""
        topic = self._config.dead_letter_topic_name
        if topic is None:
            return
        self._metrics.dead_lettered(error.code)
        headers = [  # the caller's credentials stay out of a topic operators read
            *(
                (name, value)
                for name, value in record.headers or ()
                if value is not None and name != HEADER_AUTHORIZATION
            ),
            ("dlq_reason", str(error).encode("utf-8", "replace")[:1000]),
            ("dlq_code", str(error.code).encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
        ]
        size = len(record.value or b"") + sum(len(n) + len(v) for n, v in headers)
        target = self._target(sent)
        if target is self._producer and size > _PLAIN_RECORD_LIMIT:
            target = self._large_producer()  # the broker took it: keep it whole
        try:
            with translate_kafka_errors("dead-lettering a request", topic=topic):
                sent.append(target.send(topic, value=record.value, key=record.key, headers=headers))
        except Exception as exc:  # the warning above already names the record
            logger.warning("could not dead-letter the record at %s: %s", record.offset, exc)

    def _large_producer(self) -> KafkaProducer:
        """A producer for dead letters larger than the replies' size limit (built once)."""
        with self._large_lock:
            if self._large is None:
                limit = max(_LARGE_RECORD_LIMIT, self._config.kafka.get("max_request_size", 0))
                self._large = build_producer(self._config, max_request_size=limit)
            return self._large

    def _send_error(
        self, headers: RequestHeaders, error: A2AError, sent: list[Future], method: str
    ) -> bool:
        """Send an error reply to a request of ``method``; False when it could not be produced
        (logged)."""
        try:
            self._send(headers, encode_error(error), sent)
            self._metrics.error_sent(method, error.code)
            return True
        except Exception as exc:  # nothing more can be sent to this caller
            logger.warning(
                "could not send the error reply %s to %s: %s",
                headers.correlation_id,
                headers.reply_topic,
                exc,
            )
            return False

    def _send(
        self,
        headers: RequestHeaders,
        value: bytes,
        sent: list[Future],
        *,
        remember: bool = True,
        call: ActiveCall | None = None,
        sequence: int | None = None,
    ) -> None:
        """Produce one reply and add its future to ``sent``; raises _ReplyNotSent.

        The value is remembered in the ledger, so a redelivery gets it again.
        """
        assert headers.correlation_id is not None and headers.reply_topic is not None
        if call is not None and call.abandoned:
            raise _Abandoned
        partition = headers.reply_partition
        key = None if partition is not None else headers.correlation_id.encode()
        try:  # on every record of a stream: no context manager here
            if key is not None:
                partition = self._keyed_partition(headers.reply_topic, key)
            future: Future = self._target(sent).send(
                headers.reply_topic,
                value=value,
                key=key,
                headers=reply_headers(
                    headers.correlation_id,
                    headers.trace_id,
                    headers.traceparent,
                    headers.tracestate,
                    sequence=sequence,
                ),
                partition=partition,
            )
        except kafka.errors.KafkaError as exc:
            error = library_error(
                exc,
                "sending a reply",
                correlation_id=headers.correlation_id,
                topic=headers.reply_topic,
            )
            raise _ReplyNotSent(error) from exc
        sent.append(future)
        if remember and self._ledger is not None:
            self._ledger.record(_ledger_key(headers), value)

    def _keyed_partition(self, topic: str, key: bytes) -> int | None:
        """The partition kafka-python's default partitioner gives ``key``, hashed once per key.

        Every reply of a request goes to one partition (a stream stays in order);
        naming it spares the producer a pure-Python murmur2 on each record of a stream.
        """
        partitions: set[int] | None = self._producer.partitions_for(topic)
        if not partitions:
            return None  # unknown yet: the producer waits for metadata and partitions itself
        if len(partitions) == 1:
            return next(iter(partitions))
        return _hashed_partition(key, tuple(sorted(partitions)))


@functools.lru_cache(maxsize=4096)
def _hashed_partition(key: bytes, partitions: tuple[int, ...]) -> int:
    """kafka-python's (and Java's) choice for a keyed record: murmur2 over the sorted ids."""
    index: int = (murmur2(key) & 0x7FFFFFFF) % len(partitions)
    return partitions[index]


_INVALID = "invalid"
"""The method label of a request that could not be decoded (never a name read off the wire)."""

_PLAIN_RECORD_LIMIT = 1_000_000
"""Records above this go through the large-record producer (kafka-python's default limit
is 1 MiB, headers and framing included)."""

_LARGE_RECORD_LIMIT = 64 * 1024 * 1024

_SETTLED_LATER: list[Future] = []
"""Returned by _process when someone else settles the request (a follower of a duplicate)."""


class Sent(list):  # type: ignore[type-arg]
    """The futures of one request's replies; in exactly-once mode, also its outbox."""

    def __init__(self, outbox: Outbox | None = None) -> None:
        super().__init__()
        self.outbox = outbox


class _Abandoned(Exception):
    """The watchdog answered this request already: nothing more is sent for it."""


class _Once:
    """Calls the wrapped function the first time only (settling a request is done once)."""

    def __init__(self, fn: Callable[[list[Future]], None]) -> None:
        self._fn: Callable[[list[Future]], None] | None = fn
        self._lock = threading.Lock()

    def __call__(self, futures: list[Future]) -> None:
        with self._lock:
            fn, self._fn = self._fn, None
        if fn is not None:
            fn(futures)


class _ReplyNotSent(Exception):
    """A reply could not be produced (told apart from a handler's own library errors)."""

    def __init__(self, cause: A2AKafkaError) -> None:
        super().__init__(str(cause))
        self.cause = cause
