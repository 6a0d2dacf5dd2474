"""Failover: kill -9 of one of two server processes while >= 500 requests are in flight.

Two real server processes (``KafkaServerApp(...).run()``) share one consumer group on
an 8-partition request topic. One shared client puts 600 unary calls in flight (one
caller thread each); once the servers have answered a few dozen of them, one server
is killed with SIGKILL. The group moves its partitions to the survivor, which
answers what the dead one had taken but not committed (at least once on the topic);
every caller must still get exactly its own answer, once, and the client must end
with no pending waiter.

What the callers cannot see is read from the client's reply topic with a plain
kafka-python consumer (the topic's name is public: ``client.reply_topic``): how many
reply records arrived per correlation id, and that each call returned the first of
them. Select with ``pytest -k failover``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from kafka import KafkaConsumer, TopicPartition

from a2a_kafka_sync.wire import decode_reply

PARTITIONS = 8
CALLERS = 600
IN_FLIGHT_AT_KILL = 500
KILL_AFTER_ANSWERS = 25
CALL_TIMEOUT = 70.0

SERVER = textwrap.dedent(
    """
    import logging, os, random, sys, time
    from a2a_kafka_sync import KafkaServerApp
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(created).3f %(levelname)s %(name)s: %(message)s",
    )
    bootstrap, topic, group, profile, gate = sys.argv[1:6]
    pid = os.getpid()

    def handle(message):
        while os.path.exists(gate):  # the test holds every answer until all calls are sent
            time.sleep(0.01)
        time.sleep(random.uniform(0.02, 0.05))
        return f"{message.text} answered by {pid}"

    KafkaServerApp(
        handle, bootstrap, topic, group, profile=profile or None,
        request_topic_partitions=PARTITIONS, card_topic=None,
    ).run()
    print("run returned", flush=True)
    """
).replace("PARTITIONS", str(PARTITIONS))

ANSWER = re.compile(r"^(?P<text>req-\d+|warm-\d+-\d+) answered by (?P<pid>\d+)$")
SERVING = re.compile(r"^(?P<at>\d+\.\d+) INFO \S+: serving partitions \[(?P<parts>[\d, ]*)\]$")


class Server:
    """One server process, its stderr in a file (read while it runs)."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self._err = log.open("w")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, *args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env=env,
        )
        self.pid = self.proc.pid

    def lines(self) -> list[str]:
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
        held = self.assignments()
        return held[-1][1] if held else set()

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._err.close()


def _read_replies(bootstrap: str, topic: str) -> list[tuple[str, str]]:
    """Every record of the reply topic, in order: (correlation id, answer text)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        out: list[tuple[str, str]] = []
        deadline = time.monotonic() + 30
        while any(consumer.position(p) < end[p] for p in parts):
            assert time.monotonic() < deadline, "the reply topic could not be read to its end"
            for records in consumer.poll(timeout_ms=100).values():
                for record in records:
                    cid = dict(record.headers or [])["correlation_id"].decode()
                    reply = decode_reply(record.value, correlation_id=cid)
                    assert reply.type == "message", reply
                    out.append((cid, reply.data.text))
        return out
    finally:
        consumer.close(autocommit=False)


def _group_done(bootstrap: str, group: str, topic: str) -> bool:
    """True when the group has committed every request of the topic (all answered, acked)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        end = consumer.end_offsets(parts)
        return all((consumer.committed(p) or 0) >= end[p] for p in parts)
    finally:
        consumer.close(autocommit=False)


def test_failover_kill9_with_500_in_flight_answers_each_call_once(
    broker_settings: dict[str, Any], topic: str, connect: Any, tmp_path: Path
) -> None:
    began = time.monotonic()
    bootstrap = broker_settings["bootstrap_servers"]
    profile = broker_settings.get("profile") or ""
    group = f"{topic}-group"
    gate = tmp_path / "hold"
    client = connect(request_topic_partitions=PARTITIONS, timeout=CALL_TIMEOUT)
    client.open()
    args = [bootstrap, topic, group, profile, str(gate)]
    servers = [Server(args, tmp_path / f"server-{n}.log") for n in range(2)]
    try:
        # -- warm-up: both processes hold partitions (disjoint, all 8) and both answer ---------
        seen: set[int] = set()

        def both_serving() -> bool:
            held = [s.current() for s in servers]
            return held[0] | held[1] == set(range(PARTITIONS)) and not held[0] & held[1]

        for round_ in range(60):
            if both_serving() and seen >= {s.pid for s in servers}:
                break
            answers: list[str] = []
            callers = [
                threading.Thread(
                    target=lambda i=i, r=round_, out=answers: out.append(
                        client.send_text(f"warm-{r}-{i}", timeout=30)
                    )
                )
                for i in range(16)
            ]
            for t in callers:
                t.start()
            for t in callers:
                t.join(35)
            assert len(answers) == 16, f"warm-up round {round_}: {len(answers)}/16 answered"
            seen |= {int(ANSWER.match(a)["pid"]) for a in answers}  # type: ignore[index]
            for s in servers:
                assert s.proc.poll() is None, s.log.read_text()[-3000:]
        else:
            pytest.fail(f"both servers never served: {[s.current() for s in servers]}, {seen}")
        held = {s.pid: sorted(s.current()) for s in servers}
        warm_up_done = time.monotonic()

        # -- 600 calls in flight: the servers hold every answer until all are sent -------------
        gate.touch()
        results: dict[int, str] = {}
        errors: dict[int, BaseException] = {}
        done_at: dict[int, float] = {}
        lock = threading.Lock()
        go = threading.Event()

        def call(i: int) -> None:
            go.wait()
            try:
                answer = client.send_text(f"req-{i}", timeout=CALL_TIMEOUT)
            except BaseException as exc:  # reported by the assertions below
                with lock:
                    errors[i] = exc
                return
            with lock:
                results[i] = answer  # type: ignore[assignment]
                done_at[i] = time.time()

        callers = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(CALLERS)]
        for t in callers:
            t.start()
        go.set()
        assert wait_for(lambda: client.pending + len(errors) >= CALLERS, 30), client.pending
        assert not errors, errors
        gate.unlink()  # release: the servers answer

        assert wait_for(lambda: len(results) + len(errors) >= KILL_AFTER_ANSWERS, 30), errors
        victim, survivor = servers
        in_flight_at_kill = client.pending
        answered_at_kill = len(results)
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.time()
        victim.proc.wait(10)
        assert victim.proc.returncode == -signal.SIGKILL

        # -- every call returns (bounded by its own timeout) -----------------------------------
        for t in callers:
            t.join(CALL_TIMEOUT + 10)
        assert not any(t.is_alive() for t in callers)
        all_answered_at = max(done_at.values(), default=killed_at)

        # -- the survivor took every partition, and finished (committed) every request ---------
        assert wait_for(lambda: survivor.current() == set(range(PARTITIONS)), 30)
        took_over_at = next(
            at
            for at, parts in survivor.assignments()
            if at > killed_at and parts == set(range(PARTITIONS))
        )
        assert wait_for(lambda: _group_done(bootstrap, group, topic), 30), "requests left"
        replies = _read_replies(bootstrap, client.reply_topic)

        # -- the survivor stops cleanly on SIGTERM --------------------------------------------
        survivor.proc.send_signal(signal.SIGTERM)
        out, _ = survivor.proc.communicate(timeout=30)
        survivor_log = survivor.log.read_text()
        assert survivor.proc.returncode == 0, survivor_log[-3000:]
        assert "run returned" in out
        assert "stopped serving" in survivor_log
    finally:
        for s in servers:
            s.close()

    # -- what each caller got ------------------------------------------------------------------
    assert in_flight_at_kill >= IN_FLIGHT_AT_KILL, (in_flight_at_kill, answered_at_kill)
    assert not errors, {i: repr(e) for i, e in list(errors.items())[:5]}
    assert len(results) == CALLERS
    pids = {victim.pid, survivor.pid}
    for i, answer in results.items():
        match = ANSWER.match(answer)
        assert match and match["text"] == f"req-{i}", (i, answer)
        assert int(match["pid"]) in pids, (i, answer)
    assert client.pending == 0

    # -- what arrived on the reply topic -------------------------------------------------------
    per_text: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for cid, text in replies:
        match = ANSWER.match(text)
        assert match, text
        per_text[match["text"]].append((cid, int(match["pid"])))
    for i, answer in results.items():
        records = per_text[f"req-{i}"]
        assert len({cid for cid, _ in records}) == 1, records  # one request per call
        first_pid = records[0][1]
        assert answer.endswith(f" by {first_pid}"), (answer, records)  # the first reply won
    per_call = Counter(len(per_text[f"req-{i}"]) for i in range(CALLERS))
    answered_again = [
        t for t, recs in per_text.items() if t.startswith("req-") and {p for _, p in recs} == pids
    ]
    resent_by_survivor = [
        t
        for t, recs in per_text.items()
        if t.startswith("req-") and sum(p == survivor.pid for _, p in recs) > 1
    ]
    by_pid = Counter(int(ANSWER.match(a)["pid"]) for a in results.values())  # type: ignore[index]
    report = {
        "partitions before the kill": held,
        "in flight at kill": in_flight_at_kill,
        "answered at kill": answered_at_kill,
        "answers per pid (first reply)": {
            "victim": by_pid[victim.pid],
            "survivor": by_pid[survivor.pid],
        },
        "survivor held all partitions after (s)": round(took_over_at - killed_at, 2),
        "last answer after kill (s)": round(all_answered_at - killed_at, 2),
        "reply records per call": dict(sorted(per_call.items())),
        "answered by the victim, then again by the survivor": len(answered_again),
        "replies re-sent by the survivor (ledger)": len(resent_by_survivor),
        "survivor log: redelivered while running (skipped)": survivor_log.count(
            "redelivered while it runs"
        ),
        "survivor log: redelivered, replies sent again": survivor_log.count(
            "its replies are sent again"
        ),
        "warm-up (s)": round(warm_up_done - began, 1),
        "test (s)": round(time.monotonic() - began, 1),
    }
    print("\nfailover:", report)
