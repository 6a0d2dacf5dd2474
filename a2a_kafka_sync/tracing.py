"""W3C trace context from caller to handler and back, and OpenTelemetry spans when set up.

A request carries a ``traceparent`` header (and ``tracestate``) from the first
of these that applies:

1. **OpenTelemetry**, when the application has imported ``opentelemetry`` and set
   a tracer provider: the client wraps the call in a CLIENT span (a child of the
   current span) and injects it with OpenTelemetry's global propagator.
2. **The trace context current in this thread**: set by :func:`continue_trace`
   (e.g. from an incoming HTTP request's ``traceparent``), or, inside a handler,
   the traced request it serves. The request carries a child of it: the same
   trace id, a new span id.
3. Otherwise **none**: the library does not start traces of its own, which
   would force a sampling decision on every agent downstream.

The server shows the header to the handler (``context.traceparent``,
``context.trace_context``), copies it onto every reply, and, with OpenTelemetry,
runs the handler inside a SERVER span, a child of the caller's. This module
never imports OpenTelemetry: it uses it only once the application has.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from .wire import HEADER_TRACEPARENT, HEADER_TRACESTATE, RequestHeaders, is_traceparent

__all__ = ["SPAN_PREFIX", "TraceContext", "continue_trace", "current_trace"]

SPAN_PREFIX = "a2a."
"""Spans are named ``a2a.<method>`` (``a2a.message_send``, ``a2a.task_get``, ...)."""

_current: contextvars.ContextVar[tuple[str, str | None] | None] = contextvars.ContextVar(
    "a2a_kafka_sync_trace", default=None
)
"""The thread's trace context: a valid ``traceparent`` and its ``tracestate``, as received
(parsed only when asked: a server sets it for every traced request)."""

_NO_HEADERS: tuple[Sequence[tuple[str, bytes]], Any] = ((), None)


def _span_id() -> str:
    # random's module-level generator is reseeded in a forked child, so ids never repeat
    return f"{random.getrandbits(64) or 1:016x}"  # never all zeros (W3C)


@dataclass(frozen=True, slots=True)
class TraceContext:
    """One position in a W3C trace: the ``traceparent`` fields and the ``tracestate``.

    Attributes:
        trace_id: the trace's id, 32 lowercase hex digits.
        span_id: the id of the span this context points at (the caller's), 16 hex digits.
        flags: the trace flags; bit 0 is "sampled".
        tracestate: the vendor-specific ``tracestate`` header, or None.
    """

    trace_id: str
    span_id: str
    flags: int = 1
    tracestate: str | None = None

    @classmethod
    def parse(
        cls, traceparent: str | bytes | None, tracestate: str | bytes | None = None
    ) -> TraceContext | None:
        """The context of a ``traceparent`` header (and ``tracestate``); None when invalid."""
        if isinstance(traceparent, bytes):
            traceparent = traceparent.decode("ascii", "replace")
        if traceparent is None or not is_traceparent(traceparent):
            return None
        if isinstance(tracestate, bytes):
            tracestate = tracestate.decode("ascii", "replace")
        _, trace_id, span_id, flags = traceparent.split("-", 4)[:4]
        return cls(trace_id, span_id, int(flags, 16), tracestate or None)

    @classmethod
    def new(cls, *, sampled: bool = True) -> TraceContext:
        """The root of a new trace (random ids)."""
        return cls(f"{random.getrandbits(128) or 1:032x}", _span_id(), 1 if sampled else 0)

    def child(self) -> TraceContext:
        """A context for a call made from this one: same trace, new span id."""
        return TraceContext(self.trace_id, _span_id(), self.flags, self.tracestate)

    @property
    def sampled(self) -> bool:
        """True when the caller asked for this trace to be recorded."""
        return bool(self.flags & 1)

    @property
    def traceparent(self) -> str:
        """The ``traceparent`` header value (version 00)."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"


def current_trace() -> TraceContext | None:
    """The trace context calls made now, from this thread, continue (see :func:`continue_trace`)."""
    current = _current.get()
    return None if current is None else TraceContext.parse(*current)


@contextlib.contextmanager
def continue_trace(
    traceparent: TraceContext | str | bytes | None, tracestate: str | bytes | None = None
) -> Iterator[TraceContext | None]:
    """Make the calls in this ``with`` block part of the trace ``traceparent`` belongs to.

    For an application without OpenTelemetry: a Flask view that got a
    ``traceparent`` header passes it here, and each request its client sends in
    the block carries a child of it. An invalid or missing ``traceparent`` does
    nothing (so ``request.headers.get("traceparent")`` can be passed as it is).
    Yields the context in force, or None.
    """
    context = (
        traceparent
        if isinstance(traceparent, TraceContext)
        else TraceContext.parse(traceparent, tracestate)
    )
    if context is None:
        yield None
        return
    token = _current.set((context.traceparent, context.tracestate))
    try:
        yield context
    finally:
        _current.reset(token)


# -- OpenTelemetry, when the application uses it --------------------------------------------------

_tracer_cache: tuple[Any, Any] | None = None


def _tracer() -> Any:
    """OpenTelemetry's tracer for this library, or None when no tracer provider is set.

    Looks in ``sys.modules`` only: an application that has not imported
    ``opentelemetry.trace`` has set no provider, and nothing is imported for it.
    """
    global _tracer_cache
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None
    cached = _tracer_cache
    if cached is not None and cached[0] is provider:
        return cached[1]
    version = getattr(sys.modules.get("a2a_kafka_sync"), "__version__", None)
    tracer = provider.get_tracer("a2a_kafka_sync", version)
    _tracer_cache = (provider, tracer)
    return tracer


def _remote_parent(context: TraceContext) -> Any:
    """An OpenTelemetry context whose current span is the remote ``context``."""
    from opentelemetry import trace

    span_context = trace.SpanContext(
        trace_id=int(context.trace_id, 16),
        span_id=int(context.span_id, 16),
        is_remote=True,
        trace_flags=trace.TraceFlags(context.flags),
        trace_state=trace.TraceState.from_header([context.tracestate])
        if context.tracestate
        else None,
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(span_context))


def _attributes(
    method: str, topic: str, correlation_id: str, stream: bool, operation: str
) -> dict[str, Any]:
    return {
        "a2a.method": method,
        "a2a.correlation_id": correlation_id,
        "a2a.streaming": stream,
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.message.conversation_id": correlation_id,
        "messaging.operation.type": operation,
    }


def client_headers(
    method: str, topic: str, correlation_id: str, stream: bool
) -> tuple[Sequence[tuple[str, bytes]], Any]:
    """The trace headers of a request about to be sent, and its CLIENT span (or None).

    The span, when there is one, is ended by :func:`end_client_span`.
    """
    tracer = _tracer()
    if tracer is None:
        current = _current.get()
        if current is None:
            return _NO_HEADERS
        traceparent, tracestate = current  # valid: "vv-<trace id>-<span id>-ff[-...]"
        child = f"00-{traceparent[3:35]}-{_span_id()}-{traceparent[53:55]}"  # same trace
        headers = [(HEADER_TRACEPARENT, child.encode())]
        if tracestate:
            headers.append((HEADER_TRACESTATE, tracestate.encode()))
        return headers, None
    from opentelemetry import propagate, trace

    parent = None
    if not trace.get_current_span().get_span_context().is_valid:
        context = current_trace()
        if context is not None:
            parent = _remote_parent(context)
    span = tracer.start_span(
        SPAN_PREFIX + method,
        context=parent,
        kind=trace.SpanKind.CLIENT,
        attributes=_attributes(method, topic, correlation_id, stream, "send"),
    )
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return [(name, value.encode()) for name, value in carrier.items()], span


def _set_error(span: Any, kind: str, code: int | None, message: str | None) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("error.type", str(code) if code is not None else kind)
    if code is not None:
        span.set_attribute("a2a.error.code", code)
    span.set_status(Status(StatusCode.ERROR, message))


def end_client_span(
    span: Any, outcome: str, code: int | None, message: str | None, events: int | None
) -> None:
    """End a CLIENT span: ERROR status for every outcome but ``ok``; a stream's event count."""
    if outcome != "ok":
        _set_error(span, outcome, code, message)
    if events is not None:
        span.set_attribute("a2a.stream.events", events)
    span.end()


class _HeaderGetter:
    """Reads Kafka record headers (a list of ``(name, bytes)``) for OpenTelemetry's extract."""

    @staticmethod
    def get(carrier: Sequence[tuple[str, bytes | None]], key: str) -> list[str] | None:
        values = [v.decode("utf-8", "replace") for k, v in carrier if k == key and v is not None]
        return values or None

    @staticmethod
    def keys(carrier: Sequence[tuple[str, bytes | None]]) -> list[str]:
        return [k for k, _ in carrier]


_GETTER = _HeaderGetter()


class ServerTrace:
    """The trace a handler runs in: a SERVER span made current, or the caller's trace context.

    Made by :func:`serve`, on the worker thread that runs the handler, and
    ended there by :meth:`end`.
    """

    __slots__ = ("_otel_token", "_span", "_token")

    def __init__(self, span: Any, token: Any, otel_token: Any) -> None:
        self._span = span
        self._token = token
        self._otel_token = otel_token

    def end(self, error: BaseException | None = None, code: int | None = None) -> None:
        """Leave the trace; with a span, mark it ERROR when the request was answered with one."""
        if self._token is not None:
            _current.reset(self._token)
            return
        from opentelemetry import context

        span = self._span
        if error is not None:
            span.record_exception(error)
            _set_error(span, type(error).__name__, code, str(error))
        context.detach(self._otel_token)
        span.end()


def serve(
    method: str, stream: bool, headers: RequestHeaders, record_headers: Any, topic: str
) -> ServerTrace | None:
    """Enter the trace of a request before its handler runs (None when there is none).

    With OpenTelemetry, a SERVER span, a child of the context the request's
    headers carry, becomes current, so the spans the handler makes nest under
    it. Without, the request's ``traceparent`` becomes the thread's trace
    context, so the calls the handler makes continue it.
    """
    tracer = _tracer()
    if tracer is None:
        if headers.traceparent is None:
            return None
        return ServerTrace(None, _current.set((headers.traceparent, headers.tracestate)), None)
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace

    assert headers.correlation_id is not None
    parent = propagate.extract(record_headers or [], getter=cast(Any, _GETTER))
    span = tracer.start_span(
        SPAN_PREFIX + method,
        context=parent,
        kind=trace.SpanKind.SERVER,
        attributes=_attributes(method, topic, headers.correlation_id, stream, "process"),
    )
    token = otel_context.attach(trace.set_span_in_context(span, parent))
    return ServerTrace(span, None, token)
