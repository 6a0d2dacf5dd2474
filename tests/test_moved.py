"""The bookkeeping behind a request whose partition moves (server/moved.py), without a broker.

What a rebalance tells the server (kafka-python's listener calls, eager and cooperative, and
an eviction), which running requests it stops, and what happens to the duplicate that
waited for a moved run, to the watchdog's slot of a moved call and to the producer handed to
handlers. The behaviour on a real broker is in test_rebalance_streams.py.
"""

from __future__ import annotations

import threading
from typing import Any

from kafka import TopicPartition

from a2a_kafka_sync.metrics import ServerMetrics
from a2a_kafka_sync.server.consumer import _Rebalance
from a2a_kafka_sync.server.context import RequestContext
from a2a_kafka_sync.server.ledger import RequestLedger, Seen
from a2a_kafka_sync.server.moved import RunningRequests
from a2a_kafka_sync.server.offsets import OffsetTracker
from a2a_kafka_sync.server.producer import ServerProducer
from a2a_kafka_sync.server.settle import Settler
from a2a_kafka_sync.server.watchdog import ActiveCall, HandlerWatchdog

TOPIC = "requests"


def tps(*partitions: int) -> set[TopicPartition]:
    return {TopicPartition(TOPIC, p) for p in partitions}


class _Requests:
    """What the listener reaches on the request consumer: its commit, its tracker, and
    ``on_moved`` (recorded)."""

    def __init__(self) -> None:
        self.committer = None
        self.moved: list[set[int]] = []
        self.on_moved = self.moved.append
        self._assigned = threading.Event()
        self._tracker = self

    def _commit(self, only: set[TopicPartition]) -> None:
        pass

    def forget(self, partitions: Any) -> None:
        pass


def context() -> RequestContext:
    return RequestContext(
        correlation_id="c", method="message_send", params=None, streaming=True, reply_topic="r"
    )


def test_an_eager_rebalance_moves_only_the_partitions_not_given_back() -> None:
    requests = _Requests()
    listener = _Rebalance(requests, cooperative=False)  # type: ignore[arg-type]
    listener.on_partitions_assigned(tps(0, 1, 2))
    listener.on_partitions_revoked(tps(0, 1, 2))  # eager: everything, before the join
    assert requests.moved == []  # nothing moved yet: most of it comes back
    listener.on_partitions_assigned(tps(0, 2))
    assert requests.moved == [{1}]
    listener.on_partitions_revoked(tps(0, 2))
    listener.on_partitions_assigned(tps(0, 2))  # all given back: nothing moved
    assert requests.moved == [{1}]


def test_a_cooperative_rebalance_moves_what_it_revokes_at_once() -> None:
    requests = _Requests()
    listener = _Rebalance(requests, cooperative=True)  # type: ignore[arg-type]
    listener.on_partitions_assigned(tps(0, 1))
    listener.on_partitions_revoked(tps(1))  # only what moves is revoked; no assignment may follow
    assert requests.moved == [{1}]


def test_an_evicted_member_moves_everything_it_held() -> None:
    requests = _Requests()
    listener = _Rebalance(requests, cooperative=False)  # type: ignore[arg-type]
    listener.on_partitions_assigned(tps(0, 1))
    listener.on_partitions_lost(tps(0, 1))
    assert requests.moved == [{0, 1}]
    listener.on_partitions_assigned(tps(0, 1))  # back after the rejoin: not moved twice
    assert requests.moved == [{0, 1}]


def test_moving_a_partition_stops_its_running_requests_only() -> None:
    running = RunningRequests()
    calls = {p: (ActiveCall(f"c{p}", None, float("inf")), context()) for p in (0, 1)}
    for partition, (call, ctx) in calls.items():
        running.enter(partition, call, ctx)
    assert running.move_away({1}) == 1
    call1, ctx1 = calls[1]
    assert call1.moved and call1.dropped and ctx1.moved.is_set() and ctx1.cancelled.is_set()
    call0, ctx0 = calls[0]
    assert not call0.dropped and not ctx0.moved.is_set() and not ctx0.cancelled.is_set()
    running.leave(0, call0)
    assert running.move_away({0, 1}) == 0  # left, or moved already


def test_a_duplicate_that_waited_for_a_moved_run_is_told_to_run_itself() -> None:
    ledger = RequestLedger(max_entries=10, max_bytes=10_000)
    assert ledger.begin("c")[0] is Seen.NEW
    assert ledger.begin("c")[0] is Seen.RUNNING  # the redelivery, while the first runs
    told: list[bool] = []
    ledger.follow("c", told.append)
    ledger.finish("c", answered=False)  # the first run moved: it sent nothing
    assert told == [False]
    assert ledger.begin("c")[0] is Seen.NEW  # so the duplicate runs it
    ledger.follow("c", told.append)
    ledger.finish("c", answered=True)
    assert told == [False, True]


def test_a_moved_call_that_overruns_gives_its_slot_back_without_an_answer() -> None:
    answered: list[ActiveCall] = []
    watchdog = HandlerWatchdog(0.2, 1, answered.append)
    try:
        call = watchdog.begin("c", None)
        call.moved = True
        # the one slot comes back once the moved call overruns (before: never)
        got = threading.Event()
        waiter = threading.Thread(target=lambda: (watchdog.begin("d", None), got.set()))
        waiter.start()
        assert got.wait(30)
        assert answered == []  # its caller is served elsewhere: not answered from here
        assert watchdog.stuck == 1  # its handler still holds its thread
        watchdog.end(call)
        assert watchdog.stuck == 0
        waiter.join(5)
    finally:
        watchdog.close()


def test_the_producer_handed_to_handlers_takes_send_as_kafka_producer_does() -> None:
    sent: list[tuple[Any, ...]] = []

    class Producer:
        def send(self, *args: Any, **kwargs: Any) -> str:
            sent.append((args, kwargs))
            return "future"

    holder = ServerProducer(Producer())  # type: ignore[arg-type]
    assert holder.send("t", b"v", key=b"k") == "future"
    replaced = Producer()
    holder.replace(replaced)  # type: ignore[arg-type]
    holder.send("t", value=b"w")
    assert sent == [(("t", b"v"), {"key": b"k"}), (("t",), {"value": b"w"})]
    assert holder.current is replaced


def test_a_request_whose_partition_was_revoked_while_it_waited_is_not_run_here() -> None:
    class Dispatcher:
        def __init__(self) -> None:
            self.ran: list[int] = []

        def process(self, record: Any, settle: Any, still_ours: Any = None) -> None:
            self.ran.append(record.offset)
            assert still_ours is not None and still_ours()
            settle([])

    class Record:
        def __init__(self, offset: int) -> None:
            self.offset, self.topic, self.partition = offset, TOPIC, 0

    tracker = OffsetTracker()
    dispatcher = Dispatcher()
    settler = Settler(dispatcher, tracker, None, ServerMetrics(enabled=False), lambda: None)  # type: ignore[arg-type]
    partition = TopicPartition(TOPIC, 0)
    early, late = tracker.taken(partition, 0), tracker.taken(partition, 1)
    settler.work(partition, Record(0), early)
    assert dispatcher.ran == [0]
    tracker.forget([partition])  # revoked while offset 1 waited for a worker
    settler.work(partition, Record(1), late)
    assert dispatcher.ran == [0]  # the partition's owner reads it again; it is not run here
