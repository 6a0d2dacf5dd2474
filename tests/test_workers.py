"""The worker-process examples of docs/workers.md, run as the guide runs them.

``docs/examples/prefork_worker.py`` forks a multiprocessing pool whose workers each make
their own client; ``docs/examples/worker_service.py`` serves an agent until SIGTERM. Both
run as subprocesses configured from the environment, against the session's broker.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for, when_served

from a2a_kafka_sync import Message

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"

PREFORK_LINE = re.compile(
    r"^(?P<job>job \d+) -> (?P<answer>.*) \(pid (?P<pid>\d+), reply topic (?P<topic>\S+)\)$"
)


def _example_env(broker_settings: dict[str, Any], topic: str, **extra: str) -> dict[str, str]:
    """The environment the examples read: the broker, its profile, the request topic."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "PYTHONUNBUFFERED": "1",
        "A2A_KAFKA_BOOTSTRAP": broker_settings["bootstrap_servers"],
        "A2A_KAFKA_PROFILE": broker_settings.get("profile") or "",
        "A2A_KAFKA_REQUEST_TOPIC": topic,
        **extra,
    }


def test_each_prefork_worker_answers_through_a_client_of_its_own(
    broker_settings: dict[str, Any], topic: str, serve: Any
) -> None:
    processes, rounds = 3, 2
    # The agent answers only once `processes` requests wait in it together. A pool worker
    # blocks on its call, so every round needs every worker: each one takes `rounds` jobs.
    together = threading.Barrier(processes, timeout=60)

    def agent(message: Message) -> str:
        together.wait()
        return f"answer to {message.text}"

    serve(agent, max_workers=processes)
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "prefork_worker.py")],
        env=_example_env(
            broker_settings,
            topic,
            A2A_KAFKA_POOL_PROCESSES=str(processes),
            A2A_KAFKA_POOL_JOBS=str(processes * rounds),
        ),
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert run.returncode == 0, run.stderr[-3000:]

    lines = run.stdout.splitlines()
    results = [m.groupdict() for m in map(PREFORK_LINE.match, lines) if m]
    jobs = [f"job {i}" for i in range(processes * rounds)]
    assert [r["job"] for r in results] == jobs
    assert [r["answer"] for r in results] == [f"answer to {job}" for job in jobs]

    topics_of: dict[str, set[str]] = {}
    for r in results:
        topics_of.setdefault(r["pid"], set()).add(r["topic"])
    assert len(topics_of) == processes, f"not every worker answered: {lines}"
    assert str(os.getpid()) not in topics_of
    # One client per process: a worker keeps its reply topic, and no two workers share one.
    assert all(len(topics) == 1 for topics in topics_of.values()), topics_of
    assert len(set().union(*topics_of.values())) == processes
    summary = f"{processes * rounds} jobs, {processes} worker processes, {processes} reply topics"
    assert lines[-1] == summary


class _Service:
    """``worker_service.py`` as a subprocess; its output (stderr included) kept line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "worker_service.py")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def line_index(self, text: str) -> int:
        """The index of the first output line containing ``text``, or -1."""
        return next((i for i, line in enumerate(self.lines) if text in line), -1)

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> None:
        """Kill it if a test left it running; reap it and its output."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)
        self._reader.join(30)


@pytest.fixture
def service(broker_settings: dict[str, Any], topic: str) -> Iterator[_Service]:
    """worker_service.py serving the test's topic; killed after the test if still running."""
    running = _Service(_example_env(broker_settings, topic))
    yield running
    running.stop()


def test_the_worker_service_answers_a_request_in_flight_at_sigterm_and_exits_0(
    service: _Service, connect: Any
) -> None:
    client = connect()
    assert when_served(lambda: client.send_text("first", timeout=60)) == "done: first"

    slow = client.submit(Message.user_text("slow", metadata={"work_seconds": 3}), timeout=60)
    assert wait_for(lambda: service.line_index(f"working on {slow.correlation_id}") >= 0, 30), (
        service.output()
    )
    service.process.send_signal(signal.SIGTERM)

    answer = slow.result()
    assert isinstance(answer, Message) and answer.text == "done: slow"
    assert service.process.wait(60) == 0, service.output()
    service.stop()  # reaps the rest of its output

    signalled = service.line_index("received SIGTERM: stopping")
    finished = service.line_index(f"finished {slow.correlation_id}")
    stopped = service.line_index("stopped serving")
    clean = service.line_index("worker service stopped cleanly")
    assert -1 not in (signalled, finished, stopped, clean), service.output()
    # The signal came while the request ran; the service stopped only after answering it.
    assert signalled < finished < stopped < clean, service.output()


def test_the_worker_service_exits_1_with_a_log_line_when_it_cannot_start(
    broker_settings: dict[str, Any], topic: str
) -> None:
    env = _example_env(broker_settings, topic, A2A_KAFKA_PROFILE="no-such-profile")
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "worker_service.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "worker service failed:" in run.stderr
    assert "no-such-profile" in run.stderr
