"""Whether an agent serves the request topic: asked of the brokers off the hot path, cached.

A call to a topic that does not exist, or that no consumer group reads, would wait its
whole timeout for a reply that cannot come (and, on a broker that creates topics on
demand, leave a typo'd topic behind). So the client asks once, when it connects, with an
admin client (metadata, ListGroups, DescribeGroups, OffsetFetch: a few milliseconds), and
keeps the answer:

- the topic does not exist: calls raise :class:`~a2a_kafka_sync.errors.NoAgentError` at
  once (``reason="missing"``);
- a consumer group has a member on it: calls go on (the server's own group,
  ``a2a-server-<topic>``, counts as soon as it has a member, even mid-join);
- no group has a member on it, but a group has committed offsets on it (a server was
  there: stopped, crashed, or restarting), or this client saw it read before: calls go on,
  and their requests wait on the topic for the server to come back within their timeout;
- no group has a member on it nor offsets on it: NoAgentError at once (``reason="unread"``);
- the brokers do not say (an ACL hides the groups, an error): calls go on.

A "no agent" answer is kept for :data:`COOL_DOWN` seconds (calls fail at once meanwhile),
then asked again by the next call, so a server that starts after the client is found
without rebuilding it. A "go on" answer is asked again only after a call timed out (in the
background). The questions run on the connector's thread, within the call's deadline.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from typing import Any

import kafka.errors
from kafka import KafkaAdminClient, TopicPartition

from .._kafka import build_admin, describe_groups, translate_kafka_errors
from ..config import ClientConfig
from ..errors import A2AKafkaError, NoAgentError

__all__ = ["COOL_DOWN", "MAX_GROUPS", "Presence", "Verdict", "find_readers"]

logger = logging.getLogger(__name__)

COOL_DOWN = 1.0
"""Seconds a "no agent" answer is kept: calls meanwhile raise NoAgentError at once."""

MAX_GROUPS = 500
"""More consumer groups than this on the cluster: only the server's default group is asked
about (and no answer means "go on")."""


class Verdict(enum.Enum):
    """What the brokers said about the request topic."""

    SERVED = "served"
    """A consumer group has a member on it."""
    IDLE = "idle"
    """No member now, but a group read it before (committed offsets): a server may be back."""
    UNKNOWN = "unknown"
    """The brokers did not say (ACLs, an error): calls go on."""
    MISSING = "missing"
    """The topic does not exist."""
    UNREAD = "unread"
    """No consumer group reads it, nor ever committed an offset on it."""

    @property
    def sendable(self) -> bool:
        """True when a call may send its request."""
        return self not in (Verdict.MISSING, Verdict.UNREAD)


@dataclasses.dataclass(frozen=True)
class Finding:
    """A :class:`Verdict` and the consumer groups behind it (readers, or idle groups)."""

    verdict: Verdict
    groups: tuple[str, ...] = ()
    exists: bool = False
    """True when the brokers said the topic exists."""


def _default_group(topic: str) -> str:
    return f"a2a-server-{topic}"  # ServerConfig.group_id's default


def find_readers(config: ClientConfig) -> Finding:
    """Ask the brokers whether the request topic exists and which consumer groups read it.

    Raises BrokerUnavailableError when no broker answers; every other failure of the group
    questions gives ``UNKNOWN`` (never a reason to fail a call).
    """
    topic = config.request_topic
    admin = build_admin(config)
    try:
        try:
            with translate_kafka_errors("describing the request topic", topic=topic):
                described = admin.describe_topics([topic])
        except A2AKafkaError as exc:
            logger.debug("could not describe %s: %s", topic, exc)
            return Finding(Verdict.UNKNOWN)
        code = described[0].get("error_code", 0) if described else 0
        if code == kafka.errors.UnknownTopicOrPartitionError.errno:
            return Finding(Verdict.MISSING)
        if code:
            return Finding(Verdict.UNKNOWN)  # e.g. not authorized to describe: the send says
        if not config.check_agent:
            return Finding(Verdict.UNKNOWN, exists=True)
        partitions = [p["partition_index"] for p in described[0].get("partitions", [])]
        return dataclasses.replace(_groups_on(admin, topic, partitions), exists=True)
    finally:
        admin.close()


def _groups_on(admin: KafkaAdminClient, topic: str, partitions: list[int]) -> Finding:
    """Who reads ``topic``; UNREAD only when every question was answered (else UNKNOWN)."""
    default = _default_group(topic)
    blind = False  # a question went unanswered: never conclude that nobody reads it
    try:
        listed = [
            group["group_id"]
            for group in admin.list_groups()
            if group.get("protocol_type") in ("consumer", "")
        ]
    except Exception as exc:  # kafka-python or the broker: not a reason to fail a call
        logger.debug("could not list the consumer groups: %s", exc)
        listed, blind = [], True
    if len(listed) > MAX_GROUPS:
        listed, blind = [], True
    others = sorted(set(listed) - {default})
    described = _describe(admin, [default, *others])
    if len(described) < 1 + len(others):
        blind = True  # some group could not be asked about (ACLs, an error)
    empty: list[str] = []
    for group_id, group in described.items():
        members = group.get("members") or []
        if group_id == default and members:
            return Finding(Verdict.SERVED, (group_id,))
        if any(_reads(member, topic) for member in members):
            return Finding(Verdict.SERVED, (group_id,))
        if not members:
            empty.append(group_id)
    idle = _with_offsets(admin, sorted(empty), topic, partitions)
    if idle:
        return Finding(Verdict.IDLE, tuple(idle))
    if blind or idle is None:
        return Finding(Verdict.UNKNOWN)
    return Finding(Verdict.UNREAD)


def _describe(admin: KafkaAdminClient, group_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The groups described without an error (those the brokers did not describe left out).

    One request per coordinator for all of them; when that fails (a group whose
    coordinator cannot be found, one the ACLs hide), each group is asked on its own."""
    try:
        found = describe_groups(admin, group_ids)
    except Exception as exc:  # kafka-python or the broker: not a reason to fail a call
        if len(group_ids) == 1:
            logger.debug("could not describe the consumer group %s: %s", group_ids[0], exc)
            return {}
        found = {}
        for group_id in group_ids:
            found.update(_describe(admin, [group_id]))
    return {group_id: group for group_id, group in found.items() if not group.get("error")}


def _reads(member: dict[str, Any], topic: str) -> bool:
    """True when a group member subscribes to ``topic`` or was assigned some of it."""
    subscription = member.get("member_metadata")
    if isinstance(subscription, dict) and topic in (subscription.get("topics") or ()):
        return True
    assignment = member.get("member_assignment")
    if isinstance(assignment, dict):
        return any(t.get("topic") == topic for t in assignment.get("assigned_partitions") or ())
    return False


def _with_offsets(
    admin: KafkaAdminClient, group_ids: list[str], topic: str, partitions: list[int]
) -> list[str] | None:
    """The groups of ``group_ids`` that committed an offset on ``topic`` (None: the brokers
    did not say)."""
    if not group_ids or not partitions:
        return []
    wanted = [TopicPartition(topic, p) for p in partitions]
    try:
        offsets = admin.list_group_offsets({group_id: wanted for group_id in group_ids})
    except kafka.errors.CoordinatorNotAvailableError:
        return []  # Apache Kafka before any group committed anything: no offsets anywhere
    except Exception as exc:
        logger.debug("could not read the offsets of %s: %s", group_ids, exc)
        return None
    return [
        group_id
        for group_id, committed in offsets.items()
        if any(
            tp.topic == topic and o.offset is not None and o.offset >= 0
            for tp, o in committed.items()
        )
    ]


class Presence:
    """What the client last learnt about who reads its request topic, and when to ask again.

    Thread-safe. :meth:`check` runs on the connector's thread; :meth:`require` on the
    caller's, and never asks the brokers itself.
    """

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._finding: Finding | None = None
        self._at = 0.0
        self._seen_read = False  # once read by a group, "no reader" means "maybe restarting"
        self._stale = False

    @property
    def due(self) -> bool:
        """True when the next connector attempt should ask the brokers."""
        finding = self._finding
        if finding is None or self._stale:
            return True
        return not finding.verdict.sendable and time.monotonic() >= self._at + COOL_DOWN

    @property
    def sendable(self) -> bool:
        """True when calls may send now (the last answer said so)."""
        finding = self._finding
        return finding is not None and finding.verdict.sendable

    @property
    def finding(self) -> Finding | None:
        """The last answer (None before the first)."""
        return self._finding

    def failing_fast(self) -> bool:
        """True while a "no agent" answer holds: calls raise it without asking."""
        finding = self._finding
        return (
            finding is not None
            and not finding.verdict.sendable
            and time.monotonic() < self._at + COOL_DOWN
        )

    def recheck(self) -> None:
        """Ask again on the next connector attempt (after a call timed out)."""
        self._stale = True

    def check(self) -> Finding:
        """Ask the brokers now (on the connector's thread) and keep the answer."""
        finding = find_readers(self._config)
        with self._lock:
            if finding.verdict in (Verdict.SERVED, Verdict.IDLE):
                self._seen_read = True
            elif finding.verdict is Verdict.UNREAD and self._seen_read:
                finding = Finding(Verdict.IDLE, exists=True)  # read before: a restart, maybe
            self._finding, self._at, self._stale = finding, time.monotonic(), False
        logger.debug("who reads %s: %s", self._config.request_topic, finding)
        return finding

    def require(self) -> None:
        """Raise NoAgentError when the last answer was "no agent"."""
        finding = self._finding
        if finding is None or finding.verdict.sendable:
            return
        raise self.error(finding.verdict)

    def hint(self) -> str:
        """For a call that timed out: what the last answer says of a missing reader ("" when
        a group had a member on the topic, or the brokers did not say)."""
        finding = self._finding
        if finding is None or finding.verdict is not Verdict.IDLE:
            return ""
        before = f" ({', '.join(finding.groups)} read it before)" if finding.groups else ""
        return (
            f"; no consumer group had a member on {self._config.request_topic!r} when last "
            f"asked{before}: is its server running?"
        )

    def error(self, verdict: Verdict) -> NoAgentError:
        """The NoAgentError of ``verdict`` (MISSING or UNREAD), with what to check."""
        config = self._config
        topic, servers = config.request_topic, ",".join(config.bootstrap_servers)
        if verdict is Verdict.MISSING:
            why = (
                f"the topic does not exist on {servers}; check the request topic's name, and "
                "that its server has started (a server creates its request topic)"
            )
        else:
            why = (
                f"no consumer group reads it on {servers}; start its server (or check the "
                "request topic's name); check_agent=False sends anyway, for a server that "
                "starts later"
            )
        return NoAgentError(f"no agent serves {topic!r}: {why}", topic=topic, reason=verdict.value)
