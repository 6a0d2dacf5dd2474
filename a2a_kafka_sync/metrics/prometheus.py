"""Clients' and servers' metrics in a ``prometheus_client`` registry (the ``prometheus`` extra).

:func:`register` adds a collector that reads the metrics' snapshot when the
registry is scraped, so ``prometheus_client`` is never on a call's path::

    from prometheus_client import start_http_server
    from a2a_kafka_sync.metrics.prometheus import register

    register(app)               # or a client, or its .metrics
    start_http_server(9464)

The names are ``<namespace>_client_<name>`` and ``<namespace>_server_<name>``
(counters end in ``_total``), listed in ``docs/observability.md``. Several
clients or servers may share a registry: give each its own ``labels``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import REGISTRY, CollectorRegistry

from ._core import Family, Metrics
from .client import ClientMetrics
from .server import ServerMetrics

__all__ = ["MetricsCollector", "register", "unregister"]

DEFAULT_NAMESPACE = "a2a_kafka"

_lock = threading.Lock()
_collectors: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, MetricsCollector]] = (
    weakref.WeakKeyDictionary()
)


def _le(bound: float) -> str:
    """A bucket's upper bound as Prometheus writes it (``0.005``, ``1.0``, ``+Inf``)."""
    return "+Inf" if bound == float("inf") else repr(bound)


def _metrics_of(source: Any) -> Metrics:
    """The Metrics of a client, a server app, or a Metrics object itself."""
    metrics = source if isinstance(source, Metrics) else getattr(source, "metrics", None)
    if not isinstance(metrics, Metrics):
        raise TypeError(
            "expected a KafkaClientTransport, a KafkaServerApp or their .metrics, "
            f"not {type(source).__name__}"
        )
    return metrics


class MetricsCollector:
    """A ``prometheus_client`` collector that reads clients' and servers' metrics at scrape time.

    Made and registered by :func:`register`, one per registry and namespace. It
    holds its metrics by weak reference: a client or server that is gone
    drops out of the next scrape.

    Args:
        namespace: the prefix of every metric name.
    """

    def __init__(self, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.namespace = namespace
        self._lock = threading.Lock()
        self._sources: list[tuple[weakref.ref[Metrics], dict[str, str]]] = []

    def add(self, metrics: Metrics, labels: Mapping[str, str] | None = None) -> None:
        """Report ``metrics``, each sample with ``labels`` added.

        Raises ValueError when metrics of the same kind with the same labels are
        already reported (their samples would collide), or when ``labels`` has
        other names than the labels of the metrics already reported.
        """
        extra = {str(k): str(v) for k, v in (labels or {}).items()}
        with self._lock:
            live = self._live()
            for other, other_labels in live:
                if other is metrics:
                    raise ValueError(f"{metrics!r} is already registered")
                if set(other_labels) != set(extra):
                    raise ValueError(
                        f"labels {sorted(extra)} differ from {sorted(other_labels)}, those "
                        "of the metrics already registered here; use the same label names"
                    )
                if other.kind == metrics.kind and other_labels == extra:
                    raise ValueError(
                        f"another {metrics.kind}'s metrics are registered with labels {extra}: "
                        "pass labels= to tell them apart"
                    )
            self._sources = [(weakref.ref(m), lab) for m, lab in live]
            self._sources.append((weakref.ref(metrics), extra))

    def remove(self, metrics: Metrics) -> bool:
        """Stop reporting ``metrics``; False when they were not reported here."""
        with self._lock:
            live = self._live()
            kept = [(m, lab) for m, lab in live if m is not metrics]
            self._sources = [(weakref.ref(m), lab) for m, lab in kept]
            return len(kept) < len(live)

    def __len__(self) -> int:
        with self._lock:
            return len(self._live())

    def _live(self) -> list[tuple[Metrics, dict[str, str]]]:
        live = []
        for ref, labels in self._sources:
            metrics = ref()
            if metrics is not None:
                live.append((metrics, labels))
        return live

    def describe(self) -> Iterator[Metric]:
        """Every metric this collector can report, without samples (for duplicate checks)."""
        with self._lock:
            names = sorted({label for _, labels in self._live() for label in labels})
        for kind in (ClientMetrics, ServerMetrics):
            for family in kind.FAMILIES:
                yield self._family(kind.kind, family, names)

    def collect(self) -> Iterator[Metric]:
        """The metrics' samples now, read from each one's snapshot."""
        with self._lock:
            live = self._live()
        names = sorted({label for _, labels in live for label in labels})
        for kind in (ClientMetrics, ServerMetrics):
            sources = [(m.snapshot(), labels) for m, labels in live if m.kind == kind.kind]
            for family in kind.FAMILIES:
                metric = self._family(kind.kind, family, names)
                for snapshot, labels in sources:
                    constant = [labels[name] for name in names]
                    for sample in snapshot[family.name]["samples"]:
                        values = [sample["labels"][label] for label in family.labels] + constant
                        if family.type == "histogram":
                            buckets = [(_le(bound), n) for bound, n in sample["buckets"].items()]
                            assert isinstance(metric, HistogramMetricFamily)
                            metric.add_metric(values, buckets, sample["sum"])
                        else:
                            metric.add_metric(values, sample["value"])  # type: ignore[attr-defined]
                yield metric

    def _family(self, kind: str, family: Family, constant: list[str]) -> Metric:
        name = f"{self.namespace}_{kind}_{family.name}"
        labels = [*family.labels, *constant]
        if family.type == "counter":
            return CounterMetricFamily(name, family.help, labels=labels)
        if family.type == "gauge":
            return GaugeMetricFamily(name, family.help, labels=labels)
        return HistogramMetricFamily(name, family.help, labels=labels)


def register(
    source: Any,
    *,
    registry: CollectorRegistry | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    labels: Mapping[str, str] | None = None,
) -> MetricsCollector:
    """Export the metrics of ``source`` through ``registry`` (default: prometheus_client's).

    ``source`` is a client, a server app, or their ``.metrics``. ``labels`` are
    added to each of its samples (e.g. ``{"agent": "billing"}``); every source
    registered in one registry and namespace must use the same label names,
    and two of one kind need different values. Returns the collector, shared by
    every source registered in that registry and namespace.
    """
    metrics = _metrics_of(source)
    registry = REGISTRY if registry is None else registry
    with _lock:
        by_namespace = _collectors.setdefault(registry, {})
        collector = by_namespace.get(namespace)
        if collector is None:
            collector = MetricsCollector(namespace)
            collector.add(metrics, labels)
            registry.register(collector)  # raises when another collector has these names
            by_namespace[namespace] = collector
        else:
            collector.add(metrics, labels)
    return collector


def unregister(
    source: Any,
    *,
    registry: CollectorRegistry | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> bool:
    """Stop exporting the metrics of ``source``; False when they were not registered there.

    The collector leaves the registry with the last metrics it reported.
    """
    metrics = _metrics_of(source)
    registry = REGISTRY if registry is None else registry
    with _lock:
        by_namespace = _collectors.get(registry, {})
        collector = by_namespace.get(namespace)
        if collector is None or not collector.remove(metrics):
            return False
        if not len(collector):
            registry.unregister(collector)
            del by_namespace[namespace]
    return True
