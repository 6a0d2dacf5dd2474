"""Run the benchmark suite: ``python tests/benchmarks/run.py`` (or ``tox -e bench``).

Starts the embedded broker, or Apache Kafka (``--broker apache``, or
``A2A_KAFKA_BROKER=apache``: one KRaft node with the library's defaults), or uses the
one named by ``A2A_KAFKA_BOOTSTRAP``,
measures the library and a raw kafka-python floor side by side in one run,
prints a table of figures, ratios and targets, and writes the results as JSON.
Speed is only ever judged here, as ratios within one run: never in the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenarios
from report import Row, machine, print_table, write_json

from a2a_kafka_sync.testing import ApacheKafka, EmbeddedBroker

SCENARIOS = (
    "request-reply",
    "streaming",
    "versions",
    "startup",
    "memory",
    "scale-out",
    "profiles",
    "takeover",
    "exactly-once",
)
APACHE_SKIPS = ("profiles",)
"""Scenarios about Tansu's profile, not run on Apache Kafka."""
TANSU_SKIPS = ("takeover",)
"""Scenarios about Apache Kafka's group timings (Tansu's profile sets its own)."""


@contextlib.contextmanager
def broker_settings(kind: str) -> Iterator[tuple[dict[str, Any], int | None]]:
    """The broker under test, and its process id when it runs here.

    A2A_KAFKA_BOOTSTRAP (with A2A_KAFKA_PROFILE) names one; otherwise ``kind`` starts:
    the embedded broker (``tansu``) or one Apache Kafka node (``apache``).
    """
    bootstrap = os.environ.get("A2A_KAFKA_BOOTSTRAP")
    if bootstrap:
        profile = os.environ.get("A2A_KAFKA_PROFILE")
        yield {"bootstrap_servers": bootstrap, "profile": profile}, None
        return
    if kind == "apache":
        with ApacheKafka() as kafka:
            yield kafka.settings(), None
        return
    with EmbeddedBroker() as broker:
        yield broker.settings(), broker.pid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--quick", action="store_true", help="shorter runs, noisier figures")
    parser.add_argument(
        "--broker",
        choices=("tansu", "apache"),
        default=os.environ.get("A2A_KAFKA_BROKER", "tansu"),
        help="the broker to start: the embedded one (default) or Apache Kafka",
    )
    args = parser.parse_args(argv)
    skips = APACHE_SKIPS if args.broker == "apache" else TANSU_SKIPS
    args.only = [name for name in args.only if name not in skips]
    sequential, seconds = (200, 2.0) if args.quick else (1000, 5.0)
    print("machine:", machine())
    print("broker:", os.environ.get("A2A_KAFKA_BOOTSTRAP") or args.broker)
    rows: list[Row] = []
    started = time.monotonic()
    with broker_settings(args.broker) as (settings, broker_pid):
        r = scenarios.one_way(settings)
        rows.append(Row("one-way", "R: raw producer -> consumer", "records/s", r))
        if "request-reply" in args.only:
            rows += scenarios.request_reply(settings, r, sequential=sequential, seconds=seconds)
        if "streaming" in args.only:
            rows += scenarios.streaming(settings, r)
        if "versions" in args.only:
            rows += scenarios.versions(settings, sequential=sequential, seconds=seconds)
        if "startup" in args.only:
            rows += scenarios.startup(settings)
        if "memory" in args.only:
            rows += scenarios.memory(settings)
        if "scale-out" in args.only:
            # The default pool, then a small one: where CPU, not the pool, is the limit
            # (2 cores, 4 servers, a client and a broker), the small one shows the scaling.
            for workers in (8, 2):
                rows += scenarios.scale_out(settings, seconds, max_workers=workers)
        if "profiles" in args.only:
            rows += scenarios.profiles(settings, broker_pid)
        if "takeover" in args.only:
            import takeover  # only when asked: it puts tests/ on sys.path for failover_kit

            rows += takeover.takeover(settings)
        if "exactly-once" in args.only:
            import exactly_once

            rows += exactly_once.rows(settings)
    print()
    print_table(rows)
    write_json(args.json, rows, settings)
    print(f"\n{len(rows)} figures in {time.monotonic() - started:.0f} s; written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
