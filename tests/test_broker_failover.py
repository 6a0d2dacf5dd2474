"""A three-broker Apache Kafka cluster loses a broker under load, and gets it back.

Three KRaft nodes on loopback (each broker and controller; replication factor 3,
``min.insync.replicas=2``; the library's producers use kafka-python's defaults,
``acks=all`` and idempotence). One server app and one client in this process, neither
ever restarted: 32 threads send unary calls back to back and streams run (one after
the other, with ``resume=True``), while the node leading the request topic (one
partition, so one leader) is killed with SIGKILL and started again on its data, then
the node that leads the client's reply topic by then (another one) the same way.

What must hold: every call is answered with its own answer, once (a call that failed,
with the library's error within its timeout, would have lost its request or its reply;
none may hang); every stream yields every event once, in order; the app and the client
keep serving. What the callers cannot see (how many reply records each call had) is
read from the reply topic afterwards. The figures are printed, never asserted.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from failover_kit import read_all
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from a2a_kafka_sync import (
    A2AKafkaError,
    KafkaClientTransport,
    KafkaServerApp,
    Message,
    RequestContext,
    Task,
    TaskStatusUpdateEvent,
)
from a2a_kafka_sync.server.tasks import KafkaTaskStore
from a2a_kafka_sync.testing import ApacheKafka
from a2a_kafka_sync.types import TaskArtifactUpdateEvent
from a2a_kafka_sync.wire import decode_reply

# Three JVMs starting, a broker's failover twice and its restarts: minutes, not seconds.
pytestmark = [pytest.mark.slow, pytest.mark.apache_cluster, pytest.mark.timeout(600)]

THREADS = 32
CALL_TIMEOUT = 30.0
MARGIN = 3.0
"""Seconds a call may outlast its timeout: the caller's thread waking, nothing more."""
STREAMERS: dict[str, tuple[float, bool | int]] = {
    "patient": (CALL_TIMEOUT, True),
    "resuming": (4.0, 10),
}
"""Threads of back-to-back streams: (seconds each event may take, ``resume``). The patient
one outwaits a broker's failover; the other breaks during it and resumes."""
STREAM_EVENTS = 40
STREAM_GAP = 0.15
ANSWERED_PER_STEP = 300
"""Answers to wait for before each step (kill, restart, end): traffic flows again."""
STEP_TIMEOUT = 90.0
OPEN_ROUNDS = 3
OPENED_AT_ONCE = 8


@pytest.fixture(scope="module")
def cluster() -> Iterator[ApacheKafka]:
    """Three KRaft nodes for the module's tests; each test leaves all three running."""
    with ApacheKafka(nodes=3) as kafka:
        yield kafka


def agent(message: Message, context: RequestContext) -> str | None:
    """Unary calls get their text back; ``stream-*`` runs a task of STREAM_EVENTS artifacts."""
    text = message.text
    if not text.startswith("stream-"):
        time.sleep(0.005)
        return f"{text} ok"
    task = context.task
    task.start_work()
    for i in range(STREAM_EVENTS):
        time.sleep(STREAM_GAP)
        task.add_artifact(f"{text}/{i}")
    task.complete("done")
    return None


def describe(event: Any) -> str:
    """An event in a word: its state or its artifact's text."""
    if isinstance(event, Task):
        return f"task:{event.status.state.value}"
    if isinstance(event, TaskStatusUpdateEvent):
        return event.status.state.value
    assert isinstance(event, TaskArtifactUpdateEvent), event
    return event.artifact.parts[0].text  # type: ignore[no-any-return,union-attr]


@dataclass
class Call:
    """One unary call: what was sent, when, and what came back."""

    text: str
    started: float
    ended: float
    answer: str | None = None
    error: BaseException | None = None


@dataclass
class StreamRun:
    """One stream: when, the (sequence, event) pairs it yielded, and how it ended."""

    name: str
    started: float
    ended: float
    events: list[tuple[int | None, str]] = field(default_factory=list)
    error: BaseException | None = None


class Load:
    """32 threads of unary calls and one thread of streams, until :meth:`stop`."""

    def __init__(self, client: KafkaClientTransport, topics: list[str]) -> None:
        self.client = client
        self.topics = topics
        """The topics the calls travel on (request and reply)."""
        self.calls: list[Call] = []
        self.streams: list[StreamRun] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._unary, args=(n,), name=f"caller-{n}", daemon=True)
            for n in range(THREADS)
        ]
        self._threads += [
            threading.Thread(
                target=self._stream, args=(kind, timeout, resume), name=f"streamer-{kind}"
            )
            for kind, (timeout, resume) in STREAMERS.items()
        ]

    def start(self) -> None:
        """Start every caller and streamer."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> list[str]:
        """Stop and join every thread; the names of those still alive (hung) after that."""
        self._stop.set()
        deadline = time.monotonic() + CALL_TIMEOUT + MARGIN + STREAM_EVENTS * STREAM_GAP + 30
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        return [t.name for t in self._threads if t.is_alive()]

    def answered_since(self, moment: float) -> int:
        """How many calls were answered since ``moment`` (time.monotonic())."""
        return sum(1 for c in list(self.calls) if c.answer is not None and c.ended >= moment)

    def _unary(self, n: int) -> None:
        i = 0
        while not self._stop.is_set():
            text = f"c{n}-{i}"
            i += 1
            started = time.monotonic()
            try:
                answer = self.client.send_text(text, timeout=CALL_TIMEOUT)
            except Exception as exc:  # judged by the test
                self.calls.append(Call(text, started, time.monotonic(), error=exc))
                time.sleep(0.05)
                continue
            self.calls.append(Call(text, started, time.monotonic(), answer=str(answer)))

    def _stream(self, kind: str, timeout: float, resume: bool | int) -> None:
        k = 0
        while not self._stop.is_set():
            run = StreamRun(f"stream-{kind}-{k}", time.monotonic(), 0.0)
            k += 1
            try:
                stream = self.client.send_message_streaming(
                    run.name, timeout=timeout, resume=resume
                )
                for event in stream:
                    run.events.append((stream.last_sequence, describe(event)))
            except Exception as exc:  # judged by the test
                run.error = exc
            run.ended = time.monotonic()
            self.streams.append(run)


def expected_stream(name: str) -> list[tuple[int | None, str]]:
    """(sequence, event) of stream ``name`` as the agent sends it: the task, working, each
    artifact, completed, numbered from 1."""
    events = ["task:submitted", "working"] + [f"{name}/{i}" for i in range(STREAM_EVENTS)]
    return [(n + 1, e) for n, e in enumerate([*events, "completed"])]


def _admin(cluster: ApacheKafka) -> KafkaAdminClient:
    """A plain kafka-python admin client on ``cluster`` (the caller closes it)."""
    return KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)


def in_sync(cluster: ApacheKafka, topics: list[str]) -> bool:
    """True when every partition of ``topics`` has all three replicas in sync."""
    admin = _admin(cluster)
    try:
        described = admin.describe_topics(topics)
    finally:
        admin.close()
    return all(len(p["isr_nodes"]) == 3 for topic in described for p in topic["partitions"])


def topic_settings(cluster: ApacheKafka, topic: str) -> tuple[int, str]:
    """(replicas, min.insync.replicas) of ``topic``, as the cluster says."""
    admin = _admin(cluster)
    try:
        (described,) = admin.describe_topics([topic])
        response = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all"
        )
    finally:
        admin.close()
    replicas = len(described["partitions"][0]["replica_nodes"])
    (by_name,) = response.values()
    values = {key: entry["value"] for key, entry in by_name[topic].items()}
    return replicas, values.get("min.insync.replicas", "?")


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate`` every 0.2 s; fail the test, naming ``what``, after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.2)


def test_clients_open_right_after_creating_their_reply_topics_on_a_cluster(
    cluster: ApacheKafka, topic: str
) -> None:
    """Each client creates its reply topic and waits until the node it asked knows it, then
    reads the topic's partitions from the metadata of whichever node its consumer asks: on
    a cluster that node may not know the topic yet (KRaft brokers learn of a new topic one
    after the other; seen most right after the cluster started, with clients opening at
    once). Every client must open all the same."""
    errors: list[BaseException] = []
    clients: list[KafkaClientTransport] = []

    def open_one() -> None:
        client = KafkaClientTransport(**cluster.settings(), request_topic=topic)
        clients.append(client)
        try:
            client.open()
        except BaseException as exc:  # judged below
            errors.append(exc)

    try:
        for _ in range(OPEN_ROUNDS):
            openers = [threading.Thread(target=open_one) for _ in range(OPENED_AT_ONCE)]
            for opener in openers:
                opener.start()
            for opener in openers:
                opener.join(60)
    finally:
        for client in clients:
            client.close()
    assert not errors, [repr(e) for e in errors]
    assert len(clients) == OPEN_ROUNDS * OPENED_AT_ONCE


def test_task_stores_start_right_after_creating_their_topics_on_a_cluster(
    cluster: ApacheKafka, topic: str
) -> None:
    """The same as for clients, for the reader of a KafkaTaskStore (a TopicFollower)."""
    errors: list[BaseException] = []
    stores: list[KafkaTaskStore] = []

    def start_one(n: int) -> None:
        store = KafkaTaskStore(**cluster.settings(), topic=f"{topic}.tasks-{n}")
        stores.append(store)
        try:
            store.start()
        except BaseException as exc:  # judged below
            errors.append(exc)

    try:
        for round_ in range(OPEN_ROUNDS):
            starters = [
                threading.Thread(target=start_one, args=(round_ * OPENED_AT_ONCE + n,))
                for n in range(OPENED_AT_ONCE)
            ]
            for starter in starters:
                starter.start()
            for starter in starters:
                starter.join(60)
    finally:
        for store in stores:
            store.close()
    assert not errors, [repr(e) for e in errors]


def coordinator_of(cluster: ApacheKafka, group: str) -> int:
    """The node coordinating ``group``: the leader of its ``__consumer_offsets`` partition
    (Kafka's ``abs(group.hashCode()) % offsets.topic.num.partitions``, 10 here)."""
    code = 0
    for char in group:
        code = (31 * code + ord(char)) & 0xFFFFFFFF
    return cluster.leader_of("__consumer_offsets", (code & 0x7FFFFFFF) % 10)


def active_controller(cluster: ApacheKafka) -> int:
    """The KRaft quorum's leader, as Kafka's MetadataQuorumCommand reports it."""
    out = cluster.run_tool(
        "org.apache.kafka.tools.MetadataQuorumCommand",
        "--bootstrap-server",
        cluster.bootstrap_servers,
        "describe",
        "--status",
    )
    match = re.search(r"LeaderId:\s*(\d+)", out)
    assert match, out
    return int(match[1])


def kill_and_restart(
    cluster: ApacheKafka, load: Load, victim: int, roles: dict[str, int]
) -> dict[str, Any]:
    """Kill node ``victim`` (SIGKILL) while the load runs; once calls are answered again,
    start it on its data; once it is back in sync and calls are answered, return what
    happened (the roles it held, when)."""
    step: dict[str, Any] = {
        "killed node": victim,
        "it was": sorted(role for role, node in roles.items() if node == victim),
    }
    cluster.kill(victim)
    killed = time.monotonic()
    step["killed at"] = killed
    wait_until(
        lambda: load.answered_since(killed) >= ANSWERED_PER_STEP,
        STEP_TIMEOUT,
        f"answers after node {victim} was killed",
    )
    cluster.restart(victim)  # on its data
    restarted = time.monotonic()
    wait_until(lambda: in_sync(cluster, load.topics), STEP_TIMEOUT, "the ISR")
    step["back in sync after restart (s)"] = round(time.monotonic() - restarted, 1)
    wait_until(
        lambda: load.answered_since(restarted) >= ANSWERED_PER_STEP,
        STEP_TIMEOUT,
        f"answers after node {victim} was restarted",
    )
    return step


def test_the_leaders_of_the_request_and_reply_topics_die_and_come_back_losing_nothing(
    cluster: ApacheKafka, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="a2a_kafka_sync")
    app = KafkaServerApp(
        agent,
        **cluster.settings(),
        request_topic=topic,
        request_topic_partitions=1,
        card_topic=None,
        max_workers=8,
    ).start()
    client = KafkaClientTransport(
        **cluster.settings(), request_topic=topic, request_topic_partitions=1, timeout=CALL_TIMEOUT
    ).open()
    load = Load(client, [topic, client.reply_topic])
    steps: list[dict[str, Any]] = []
    try:
        assert app.wait_until_assigned(60)
        for producer in (client._producer, app._producers.current):  # type: ignore[attr-defined,union-attr]
            assert producer.config["acks"] == -1 and producer.config["enable_idempotence"]
        for name in (topic, client.reply_topic):
            assert topic_settings(cluster, name) == (3, "2"), name
        load.start()
        began = time.monotonic()
        wait_until(lambda: load.answered_since(began) >= ANSWERED_PER_STEP, STEP_TIMEOUT, "traffic")

        for led in (topic, client.reply_topic):  # the second leader is another node
            roles = {
                "request topic leader": cluster.leader_of(topic, 0),
                "reply topic leader": cluster.leader_of(client.reply_topic, 0),
                "group coordinator": coordinator_of(cluster, app.config.group_id),
                "active controller": active_controller(cluster),
            }
            steps.append(kill_and_restart(cluster, load, cluster.leader_of(led, 0), roles))
            assert app.running and app._thread is not None and app._thread.is_alive()
        hung = load.stop()
        ended = time.monotonic()
        replies = Counter(
            text
            for text in _reply_texts(cluster, client.reply_topic)
            if not text.startswith("stream")
        )
    finally:
        load.stop()
        client.close()
        app.stop(timeout=5)

    # -- what the callers got --------------------------------------------------------------------
    assert not hung, f"threads still waiting long after their timeout: {hung}"
    calls = load.calls
    answered = [c for c in calls if c.answer is not None]
    failed = [c for c in calls if c.error is not None]
    assert all(c.answer == f"{c.text} ok" for c in answered), [
        (c.text, c.answer) for c in answered if c.answer != f"{c.text} ok"
    ][:5]
    assert all(isinstance(c.error, A2AKafkaError) for c in failed), [
        repr(c.error) for c in failed if not isinstance(c.error, A2AKafkaError)
    ][:5]
    slowest = max(c.ended - c.started for c in calls)
    assert slowest <= CALL_TIMEOUT + MARGIN, slowest
    # With one broker of three down the partitions keep two in-sync replicas, enough for
    # acks=all: a call that failed (a timeout: its reply never came) lost something.
    assert not failed, Counter(type(c.error).__name__ for c in failed)
    assert len({c.text for c in calls}) == len(calls)

    # -- the streams -------------------------------------------------------------------------------
    streams = load.streams
    for run in streams:
        assert run.error is None, (run.name, repr(run.error), run.events[-3:])
        assert run.events == expected_stream(run.name), (run.name, run.events)
    for step in steps:
        killed = step.pop("killed at")
        across = {s.name.rsplit("-", 1)[0] for s in streams if s.started < killed < s.ended}
        assert len(across) == len(STREAMERS), (step["killed node"], across)
        step["slowest call started within 1 s before or after the kill (s)"] = round(
            max((c.ended - c.started for c in calls if abs(c.started - killed) < 1), default=0),
            2,
        )

    # -- the figures -------------------------------------------------------------------------------
    report = {
        "steps": steps,
        "calls": len(calls),
        "answered": len(answered),
        "failed, by kind": dict(Counter(type(c.error).__name__ for c in failed)),
        "slowest call (s)": round(slowest, 2),
        "call timeout (s)": CALL_TIMEOUT,
        "calls answered twice on the reply topic": sum(n > 1 for n in replies.values()),
        "streams (every event once, in order)": len(streams),
        "stream events": sum(len(s.events) for s in streams),
        "stream resumptions": sum("resuming task" in r.getMessage() for r in caplog.records),
        "library reconnect lines": [
            r.getMessage() for r in caplog.records if "reconnect" in r.getMessage()
        ][:5],
        "test (s)": round(ended - began, 1),
    }
    print("\nbrokers killed and restarted:", report)


def _reply_texts(cluster: ApacheKafka, reply_topic: str) -> list[str]:
    """The text of every unary answer on the reply topic (what the topic got, not the callers)."""
    out = []
    for record in read_all(cluster.bootstrap_servers, reply_topic):
        cid = dict(record.headers or [])["correlation_id"].decode()
        reply = decode_reply(record.value, correlation_id=cid)
        if reply.type == "message":
            out.append(reply.data.text)
    return out
