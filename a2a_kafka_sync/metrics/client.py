"""What a client counts: requests, how calls ended, latencies, stream events, dropped replies."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from ._core import Family, Metrics

__all__ = ["ClientMetrics"]


class ClientMetrics(Metrics):
    """The metrics of one :class:`~a2a_kafka_sync.KafkaClientTransport` (``client.metrics``).

    Updated by the calling threads and the reply reader as calls go; read with
    :meth:`~Metrics.snapshot` or :meth:`~Metrics.value`, or exported with
    :func:`a2a_kafka_sync.metrics.prometheus.register`. The names, types and
    labels are listed in ``docs/observability.md``.
    """

    kind: ClassVar[str] = "client"
    FAMILIES: ClassVar[tuple[Family, ...]] = (
        Family(
            "requests_sent",
            "counter",
            "Requests handed to the producer.",
            ("method",),
        ),
        Family(
            "calls_finished",
            "counter",
            "Calls that ended, by outcome: ok, error (the agent answered with an error), "
            "timeout, send_failed, closed, protocol_error, pending_limit, other.",
            ("method", "outcome"),
        ),
        Family(
            "errors",
            "counter",
            "Calls that ended in an error, by A2A / JSON-RPC code (e.g. -32001) or, for "
            "errors without one, by outcome (timeout, send_failed, ...).",
            ("method", "code"),
        ),
        Family(
            "call_duration_seconds",
            "histogram",
            "Seconds from sending a request to its answer (type=unary) or to the end of its "
            "stream (type=stream), for calls the agent answered (ok or error).",
            ("method", "type"),
        ),
        Family("in_flight", "gauge", "Calls waiting for their reply or stream now."),
        Family(
            "stream_events_received",
            "counter",
            "Stream events received (not counting the record that ends a stream).",
            ("method",),
        ),
        Family(
            "replies_dropped",
            "counter",
            "Reply records dropped by the reply reader, by reason: unknown_correlation_id "
            "(late, or another client's), undecodable, no_correlation_id.",
            ("reason",),
        ),
    )

    def __init__(self, *, enabled: bool = True, in_flight: Callable[[], int] | None = None) -> None:
        super().__init__(enabled=enabled)
        if in_flight is not None:
            self._source("in_flight", lambda: {(): float(in_flight())})

    def reset(self) -> None:
        """Forget every value (and take a fresh lock: a forked child calls this)."""
        super().reset()
        values = self._values  # the hot path's dicts, one attribute away
        self._sent = values["requests_sent"]
        self._finished = values["calls_finished"]
        self._errors = values["errors"]
        self._durations = values["call_duration_seconds"]
        self._events = values["stream_events_received"]

    def request_sent(self, method: str) -> None:
        """A request was handed to the producer."""
        if self.enabled:
            key = (method,)
            with self._lock:
                self._sent[key] = self._sent.get(key, 0) + 1

    def call_finished(
        self, method: str, stream: bool, outcome: str, code: str | None, seconds: float
    ) -> None:
        """A call ended with ``outcome`` (and error ``code``) after ``seconds``."""
        if not self.enabled:
            return
        key = (method, outcome)
        with self._lock:
            finished = self._finished
            finished[key] = finished.get(key, 0) + 1
            if code is not None:
                errors, key = self._errors, (method, code)
                errors[key] = errors.get(key, 0) + 1
            if outcome == "ok" or outcome == "error":
                self._observe(self._durations, (method, "stream" if stream else "unary"), seconds)

    def stream_event(self, method: str) -> None:
        """A stream event arrived for a call of ``method``."""
        if self.enabled:
            key = (method,)
            with self._lock:
                self._events[key] = self._events.get(key, 0) + 1

    def reply_dropped(self, reason: str) -> None:
        """The reply reader dropped a record, for ``reason``."""
        self._inc("replies_dropped", (reason,))
