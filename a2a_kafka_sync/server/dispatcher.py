"""One request, start to end: decode, call the handler, produce every reply."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from kafka.future import Future

from .. import tracing
from ..auth import Principal
from ..config import ServerConfig
from ..errors import (
    A2AError,
    ExtensionSupportRequiredError,
    InternalError,
    UnsupportedOperationError,
)
from ..metrics import ServerMetrics
from ..types import AgentCard, TaskStatusUpdateEvent
from ..wire import (
    STREAM_COMPLETE,
    Request,
    RequestHeaders,
    decode_request,
    encode_reply,
    read_request_headers,
)
from .answer import UnaryAnswer
from .card import ExtendedCard
from .context import RequestContext
from .dead_letters import INVALID, DeadLetters
from .guard import RequestGuard
from .handlers import HANDLER_METHODS
from .keepalive import QuietStream, StreamKeepAlive
from .ledger import CachedReply, RequestLedger, Seen, ledger_key
from .limits import RecordLimits
from .moved import RunningRequests, stop_moved
from .producer import ServerProducer
from .replies import Abandoned, ReplyNotSent, ReplySender, ReplyTooLarge, Sent
from .transactions import Outbox
from .watchdog import ActiveCall, HandlerWatchdog

__all__ = ["Dispatcher"]

logger = logging.getLogger(__name__)


class Dispatcher:
    """Runs one request record through its handler and produces the replies, on a worker thread.

    :meth:`process` never raises: a bad record is answered with its A2A error
    (or logged and skipped when it names no reply topic), a handler's A2AError
    is answered with its code, and any other exception with InternalError
    (-32603). It returns the futures of the replies it produced; the app
    commits the request's offset once all of them are settled. It counts what
    happens in ``metrics`` and, with ``config.tracing``, runs each handler in
    its request's trace (:func:`a2a_kafka_sync.tracing.serve`). Replies go out
    through a :class:`ReplySender`; refused requests through :class:`DeadLetters`.
    """

    def __init__(
        self,
        handler: Any,
        producer: ServerProducer,
        config: ServerConfig,
        metrics: ServerMetrics | None = None,
        guard: RequestGuard | None = None,
        required_extensions: frozenset[str] = frozenset(),
    ) -> None:
        self._handler = handler
        self._guard = guard if guard is not None else RequestGuard(config)
        self._required_extensions = required_extensions
        self._config = config
        self._metrics = metrics if metrics is not None else ServerMetrics(enabled=False)
        self._ledger = (
            RequestLedger(config.dedupe_window, config.reply_cache_bytes)
            if config.dedupe_window
            else None
        )
        dead_letter_topic = config.dead_letter_topic_name
        limits = RecordLimits(config, [dead_letter_topic] if dead_letter_topic else [])
        self._replies = ReplySender(producer, self._metrics, self._ledger, limits)
        self._extended_card = ExtendedCard(config)
        self._dead_letters = DeadLetters(config, self._metrics, self._replies)
        self._running = RunningRequests()
        self.on_abandoned: Callable[[], None] | None = None
        """Called on the watchdog's thread after it abandoned a handler (set by the app)."""
        self._watchdog = (
            HandlerWatchdog(config.handler_timeout, config.max_workers, self._overdue)
            if config.handler_timeout
            else None
        )
        # In exactly-once mode replies wait in the request's transaction: no keep-alive helps.
        interval = config.stream_keepalive
        self._keepalive = (
            StreamKeepAlive(interval) if interval and not config.exactly_once else None
        )

    def _new_sent(self) -> Sent:
        return Sent(Outbox() if self._config.exactly_once else None)

    @property
    def limits(self) -> RecordLimits:
        """How large a record each topic takes (told of refusals by the transactions too)."""
        return self._replies.limits

    def close(self) -> None:
        """Stop the handler watchdog, the keep-alive thread and the large-record producer,
        if there are any."""
        if self._watchdog is not None:
            self._watchdog.close()
        if self._keepalive is not None:
            self._keepalive.close()
        self._dead_letters.close()

    def requests_moved(self, partitions: set[int]) -> None:
        """A rebalance gave ``partitions`` to another server: stop their running requests
        (see :mod:`.moved`). Called from the rebalance listener (kafka-python's I/O thread):
        it only sets flags and events."""
        self._running.move_away(partitions)

    def overloaded(self, spares: int) -> A2AError | None:
        """InternalError when more than ``spares`` handlers overran ``handler_timeout`` and
        still hold their worker threads (fewer than ``max_workers`` threads are left): a new
        request would wait behind threads that may never come back, so it is refused at once
        instead (:meth:`refuse`). None otherwise."""
        stuck = self._watchdog.stuck if self._watchdog is not None else 0
        if stuck <= spares:
            return None
        return InternalError(
            f"this agent is overloaded: {stuck} handler(s) overran handler_timeout="
            f"{self._config.handler_timeout}s and still hold their worker threads, more than "
            f"its {spares} spare threads; try again later"
        )

    def refuse(self, record: Any, error: A2AError, settle: Callable[[list[Future]], None]) -> None:
        """Answer a request with ``error`` without running it (dead-lettered when no reply
        can reach its caller), then ``settle`` its replies. Runs on the consumer thread."""
        sent = self._new_sent()
        try:
            headers, _ = read_request_headers(record.headers)
            routable = self._guard.route_error(headers) is None
            self._metrics.request_received(INVALID)
            self._dead_letters.refuse(record, headers, error, sent, answer=routable)
            self._metrics.request_handled(INVALID, "overloaded")
        except Exception:  # the offset is settled anyway
            logger.exception("refusing the request at offset %s failed", record.offset)
        settle(sent)

    def process(
        self,
        record: Any,
        settle: Callable[[list[Future]], None],
        still_ours: Callable[[], bool] | None = None,
    ) -> None:
        """Handle one request record, then call ``settle`` once with the futures of its replies.

        ``settle`` may come early, from the watchdog, when the handler overruns
        ``handler_timeout``: then it gets the future of the error reply.
        ``still_ours()`` False once its partition was taken from this server (a record
        that waited for a worker slot across a rebalance is then run as moved).
        """
        once = _Once(settle)
        try:
            sent = self._process(record, once, still_ours)
            if sent is not _SETTLED_LATER:
                once(sent)
        except Exception:  # _process answers everything; this guards the offset anyway
            logger.exception("processing the request at offset %s failed", record.offset)
            once([])

    def _process(
        self, record: Any, settle: _Once, still_ours: Callable[[], bool] | None = None
    ) -> list[Future]:
        sent = self._new_sent()
        headers, error = read_request_headers(record.headers)
        guard, principal = self._guard, None
        # nothing may (or can) be written to that topic
        refused_route = guard.route_error(headers) or self._replies.partition_error(headers)
        error = refused_route or error or guard.size_error(record, headers)
        if error is None:
            try:
                principal = guard.authenticate(headers)
                request = decode_request(record.value, headers)
                guard.check_request(request, headers, principal)
            except A2AError as exc:
                error = exc
        metrics = self._metrics
        if error is not None:
            metrics.request_received(INVALID)
            self._dead_letters.refuse(record, headers, error, sent, answer=refused_route is None)
            metrics.request_handled(INVALID, "invalid")
            return sent
        method = request.method.name
        metrics.request_received(method)
        if self._expired(record, headers, sent, method):
            metrics.request_handled(method, "expired")
            return sent
        correlation_id = headers.correlation_id
        assert correlation_id is not None
        if self._ledger is not None:
            seen, replies = self._ledger.begin(ledger_key(headers))
            if seen is Seen.RUNNING:
                logger.info("request %s is redelivered while it runs: skipped", correlation_id)
                metrics.redelivered(method, "skipped")
                metrics.request_handled(method, "redelivered")
                self._ledger.follow(
                    ledger_key(headers),
                    lambda answered: self._after_first(answered, record, settle, sent, still_ours),
                )
                return _SETTLED_LATER
            if seen is Seen.ANSWERED:
                logger.info("request %s is redelivered: its replies are sent again", correlation_id)
                self._replay(headers, replies, sent, method)
                metrics.redelivered(method, "replayed")
                metrics.request_handled(method, "redelivered")
                return sent
        moved = False
        try:
            moved = self._run(request, record, sent, settle, principal, still_ours)
        finally:
            if self._ledger is not None:  # a moved request was not answered from here
                self._ledger.finish(ledger_key(headers), answered=bool(sent) and not moved)
        return sent

    def _after_first(
        self,
        answered: bool,
        record: Any,
        settle: _Once,
        sent: list[Future],
        still_ours: Callable[[], bool] | None,
    ) -> None:
        """A redelivery waited for the first run of its request: finished with it when that
        run answered; run now when it did not (it moved away while it ran)."""
        if answered:
            settle(sent)
            return
        logger.info("request at offset %s: its first run sent nothing; running it", record.offset)
        self.process(record, settle, still_ours)

    def _replay(
        self, headers: RequestHeaders, replies: list[CachedReply], sent: list[Future], method: str
    ) -> None:
        """Send a redelivered request's cached replies again, each with the ``sequence`` header
        it had (a resumed stream stays gap-free); one its topic cannot take (the broker
        refused it the first time) ends them with the error instead."""
        for value, sequence in replies:
            try:
                self._replies.send(headers, value, sent, remember=False, sequence=sequence)
            except ReplyTooLarge as exc:
                error = self._as_a2a_error(exc, headers)
                self._replies.send_error(headers, error, sent, method, remember=False)
                return

    def _run(
        self,
        request: Request,
        record: Any,
        sent: list[Future],
        settle: _Once,
        principal: Principal | None = None,
        still_ours: Callable[[], bool] | None = None,
    ) -> bool:
        """Run the handler and send its replies; True when the request moved to another
        server while it ran (nothing more was sent)."""
        headers = request.headers
        method = request.method.name
        context = RequestContext.from_request(request, principal)
        trace = self._enter_trace(request, record) if self._config.tracing else None
        assert headers.correlation_id is not None
        outcome, error = "ok", None
        answer = None
        if not request.streaming:
            answer = UnaryAnswer(self._replies, request, sent, self._as_a2a_error)
        started = time.perf_counter()
        if self._watchdog is not None:
            payload = (headers, context, settle, answer)
            call = self._watchdog.begin(headers.correlation_id, payload)
            started = time.perf_counter()  # the wait for a free slot is not the handler's
        else:
            call = ActiveCall(headers.correlation_id, None, math.inf)
        if answer is not None:
            answer.call = call
        self._running.enter(record.partition, call, context)
        try:
            if still_ours is not None and not still_ours():  # revoked while it waited for a slot
                stop_moved(call, context)  # read again by the partition's owner: not run here
                raise Abandoned
            if self._required_extensions:
                self._check_extensions(context)
            if request.streaming:
                error = self._stream(request, context, sent, call)
                if error is not None:
                    outcome = "error"
            else:
                assert answer is not None
                result = self._call(request, context.replace(respond=answer.respond))
                answer.give(result)
        except Abandoned:
            outcome = "timeout"  # the watchdog answered this request already (or it moved)
        except Exception as exc:  # a stream ends with exactly one error record
            if answer is not None and answer.given:  # the caller has its answer already
                logger.warning(
                    "the handler of request %s failed after it answered: %s",
                    headers.correlation_id,
                    exc,
                    exc_info=not isinstance(exc, A2AError),
                )
                outcome = "error"
            elif not call.dropped:
                error = self._as_a2a_error(exc, headers)
                if not self._replies.send_error(headers, error, sent, method) and not sent:
                    self._dead_letters.dead_letter(record, error, sent)  # nothing reached it
                outcome = "error"
            else:
                outcome = "timeout"
        finally:
            self._running.leave(record.partition, call)
            if self._watchdog is not None:
                self._watchdog.end(call)
            if call.dropped:
                outcome = "moved" if call.moved else "timeout"
            seconds = time.perf_counter() - started
            self._metrics.request_handled(
                method, outcome, stream=request.streaming, seconds=seconds
            )
            if trace is not None:
                self._end_trace(trace, outcome, error)
        return call.moved

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
        """The watchdog gave up on a handler: answer its caller and finish its request; then
        ``on_abandoned`` (the scheduler refuses what waits, if the spares are all held)."""
        headers, context, settle, answer = call.payload
        context.cancelled.set()
        if answer is not None and answer.given:  # answered early (context.respond):
            settle(answer.sent)  # its caller needs no error
            if self.on_abandoned is not None:
                self.on_abandoned()
            return
        assert self._watchdog is not None
        error = InternalError(f"the handler did not finish within {self._watchdog.timeout}s")
        sent = self._new_sent()
        self._replies.send_error(headers, error, sent, context.method)
        settle(sent)
        if self.on_abandoned is not None:
            self.on_abandoned()

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
            self._replies.send_error(headers, error, sent, method)
        return True

    def _handler_method(self, name: str) -> Any:
        method = getattr(self._handler, name, None)
        if method is None:
            raise UnsupportedOperationError(f"this agent does not support {name}")
        return method

    def _call(self, request: Request, context: RequestContext) -> Any:
        unary, _ = HANDLER_METHODS[request.method.name]
        result = self._handler_method(unary)(request.params, context)
        if request.method.name == "agent_card_get" and isinstance(result, AgentCard):
            result = self._extended_card.served(result)  # with the agent's Kafka address
        return result

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
    ) -> A2AError | None:
        """Send the events of a stream, then its end; returns the error that ended the
        caller's stream early (a task event too large to send), or None."""
        headers = request.headers
        method = request.method.name
        metrics = self._metrics
        version = request.version
        ended: list[A2AError] = []  # the caller's stream ended: nothing more is sent
        quiet = self._quiet_stream(request, sent, call)
        sending = quiet.sending if quiet is not None else contextlib.nullcontext()
        interval = self._keepalive.interval if self._keepalive is not None else 0.0

        def emit(event: Any, sequence: int | None = None) -> None:
            """Send one event now, with its task's ``sequence`` header; a failure is logged,
            and one too large to send ends the caller's stream with its error."""
            if ended:
                return
            try:
                reply = encode_reply(event, method=method, version=version, streaming=True)
                with sending:
                    self._replies.send(headers, reply, sent, call=call, sequence=sequence)
                    if quiet is not None:
                        quiet.sent(event, interval)
                metrics.stream_event_sent(method)
            except Abandoned:
                pass
            except ReplyTooLarge as exc:  # the handler goes on; its caller hears no more
                self._end_quiet(quiet)
                ended.append(self._as_a2a_error(exc, headers))
                self._replies.send_error(headers, ended[0], sent, method)
            except ReplyNotSent as exc:
                logger.warning("could not send a stream event to %s: %s", headers.reply_topic, exc)

        context = context.replace(emit=emit)
        try:
            for event in self._events(request, context):
                if ended:
                    continue  # let the handler finish its work
                emitted = encode_reply(event, method=method, version=version, streaming=True)
                with sending:
                    self._replies.send(headers, emitted, sent, call=call)
                    if quiet is not None:
                        quiet.sent(event, interval)
                metrics.stream_event_sent(method)
        finally:
            self._end_quiet(quiet)  # no keep-alive after the end, nor after an error
        if ended:
            return ended[0]
        if self._config.stream_complete_delay and sent:
            time.sleep(self._config.stream_complete_delay)
        self._replies.send(headers, encode_reply(STREAM_COMPLETE), sent, call=call)
        return None

    def _quiet_stream(
        self, request: Request, sent: list[Future], call: ActiveCall | None
    ) -> QuietStream | None:
        """The stream's entry with the keep-alive thread (None without keep-alives).

        Only a ``message_send`` stream is kept alive: its handler runs here, so it will end.
        A resubscription follows a task that may run nowhere any more; its caller's timeout
        is what ends that wait.
        """
        if self._keepalive is None or request.method.name != "message_send":
            return None
        headers, method, version = request.headers, request.method.name, request.version

        def send(event: TaskStatusUpdateEvent) -> None:
            reply = encode_reply(event, method=method, version=version, streaming=True)
            with contextlib.suppress(Abandoned):
                self._replies.send(headers, reply, sent, call=call, remember=False, keepalive=True)

        return self._keepalive.open(send)

    def _end_quiet(self, quiet: QuietStream | None) -> None:
        """No more keep-alives for this stream (waits for one being sent to be out)."""
        if quiet is not None and self._keepalive is not None:
            with quiet.sending:
                self._keepalive.close_stream(quiet)

    def _as_a2a_error(self, exc: Exception, headers: RequestHeaders) -> A2AError:
        if isinstance(exc, A2AError):  # raised to be answered: its message is for the caller
            return exc
        if isinstance(exc, ReplyNotSent):
            logger.warning("could not send a reply to %s: %s", headers.reply_topic, exc.cause)
            return InternalError(f"reply not sent: {exc.cause.message}")
        logger.exception("handler failed on request %s", headers.correlation_id)
        return unexpected_error(exc, headers.correlation_id, self._config.error_detail)


def unexpected_error(exc: Exception, correlation_id: str | None, detail: str) -> InternalError:
    """The InternalError a caller gets for a handler's unexpected exception ``exc``.

    ``detail`` is the server's ``error_detail``: ``"redacted"`` tells the exception's
    class and the request's correlation id, under which the server logged the whole
    exception; ``"full"`` tells its class and message too.
    """
    name = type(exc).__name__
    if detail == "full":
        return InternalError(f"{name}: {exc}")
    return InternalError(
        f"internal error ({name}); the agent logged it under correlation id {correlation_id}"
    )


_SETTLED_LATER: list[Future] = []
"""Returned by _process when someone else settles the request (a follower of a duplicate)."""


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
