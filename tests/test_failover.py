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
import signal
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from failover_kit import ANSWER, ServerProcess, group_done, kill_one_of_two, read_replies, warm_up
from helpers import UNSERVED, wait_for

from a2a_kafka_sync.config import DEFAULT_TIMEOUT

pytestmark = pytest.mark.slow

PARTITIONS = 8
CALLERS = 600
IN_FLIGHT_AT_KILL = 500
KILL_AFTER_ANSWERS = 25
CALL_TIMEOUT = 70.0
IN_FLIGHT = 3000


def test_failover_kill9_with_500_in_flight_answers_each_call_once(
    broker_settings: dict[str, Any], topic: str, connect: Any, tmp_path: Path
) -> None:
    began = time.monotonic()
    bootstrap = broker_settings["bootstrap_servers"]
    group = f"{topic}-group"
    gate = tmp_path / "hold"
    # The client makes the request topic, with its 8 partitions, before any server starts, and
    # sends without asking who reads it: the servers' group is one of their own, which the
    # embedded broker does not list before it commits (docs/errors.md).
    client = connect(**UNSERVED, request_topic_partitions=PARTITIONS, timeout=CALL_TIMEOUT)
    client.open()
    settings = {
        "profile": broker_settings.get("profile"),
        "request_topic_partitions": PARTITIONS,
        "card_topic": None,
    }
    servers = [
        ServerProcess(bootstrap, topic, group, settings, gate, tmp_path / f"server-{n}.log")
        for n in range(2)
    ]
    try:
        # -- warm-up: both processes hold partitions (disjoint, all 8) and both answer ---------
        warm_up(client, servers, PARTITIONS)
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
        done = wait_for(lambda: group_done(bootstrap, group, topic, PARTITIONS), 30)
        assert done, "requests left"
        replies = read_replies(bootstrap, client.reply_topic)

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
    for reply in replies:
        per_text[reply.text].append((reply.correlation_id, reply.pid))
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


@pytest.mark.only_on("apache", reason="the library's group timings against Apache Kafka's")
def test_a_killed_servers_3000_calls_are_answered_once_within_the_default_timeout(
    broker_settings: dict[str, Any], topic: str, connect: Any, tmp_path: Path
) -> None:
    """kill -9 with 3,000 calls in flight: the survivor takes the dead server's partitions
    soon enough that every call, at the client's default timeout (20 s), is answered, once.

    With kafka-python's own group timings (a 45 s session) the dead server's partitions
    would wait 45 s and about half of these calls would time out.
    """
    # Sent without asking who reads the topic: see the test above.
    client = connect(**UNSERVED, request_topic_partitions=PARTITIONS, timeout=DEFAULT_TIMEOUT)
    settings = {"profile": None, "request_topic_partitions": PARTITIONS, "card_topic": None}
    run = kill_one_of_two(
        client,
        broker_settings["bootstrap_servers"],
        topic,
        tmp_path,
        settings,
        calls=IN_FLIGHT,
        partitions=PARTITIONS,
        call_timeout=DEFAULT_TIMEOUT,
        handler_seconds=(0.01, 0.03),
    )
    print("\ntakeover:", run.figures())

    assert run.in_flight_at_kill >= IN_FLIGHT - 100, run.in_flight_at_kill
    assert not run.errors, {i: repr(e) for i, e in list(run.errors.items())[:5]}
    assert len(run.answers) == IN_FLIGHT
    first_reply: dict[str, int] = {}
    for reply in run.replies:
        first_reply.setdefault(reply.text, reply.pid)
    for i, answer in run.answers.items():
        match = ANSWER.match(answer)
        assert match and match["text"] == f"req-{i}", (i, answer)
        assert int(match["pid"]) == first_reply[f"req-{i}"], (i, answer)  # the first reply won
    assert run.pending_after == 0
    assert run.takeover is not None, "the survivor answered nothing of the victim's partitions"
    assert max(run.seconds.values()) <= DEFAULT_TIMEOUT + 2.0


@pytest.mark.only_on("apache", reason="static membership (KIP-345) on Apache Kafka's coordinator")
def test_a_restarted_static_member_gets_its_partitions_back_without_a_rebalance(
    broker_settings: dict[str, Any], topic: str, connect: Any, tmp_path: Path
) -> None:
    """A rolling restart with ``group_instance_id``: the other server keeps its partitions
    (no rebalance), the restarted one gets its own back, and calls sent meanwhile are
    answered (those of its partitions once it is back)."""
    bootstrap = broker_settings["bootstrap_servers"]
    group = f"{topic}-group"
    gate = tmp_path / "hold"
    client = connect(
        create_request_topic=True, request_topic_partitions=PARTITIONS, timeout=DEFAULT_TIMEOUT
    )

    def server(n: int, log: str) -> ServerProcess:
        settings = {
            "profile": None,
            "request_topic_partitions": PARTITIONS,
            "card_topic": None,
            "group_instance_id": f"{topic}-server-{n}",
        }
        return ServerProcess(bootstrap, topic, group, settings, gate, tmp_path / log)

    servers = [server(0, "server-0.log"), server(1, "server-1.log")]
    try:
        warm_up(client, servers, PARTITIONS)
        restarted, other = servers
        held = restarted.current()
        other_assignments = other.assignments()

        restarted.proc.send_signal(signal.SIGTERM)
        assert restarted.proc.wait(30) == 0
        stopped_at = time.time()
        pending = [client.submit(f"during-{i}") for i in range(200)]
        again = server(0, "server-0-again.log")
        servers.append(again)
        assert wait_for(lambda: bool(again.current()), 60), again.log.read_text()[-3000:]
        answers = [call.result().text for call in pending]
        back_after = again.assignments()[0][0] - stopped_at
    finally:
        for s in servers:
            s.close()

    assert again.current() == held
    assert other.assignments() == other_assignments, "the other server's partitions moved"
    for i, answer in enumerate(answers):
        match = ANSWER.match(answer)
        assert match and match["text"] == f"during-{i}", (i, answer)
    print("\nstatic membership:", {"partitions back after (s)": round(back_after, 2)})
