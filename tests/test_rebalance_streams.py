"""Streams whose partition moves to another server in a rebalance: one run per stream, in order.

A rebalance is not a crash: the server that loses a partition is still running the requests
it read from it, and the new owner runs them again (their offsets were not committed). Both
runs used to answer the caller: a stream carried the events of two runs at once, and the
Kafka task-event log numbered one task's events twice (a stream saw sequence 15 twice on
Apache Kafka in CI). Now the old owner stops them (``context.moved``, server/moved.py).

One real server process serves a two-partition request topic with a Kafka task store and a
Kafka task-event log; a client opens six 40-chunk streams, three on each partition (its
producer's partitioner alternates); once every stream has sent a few chunks, a second server
joins the group and takes one partition: the three streams on it move.
Per stream: the sequence is contiguous, the stream ends ``completed``,
and the events come from one run at a time: the first server's chunks 1..k, then (for a
moved stream) the second server's chunks 1..40, never one of the first server's after the
second's first; the stored task holds the run the stream ended with.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from failover_kit import ServerProcess, group_done
from helpers import UNSERVED, wait_for
from kafka.partitioner import Partitioner
from test_task_failover import TASK_SERVER, answered_by, chunk_of

from a2a_kafka_sync import TaskState, TaskStatusUpdateEvent

pytestmark = pytest.mark.slow  # servers, brokers or processes of its own (docs/testing.md)

PARTITIONS = 2
STREAMS = 6
CHUNKS = 40  # what TASK_SERVER streams
CHUNK_SECONDS = 0.3  # a stream lasts ~12 s: the second server joins while all of them run
JOIN_AFTER = 3  # chunks every stream has sent before the second server starts


class Alternate(Partitioner):  # type: ignore[misc]
    """Requests (keyless) go to partitions 0, 1, 0, 1...: half of the streams move."""

    def __init__(self) -> None:
        self._chosen: dict[bytes, int] = {}  # kafka-python may ask twice for one record

    def partition(self, topic: str, key: Any, serialized_key: Any, value: Any, *_: Any) -> int:
        return self._chosen.setdefault(bytes(value), len(self._chosen) % PARTITIONS)


def describe(events: list[tuple[int | None, Any]]) -> list[tuple[int | None, str, Any]]:
    """(sequence, event type, chunk) of each event: what a failure message shows."""
    return [(seq, type(e).__name__[:10], chunk_of(e)) for seq, e in events]


@pytest.mark.timeout(300)
def test_a_stream_whose_partition_moves_is_answered_by_one_run_at_a_time(
    broker_settings: dict[str, Any], topic: str, connect: Any, tmp_path: Path
) -> None:
    bootstrap = broker_settings["bootstrap_servers"]
    group = f"{topic}-group"
    settings = {
        "profile": broker_settings.get("profile"),
        "request_topic_partitions": PARTITIONS,
        "card_topic": None,
        "max_workers": STREAMS + 2,
        "shared": f"{topic}-shared",
    }
    client = connect(
        **UNSERVED,
        request_topic_partitions=PARTITIONS,
        timeout=30.0,
        kafka={"partitioner": Alternate()},
    )
    client.open()
    gate = tmp_path / "never"
    servers: list[ServerProcess] = []

    def start_server() -> ServerProcess:
        server = ServerProcess(
            bootstrap,
            topic,
            group,
            settings,
            gate,
            tmp_path / f"server-{len(servers) + 1}.log",
            (CHUNK_SECONDS, CHUNK_SECONDS),
            script=TASK_SERVER,
        )
        servers.append(server)
        return server

    try:
        first = start_server()
        assert wait_for(lambda: first.current() == set(range(PARTITIONS)), 90), first.lines()[-5:]
        streams = [client.send_message_streaming("count", resume=5) for _ in range(STREAMS)]
        events: list[list[tuple[int | None, Any]]] = [[] for _ in streams]
        errors: list[BaseException] = []

        def read(i: int) -> None:
            try:
                for event in streams[i]:
                    events[i].append((streams[i].last_sequence, event))
            except BaseException as exc:
                errors.append(exc)

        readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(STREAMS)]
        for reader in readers:
            reader.start()
        chunks_seen = lambda: min(sum(1 for _, e in got if chunk_of(e)) for got in events)  # noqa: E731
        assert wait_for(lambda: chunks_seen() >= JOIN_AFTER, 60), [describe(e) for e in events]
        second = start_server()
        joined = time.monotonic()
        assert wait_for(lambda: second.current() and first.current(), 90), second.lines()[-5:]
        for reader in readers:
            reader.join(120)
        assert not errors, errors
        assert not any(r.is_alive() for r in readers)
        moved = 0
        for i, got in enumerate(events):
            shown = (i, describe(got))
            sequences = [seq for seq, _ in got]
            assert sequences == list(range(1, len(got) + 1)), shown
            last = got[-1][1]
            assert isinstance(last, TaskStatusUpdateEvent), shown
            assert last.status.state is TaskState.completed and last.final, shown
            runs: list[tuple[int, list[int]]] = []  # (pid, its chunks), one entry per run
            for chunk in (c for c in (chunk_of(e) for _, e in got) if c):
                number, pid = chunk
                if not runs or runs[-1][0] != pid:
                    runs.append((pid, []))
                runs[-1][1].append(number)
            assert runs[0][0] == first.pid, shown
            assert runs[-1] == (runs[-1][0], list(range(1, CHUNKS + 1))), shown  # ran to its end
            for _, numbers in runs[:-1]:  # a run cut short: its first chunks, in order
                assert numbers == list(range(1, len(numbers) + 1)), shown
            if len(runs) > 1:
                moved += 1
                assert [pid for pid, _ in runs] == [first.pid, second.pid], shown
            stored = answered_by(client.get_task(streams[i].task_id))
            assert stored.split() == [f"{n}@{runs[-1][0]}" for n in range(1, CHUNKS + 1)], shown
        # Three streams on each partition; the second server took one of them.
        assert moved == STREAMS // PARTITIONS, [describe(e) for e in events]
        print(f"{moved} of {STREAMS} streams moved; {time.monotonic() - joined:.1f}s after join")
        stopped = [line for line in first.lines() if "moved to another server" in line]
        assert stopped, first.lines()[-20:]
        assert wait_for(lambda: group_done(bootstrap, group, topic, PARTITIONS), 60)
        assert first.alive() and second.alive()
    finally:
        for server in servers:
            server.close()
