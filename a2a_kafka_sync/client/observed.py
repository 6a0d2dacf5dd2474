"""``_Observed``: one call's metrics and CLIENT span, told once how the call ended."""

from __future__ import annotations

import logging
import time
from typing import Any

from .. import tracing
from ..errors import (
    A2AError,
    ClientClosedError,
    KafkaOperationError,
    PendingLimitError,
    ProtocolError,
    RequestTimeoutError,
)
from ..metrics import ClientMetrics
from ..wire import Reply

__all__ = ["_Observed"]

logger = logging.getLogger(__name__)


def _outcome(reply: Reply | None, error: BaseException | None) -> tuple[str, int | None, str]:
    """How a call ended: ``(outcome, A2A code or None, message)``."""
    if reply is not None:
        if reply.type != "error":
            return "ok", None, ""
        error = reply.data
    if isinstance(error, A2AError):
        return "error", error.code, error.message
    for kind, outcome in _OUTCOMES:
        if isinstance(error, kind):
            return outcome, None, str(error)
    return "other", None, repr(error)


_OUTCOMES: tuple[tuple[type[BaseException], str], ...] = (
    (RequestTimeoutError, "timeout"),
    (KafkaOperationError, "send_failed"),
    (ClientClosedError, "closed"),
    (ProtocolError, "protocol_error"),
    (PendingLimitError, "pending_limit"),
)


class _Observed:
    """One call's metrics and CLIENT span, told how the call ends (see ``CallObserver``)."""

    __slots__ = ("events", "method", "metrics", "span", "started", "stream")

    def __init__(self, metrics: ClientMetrics, method: str, stream: bool, span: Any) -> None:
        self.metrics = metrics
        self.method = method
        self.stream = stream
        self.span = span
        self.events = 0
        self.started = time.perf_counter()

    def event(self) -> None:
        self.events += 1
        self.metrics.stream_event(self.method)

    def done(self, reply: Reply | None, error: BaseException | None) -> None:
        seconds = time.perf_counter() - self.started
        if self.span is None and reply is not None and reply.type != "error":  # the usual case
            self.metrics.call_finished(self.method, self.stream, "ok", None, seconds)
            return
        outcome, code, message = _outcome(reply, error)
        label = None if outcome == "ok" else (outcome if code is None else str(code))
        self.metrics.call_finished(self.method, self.stream, outcome, label, seconds)
        if self.span is not None:
            try:
                events = self.events if self.stream else None
                tracing.end_client_span(self.span, outcome, code, message, events)
            except Exception:  # a tracing failure must not fail the call or the reader
                logger.warning("ending the span of a %s call failed", self.method, exc_info=True)
