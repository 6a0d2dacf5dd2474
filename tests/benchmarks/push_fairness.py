"""How long another target's push waits while 24 webhooks at a dead address are queued.

The scenario of issue 18, item 5: one principal's 24 webhooks (4 tasks x 6) point at a port
that accepts connections and never answers; then one push goes to a healthy webhook. Prints
how long that push took to arrive with the notifier at hand, and, with ``--notifier
module:Class``, with another one (e.g. a copy of the old ``PushNotifier`` saved from git).
Run: ``python tests/benchmarks/push_fairness.py [--wait 90]`` (the embedded broker gives the
producer the notifier needs; the pushes here are all webhooks).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import BlackHole, Webhook

from a2a_kafka_sync._kafka import build_producer
from a2a_kafka_sync.config import ClientConfig, build_config
from a2a_kafka_sync.server.push import PushNotifier
from a2a_kafka_sync.testing import EmbeddedBroker
from a2a_kafka_sync.types import PushNotificationConfig, Task, TaskStatus


def _task_ids() -> list[str]:
    """4 task ids, 2 on each of the old notifier's 2 threads (crc32 % 2), as 4 random ids
    almost always spread: the case the issue describes."""
    lanes: dict[int, list[str]] = {0: [], 1: []}
    for i in range(100):
        task_id = f"alice-{i}"
        lane = lanes[zlib.crc32(task_id.encode()) % 2]
        if len(lane) < 2:
            lane.append(task_id)
    return lanes[0] + lanes[1]


def measure(notifier_class: Any, producer: Any, wait: float, **options: Any) -> float | None:
    """Seconds from the healthy push's notify to its arrival; None after ``wait`` s."""
    hole, hook = BlackHole(), Webhook()
    arrived = threading.Event()
    hook.on_request = lambda body: arrived.set()
    notifier = notifier_class(producer, allow_insecure_webhooks=True, **options)
    try:
        for task_id in _task_ids():
            configs = [PushNotificationConfig(url=hole.url(f"/{i}")) for i in range(6)]
            notifier.notify(
                Task(id=task_id, context_id="c", status=TaskStatus(state="completed")), configs
            )
        time.sleep(0.5)  # the dead deliveries are under way
        start = time.monotonic()
        notifier.notify(
            Task(id="bob-1", context_id="c", status=TaskStatus(state="completed")),
            [PushNotificationConfig(url=hook.url())],
        )
        return time.monotonic() - start if arrived.wait(wait) else None
    finally:
        notifier.close(0.1)
        hole.close()
        hook.stop()


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--wait", type=float, default=90.0)
    parser.add_argument("--notifier", help="module:Class of another notifier to compare")
    args = parser.parse_args()
    with EmbeddedBroker() as broker:
        producer = build_producer(build_config(ClientConfig, **broker.settings()))
        try:
            results = {"PushNotifier (now)": measure(PushNotifier, producer, args.wait)}
            if args.notifier:
                module, name = args.notifier.split(":")
                other = getattr(importlib.import_module(module), name)
                results[args.notifier] = measure(other, producer, args.wait)
        finally:
            producer.close(timeout=5)
    for label, seconds in results.items():
        shown = f"{seconds * 1000:.1f} ms" if seconds is not None else f"> {args.wait:.0f} s"
        print(f"{label}: the healthy push arrived after {shown}")


if __name__ == "__main__":
    main()
