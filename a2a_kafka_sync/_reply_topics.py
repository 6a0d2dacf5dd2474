"""Reply topics: the name of a client's fresh one, which says when it was made; the
command line's stable one per user and host; deleting a client's own at close.

A fresh reply topic is ``<prefix>-<32 hex digits>``, the digits laid out as a UUID version
7: the first 12 are the Unix time in milliseconds at which the client named it, the rest
random. So the cleanup (:mod:`a2a_kafka_sync.admin`) can tell the age of a topic that holds
no record at all, which Kafka itself does not say. Names from older versions (UUID version
4 digits) and any other name say nothing: :func:`created_at` returns None for them.
"""

from __future__ import annotations

import getpass
import logging
import re
import secrets
import socket
import threading
import time

from ._kafka import build_admin, translate_kafka_errors
from ._reach import check_reachable
from .config import ClientConfig

__all__ = [
    "MAX_TOPIC_NAME",
    "cli_reply_topic",
    "created_at",
    "delete_reply_topic",
    "fresh_reply_topic",
    "topic_name",
]

logger = logging.getLogger(__name__)

MAX_TOPIC_NAME = 249
"""The longest topic name Kafka accepts."""

_UNSAFE = re.compile(r"[^a-zA-Z0-9._-]+")
_FRESH = re.compile(r"[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}")


def fresh_reply_topic(prefix: str, now: float | None = None) -> str:
    """A new reply topic name, ``<prefix>-<hex>``, that records ``now`` (default: the time)."""
    millis = int((time.time() if now is None else now) * 1000) & (1 << 48) - 1
    random = secrets.randbits(74)
    value = (millis << 80) | (0x7 << 76) | ((random >> 62) << 64) | (0b10 << 62)
    value |= random & ((1 << 62) - 1)
    return f"{prefix}-{value:032x}"


def created_at(name: str, prefix: str = "") -> float | None:
    """When the client that made ``name`` named it (Unix time, s); None when the name does
    not say: it does not start with ``<prefix>-`` (when a prefix is given) or does not end
    with ``-`` and the digits of :func:`fresh_reply_topic`."""
    if prefix and not name.startswith(f"{prefix}-"):
        return None
    digits = name.rpartition("-")[2]
    if not _FRESH.fullmatch(digits):
        return None
    return int(digits[:12], 16) / 1000


def topic_name(text: str) -> str:
    """``text`` made a legal topic name: each run of characters other than ``a-zA-Z0-9._-``
    becomes ``-``, cut to :data:`MAX_TOPIC_NAME` characters; never ``.`` nor ``..``."""
    name = _UNSAFE.sub("-", text)[:MAX_TOPIC_NAME]
    return "-" if name in ("", ".", "..") else name


def cli_reply_topic(prefix: str = "a2a-reply") -> str:
    """The reply topic the command line uses by default: ``<prefix>-cli-<user>-<host>``
    (see :func:`topic_name`), one per user and host, shared by that user's commands."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (a container's uid without a passwd entry)
        user = "unknown"
    host = socket.gethostname() or "localhost"
    return topic_name(f"{prefix}-cli-{user}-{host}")


def delete_reply_topic(config: ClientConfig, topic: str, timeout: float) -> bool:
    """Delete ``topic`` within about ``timeout`` seconds; True once the broker said it did.

    Never raises and never waits longer: the deletion runs on the ``a2a-kafka-reply-cleanup``
    thread (a daemon), and a broker that is down, slow or refuses (no Delete ACL) only
    costs a WARNING line; the topic is then left to :mod:`a2a_kafka_sync.admin`'s cleanup.
    """
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            check_reachable(config.bootstrap_servers, min(timeout, 1.0))  # refused port: at once
            admin = build_admin(config.model_copy(update={"connect_timeout": timeout}))
            try:
                with translate_kafka_errors("deleting the reply topic", topic=topic):
                    admin.delete_topics([topic], timeout_ms=max(1, int(timeout * 1000)))
            finally:
                admin.close()
            outcome.append(None)
        except BaseException as exc:  # reported by the caller's thread, never raised
            outcome.append(exc)

    thread = threading.Thread(target=run, name="a2a-kafka-reply-cleanup", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        logger.warning("deleting reply topic %s took over %.1fs; left in place", topic, timeout)
        return False
    if outcome[0] is not None:
        logger.warning("reply topic %s not deleted at close: %s", topic, outcome[0])
        return False
    logger.debug("deleted reply topic %s", topic)
    return True
