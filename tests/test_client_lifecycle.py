"""The client's lifecycle under pressure: a call ended by two threads at once, recovery
after a timeout, and a fork (issue 17)."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from a2a_kafka_sync.client.correlation import CorrelationManager
from a2a_kafka_sync.errors import RequestTimeoutError
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
