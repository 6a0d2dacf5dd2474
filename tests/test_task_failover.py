"""A streaming task whose server is killed mid-stream: it finishes, and the survivor never wedges.

Two real server processes share one consumer group, a Kafka task store and a Kafka task-event
log (``event_log="kafka"``). A client streams a 40-chunk task with ``resume=True``; after 15
chunks the process running the task is killed with SIGKILL, and is started again once the
round ends (so every round has two servers, and the next kill can hit either one). Kills in a
row are what wedged the survivor before: every resubscription to an orphaned task ran for
ever on it, and their offsets never committed.

Per round the test asserts what docs/resume.md promises for a task whose worker died: the
request is read again by the survivor and run under the same task id, the client's stream
sees that run (from its first chunk, the dead run's events before it once each, the
sequence contiguous) and ends with the task completed; the stored task is completed with the
new run's 40 chunks; the survivor answers a new call and ``get_task`` afterwards; and at the
end the group has committed every request (nothing holds the commit position).

``A2A_TASK_KILL_ROUNDS`` sets the number of rounds (4 by default: four kills in a row; the
issue's measurement ran 20). Select with ``pytest -k task_failover``.
"""

from __future__ import annotations

import os
import signal
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from failover_kit import ServerProcess, group_done
from helpers import UNSERVED, wait_for

from a2a_kafka_sync import Task, TaskState, TaskStatusUpdateEvent
from a2a_kafka_sync.types import TaskArtifactUpdateEvent

pytestmark = pytest.mark.slow

ROUNDS = int(os.environ.get("A2A_TASK_KILL_ROUNDS", "4"))
PARTITIONS = 2
CHUNKS = 40
KILL_AFTER = 15
CHUNK_SECONDS = 0.05

# A server whose agent streams CHUNKS chunks "<i>@<pid>" as a task for a message "count", and
# one chunk "<text>@<pid>" for any other message.
TASK_SERVER = textwrap.dedent(
    f"""
    import json, logging, os, sys, time
    from a2a_kafka_sync import KafkaServerApp
    from a2a_kafka_sync.server.tasks import KafkaTaskEventLog, KafkaTaskStore
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(created).3f %(levelname)s %(name)s: %(message)s",
    )
    bootstrap, topic, group, settings, gate, low, high = sys.argv[1:8]
    settings = json.loads(settings)
    shared = settings.pop("shared")
    broker = {{"bootstrap_servers": bootstrap, "profile": settings.get("profile")}}
    pid = os.getpid()

    def agent(message, context):
        if message.text != "count":
            yield f"{{message.text}}@{{pid}}"
            return
        context.task.start_work()
        for i in range(1, {CHUNKS} + 1):
            time.sleep(float(low))
            yield f"{{i}}@{{pid}} "

    KafkaServerApp(
        agent, bootstrap, topic, group,
        task_store=KafkaTaskStore(**broker, topic=shared + ".tasks"),
        event_log=KafkaTaskEventLog(**broker, topic=shared + ".task-events"),
        **settings,
    ).run()
    """
)


def chunk_of(event: Any) -> tuple[int, int] | None:
    """(chunk number, pid of the run that made it) of an artifact event, else None (the
    generator's closing ``last_chunk`` event has no text)."""
    if not isinstance(event, TaskArtifactUpdateEvent):
        return None
    text = event.artifact.parts[0].text.strip()  # type: ignore[union-attr]
    if not text:
        assert event.last_chunk, event
        return None
    number, pid = text.split("@")
    return int(number), int(pid)


def answered_by(result: Any) -> str:
    """The text of a completed task's artifacts."""
    assert isinstance(result, Task) and result.status.state is TaskState.completed, result
    return "".join(p.text for a in result.artifacts or [] for p in a.parts)  # type: ignore[union-attr]


def serving(servers: list[ServerProcess]) -> bool:
    """True when the two servers hold every partition between them, none twice."""
    held = [s.current() for s in servers]
    return held[0] | held[1] == set(range(PARTITIONS)) and not held[0] & held[1]


@pytest.mark.timeout(120 + 60 * ROUNDS)  # a round takes 14-18 s (2 cores); a safety net
def test_a_task_whose_server_is_killed_mid_stream_finishes_on_the_survivor_round_after_round(
    broker_settings: dict[str, Any], topic: str, connect: Any, tmp_path: Path
) -> None:
    bootstrap = broker_settings["bootstrap_servers"]
    group = f"{topic}-group"
    settings = {
        "profile": broker_settings.get("profile"),
        "request_topic_partitions": PARTITIONS,
        "card_topic": None,
        "max_workers": 4,
        "shared": f"{topic}-shared",
        # What ends a follower of a task that will never advance; short, so a wedge would
        # show within the test (300 s by default).
        "resubscribe_idle_timeout": 20,
    }
    # 30 s: a safety net for the first event on a loaded machine (2 cores, two JVMs)
    client = connect(**UNSERVED, request_topic_partitions=PARTITIONS, timeout=30.0)
    client.open()
    gate = tmp_path / "never"  # the plain calls never wait
    started = 0

    def start_server() -> ServerProcess:
        nonlocal started
        started += 1
        return ServerProcess(
            bootstrap,
            topic,
            group,
            settings,
            gate,
            tmp_path / f"server-{started}.log",
            (CHUNK_SECONDS, CHUNK_SECONDS),
            script=TASK_SERVER,
        )

    servers = [start_server(), start_server()]
    rounds: list[dict[str, Any]] = []
    try:
        assert wait_for(lambda: serving(servers), 90), [s.lines()[-5:] for s in servers]
        for round_ in range(ROUNDS):
            began = time.monotonic()
            stream = client.send_message_streaming("count", resume=5)
            events: list[tuple[int | None, Any]] = []
            victim: ServerProcess | None = None
            for event in stream:
                events.append((stream.last_sequence, event))
                chunk = chunk_of(event)
                if victim is None and chunk and chunk[0] == KILL_AFTER:
                    victim = next(s for s in servers if s.pid == chunk[1])
                    os.kill(victim.pid, signal.SIGKILL)
                    victim.proc.wait()
            took = time.monotonic() - began
            assert victim is not None, f"round {round_ + 1}: no chunk {KILL_AFTER} seen"
            survivor = next(s for s in servers if s is not victim)
            # The stream: the dead run's chunks 1..15 once each, then the survivor's run from
            # its first chunk to its last, the task completed; one contiguous sequence.
            chunks = [c for c in (chunk_of(e) for _, e in events) if c]
            dead = [n for n, pid in chunks if pid == victim.pid]
            rerun = [n for n, pid in chunks if pid == survivor.pid]
            assert dead == list(range(1, KILL_AFTER + 1)), (round_, chunks)
            assert rerun == list(range(1, CHUNKS + 1)), (round_, chunks)
            assert len(chunks) == len(dead) + len(rerun)
            last = events[-1][1]
            assert isinstance(last, TaskStatusUpdateEvent), last
            assert last.status.state is TaskState.completed and last.final
            sequences = [seq for seq, _ in events]
            shown = [(seq, type(e).__name__[:10], chunk_of(e)) for seq, e in events]
            assert sequences == list(range(1, len(events) + 1)), shown
            # The stored task: completed, under the stream's task id, the new run's chunks.
            stored = answered_by(client.get_task(stream.task_id))
            assert stored.split() == [f"{i}@{survivor.pid}" for i in range(1, CHUNKS + 1)]
            # The survivor answers a new call, whichever partition it lands on.
            after = client.send_text(f"after-{round_}", timeout=30)  # no task: a Message's text
            assert after == f"after-{round_}@{survivor.pid}"
            rounds.append({"round": round_ + 1, "seconds": round(took, 1), "events": len(events)})
            print("task failover round:", rounds[-1], flush=True)  # with -s: live progress
            victim.close()
            servers = [survivor, start_server()]
            held = wait_for(lambda pair=servers: serving(pair), 90)  # type: ignore[misc]
            assert held, [s.lines()[-5:] for s in servers]
        # Nothing holds the commit position: every request of every round is committed.
        assert wait_for(lambda: group_done(bootstrap, group, topic, PARTITIONS), 60), rounds
        for s in servers:
            assert s.alive(), s.log.read_text()[-3000:]
    finally:
        for s in servers:
            s.close()
    print("task failover rounds:", rounds)
