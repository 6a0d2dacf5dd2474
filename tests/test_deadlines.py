"""A call's ``timeout`` bounds the whole call, on the worst day too; a dead broker fails fast.

The deadline of a call covers connecting, recovering, sending and waiting: the
connecting runs on the client's connector thread, and a call waits for it only until
its own deadline. A request that no broker acknowledged raises BrokerUnavailableError
("not delivered"), not "no reply"; an address that takes no TCP connection fails the
first call at once with the reason, and later calls during a cool-down.

The broker here is one of the test's own (it is stopped mid-run): the embedded broker,
or a one-node Apache Kafka in the Apache Kafka pass.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import BROKER_KIND, EXTERNAL_BOOTSTRAP
from helpers import OwnBroker, library_threads, wait_for

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync._reach import check_reachable, unreachable_reason
from a2a_kafka_sync.errors import (
    A2AKafkaError,
    BrokerUnavailableError,
    RequestTimeoutError,
)

pytestmark = pytest.mark.skipif(EXTERNAL_BOOTSTRAP is not None, reason="stops a broker of its own")

MARGIN = 0.5
"""How much longer than its timeout a call may take (thread wake-ups on a busy machine)."""

THREADS = 32


@pytest.fixture
def own_broker() -> Iterator[OwnBroker]:
    broker = OwnBroker(BROKER_KIND).start()
    yield broker
    broker.stop()


@dataclass
class Outcome:
    began: float
    took: float
    error: BaseException | None


def refused_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- a broker stopped mid-run ---------------------------------------------------------------------


@pytest.mark.slow
def test_with_the_broker_down_every_call_ends_within_its_timeout_and_says_why(
    own_broker: OwnBroker,
) -> None:
    settings = own_broker.settings()
    app = KafkaServerApp(lambda m: f"pong {m.text}", request_topic="deadlines", **settings)
    client = KafkaClientTransport(request_topic="deadlines", timeout=10, **settings)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    phase = {"name": "up"}
    stop = threading.Event()

    def caller(n: int) -> None:
        i = 0
        while not stop.is_set():
            began = time.monotonic()
            error: BaseException | None = None
            try:
                assert client.send_text(f"{n}-{i}", timeout=1) == f"pong {n}-{i}"
            except A2AKafkaError as exc:
                error = exc
            took = time.monotonic() - began
            with lock:
                outcomes.append(Outcome(began, took, error))
            i += 1
            if error is not None:
                time.sleep(0.05)  # a web worker would answer 503 and take the next request

    try:
        app.start()
        assert app.wait_until_assigned(60)
        assert client.send_text("warm", timeout=30) == "pong warm"
        threads = [threading.Thread(target=caller, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        down_at = time.monotonic()
        own_broker.down()
        phase["name"] = "down"
        time.sleep(8)
        up_at = time.monotonic()
        own_broker.up()

        def recovered() -> bool:
            with lock:
                late = [o for o in outcomes if o.began > time.monotonic() - 2]
            return len(late) > THREADS and all(o.error is None for o in late)

        back = wait_for(recovered, timeout=120)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        client.close()
        app.stop(timeout=5)

    slowest = max(outcomes, key=lambda o: o.took)
    down = [o for o in outcomes if down_at + 0.2 < o.began < up_at]
    kinds = Counter(type(o.error).__name__ for o in down)
    answered_again = min((o.began for o in outcomes if o.began > up_at and not o.error), default=0)
    print(
        f"\n{len(outcomes)} calls by {THREADS} threads with timeout=1 on {BROKER_KIND}; "
        f"slowest {slowest.took:.2f}s; while the broker was down: {dict(kinds)}; first answer "
        f"{answered_again - up_at:.1f}s after the restart began"
    )
    # Every call ended within its timeout and a small margin: the connecting never ran
    # on a caller's thread, and none waited for connect_timeout.
    assert slowest.took < 1 + MARGIN, slowest
    # While the broker was down, each call said so: its request was not delivered, or no
    # broker was reachable; a request delivered just before may have got no reply.
    assert down and kinds["NoneType"] == 0, kinds
    assert set(kinds) <= {"BrokerUnavailableError", "RequestTimeoutError"}, kinds
    assert kinds["BrokerUnavailableError"] > 0.9 * len(down), kinds
    reasons = [str(o.error) for o in down if isinstance(o.error, BrokerUnavailableError)]
    assert any("ECONNREFUSED" in reason for reason in reasons), reasons[:3]
    assert all("not delivered" in r or "no Kafka broker reachable" in r for r in reasons), {
        r.split(":")[0] for r in reasons
    }
    # Most of them failed fast (a cool-down), not after their timeout.
    assert sum(o.took < 0.5 for o in down) > 0.5 * len(down)
    # And once the broker was back, every thread's calls were answered again.
    assert back, Counter(type(o.error).__name__ for o in outcomes[-THREADS:])


@pytest.mark.slow
def test_with_the_broker_down_a_stream_ends_within_its_timeout(own_broker: OwnBroker) -> None:
    from a2a_kafka_sync import Message

    settings = own_broker.settings()

    def chatty(message: Message) -> Iterator[str]:
        yield "one"
        yield "two"

    app = KafkaServerApp(chatty, request_topic="deadline-streams", **settings)
    client = KafkaClientTransport(request_topic="deadline-streams", **settings)
    try:
        app.start()
        assert app.wait_until_assigned(60)
        assert len(list(client.send_message_streaming("warm", timeout=30))) >= 2
        own_broker.down()
        took = []
        errors = []
        for _ in range(3):
            began = time.monotonic()
            with pytest.raises(A2AKafkaError) as caught:
                list(client.send_message_streaming("during", timeout=2))
            took.append(time.monotonic() - began)
            errors.append(caught.value)
    finally:
        client.close()
        app.stop(timeout=5)
    assert max(took) < 2 + MARGIN, took
    assert all(isinstance(e, (BrokerUnavailableError, RequestTimeoutError)) for e in errors)
    assert isinstance(errors[-1], BrokerUnavailableError), errors  # known by then: fast
    assert took[-1] < 1, took


@pytest.mark.slow
def test_with_the_broker_down_stop_and_close_end_every_thread_of_the_library(
    own_broker: OwnBroker,
) -> None:
    """Clients and a server with a Kafka task store and task-event log, six task streams
    running, the broker killed: every ``close()`` and the ``stop()`` return within their
    bounds, and no thread of the library or of kafka-python is left (before: six workers,
    the store's reader, two kafka-python I/O threads and two producer network threads were,
    the event log's producer close having raised)."""
    from a2a_kafka_sync import Message, RequestContext
    from a2a_kafka_sync.server.app import STOP_GRACE
    from a2a_kafka_sync.server.tasks import KafkaTaskEventLog, KafkaTaskStore

    before = library_threads()
    settings = own_broker.settings()

    def counting(message: Message, context: RequestContext) -> Iterator[str]:
        context.task.start_work()
        for i in range(400):
            time.sleep(0.05)
            yield f"{i} "

    app = KafkaServerApp(
        counting,
        request_topic="deadline-stop",
        max_workers=8,
        task_store=KafkaTaskStore(**settings, topic="deadline-stop.tasks"),
        event_log=KafkaTaskEventLog(**settings, topic="deadline-stop.task-events"),
        **settings,
    )
    clients = [
        KafkaClientTransport(request_topic="deadline-stop", timeout=3, **settings) for _ in range(3)
    ]
    started = threading.Barrier(7)
    ended: list[BaseException] = []

    def follow(client: KafkaClientTransport) -> None:
        try:
            stream = client.send_message_streaming("go", resume=True)
            next(stream)
            started.wait(60)
            for _ in stream:
                pass
        except BaseException as exc:  # what ended it: the outage, then the close
            ended.append(exc)

    readers = [threading.Thread(target=follow, args=(c,)) for c in clients for _ in range(2)]
    try:
        app.start()
        assert app.wait_until_assigned(60)
        for reader in readers:
            reader.start()
        started.wait(60)
        own_broker.down()
        time.sleep(3)  # the streams break and resubscribe into the outage
        took = []
        for client in clients:
            began = time.monotonic()
            client.close(timeout=5)
            took.append(time.monotonic() - began)
        began = time.monotonic()
        app.stop(timeout=2)
        stopped = time.monotonic() - began
    finally:
        for client in clients:
            client.close()
        app.stop(timeout=2)
    for reader in readers:
        reader.join(10)
    assert not any(r.is_alive() for r in readers)
    assert len(ended) == 6 and all(isinstance(e, A2AKafkaError) for e in ended), ended
    assert max(took) < 5 + MARGIN, took
    assert stopped < 2 + STOP_GRACE + MARGIN, stopped
    # The handlers still running at stop() fail their next write at once (the store is
    # closed) and return; then nothing of the library runs.
    assert wait_for(lambda: library_threads() == before, timeout=15), library_threads()


# -- an address nobody listens on -----------------------------------------------------------------


def test_a_refused_address_fails_the_first_call_at_once_with_the_reason_then_fails_fast() -> None:
    before = library_threads()
    address = f"127.0.0.1:{refused_port()}"
    client = KafkaClientTransport(
        bootstrap_servers=address, request_topic="nobody", connect_timeout=15
    )
    try:
        took = []
        errors = []
        for _ in range(3):
            began = time.monotonic()
            with pytest.raises(BrokerUnavailableError) as caught:
                client.send_text("hello", timeout=20)
            took.append(time.monotonic() - began)
            errors.append(str(caught.value))
    finally:
        client.close()
    # Not connect_timeout (15 s) nor the call's timeout (20 s): the TCP refusal, at once.
    assert max(took) < 15 / 3, took
    assert all(address in e and "ECONNREFUSED" in e for e in errors), errors
    assert "A2A_KAFKA_BOOTSTRAP" in errors[0] and "dev-broker" in errors[0]
    assert any("failing fast" in e for e in errors[1:]), errors
    assert wait_for(lambda: library_threads() == before, timeout=10), library_threads()


def test_the_cli_send_to_a_refused_port_exits_3_at_once_with_the_reason() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "A2A_KAFKA_BOOTSTRAP": f"127.0.0.1:{refused_port()}",
    }
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "a2a_kafka_sync", "--request-topic", "nobody", "send", "hi"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    took = time.monotonic() - began
    assert done.returncode == 3, done.stderr
    assert "ECONNREFUSED" in done.stderr and "A2A_KAFKA_BOOTSTRAP" in done.stderr
    assert "Traceback" not in done.stderr  # the reason without -v
    assert took < 15, took  # the connect_timeout it used to wait


# -- the probe itself (no broker) -----------------------------------------------------------------


def test_the_probe_names_each_address_and_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = refused_port(), refused_port()
    reason = unreachable_reason([f"127.0.0.1:{first}", f"localhost:{second}"], timeout=2)
    assert reason is not None
    assert f"127.0.0.1:{first}: ECONNREFUSED" in reason
    assert f"localhost:{second}: ECONNREFUSED" in reason

    def no_such_name(address: Any, timeout: float) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "create_connection", no_such_name)
    with pytest.raises(BrokerUnavailableError, match="kafak:9092: the name does not resolve"):
        check_reachable(["kafak:9092"])


def test_the_probe_passes_when_one_address_takes_a_connection() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert unreachable_reason([f"127.0.0.1:{refused_port()}", f"127.0.0.1:{port}"]) is None


@pytest.mark.slow
def test_a_deadline_shorter_than_a_round_trip_on_a_healthy_broker_is_a_plain_timeout(
    serve: Any, connect: Any
) -> None:
    """The request is on its way (the producer is connected), not lost: RequestTimeoutError,
    not "not delivered, is the broker down?"; and the client is not marked unreachable."""
    serve(lambda m: f"pong {m.text}")
    client = connect()
    assert client.send_text("warm", timeout=30) == "pong warm"
    for _ in range(5):
        with pytest.raises(RequestTimeoutError) as caught:
            client.send_text("hurry", timeout=0.0001)
        assert type(caught.value) is RequestTimeoutError, caught.value
        assert "not delivered" not in str(caught.value)
    assert client.send_text("again", timeout=30) == "pong again"
