"""submit(): many calls in flight from one thread, each read later through its PendingCall."""

from __future__ import annotations

import threading
import time

import pytest
from helpers import UNSERVED

from a2a_kafka_sync import ClientClosedError, Message, PendingCall, RequestTimeoutError


@pytest.mark.slow
def test_one_thread_keeps_many_calls_in_flight_and_reads_each_answer(serve, connect) -> None:
    running = []
    lock = threading.Lock()
    peak = [0]

    def echo(message: Message) -> str:
        with lock:
            running.append(1)
            peak[0] = max(peak[0], len(running))
        time.sleep(0.05)
        with lock:
            running.pop()
        return f"echo {message.text}"

    serve(echo, max_workers=8)
    client = connect()
    calls = [client.submit(str(n)) for n in range(40)]

    assert all(isinstance(call, PendingCall) for call in calls)
    assert len({call.correlation_id for call in calls}) == 40
    answers = [call.result() for call in calls]
    assert [a.text for a in answers] == [f"echo {n}" for n in range(40)]
    assert all(call.done() for call in calls)
    assert peak[0] > 1  # the calls really ran side by side, not one after another
    assert client.pending == 0


@pytest.mark.slow
def test_a_cancelled_call_raises_and_its_late_reply_is_dropped(serve, connect) -> None:
    release = threading.Event()

    def slow(message: Message) -> str:
        release.wait(10)
        return "late"

    serve(slow)
    client = connect()
    call = client.submit("x")

    assert call.cancel() is True
    assert client.pending == 0
    with pytest.raises(ClientClosedError, match="cancelled"):
        call.result()
    release.set()
    assert client.send_text("after", timeout=20) == "late"  # the client goes on working
    assert call.cancel() is False  # already settled


@pytest.mark.slow
def test_cancelling_an_answered_call_keeps_its_answer(serve, connect) -> None:
    serve(lambda message: "here")
    client = connect()
    call = client.submit("x")

    assert call.wait(30) is True  # in: wait() says so without ending the call
    answer = call.result()
    assert call.cancel() is False
    assert call.result().text == answer.text == "here"


def test_result_waits_until_the_calls_own_deadline_by_default(connect) -> None:
    client = connect(**UNSERVED)  # nobody serves the topic
    call = client.submit("x", timeout=0.3)
    assert call.wait(0.05) is False and not call.done()  # a slice passes, the call goes on

    started = time.monotonic()
    with pytest.raises(RequestTimeoutError):
        call.result()
    assert time.monotonic() - started < 5
    with pytest.raises(RequestTimeoutError):
        call.result(timeout=0.05)  # an explicit wait overrides it
    assert client.pending == 0


def test_a_pending_call_reports_its_state() -> None:
    from a2a_kafka_sync.client.correlation import Waiter
    from a2a_kafka_sync.wire import Reply

    waiter = Waiter("c-1")
    call = PendingCall(None, waiter, None, None)  # type: ignore[arg-type]
    assert repr(call) == "<PendingCall c-1 pending>"
    waiter.set_reply(Reply("message", Message.agent_text("x")))
    assert call.done() and repr(call) == "<PendingCall c-1 done>"
