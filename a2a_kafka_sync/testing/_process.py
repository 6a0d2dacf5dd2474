"""What the brokers for tests share: free ports, the start error, a child process's log,
and the reaper that ends a broker whose parent died without stopping it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from ..errors import A2AKafkaError

__all__ = ["BrokerStartError", "free_port", "start_reaper", "stop_process", "stop_reaper"]


class BrokerStartError(A2AKafkaError):
    """A broker for tests could not be started (binary or Java missing, or it did not
    become ready in time); the message carries the end of its output."""


def free_port(host: str) -> int:
    """A port nobody listens on right now (the OS's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def accepts_connections(host: str, port: int) -> bool:
    """True when a TCP connection to ``host:port`` is accepted within half a second."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` s; reaped either way."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def read_log(path: Path | None) -> str:
    """The text of a child's log file so far ("" when there is none)."""
    if path is None or not path.exists():
        return ""
    return path.read_text(errors="replace")


def wait_until(condition: object, timeout: float, interval: float = 0.05) -> bool:
    """Call ``condition()`` until it is true or ``timeout`` s have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False


# The reaper: a small Python process that holds the read end of a pipe whose write end only
# the broker's parent holds. When the parent dies, however it dies (SIGKILL, a Jupyter kernel
# killed by a restart that timed out, an OOM kill), the kernel closes the write end, the read
# returns EOF and the reaper ends the broker: SIGTERM, SIGKILL after 5 s. It checks the
# broker's start time (Linux /proc) before each signal, so a recycled pid is never signalled.
# A clean stop() ends the reaper first, then the broker. The reaper runs in a session of its
# own, like the broker, out of reach of a terminal's Ctrl-C or a kernel interrupt.
_REAPER = """
import os, signal, sys, time

pid = int(sys.argv[1])

def started(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None

first = started(pid)

def same():
    return first is None or started(pid) == first

sys.stdin.buffer.read()
for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
    if not same():
        break
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        break
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and same():
        time.sleep(0.05)
"""


def start_reaper(child: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    """A process that ends ``child`` if this process dies without stopping it.

    Pair with :func:`stop_reaper` before stopping ``child`` on purpose.
    """
    return subprocess.Popen(
        [sys.executable, "-c", _REAPER, str(child.pid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_reaper(reaper: subprocess.Popen[bytes] | None) -> None:
    """End a reaper without letting it touch its child (which the caller stops itself)."""
    if reaper is None:
        return
    if reaper.poll() is None:
        reaper.kill()
    reaper.wait(5.0)
    if reaper.stdin is not None:
        reaper.stdin.close()
