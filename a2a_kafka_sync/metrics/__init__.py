"""Metrics of clients and servers, in plain Python; exported to Prometheus on request.

Every :class:`~a2a_kafka_sync.KafkaClientTransport` has ``client.metrics`` (a
:class:`ClientMetrics`) and every :class:`~a2a_kafka_sync.KafkaServerApp` has
``app.metrics`` (a :class:`ServerMetrics`). They count as calls and requests go,
with nothing installed; read them with ``snapshot()`` or ``value()``::

    client.metrics.value("calls_finished", outcome="timeout")
    app.metrics.snapshot()["handler_duration_seconds"]["samples"]

With the ``prometheus`` extra, :func:`a2a_kafka_sync.metrics.prometheus.register`
exposes them to a ``prometheus_client`` registry, read at scrape time. The names,
types and labels are listed in ``docs/observability.md``; ``metrics=False`` in a
client's or server's settings turns counting off.
"""

from ._core import DEFAULT_BUCKETS, Family, Metrics
from .client import ClientMetrics
from .server import ServerMetrics

__all__ = ["DEFAULT_BUCKETS", "ClientMetrics", "Family", "Metrics", "ServerMetrics"]
