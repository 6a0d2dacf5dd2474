"""What exactly-once mode costs: at-least-once vs exactly-once, one run, one broker.

Run: ``python tests/benchmarks/exactly_once.py`` (needs the ``broker`` extra). It starts
the embedded broker, serves an echo agent both ways, and prints sequential latency and
the throughput of 32 caller threads sharing one client. Read the ratios: the absolute
numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.testing import EmbeddedBroker

SEQUENTIAL = 200
THREADS = 32
SECONDS = 5.0


def measure(settings: dict[str, object], exactly_once: bool) -> dict[str, float]:
    topic = f"bench-eos-{exactly_once}"
    client_settings = {"isolation_level": "read_committed"} if exactly_once else {}
    with KafkaServerApp(
        lambda m: "e", request_topic=topic, exactly_once=exactly_once, **settings
    ) as app:  # type: ignore[arg-type]
        app.wait_until_assigned(30)
        with KafkaClientTransport(
            request_topic=topic,
            **settings,  # type: ignore[arg-type]
            **client_settings,
        ) as client:
            for _ in range(20):
                client.send_text("warm-up")
            latencies = []
            for _ in range(SEQUENTIAL):
                started = time.perf_counter()
                client.send_text("x")
                latencies.append(time.perf_counter() - started)
            latencies.sort()
            done = [0]
            stop_at = time.perf_counter() + SECONDS

            def caller() -> None:
                while time.perf_counter() < stop_at:
                    client.send_text("y")
                    done[0] += 1

            threads = [threading.Thread(target=caller) for _ in range(THREADS)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
    return {
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "req_per_s": done[0] / elapsed,
    }


def rows(settings: dict[str, object]) -> list[Any]:
    """Exactly once against at least once, for run.py's table (one run, one broker)."""
    from report import Row

    alo = measure(settings, exactly_once=False)
    eos = measure(settings, exactly_once=True)
    note = "read_committed client; transactions each poll round"
    return [
        Row(
            "exactly once",
            "sequential p50",
            "ms",
            eos["p50_ms"],
            alo["p50_ms"],
            reference_name="at least once",
            note=note,
        ),
        Row(
            "exactly once",
            f"{THREADS} threads",
            "req/s",
            eos["req_per_s"],
            alo["req_per_s"],
            reference_name="at least once",
        ),
    ]


def main() -> None:
    with EmbeddedBroker() as broker:
        settings = broker.settings()
        alo = measure(settings, exactly_once=False)
        eos = measure(settings, exactly_once=True)
    print(f"{'':28}{'at least once':>15}{'exactly once':>15}{'ratio':>8}")
    for key, label in (
        ("p50_ms", "sequential p50 (ms)"),
        ("p99_ms", "sequential p99 (ms)"),
        ("req_per_s", f"{THREADS} threads (req/s)"),
    ):
        print(f"{label:28}{alo[key]:15.1f}{eos[key]:15.1f}{eos[key] / alo[key]:8.2f}")


if __name__ == "__main__":
    main()
