"""The server's lifecycle on the worst day: a producer replaced, a start that fails, a handler
that never returns.

- After a reply failed and the app replaced its producer, every part that writes through it
  (the replies, ``kafka://`` push delivery, ``app.push``) uses the new one.
- ``start()`` that raises leaves nothing running: no thread of the app, no member in the
  consumer group, no producer.
- A handler that never returns does not keep the process alive after ``stop()``.

The producer test freezes a broker of its own (SIGSTOP), so it is skipped against an
external broker.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import BROKER_KIND, EXTERNAL_BOOTSTRAP
from helpers import OwnBroker, wait_for

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync._kafka import build_admin, close_producer, describe_groups
from a2a_kafka_sync.client.tasks import push_config
from a2a_kafka_sync.server import RequestHandler
from a2a_kafka_sync.types import AgentCard, Message, Task, TaskState

pytestmark = pytest.mark.slow  # servers, brokers or processes of its own (docs/testing.md)


@pytest.fixture
def own_broker() -> Iterator[OwnBroker]:
    if EXTERNAL_BOOTSTRAP is not None:
        pytest.skip("pauses a broker of its own")
    broker = OwnBroker(BROKER_KIND).start()
    yield broker
    broker.stop()


def threads_since(before: set[threading.Thread]) -> list[str]:
    """The library's and kafka-python's live threads that were not running in ``before``."""
    return sorted(
        t.name
        for t in threading.enumerate()
        if t not in before and t.is_alive() and t.name.startswith(("a2a-kafka", "kafka-"))
    )


def current_producer(app: KafkaServerApp) -> Any:
    """The KafkaProducer the app writes through now."""
    return app._producers.current  # type: ignore[union-attr]


def group_members(settings: dict[str, Any], group_id: str) -> list[Any]:
    """The members the broker lists in ``group_id`` now."""
    from a2a_kafka_sync.config import ServerConfig

    config = ServerConfig(**settings, request_topic="unused")
    admin = build_admin(config)
    try:
        described = describe_groups(admin, [group_id])
    finally:
        admin.close()
    return list((described.get(group_id) or {}).get("members") or [])


# -- a producer replaced --------------------------------------------------------------------------


def test_after_the_producer_is_replaced_kafka_push_notifications_still_arrive(
    own_broker: OwnBroker, topic: str, collect_garbage: None
) -> None:
    settings = own_broker.settings()
    entered, go = threading.Event(), threading.Event()

    def agent(message: Message, context: Any) -> Any:
        if message.text == "hold":
            entered.set()
            go.wait(60)
            return "held"
        if message.text == "start":
            context.task.requires_input("more?")
            return None
        if message.text == "finish":
            context.task.complete("done")
            return None
        return f"echo {message.text}"

    app = KafkaServerApp(agent, request_topic=topic, card_topic=None, **settings).start()
    client = KafkaClientTransport(request_topic=topic, timeout=60.0, **settings)
    try:
        assert app.wait_until_assigned(60)
        assert client.send_text("warm") == "echo warm"  # the producer knows the reply topic
        first = current_producer(app)
        # A reply the broker never acknowledges, then the producer closed under it: the
        # reply fails, and the consumer thread builds a new producer before its next poll.
        held = client.submit("hold")
        assert entered.wait(30)
        own_broker.pause()
        try:
            go.set()
            # counted once its reply is handed to the producer
            assert wait_for(lambda: app.metrics.value("requests_handled") >= 2, 30)
            close_producer(first, 0.1)
        finally:
            own_broker.resume()
        assert wait_for(lambda: current_producer(app) is not first, 30)
        assert held.result().text == "held"

        pushed: list[Any] = []
        client.on_push(pushed.append)
        task = client.send_text("start")
        assert isinstance(task, Task)
        client.set_task_callback(push_config(task.id, f"kafka://{client.reply_topic}"))
        done = client.send_text("finish", task_id=task.id)
        assert isinstance(done, Task) and done.status.state is TaskState.completed

        def completed_push() -> bool:
            return any(
                isinstance(p, Task) and p.id == task.id and p.status.state is TaskState.completed
                for p in pushed
            )

        assert wait_for(completed_push, 30), pushed
        app.push(client.reply_topic, Message.agent_text("by app.push")).get(timeout=30)
        assert wait_for(lambda: any(getattr(p, "text", None) == "by app.push" for p in pushed))
    finally:
        go.set()
        client.close()
        app.stop(timeout=5)


# -- a start that fails ---------------------------------------------------------------------------


def test_a_start_that_fails_after_serving_began_leaves_nothing_running(
    broker_settings: dict[str, Any], topic: str, collect_garbage: None
) -> None:
    apps: list[KafkaServerApp] = []

    def signer(card: AgentCard) -> AgentCard:  # called when start() publishes the card
        assert apps[0].wait_until_assigned(60)  # the app is a member of its group by now
        raise ValueError("the signing key is missing")

    before = set(threading.enumerate())
    app = KafkaServerApp(
        lambda m: f"echo {m.text}",
        request_topic=topic,
        card_topic=f"{topic}-cards",
        card_signer=signer,
        event_log="kafka",
        handler_timeout=30,
        **broker_settings,
    )
    apps.append(app)
    with pytest.raises(ValueError, match="signing key"):
        app.start()

    assert not app.running
    assert wait_for(lambda: not threads_since(before), 15), threads_since(before)
    assert wait_for(lambda: not group_members(broker_settings, app.config.group_id), 15)
    app.stop()  # nothing left to stop

    with KafkaServerApp(
        lambda m: f"echo {m.text}", request_topic=topic, **broker_settings
    ) as again:
        assert again.wait_until_assigned(60)
        with KafkaClientTransport(request_topic=topic, timeout=30.0, **broker_settings) as client:
            assert client.send_text("again") == "echo again"


class FailingOnce(RequestHandler):
    """A handler whose first start fails."""

    def __init__(self) -> None:
        self.starts = 0

    def start(self, producer: Any) -> None:
        self.starts += 1
        if self.starts == 1:
            raise RuntimeError("the handler could not start")


def test_a_handler_whose_start_fails_leaves_nothing_running_and_the_app_may_start_again(
    broker_settings: dict[str, Any], topic: str, collect_garbage: None
) -> None:
    before = set(threading.enumerate())
    app = KafkaServerApp(FailingOnce(), request_topic=topic, handler_timeout=30, **broker_settings)
    with pytest.raises(RuntimeError, match="could not start"):
        app.start()
    assert not app.running
    assert wait_for(lambda: not threads_since(before), 15), threads_since(before)
    assert not group_members(broker_settings, app.config.group_id)

    with app:  # the same app starts once the handler does
        assert app.wait_until_assigned(60)
        assert app.running


# -- a handler that never returns -----------------------------------------------------------------

HUNG_SERVER = textwrap.dedent(
    """
    import sys, threading
    from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp

    bootstrap, profile, topic = sys.argv[1], sys.argv[2] or None, sys.argv[3]
    settings = {"bootstrap_servers": bootstrap, "profile": profile, "request_topic": topic}
    entered = threading.Event()

    def hang(message):
        entered.set()
        threading.Event().wait()  # never returns

    def main():
        app = KafkaServerApp(hang, card_topic=None, **settings).start()
        assert app.wait_until_assigned(60)
        client = KafkaClientTransport(timeout=120.0, **settings)
        client.submit("hang")
        assert entered.wait(60), "the handler was never called"
        print("handler entered", flush=True)
        app.stop(timeout=1)
        client.close()
        print("stopped", flush=True)

    main()
    """
)


def test_the_process_exits_after_stop_even_when_a_handler_never_returns(
    broker_settings: dict[str, Any], topic: str
) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HUNG_SERVER,
            broker_settings["bootstrap_servers"],
            broker_settings.get("profile") or "",
            topic,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=90)  # a bound on a hang, not a speed check
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the process did not exit after stop(); it printed {out!r}")
    assert "handler entered" in out and "stopped" in out, (out, err[-2000:])
    assert process.returncode == 0, err[-2000:]
