"""What the brokers for tests share: free ports, the start error, a child process's log."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from ..errors import A2AKafkaError

__all__ = ["BrokerStartError", "free_port", "stop_process"]


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
