"""The client's lifecycle under pressure: a call ended by two threads at once, recovery
after a timeout, and a fork (issue 17)."""

from __future__ import annotations

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
