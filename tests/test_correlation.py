"""The correlation registry and its waiters on their own (no broker)."""

from __future__ import annotations

import threading

import pytest

from a2a_kafka_sync.client.correlation import CorrelationManager, StreamWaiter, Waiter
from a2a_kafka_sync.errors import ClientClosedError, RequestTimeoutError
from a2a_kafka_sync.wire import Reply

MESSAGE = Reply("message", "payload")
COMPLETE = Reply("stream_complete", None)


def test_a_reply_reaches_the_waiter_registered_for_its_id_and_leaves_the_registry() -> None:
    registry = CorrelationManager()
    waiter = registry.register("a")
    other = registry.register("b")

    assert registry.resolve("a", MESSAGE)

    assert isinstance(waiter, Waiter) and waiter.wait(1) is MESSAGE
    assert isinstance(other, Waiter) and not other.done()
    assert len(registry) == 1


def test_a_reply_for_an_unknown_id_is_reported_as_nobodys() -> None:
    assert CorrelationManager().resolve("ghost", MESSAGE) is False


def test_a_waiter_times_out_with_its_correlation_id() -> None:
    waiter = CorrelationManager().register("slow")
    with pytest.raises(RequestTimeoutError) as caught:
        waiter.wait(0.01)  # type: ignore[union-attr]
    assert caught.value.correlation_id == "slow"


def test_the_first_resolution_of_a_waiter_wins() -> None:
    waiter = Waiter("x")
    waiter.set_reply(MESSAGE)
    waiter.set_error(RuntimeError("late"))
    assert waiter.wait(0) is MESSAGE


def test_a_stream_waiter_keeps_order_and_leaves_at_its_final_record() -> None:
    registry = CorrelationManager()
    waiter = registry.register("s", stream=True)
    assert isinstance(waiter, StreamWaiter)

    for i in range(3):
        registry.resolve("s", Reply("message", i))
        assert len(registry) == 1
    registry.resolve("s", COMPLETE)

    assert [waiter.next(1).data for _ in range(3)] == [0, 1, 2]
    assert waiter.next(1) is COMPLETE
    assert len(registry) == 0


def test_fail_all_wakes_every_waiter_with_its_own_error_and_refuses_new_ones() -> None:
    registry = CorrelationManager()
    waiters = [registry.register(f"w{i}") for i in range(5)]
    stream = registry.register("s", stream=True)
    raised: list[BaseException] = []

    def wait(waiter: Waiter) -> None:
        try:
            waiter.wait(30)
        except BaseException as exc:
            raised.append(exc)

    threads = [threading.Thread(target=wait, args=(w,)) for w in waiters]
    for t in threads:
        t.start()
    assert registry.fail_all("closed for the test") == 6
    for t in threads:
        t.join(5)

    assert sorted(e.correlation_id for e in raised) == [f"w{i}" for i in range(5)]  # type: ignore[attr-defined]
    assert all(isinstance(e, ClientClosedError) for e in raised)
    with pytest.raises(ClientClosedError):
        stream.next(1)  # type: ignore[union-attr]
    with pytest.raises(ClientClosedError):
        registry.register("late")
    assert len(registry) == 0


def test_a_correlation_id_cannot_be_registered_twice() -> None:
    registry = CorrelationManager()
    registry.register("dup")
    with pytest.raises(ValueError):
        registry.register("dup")


def test_fail_and_discard_remove_only_their_own_waiter() -> None:
    registry = CorrelationManager()
    failed = registry.register("f")
    registry.register("d")
    registry.register("keep")

    assert registry.fail("f", RuntimeError("send failed"))
    registry.discard("d")

    assert len(registry) == 1
    with pytest.raises(RuntimeError):
        failed.wait(0)  # type: ignore[union-attr]
    assert registry.fail("f", RuntimeError("again")) is False
