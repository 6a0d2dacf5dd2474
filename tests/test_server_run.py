"""KafkaServerApp.run() in a real process: serves until SIGTERM or SIGINT, then exits cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from helpers import when_served

SERVER = textwrap.dedent(
    """
    import logging, sys
    from a2a_kafka_sync import KafkaServerApp
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    bootstrap, topic, profile = sys.argv[1], sys.argv[2], sys.argv[3] or None
    KafkaServerApp(lambda m: "pong", bootstrap, topic, profile=profile).run()
    print("run returned", flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_until_a_signal_then_returns(
    broker_settings: dict[str, Any], topic: str, connect: Any, signum: int
) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER,
            broker_settings["bootstrap_servers"],
            topic,
            broker_settings.get("profile") or "",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        client = connect()
        assert when_served(lambda: client.send_text("ping", timeout=60)) == "pong"
        server.send_signal(signum)
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    assert server.returncode == 0, err[-2000:]
    assert "run returned" in out
    assert "stopped serving" in err


# The signal comes while start() still publishes the card (the server already serves by
# then: CI once signalled a server in that window, and it died of the signal instead of
# stopping). Sent from inside CardPublisher.start, so the window is hit every time.
SIGNALLED_DURING_START = textwrap.dedent(
    """
    import logging, os, signal, sys
    from a2a_kafka_sync.server.card import CardPublisher
    from a2a_kafka_sync import KafkaServerApp
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    bootstrap, topic, profile, signum = sys.argv[1], sys.argv[2], sys.argv[3] or None, sys.argv[4]
    publish = CardPublisher.start

    def publish_after_a_signal(self):
        os.kill(os.getpid(), int(signum))
        publish(self)
        print("card published", flush=True)

    CardPublisher.start = publish_after_a_signal
    KafkaServerApp(lambda m: "pong", bootstrap, topic, profile=profile).run()
    print("run returned", flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_run_is_still_starting_stops_the_server_cleanly(
    broker_settings: dict[str, Any], topic: str, signum: int
) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    server = subprocess.run(
        [
            sys.executable,
            "-c",
            SIGNALLED_DURING_START,
            broker_settings["bootstrap_servers"],
            topic,
            broker_settings.get("profile") or "",
            str(int(signum)),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert server.returncode == 0, server.stderr[-2000:]
    assert server.stdout.splitlines() == ["card published", "run returned"]
    assert f"received {signal.Signals(signum).name}: stopping" in server.stderr
    assert "stopped serving" in server.stderr


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_run_raises_when_the_consumer_thread_ends_unasked(
    broker_settings: dict[str, Any], topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from a2a_kafka_sync import KafkaServerApp
    from a2a_kafka_sync.errors import A2AKafkaError
    from a2a_kafka_sync.server.consumer import RequestConsumer

    class Fatal(BaseException):
        """Not an Exception: the loop's per-round guard does not catch it."""

    def fail_once_running(self: Any, consumer: Any) -> None:
        raise Fatal("injected")

    app = KafkaServerApp(lambda m: "pong", request_topic=topic, **broker_settings)
    outcome: list[BaseException | None] = []

    def serve() -> None:
        try:
            app.run()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    monkeypatch.setattr(RequestConsumer, "_poll_once", fail_once_running)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "run() did not notice that its consumer thread ended"
    assert isinstance(outcome[0], A2AKafkaError), outcome
    assert "ended unexpectedly" in str(outcome[0])
    assert not app.running
