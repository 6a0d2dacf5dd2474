"""How long a killed server's partitions wait on Apache Kafka.

``python tests/benchmarks/takeover.py [--runs 3]``.

Two server processes share an 8-partition request topic; 3,000 calls are put in
flight; one server is killed with SIGKILL. Measured, per run: the seconds from the
kill to the survivor's first answer to a request on one of the victim's partitions
(read from the topics), and when the survivor held every partition. Each setting is
run ``--runs`` times, alternating, against one Apache Kafka node started here (or the
one named by ``A2A_KAFKA_BOOTSTRAP``). The tests check what happens (every call
answered once); figures are only ever reported here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from failover_kit import kill_one_of_two
from report import Row

from a2a_kafka_sync import KafkaClientTransport
from a2a_kafka_sync.testing import ApacheKafka

SETTINGS: dict[str, dict[str, Any]] = {
    "kafka-python defaults (session 45 s, heartbeat 3 s)": {
        "session_timeout_ms": 45_000,
        "heartbeat_interval_ms": 3_000,
    },
    "library defaults (session 10 s, heartbeat 1 s)": {},
    "session 6 s, heartbeat 1 s (the broker's minimum)": {
        "session_timeout_ms": 6_000,
        "heartbeat_interval_ms": 1_000,
    },
}


@contextlib.contextmanager
def apache_kafka() -> Iterator[str]:
    """The bootstrap servers of the broker under test."""
    bootstrap = os.environ.get("A2A_KAFKA_BOOTSTRAP")
    if bootstrap:
        yield bootstrap
        return
    with ApacheKafka() as kafka:
        yield kafka.bootstrap_servers


def one_run(bootstrap: str, settings: dict[str, Any], calls: int) -> dict[str, Any]:
    """One kill -9 with ``calls`` in flight; the run's figures."""
    topic = f"takeover-{uuid.uuid4().hex[:10]}"
    client = KafkaClientTransport(
        bootstrap_servers=bootstrap, request_topic=topic, request_topic_partitions=8, timeout=120
    ).open()
    try:
        with tempfile.TemporaryDirectory() as folder:
            run = kill_one_of_two(
                client,
                bootstrap,
                topic,
                Path(folder),
                {"card_topic": None, "request_topic_partitions": 8, **settings},
                calls=calls,
                partitions=8,
                call_timeout=120,
                handler_seconds=(0.01, 0.03),
            )
    finally:
        client.close()
    return run.figures()


_TAKEOVER = "first survivor answer on a victim partition after kill (s)"


def takeover(settings: dict[str, Any], calls: int = 3000) -> list[Row]:
    """For run.py's table: the library's group settings against kafka-python's defaults,
    one kill -9 each, on the broker of the run (Apache Kafka: no profile)."""
    bootstrap = settings["bootstrap_servers"]
    theirs, defaults, _ = SETTINGS.values()
    ours = one_run(bootstrap, defaults, calls)
    base = one_run(bootstrap, theirs, calls)
    note = (
        f"{calls} calls in flight, 8 partitions; answered {ours['answered']}/{calls}, "
        f"twice on the topic {ours['calls answered twice on the topic']}; slowest call "
        f"{ours['slowest call (s)']} s (kafka-python's: {base['slowest call (s)']} s)"
    )
    return [
        Row(
            "takeover",
            "kill -9 of 1 of 2 servers",
            "s",
            ours[_TAKEOVER],
            base[_TAKEOVER],
            reference_name="kafka-python's session 45 s",
            note=note,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--only", nargs="*", type=int, help="indexes into SETTINGS")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    chosen = [name for n, name in enumerate(SETTINGS) if args.only is None or n in args.only]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in chosen}
    with apache_kafka() as bootstrap:
        for run in range(args.runs):
            for name in chosen:
                figures = one_run(bootstrap, SETTINGS[name], args.calls)
                results[name].append(figures)
                print(f"run {run + 1}, {name}: {figures}", flush=True)
    for name, runs in results.items():
        key = "first survivor answer on a victim partition after kill (s)"
        print(f"{name}: {[r[key] for r in runs]}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
