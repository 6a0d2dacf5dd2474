"""Operations helpers: find and delete the reply topics of clients that are gone.

Each client creates its own reply topic (``<reply_topic_prefix>-<hex>``) with a
``retention.ms``, so the records of a client that died expire (after an hour by
default), and its topic stays behind, empty. A client deletes the topic it created when
it closes (``delete_reply_topic_on_close``); a client killed, or one without the Delete
ACL, leaves it. Run :func:`delete_stale_reply_topics` from a cron job or an operator's
shell to remove the topics whose newest record is older than a bound, and the empty ones
named more than that bound ago (the name of a fresh reply topic says when it was made:
its 32 hex digits are a UUID version 7).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kafka import TopicPartition

from ._kafka import (
    build_admin,
    build_consumer,
    build_producer,
    close_producer,
    translate_kafka_errors,
)
from ._reply_topics import created_at
from .config import ClientConfig, build_config

__all__ = ["delete_stale_reply_topics", "find_stale_reply_topics"]

logger = logging.getLogger(__name__)


def _newest_timestamps(consumer: Any, topic: str) -> list[int] | None:
    """The timestamp (ms) of the newest record of each partition; None for an empty topic."""
    partitions = [
        TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    if not partitions:
        return None
    ends = consumer.end_offsets(partitions)
    starts = consumer.beginning_offsets(partitions)
    stamps: list[int] = []
    for partition in partitions:
        if ends[partition] <= starts[partition]:
            continue
        consumer.assign([partition])
        consumer.seek(partition, ends[partition] - 1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            records = consumer.poll(timeout_ms=200).get(partition, [])
            if records:
                stamps.append(records[-1].timestamp)
                break
    return stamps or None


def find_stale_reply_topics(
    bootstrap_servers: str | list[str],
    *,
    prefix: str = "a2a-reply",
    older_than: float = 24 * 3600,
    include_empty: bool = False,
    keep: frozenset[str] | set[str] = frozenset(),
    **settings: Any,
) -> list[str]:
    """Reply topics (named ``<prefix>-...``) of clients gone for more than ``older_than`` s.

    A topic with records is stale when its newest record is older than ``older_than``.
    A topic with no record (never written, or its records expired) is stale when its name
    says it was made before that (the fresh reply topics of clients of this version end
    with a UUID version 7, whose first 12 hex digits are the time); one whose name does
    not say (made by an older version, a fixed ``reply_topic``, the command line's) only
    with ``include_empty``, since a client that opened and never called has an empty topic
    too. Topics in ``keep`` are never stale. ``settings`` are client settings (profile,
    security, ...), as for :class:`~a2a_kafka_sync.KafkaClientTransport`.

    A live client idle for longer than ``older_than`` (no reply within it, and its records
    expired) looks gone: after its topic is deleted, its next call times out and the
    client makes its topic again. Keep ``older_than`` well above the longest idle spell of
    your long-lived clients (the default: a day), or list their topics in ``keep``.
    """
    config = build_config(ClientConfig, bootstrap_servers=bootstrap_servers, **settings)
    producer = build_producer(config)  # proves the brokers are there (see _kafka.build_consumer)
    close_producer(producer, 1.0)
    admin = build_admin(config)
    try:
        with translate_kafka_errors("listing topics"):
            names = sorted(t for t in admin.list_topics() if t.startswith(f"{prefix}-"))
    finally:
        admin.close()
    cutoff_ms = (time.time() - older_than) * 1000
    consumer = build_consumer(config, group_id=None, enable_auto_commit=False)
    stale = []
    try:
        for name in names:
            if name in keep:
                continue
            with translate_kafka_errors("reading a reply topic", topic=name):
                stamps = _newest_timestamps(consumer, name)
            if stamps is None:
                made = created_at(name, prefix)
                if include_empty or (made is not None and made * 1000 < cutoff_ms):
                    stale.append(name)
            elif max(stamps) < cutoff_ms:
                stale.append(name)
    finally:
        consumer.close(autocommit=False)
    return stale


def delete_stale_reply_topics(
    bootstrap_servers: str | list[str], *, dry_run: bool = False, **options: Any
) -> list[str]:
    """Delete what :func:`find_stale_reply_topics` finds (same options); returns the names.

    With ``dry_run`` nothing is deleted. Each deletion is logged at INFO.
    """
    stale = find_stale_reply_topics(bootstrap_servers, **options)
    if dry_run or not stale:
        return stale
    settings = {
        k: v
        for k, v in options.items()
        if k not in ("prefix", "older_than", "include_empty", "keep")
    }
    admin = build_admin(build_config(ClientConfig, bootstrap_servers=bootstrap_servers, **settings))
    try:
        with translate_kafka_errors("deleting reply topics", topic=",".join(stale)):
            admin.delete_topics(stale)
    finally:
        admin.close()
    for name in stale:
        logger.info("deleted stale reply topic %s", name)
    return stale
