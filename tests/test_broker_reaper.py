"""A broker for tests never outlives the process that started it, however that process ends.

The parent runs in a subprocess and is killed with SIGKILL (as a Jupyter kernel is when its
restart times out): no atexit hook runs, and the reaper must end the broker on its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from a2a_kafka_sync.testing import EmbeddedBroker

ROOT = Path(__file__).resolve().parent.parent

PARENT = """
import sys, time
from a2a_kafka_sync.testing import ApacheKafka, EmbeddedBroker
if sys.argv[1] == "apache":
    broker = ApacheKafka().start()
    pids = [node.process.pid for node in broker._nodes.values()]
else:
    broker = EmbeddedBroker().start()
    pids = [broker.pid]
print(" ".join(map(str, pids)), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def _kill_the_parent_of(kind: str) -> list[int]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, kind],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert parent.stdout is not None
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert pids and all(_alive(pid) for pid in pids), "the broker did not start"
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see the broker's state")
@pytest.mark.parametrize(
    ("kind", "bound"),
    [
        ("tansu", 15.0),
        pytest.param("apache", 20.0, marks=[pytest.mark.apache_cluster, pytest.mark.slow]),
    ],
)
def test_a_broker_ends_when_its_parent_is_killed(kind: str, bound: float) -> None:
    pids = _kill_the_parent_of(kind)
    try:
        assert _gone_within(pids, bound), f"the {kind} broker outlived its killed parent"
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_clean_stop_ends_the_reaper_and_leaves_the_broker_to_stop() -> None:
    broker = EmbeddedBroker().start()
    reaper, process = broker._reaper, broker._process
    assert reaper is not None and reaper.poll() is None
    broker.stop()
    assert reaper.returncode is not None
    assert process is not None and process.returncode is not None


def test_a_crash_by_kill_ends_the_reaper_too() -> None:
    broker = EmbeddedBroker().start()
    reaper = broker._reaper
    broker.kill()
    assert reaper is not None and reaper.returncode is not None
    assert not broker.running
    broker.stop()
