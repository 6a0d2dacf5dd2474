"""What a server counts: requests and how they ended, handler latency, lag, dead letters,
push deliveries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from ._core import Family, Labels, Metrics

__all__ = ["ServerMetrics"]


class ServerMetrics(Metrics):
    """The metrics of one :class:`~a2a_kafka_sync.KafkaServerApp` (``app.metrics``).

    Updated by the worker threads as requests go, and by the consumer thread
    for the consumer lag (at most once a second, while serving); read with
    :meth:`~Metrics.snapshot` or :meth:`~Metrics.value`, or exported with
    :func:`a2a_kafka_sync.metrics.prometheus.register`. The names, types and
    labels are listed in ``docs/observability.md``.
    """

    kind: ClassVar[str] = "server"
    FAMILIES: ClassVar[tuple[Family, ...]] = (
        Family(
            "requests_received",
            "counter",
            "Request records taken up by a worker, by method (invalid: not decodable).",
            ("method",),
        ),
        Family(
            "requests_handled",
            "counter",
            "Requests finished, by outcome: ok, error (answered with an error), timeout "
            "(overran handler_timeout), expired (deadline passed), redelivered (answered from "
            "the reply cache, or skipped while running), invalid (refused or dead-lettered).",
            ("method", "outcome"),
        ),
        Family(
            "errors",
            "counter",
            "Error replies sent, by A2A / JSON-RPC code.",
            ("method", "code"),
        ),
        Family(
            "handler_duration_seconds",
            "histogram",
            "Seconds a handler ran, sending its replies included (type=unary or stream).",
            ("method", "type"),
        ),
        Family("in_flight", "gauge", "Requests taken from Kafka and not yet finished."),
        Family(
            "stream_events_sent",
            "counter",
            "Stream events sent (not counting the record that ends a stream).",
            ("method",),
        ),
        Family(
            "dead_letters",
            "counter",
            "Request records copied to the dead-letter topic, by the code of the reason.",
            ("code",),
        ),
        Family(
            "redeliveries",
            "counter",
            "Redelivered requests, by action: replayed (answered from the reply cache) or "
            "skipped (the first delivery was still running).",
            ("method", "action"),
        ),
        Family(
            "replies_failed",
            "counter",
            "Reply records the producer could not deliver, after its retries (the request is "
            "read again).",
        ),
        Family(
            "consumer_lag",
            "gauge",
            "Records of the request topic not yet taken by this server: end offset minus "
            "position, per assigned partition (refreshed about once a second).",
            ("topic", "partition"),
        ),
        Family(
            "push_deliveries",
            "counter",
            "Push deliveries that ended, by outcome: delivered, failed (after its attempts) or "
            "refused (the target not allowed, not tried).",
            ("outcome",),
        ),
        Family(
            "push_dropped",
            "counter",
            "Push deliveries dropped before they ran, by reason: target_full (the target's "
            "queue was at its cap), queue_full (the whole queue was), target_down (its target "
            "failed its last deliveries), closed (the server was stopping).",
            ("reason",),
        ),
        Family("push_queued", "gauge", "Push deliveries waiting now (not counting those running)."),
    )

    def __init__(self, *, enabled: bool = True, in_flight: Callable[[], int] | None = None) -> None:
        super().__init__(enabled=enabled)
        self._lag: Mapping[Labels, float] = {}
        self._source("consumer_lag", lambda: self._lag)
        if in_flight is not None:
            self._source("in_flight", lambda: {(): float(in_flight())})

    def reset(self) -> None:
        """Forget every value (and take a fresh lock)."""
        super().reset()
        values = self._values  # the hot path's dicts, one attribute away
        self._received = values["requests_received"]
        self._handled = values["requests_handled"]
        self._durations = values["handler_duration_seconds"]
        self._events = values["stream_events_sent"]

    def request_received(self, method: str) -> None:
        """A worker took up a request of ``method``."""
        if self.enabled:
            key = (method,)
            with self._lock:
                self._received[key] = self._received.get(key, 0) + 1

    def request_handled(
        self, method: str, outcome: str, *, stream: bool = False, seconds: float | None = None
    ) -> None:
        """A request ended with ``outcome``; ``seconds`` is its handler's time, if it ran."""
        if not self.enabled:
            return
        key = (method, outcome)
        with self._lock:
            handled = self._handled
            handled[key] = handled.get(key, 0) + 1
            if seconds is not None:
                self._observe(self._durations, (method, "stream" if stream else "unary"), seconds)

    def error_sent(self, method: str, code: int) -> None:
        """An error reply with ``code`` was sent for a request of ``method``."""
        self._inc("errors", (method, str(code)))

    def stream_event_sent(self, method: str) -> None:
        """A stream event was produced."""
        if self.enabled:
            key = (method,)
            with self._lock:
                self._events[key] = self._events.get(key, 0) + 1

    def dead_lettered(self, code: int) -> None:
        """A request record went to the dead-letter topic."""
        self._inc("dead_letters", (str(code),))

    def redelivered(self, method: str, action: str) -> None:
        """A redelivered request was ``replayed`` from the cache or ``skipped``."""
        self._inc("redeliveries", (method, action))

    def reply_failed(self) -> None:
        """A reply record was not delivered after the producer's retries."""
        self._inc("replies_failed", ())

    def push_delivered(self, outcome: str) -> None:
        """A push delivery ended: ``delivered``, ``failed`` or ``refused``."""
        self._inc("push_deliveries", (outcome,))

    def push_dropped(self, reason: str) -> None:
        """A push delivery was dropped before it ran: ``target_full``, ``queue_full`` or
        ``closed``."""
        self._inc("push_dropped", (reason,))

    def watch_push_queue(self, queued: Callable[[], int]) -> None:
        """Read the ``push_queued`` gauge from ``queued()`` (the push notifier's count)."""
        self._source("push_queued", lambda: {(): float(queued())})

    def set_lag(self, lag: Mapping[tuple[str, int], int]) -> None:
        """Replace the consumer lag: ``{(topic, partition): records behind}`` (consumer thread)."""
        self._lag = {(topic, str(partition)): float(n) for (topic, partition), n in lag.items()}
