"""What the failover tests share: server processes to kill, and what the topics saw.

A :class:`ServerProcess` runs ``KafkaServerApp(...).run()`` in a real child process,
its log (with each "serving partitions" line timed) in a file; the test kills it
with SIGKILL as a crash would. What callers cannot see is read afterwards from the
topics with plain kafka-python consumers: every reply record (correlation id,
answer, when it was produced) and the partition each request landed on.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from a2a_kafka_sync.errors import NoAgentError, RequestTimeoutError
from a2a_kafka_sync.wire import decode_reply

SERVER = textwrap.dedent(
    """
    import json, logging, os, random, sys, time
    from a2a_kafka_sync import KafkaServerApp
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(created).3f %(levelname)s %(name)s: %(message)s",
    )
    bootstrap, topic, group, settings, gate, low, high = sys.argv[1:8]
    pid = os.getpid()

    def handle(message):
        while os.path.exists(gate):  # the test holds every answer until all calls are sent
            time.sleep(0.01)
        time.sleep(random.uniform(float(low), float(high)))
        return f"{message.text} answered by {pid}"

    KafkaServerApp(handle, bootstrap, topic, group, **json.loads(settings)).run()
    print("run returned", flush=True)
    """
)

ANSWER = re.compile(r"^(?P<text>\S+) answered by (?P<pid>\d+)$")
SERVING = re.compile(r"^(?P<at>\d+\.\d+) INFO \S+: serving partitions \[(?P<parts>[\d, ]*)\]$")


class ServerProcess:
    """One server process (``KafkaServerApp.run()``), its stderr in a file read while it runs.

    Args:
        bootstrap: the brokers.
        topic: the request topic.
        group: the consumer group.
        settings: more KafkaServerApp settings (JSON-able: ``profile``, kafka-python keys...).
        gate: while this file exists, every handler waits.
        log: where its stderr goes.
        handler_seconds: each answer takes a random time between these two.
        script: the child's Python source (:data:`SERVER` by default); it gets the
            arguments above as ``sys.argv[1:8]``.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group: str,
        settings: dict[str, Any],
        gate: Path,
        log: Path,
        handler_seconds: tuple[float, float] = (0.02, 0.05),
        script: str = SERVER,
    ) -> None:
        self.log = log
        self._err = log.open("a")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        low, high = handler_seconds
        args = [bootstrap, topic, group, json.dumps(settings), str(gate), str(low), str(high)]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env=env,
        )
        self.pid = self.proc.pid

    def lines(self) -> list[str]:
        """What the process logged so far."""
        return self.log.read_text().splitlines()

    def assignments(self) -> list[tuple[float, set[int]]]:
        """(time, partitions) of every 'serving partitions' log line, in order."""
        out = []
        for line in self.lines():
            match = SERVING.match(line)
            if match:
                parts = {int(p) for p in match["parts"].split(",") if p.strip()}
                out.append((float(match["at"]), parts))
        return out

    def current(self) -> set[int]:
        """The partitions it said last it serves."""
        held = self.assignments()
        return held[-1][1] if held else set()

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def close(self) -> None:
        """Kill the process if it still runs, and close its pipes and log."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._err.close()


@dataclass(frozen=True)
class ReplyRecord:
    """One record of a reply topic: whose call, what it says, who answered, when produced."""

    correlation_id: str
    text: str
    pid: int
    produced_at: float


def read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic``, partition after partition, from its start to its end now."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        out: list[Any] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(p) < end[p] for p in parts):
            assert time.monotonic() < deadline, f"{topic} could not be read to its end"
            for records in consumer.poll(timeout_ms=100).values():
                out.extend(records)
        return out
    finally:
        consumer.close(autocommit=False)


def read_replies(bootstrap: str, topic: str) -> list[ReplyRecord]:
    """Every answer on a reply topic, in the order of the topic (error replies, such as
    those to requests that expired before a server took them, are left out)."""
    out = []
    for record in read_all(bootstrap, topic):
        cid = dict(record.headers or [])["correlation_id"].decode()
        reply = decode_reply(record.value, correlation_id=cid)
        if reply.type != "message":
            continue
        match = ANSWER.match(reply.data.text)
        assert match, reply.data.text
        out.append(ReplyRecord(cid, match["text"], int(match["pid"]), record.timestamp / 1000))
    return out


def request_partitions(bootstrap: str, topic: str) -> dict[str, int]:
    """The partition each request (by correlation id) landed on."""
    return {
        dict(record.headers or [])["correlation_id"].decode(): record.partition
        for record in read_all(bootstrap, topic)
    }


def group_done(bootstrap: str, group: str, topic: str, partitions: int) -> bool:
    """True when the group has committed every request of the topic (all answered, acked)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        end = consumer.end_offsets(parts)
        return all((consumer.committed(p) or 0) >= end[p] for p in parts)
    finally:
        consumer.close(autocommit=False)


def first_takeover_answer(
    replies: list[ReplyRecord],
    partition_of: dict[str, int],
    victim_partitions: set[int],
    survivor_pid: int,
    killed_at: float,
) -> float | None:
    """Seconds from the kill to the survivor's first answer to a request on one of the
    victim's partitions (None if it never answered one)."""
    times = [
        reply.produced_at - killed_at
        for reply in replies
        if reply.pid == survivor_pid
        and partition_of.get(reply.correlation_id) in victim_partitions
        and reply.produced_at >= killed_at
    ]
    return min(times, default=None)


@dataclass
class KillRun:
    """What one kill -9 of one of two servers showed (see :func:`kill_one_of_two`)."""

    calls: int
    call_timeout: float
    answers: dict[int, str]
    """Call number -> the answer its caller got."""
    errors: dict[int, BaseException]
    """Call number -> what its caller got instead of an answer."""
    seconds: dict[int, float]
    """Call number -> from its send to its answer or error."""
    replies: list[ReplyRecord]
    partition_of: dict[str, int]
    victim_pid: int
    survivor_pid: int
    victim_partitions: set[int]
    killed_at: float
    in_flight_at_kill: int
    survivor_took_all_after: float
    pending_after: int
    survivor_log: str

    @property
    def takeover(self) -> float | None:
        """Seconds from the kill to the survivor's first answer on a victim's partition."""
        return first_takeover_answer(
            self.replies,
            self.partition_of,
            self.victim_partitions,
            self.survivor_pid,
            self.killed_at,
        )

    def figures(self) -> dict[str, Any]:
        """The run in numbers, for a report."""
        per_call: dict[str, int] = {}
        for reply in self.replies:
            if reply.text.startswith("req-"):
                per_call[reply.text] = per_call.get(reply.text, 0) + 1
        takeover = self.takeover
        return {
            "calls": self.calls,
            "in flight at kill": self.in_flight_at_kill,
            "answered": len(self.answers),
            "errors": len(self.errors),
            "victim partitions": sorted(self.victim_partitions),
            "first survivor answer on a victim partition after kill (s)": (
                None if takeover is None else round(takeover, 2)
            ),
            "survivor held all partitions after kill (s)": round(self.survivor_took_all_after, 2),
            "slowest call (s)": round(max(self.seconds.values(), default=0.0), 2),
            "calls that took over 30 s": sum(s > 30 for s in self.seconds.values()),
            "reply records for one call, at most": max(per_call.values(), default=0),
            "calls answered twice on the topic": sum(n > 1 for n in per_call.values()),
        }


def warm_up(client: Any, servers: list[ServerProcess], partitions: int) -> None:
    """Send rounds of 16 calls until both servers hold partitions (disjoint, all of them)
    and both have answered; fails the test if they never do."""
    seen: set[int] = set()
    for round_ in range(60):
        held = [s.current() for s in servers]
        both = held[0] | held[1] == set(range(partitions)) and not held[0] & held[1]
        if both and seen >= {s.pid for s in servers}:
            return
        try:
            pending = [client.submit(f"warm-{round_}-{i}", timeout=30) for i in range(16)]
        except NoAgentError:  # no server in the group yet: next round
            time.sleep(0.5)
            continue
        for call in pending:
            try:
                answer = call.result()
            except RequestTimeoutError:  # the group still settling (a busy machine): next round
                continue
            match = ANSWER.match(answer.text)
            assert match, call
            seen.add(int(match["pid"]))
        for s in servers:
            assert s.alive(), s.log.read_text()[-3000:]
    raise AssertionError(f"both servers never served: {[s.current() for s in servers]}, {seen}")


def kill_one_of_two(
    client: Any,
    bootstrap: str,
    topic: str,
    folder: Path,
    settings: dict[str, Any],
    *,
    calls: int,
    partitions: int,
    call_timeout: float,
    kill_after: int = 25,
    handler_seconds: tuple[float, float] = (0.02, 0.05),
) -> KillRun:
    """Two server processes share ``topic`` (``partitions`` partitions); ``calls`` calls are
    put in flight at once (``client.submit``) while every handler is held; once
    ``kill_after`` are answered the first server is killed with SIGKILL. Waits for every
    call, for the group to commit every request, reads both topics, stops the survivor with
    SIGTERM (it must exit cleanly) and returns what happened."""
    import signal
    import threading

    group = f"{topic}-group"
    gate = folder / "hold"
    servers = [
        ServerProcess(
            bootstrap, topic, group, settings, gate, folder / f"server-{n}.log", handler_seconds
        )
        for n in range(2)
    ]
    try:
        warm_up(client, servers, partitions)
        victim, survivor = servers
        victim_partitions = victim.current()

        gate.touch()
        sent_at: list[float] = []
        pending = []
        for i in range(calls):
            sent_at.append(time.monotonic())
            pending.append(client.submit(f"req-{i}", timeout=call_timeout))
        finished: dict[int, float] = {}
        watching = threading.Event()

        def watch() -> None:  # when each call finished, to within 10 ms
            waiting = set(range(calls))
            while waiting and not watching.is_set():
                now = time.monotonic()
                for i in [i for i in waiting if pending[i].done()]:
                    finished[i] = now
                    waiting.discard(i)
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        gate.unlink()  # release: the servers answer
        deadline = time.monotonic() + 60
        while len(finished) < kill_after:
            assert time.monotonic() < deadline, f"only {len(finished)} answered in 60 s"
            time.sleep(0.01)
        in_flight_at_kill = client.pending
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.time()
        victim.proc.wait(10)
        assert victim.proc.returncode == -signal.SIGKILL

        answers: dict[int, str] = {}
        errors: dict[int, BaseException] = {}
        ended: dict[int, float] = {}
        for i, call in enumerate(pending):
            try:
                answers[i] = call.result().text
            except Exception as exc:  # reported by the caller's assertions
                errors[i] = exc
            ended[i] = time.monotonic()
        watcher.join(1.0)
        watching.set()
        seconds = {i: finished.get(i, ended[i]) - sent_at[i] for i in range(calls)}

        deadline = time.monotonic() + 30
        while survivor.current() != set(range(partitions)):
            assert time.monotonic() < deadline, survivor.current()
            time.sleep(0.05)
        took_all = next(
            at
            for at, parts in survivor.assignments()
            if at > killed_at and len(parts) == partitions
        )
        deadline = time.monotonic() + 60
        while not group_done(bootstrap, group, topic, partitions):
            assert time.monotonic() < deadline, "requests left uncommitted"
            time.sleep(0.2)
        replies = read_replies(bootstrap, client.reply_topic)
        partition_of = request_partitions(bootstrap, topic)

        survivor.proc.send_signal(signal.SIGTERM)
        out, _ = survivor.proc.communicate(timeout=30)
        survivor_log = survivor.log.read_text()
        assert survivor.proc.returncode == 0, survivor_log[-3000:]
        assert "run returned" in out
    finally:
        for s in servers:
            s.close()
    return KillRun(
        calls=calls,
        call_timeout=call_timeout,
        answers=answers,
        errors=errors,
        seconds=seconds,
        replies=replies,
        partition_of=partition_of,
        victim_pid=victim.pid,
        survivor_pid=survivor.pid,
        victim_partitions=victim_partitions,
        killed_at=killed_at,
        in_flight_at_kill=in_flight_at_kill,
        survivor_took_all_after=took_all - killed_at,
        pending_after=client.pending,
        survivor_log=survivor_log,
    )
