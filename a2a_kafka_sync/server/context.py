"""What a handler learns about the request it serves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..auth import Principal
from ..tracing import TraceContext
from ..types import MessageSendParams
from ..wire import Request

__all__ = ["RequestContext"]


@dataclass(frozen=True)
class RequestContext:
    """The request behind a handler call: who asked, how to reach them, and until when.

    Attributes:
        correlation_id: the request's id; every reply carries it back.
        method: the canonical method name (``message_send``, ``task_get``, ...).
        params: the validated params model of the method.
        streaming: True when the caller reads a stream of events.
        reply_topic: where the replies go.
        agent_id: the caller's agent name, when it sent one.
        trace_id: the caller's tracing id, when it sent one; replies carry it too.
        deadline: epoch seconds after which the caller no longer waits, or None.
        caller_card: the calling agent's card as sent (a dict), or None.
        state: a dict the handler may use freely for the duration of the call.
        task: the :class:`~a2a_kafka_sync.server.tasks.TaskUpdater` of the task this
            message starts or continues (DefaultRequestHandler), else None.
        cancelled: set when a ``task_cancel`` for this task arrives; a long-running
            handler checks it (or :meth:`is_cancelled`) and stops cooperatively. Set too
            when the request moved (below).
        moved: set when a rebalance gave the request's partition to another server while
            the handler ran: that server runs the request again, and nothing this call
            sends from then on reaches the caller (the default handler writes nothing
            more for its task either). A handler with side effects may check it.
        emit: for a streaming request, sends one event to the caller at once
            (set by the server); None for a unary request.
        traceparent: the request's W3C ``traceparent`` header, when it had a valid
            one; replies carry it back. Parsed: :attr:`trace_context`.
        tracestate: the request's W3C ``tracestate`` header, kept with a valid
            ``traceparent``.
        a2a_version: the A2A protocol version the caller speaks (``"0.3"`` or
            ``"1.0"``); replies are translated to it, so handlers rarely need it.
        extensions: the A2A extension URIs the caller declared it uses
            (the ``a2a_extensions`` header).
        after_sequence: a resubscription's ``after_sequence`` header: replay the task's
            events after this sequence number (None: the task as it is, then live events).
        principal: the caller, as the server's authenticator found it
            (:class:`~a2a_kafka_sync.auth.Principal`); None without an authenticator,
            or for an anonymous caller (``allow_anonymous``).
        accepted_output_modes: the media types a ``message_send`` caller accepts
            (``configuration.acceptedOutputModes``), or None when it named none.
        respond: for a unary request, sends its answer at once (set by the server): the
            handler goes on running, and what it returns later is not sent (a non-blocking
            ``message_send`` answers so as soon as its task exists). Once only; None for
            a stream.
    """

    correlation_id: str
    method: str
    params: Any
    streaming: bool
    reply_topic: str
    agent_id: str | None = None
    trace_id: str | None = None
    deadline: float | None = None
    caller_card: dict[str, Any] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    task: Any = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    moved: threading.Event = field(default_factory=threading.Event)
    emit: Callable[..., None] | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    a2a_version: str = "0.3"
    extensions: tuple[str, ...] = ()
    after_sequence: int | None = None
    principal: Principal | None = None
    accepted_output_modes: tuple[str, ...] | None = None
    respond: Callable[[Any], None] | None = None

    @classmethod
    def from_request(cls, request: Request, principal: Principal | None = None) -> RequestContext:
        """The context of a decoded request, made by ``principal`` (None: anonymous)."""
        headers = request.headers
        assert headers.correlation_id is not None and headers.reply_topic is not None
        return cls(
            correlation_id=headers.correlation_id,
            method=request.method.name,
            params=request.params,
            streaming=request.streaming,
            reply_topic=headers.reply_topic,
            agent_id=headers.agent_id,
            trace_id=headers.trace_id,
            deadline=headers.deadline_ms / 1000 if headers.deadline_ms is not None else None,
            caller_card=request.caller_card,
            traceparent=headers.traceparent,
            tracestate=headers.tracestate,
            a2a_version=request.version,
            extensions=headers.extensions,
            after_sequence=headers.after_sequence,
            principal=principal,
            accepted_output_modes=_accepted_output_modes(request.params),
        )

    def replace(self, **changes: Any) -> RequestContext:
        """A copy with ``changes`` applied (``dataclasses.replace``, without its cost per request).

        The copy shares ``state``, ``cancelled`` and ``moved`` with this context.
        """
        unknown = changes.keys() - self.__dataclass_fields__.keys()
        if unknown:
            raise TypeError(f"RequestContext has no field(s) {sorted(unknown)}")
        copy = object.__new__(RequestContext)
        copy.__dict__.update(self.__dict__, **changes)
        return copy

    @property
    def trace_context(self) -> TraceContext | None:
        """The caller's trace position, parsed from ``traceparent`` (``.trace_id``, ``.span_id``,
        ``.sampled``), or None when the request had no valid one."""
        return TraceContext.parse(self.traceparent, self.tracestate)

    def is_cancelled(self) -> bool:
        """True once the caller (or anyone) asked to cancel this task."""
        return self.cancelled.is_set()

    def time_left(self) -> float | None:
        """Seconds until the caller stops waiting (negative once past); None without a deadline."""
        return None if self.deadline is None else self.deadline - time.time()


def _accepted_output_modes(params: Any) -> tuple[str, ...] | None:
    """A ``message_send``'s ``configuration.acceptedOutputModes``, or None."""
    config = params.configuration if isinstance(params, MessageSendParams) else None
    modes = config.accepted_output_modes if config is not None else None
    return tuple(modes) if modes else None
