"""The request consumer's settings: its group, and group timings chosen for RPC.

kafka-python's group defaults suit batch consumers: a member that dies is noticed
after ``session_timeout_ms`` (45 s), and only then do its partitions move. An RPC
server's callers cannot wait that long, so the request consumer gets shorter
timings unless the user (or the profile) sets them. Only the request consumer
joins a group; every other consumer the library builds reads by assignment.
"""

from __future__ import annotations

from typing import Any

from ..config import ServerConfig

__all__ = ["GROUP_TIMING_DEFAULTS", "consumer_overrides"]

GROUP_TIMING_DEFAULTS: dict[str, int] = {
    "session_timeout_ms": 10_000,
    "heartbeat_interval_ms": 1_000,
}
"""The request consumer's group timings when neither is set (in ``kafka`` or the profile).

``session_timeout_ms`` bounds how long a crashed server's partitions wait before a
surviving one takes them (Apache Kafka refuses less than its
``group.min.session.timeout.ms``, 6 s by default); ``heartbeat_interval_ms`` is how
often a live member says so, and how soon the others hear of a rebalance. They are
applied as a pair, so a user's value never meets one of ours it conflicts with
(kafka-python needs the heartbeat below the session timeout).
"""


def consumer_overrides(config: ServerConfig) -> dict[str, Any]:
    """The request consumer's kafka-python settings over the config's: its group, manual
    commits, where a new group starts, the group timings (:data:`GROUP_TIMING_DEFAULTS`
    unless set) and, with ``group_instance_id``, static membership."""
    overrides: dict[str, Any] = {"group_id": config.group_id, "enable_auto_commit": False}
    if "auto_offset_reset" not in config.kafka:
        overrides["auto_offset_reset"] = "earliest"
    if not GROUP_TIMING_DEFAULTS.keys() & config.kafka_settings().keys():
        overrides.update(GROUP_TIMING_DEFAULTS)
    if config.group_instance_id is not None:
        overrides["group_instance_id"] = config.group_instance_id
    return overrides
