"""Takeover after ``kill -9``: how long the callers of a crashed server process wait.

Two server processes share a 4-partition request topic; once both serve, one is killed
with SIGKILL (no leave-group, no commit), and 40 calls are sent at once. Those on the dead
process's partitions wait until the group hands them to the survivor (after the session
timeout); the slowest call is the takeover. The same run measures the library's group
settings and kafka-python's own defaults (session 45 s, heartbeat 3 s), on the same broker.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from agents import ServerProcess
from floor import create_topic
from report import Row

from a2a_kafka_sync import KafkaClientTransport

__all__ = ["takeover"]

CALLS = 40
KAFKA_PYTHON_DEFAULTS = {"session_timeout_ms": 45_000, "heartbeat_interval_ms": 3_000}


def _takeover_seconds(settings: dict[str, Any], group: dict[str, Any]) -> tuple[float, int]:
    """Seconds from the kill to the last of CALLS answers, and how many were answered."""
    topic = f"bench-takeover-{uuid.uuid4().hex[:8]}"
    create_topic(settings, topic, partitions=4)
    servers = [ServerProcess(settings, topic, agent="echo", **group) for _ in range(2)]
    for server in servers:
        server.launch()
    try:
        for server in servers:
            server.wait_ready()
        with KafkaClientTransport(request_topic=topic, **settings, timeout=120) as client:
            # Both serve: every partition answers (40 calls cover the four).
            for pending in [client.submit("warm-up") for _ in range(CALLS)]:
                pending.result()
            servers[0].kill()
            killed = time.perf_counter()
            calls = [client.submit(f"after {i}") for i in range(CALLS)]
            answered = sum(1 for pending in calls if pending.result() is not None)
            return time.perf_counter() - killed, answered
    finally:
        for server in servers:
            server.stop()


def takeover(settings: dict[str, Any]) -> list[Row]:
    """The library's group settings against kafka-python's defaults, kill -9 of 1 of 2."""
    ours, answered = _takeover_seconds(settings, {})
    theirs, _ = _takeover_seconds(settings, KAFKA_PYTHON_DEFAULTS)
    return [
        Row(
            "takeover",
            "kill -9 of 1 of 2 servers, slowest call",
            "s",
            ours,
            theirs,
            reference_name="kafka-python's group defaults",
            note=f"{answered}/{CALLS} calls answered; 4 partitions",
        )
    ]
