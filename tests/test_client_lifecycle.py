"""The client's lifecycle under pressure: a call ended by two threads at once, recovery
after a timeout, and a fork (issue 17)."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import wait_for

from a2a_kafka_sync import KafkaClientTransport, Message, RequestContext
from a2a_kafka_sync.client.correlation import CorrelationManager
from a2a_kafka_sync.errors import ClientClosedError, RequestTimeoutError
from a2a_kafka_sync.wire import Reply

MESSAGE = Reply("message", "payload")
COMPLETE = Reply("stream_complete", None)
ROUNDS = 50
"""Rounds of 1,000 calls each race: enough that the old double tell showed on every run."""


class _Tally:
    """A CallObserver that counts how many times each call was told it ended."""

    def __init__(self) -> None:
        self.told: Counter[str] = Counter()
        self._lock = threading.Lock()

    def observer(self, correlation_id: str) -> _Told:
        return _Told(self, correlation_id)

    def count(self, correlation_id: str) -> None:
        with self._lock:
            self.told[correlation_id] += 1


class _Told:
    def __init__(self, tally: _Tally, correlation_id: str) -> None:
        self._tally = tally
        self._id = correlation_id

    def event(self) -> None:
        pass

    def done(self, reply: Reply | None, error: BaseException | None) -> None:
        self._tally.count(self._id)


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Threads switch as often as the interpreter lets them, so races show."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _race(ends: list[Callable[[CorrelationManager, str], object]], stream: bool) -> _Tally:
    """Register many calls, then end each of them from one thread per entry of ``ends``
    at once, in the same order; the tally of how each call's observer was told."""
    tally = _Tally()
    for round_ in range(ROUNDS):
        registry = CorrelationManager()
        ids = [f"{round_}-{i}" for i in range(1000)]
        for cid in ids:
            registry.register(cid, stream=stream, observer=tally.observer(cid))
        start = threading.Barrier(len(ends))
        threads = [
            threading.Thread(target=_end_each, args=(end, registry, ids, start)) for end in ends
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for cid in ids:  # whatever no thread ended (none should remain)
            registry.abandon(cid, RequestTimeoutError("late"))
    return tally


def _end_each(
    end: Callable[[CorrelationManager, str], object],
    registry: CorrelationManager,
    ids: list[str],
    start: threading.Barrier,
) -> None:
    start.wait()
    for cid in ids:
        end(registry, cid)


def _resolve(registry: CorrelationManager, cid: str) -> object:
    return registry.resolve(cid, COMPLETE)


def _abandon(registry: CorrelationManager, cid: str) -> object:
    return registry.abandon(cid, RequestTimeoutError("timed out", correlation_id=cid))


def _fail(registry: CorrelationManager, cid: str) -> object:
    return registry.fail(cid, RequestTimeoutError("failed", correlation_id=cid))


def _close(registry: CorrelationManager, cid: str) -> object:
    return registry.fail_all("closed") if cid.endswith("-500") else None


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
def test_a_reply_at_the_moment_of_a_timeout_tells_the_observer_exactly_once(
    busy_switching: None, stream: bool
) -> None:
    tally = _race([_resolve, _abandon], stream)

    assert len(tally.told) == ROUNDS * 1000
    assert {count for count in tally.told.values()} == {1}, tally.told.most_common(3)


def test_every_way_a_call_ends_at_once_tells_its_observer_exactly_once(
    busy_switching: None,
) -> None:
    tally = _race([_resolve, _abandon, _fail, _close], stream=False)

    assert len(tally.told) == ROUNDS * 1000
    assert {count for count in tally.told.values()} == {1}, tally.told.most_common(3)


# -- a fork ------------------------------------------------------------------------------------


def test_clients_made_and_closed_add_no_fork_hook_and_are_not_kept_alive(
    broker_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from a2a_kafka_sync.client import transport

    hooks: list[object] = []
    monkeypatch.setattr(os, "register_at_fork", lambda **hook: hooks.append(hook))
    before = len(getattr(transport, "_CLIENTS", ()))  # (the old code had no such set)
    clients = [KafkaClientTransport(request_topic="anyone", **broker_settings) for _ in range(100)]
    for client in clients:
        client.close()

    assert hooks == []  # the module's one hook serves them all
    assert len(transport._CLIENTS) == before + 100
    del clients, client
    gc.collect()
    assert len(transport._CLIENTS) == before


def test_on_push_after_close_raises_client_closed_error(connect: Any) -> None:
    opened = connect()
    opened.close()
    never_opened = KafkaClientTransport(request_topic="anyone", bootstrap_servers="localhost:1")
    never_opened.close()
    for client in (opened, never_opened):
        with pytest.raises(ClientClosedError):
            client.on_push(print)


def _push_in_child(client: KafkaClientTransport, pushed: list[Any], results: Any) -> None:
    try:
        answer = client.send_text("child", timeout=30)
        arrived = wait_for(lambda: any(p.text == "heads-up child" for p in pushed), 30)
        results.put(("ok", answer, arrived))
    except BaseException as exc:  # reported to the parent
        results.put(("error", repr(exc), False))
    finally:
        client.close()


@pytest.mark.slow
def test_a_forked_child_delivers_pushes_to_the_callbacks_registered_before_the_fork(
    serve: Any, connect: Any
) -> None:
    import multiprocessing

    apps: list[Any] = []

    def chatty(message: Message, context: RequestContext) -> str:
        apps[0].push(context.reply_topic, Message.agent_text(f"heads-up {message.text}"))
        return f"answer {message.text}"

    apps.append(serve(chatty))
    client = connect()
    pushed: list[Any] = []
    client.on_push(pushed.append)
    assert client.send_text("parent") == "answer parent"
    assert wait_for(lambda: len(pushed) == 1, 30)

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_push_in_child, args=(client, pushed, results))
    child.start()
    outcome = results.get(timeout=90)
    child.join(30)

    assert outcome == ("ok", "answer child", True)
    assert child.exitcode == 0
    assert client.send_text("parent again") == "answer parent again"
    assert wait_for(lambda: len(pushed) == 2, 30)
    assert [p.text for p in pushed] == ["heads-up parent", "heads-up parent again"]


# -- recovery after a timeout ------------------------------------------------------------------


def test_a_reader_taking_over_starts_where_the_old_one_stood() -> None:
    from kafka import TopicPartition

    from a2a_kafka_sync.client.handoff import Handled, take_over

    p = TopicPartition("replies", 0)
    old = Handled({p: 3})
    for offset in (3, 4, 5):
        assert old.take(p, offset)

    start = take_over(old, {p: 9})  # replies 6-8 came while the client was repaired

    assert (start.seek, start.beginning, start.skip) == ({p: 6}, [], {})


def test_after_a_topic_made_again_a_new_reader_reads_what_the_old_one_skipped_only() -> None:
    """Apache Kafka: the old consumer, past the end of the topic made again, went back to
    offset 1 (its leader epoch's end) and never returned offset 0."""
    from kafka import TopicPartition

    from a2a_kafka_sync.client.handoff import Handled, take_over

    p, q = TopicPartition("replies", 0), TopicPartition("replies", 1)
    old = Handled({p: 0, q: 0})
    for offset in range(5):
        old.take(p, offset)
    old.take(p, 1)  # moved back: the topic was made again
    old.take(q, 0)

    start = take_over(old, {p: 3, q: 0})  # q: made again, empty, below where old stood

    assert start.beginning == [p, q] and start.seek == {}
    assert start.skip == {p: (1, 2)}
    new = Handled(start.started, start.skip)
    assert [offset for offset in range(3) if new.take(p, offset)] == [0, 2]


def _remake_topic(bootstrap_servers: str, topic: str) -> None:
    """Delete ``topic`` and make it again, empty (as a broker that restarted empty would)."""
    from kafka import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        admin.delete_topics([topic])
        assert wait_for(lambda: topic not in admin.list_topics(), timeout=30)
        # Apache Kafka may have made it again already, for a reader's metadata request.
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics({topic: {"num_partitions": 1, "replication_factor": -1}})
    finally:
        admin.close()


def _records_in(bootstrap_servers: str, topic: str) -> int:
    """How many records ``topic`` holds now (its end offsets, summed)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


@pytest.mark.slow
def test_a_reply_written_while_the_client_recovers_reaches_the_call_waiting_for_it(
    serve: Any, connect: Any, broker_settings: dict[str, Any]
) -> None:
    """The reply topic made again behind the reader (a broker that restarted empty): the
    reader stands past its end, reading nothing (Tansu), or its consumer goes back to the
    end of the leader epoch, past the records already there (Apache Kafka). The late
    answer of a call still waiting lands in it before the client notices (a timeout) and
    repairs itself; the new reader starts where the old one stood, and reads a topic made
    again from its beginning (skipping what the old one handled of it), not from its end."""
    servers = broker_settings["bootstrap_servers"]
    taken, release, never = threading.Event(), threading.Event(), threading.Event()

    def handler(message: Message) -> str:
        if message.text == "late":
            taken.set()
            release.wait(60)
        elif message.text == "hold":
            never.wait(60)
        return f"answer {message.text}"

    serve(handler)
    client = connect()
    try:
        for i in range(5):  # the reader stands at offset 5
            assert client.send_text(str(i)) == f"answer {i}"
        late = client.submit("late", timeout=60)
        assert taken.wait(30)
        _remake_topic(servers, client.reply_topic)
        release.set()  # the late answer is written into the new topic, at its beginning
        assert wait_for(lambda: _records_in(servers, client.reply_topic) >= 1, timeout=30)

        with pytest.raises(RequestTimeoutError):
            client.send_text("hold", timeout=1)  # the timeout that has the client checked
        assert client.send_text("after", timeout=60) == "answer after"  # repaired meanwhile

        assert late.result().text == "answer late"  # type: ignore[union-attr]
    finally:
        release.set()
        never.set()


@pytest.mark.slow
def test_a_call_made_while_the_client_checks_itself_after_a_timeout_does_not_wait_for_it(
    serve: Any, connect: Any
) -> None:
    never = threading.Event()

    def handler(message: Message) -> str:
        if message.text == "hold":
            never.wait(60)
        return f"answer {message.text}"

    serve(handler)
    client = connect()
    checking, go_on = threading.Event(), threading.Event()
    check = client._reply_topic_sound

    def held_check() -> bool:  # the recovery's check, held until the test lets it go on
        checking.set()
        go_on.wait(60)
        return check()

    client._reply_topic_sound = held_check  # type: ignore[method-assign]
    try:
        with pytest.raises(RequestTimeoutError):
            client.send_text("hold", timeout=1)
        assert client.send_text("first") == "answer first"  # starts the check
        assert checking.wait(30)

        answers = [client.send_text(f"during {i}") for i in range(3)]

        assert answers == [f"answer during {i}" for i in range(3)]
        assert client._connector.busy  # the check was still held: no call waited for it
    finally:
        go_on.set()
        never.set()
    assert wait_for(lambda: not client._connector.busy, timeout=30)
    assert client.send_text("after") == "answer after"
