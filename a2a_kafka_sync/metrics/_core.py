"""Counters, gauges and histograms kept in plain Python: cheap to update, read as a snapshot."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

__all__ = ["DEFAULT_BUCKETS", "Family", "Metrics"]

DEFAULT_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""Upper bounds (seconds) of the latency histograms' buckets; a last ``+Inf`` bucket follows."""

_INF = float("inf")

Labels = tuple[str, ...]


@dataclass(frozen=True)
class Family:
    """One metric: its name (without namespace), type, help text and label names."""

    name: str
    type: Literal["counter", "gauge", "histogram"]
    help: str
    labels: tuple[str, ...] = ()


class _Histogram:
    """The buckets (not cumulative), sum and count of one labelled histogram series."""

    __slots__ = ("count", "counts", "sum")

    def __init__(self, size: int) -> None:
        self.counts = [0] * size
        self.sum = 0.0
        self.count = 0


class Metrics:
    """A set of metric families behind one lock; the base of the client's and server's metrics.

    Updates are a dict operation under the lock (a few hundred nanoseconds);
    :meth:`snapshot` copies everything under the same lock, so a reader never
    sees half an update. With ``enabled=False`` every update returns at once and
    the snapshot holds no samples.
    """

    kind: ClassVar[str] = ""
    """``"client"`` or ``"server"``: the prefix of the metric names outside Python."""

    FAMILIES: ClassVar[tuple[Family, ...]] = ()
    """Every metric this object keeps, in the order a snapshot lists them."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._families = {family.name: family for family in self.FAMILIES}
        self._gauge_sources: dict[str, Callable[[], Mapping[Labels, float]]] = {}
        self.reset()

    def reset(self) -> None:
        """Forget every value (and take a fresh lock: a forked child calls this)."""
        self._lock = threading.Lock()
        self._values: dict[str, dict[Labels, Any]] = {name: {} for name in self._families}

    def _source(self, name: str, source: Callable[[], Mapping[Labels, float]]) -> None:
        """Read gauge ``name`` from ``source()`` at snapshot time instead of storing it."""
        self._gauge_sources[name] = source

    # -- updates (the hot path) -----------------------------------------------------------------

    def _inc(self, name: str, labels: Labels, amount: float = 1) -> None:
        if self.enabled:
            with self._lock:
                values = self._values[name]
                values[labels] = values.get(labels, 0) + amount

    @staticmethod
    def _observe(values: dict[Labels, Any], labels: Labels, seconds: float) -> None:
        """Add one observation to a histogram series; the caller holds the lock."""
        series = values.get(labels)
        if series is None:
            series = values[labels] = _Histogram(len(DEFAULT_BUCKETS) + 1)
        series.counts[bisect_left(DEFAULT_BUCKETS, seconds)] += 1
        series.sum += seconds
        series.count += 1

    # -- reading ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every metric now, as plain data: ``{name: {"type", "help", "labels", "samples"}}``.

        Each sample is ``{"labels": {label: value}, "value": v}`` for a counter or
        a gauge, and ``{"labels": ..., "buckets": {upper_bound: cumulative_count},
        "sum": s, "count": n}`` for a histogram (the last bound is ``inf``).
        """
        gauges = {}
        if self.enabled:
            for name, source in self._gauge_sources.items():
                try:
                    gauges[name] = dict(source())
                except Exception:  # a gauge that cannot be read leaves the others readable
                    gauges[name] = {}
        with self._lock:
            copied = {
                name: {
                    labels: ((list(v.counts), v.sum, v.count) if isinstance(v, _Histogram) else v)
                    for labels, v in values.items()
                }
                for name, values in self._values.items()
            }
        out: dict[str, dict[str, Any]] = {}
        for family in self.FAMILIES:
            values: Mapping[Labels, Any] = gauges.get(family.name, copied[family.name])
            samples = []
            for labels, value in sorted(values.items()):
                sample: dict[str, Any] = {"labels": dict(zip(family.labels, labels, strict=True))}
                if family.type == "histogram":
                    counts, total, count = value
                    cumulative, buckets = 0, {}
                    for bound, n in zip((*DEFAULT_BUCKETS, _INF), counts, strict=True):
                        cumulative += n
                        buckets[bound] = cumulative
                    sample.update(buckets=buckets, sum=total, count=count)
                else:
                    sample["value"] = value
                samples.append(sample)
            out[family.name] = {
                "type": family.type,
                "help": family.help,
                "labels": family.labels,
                "samples": samples,
            }
        return out

    def value(self, name: str, **labels: str) -> float:
        """The sum of metric ``name`` over the samples whose labels match ``labels``.

        ``value("requests_sent")`` is every request sent, ``value("requests_sent",
        method="task_get")`` those of one method. For a histogram this is the
        number of observations. Raises KeyError for an unknown metric and
        ValueError for a label the metric does not have.
        """
        family = self._families.get(name)
        if family is None:
            raise KeyError(f"no metric {name!r}; known: {sorted(self._families)}")
        unknown = set(labels) - set(family.labels)
        if unknown:
            raise ValueError(f"{name} has labels {family.labels}, not {sorted(unknown)}")
        total = 0.0
        for sample in self.snapshot()[name]["samples"]:
            if all(sample["labels"].get(k) == str(v) for k, v in labels.items()):
                total += sample["count"] if family.type == "histogram" else sample["value"]
        return total

    def __repr__(self) -> str:
        state = "" if self.enabled else " disabled"
        return f"<{type(self).__name__}{state}>"
