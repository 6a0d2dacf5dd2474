"""Cleaning up the reply topics of clients that are gone, on a real broker."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from a2a_kafka_sync._kafka import ensure_topics
from a2a_kafka_sync._reply_topics import fresh_reply_topic
from a2a_kafka_sync.admin import delete_stale_reply_topics, find_stale_reply_topics
from a2a_kafka_sync.config import ClientConfig, build_config

AGE = 3.0
"""older_than of the test: more than any one find or delete takes on a busy machine."""


@pytest.mark.slow
def test_stale_reply_topics_are_found_and_deleted_and_live_ones_kept(
    serve, connect, broker_settings: dict[str, Any]
) -> None:
    serve(lambda message: "ok")
    prefix = f"a2a-reply-stale-test-{uuid.uuid4().hex[:6]}"
    # old and idle die without deleting their topics (as after kill -9, or without Delete)
    old, idle = (
        connect(reply_topic_prefix=prefix, delete_reply_topic_on_close=False) for _ in "oi"
    )
    live = connect(reply_topic_prefix=prefix)
    legacy = f"{prefix}-{uuid.uuid4().hex}"  # an older version's name: it says no age
    ensure_topics(build_config(ClientConfig, **broker_settings), {legacy: (1, {})})
    assert old.send_text("x") == "ok"  # old has a reply on its topic; idle never called
    old.close()
    idle.close()
    time.sleep(AGE + 0.5)
    new = connect(reply_topic_prefix=prefix)  # empty, and named just now

    def fresh(kwargs: dict[str, Any]) -> dict[str, Any]:
        """live answered just now, so only old's record and idle's name are older than AGE."""
        assert live.send_text("y") == "ok"
        return {"prefix": prefix, "older_than": AGE, **broker_settings, **kwargs}

    dead = sorted([old.reply_topic, idle.reply_topic])
    assert find_stale_reply_topics(**fresh({})) == dead
    with_empty = find_stale_reply_topics(**fresh({"include_empty": True}))
    assert with_empty == sorted([*dead, legacy, new.reply_topic])
    assert find_stale_reply_topics(**fresh({"keep": {old.reply_topic}})) == [idle.reply_topic]

    assert delete_stale_reply_topics(**fresh({"dry_run": True})) == dead
    assert delete_stale_reply_topics(**fresh({})) == dead
    assert find_stale_reply_topics(prefix=prefix, older_than=0, **broker_settings) == sorted(
        [live.reply_topic, new.reply_topic]
    )
    assert live.send_text("still works") == "ok"
    keep = {live.reply_topic, new.reply_topic}
    assert delete_stale_reply_topics(
        prefix=prefix, older_than=0, include_empty=True, keep=keep, **broker_settings
    ) == [legacy]


def test_the_defaults_find_the_empty_topics_of_clients_gone_for_a_day(
    broker_settings: dict[str, Any], collect_garbage: None
) -> None:
    """What a cluster accumulates: topics of killed clients, empty once their records
    expired. A topic's name says when it was made; the defaults (older than a day) find
    those made before, and no other."""
    prefix = f"a2a-reply-day-test-{uuid.uuid4().hex[:6]}"
    day = 24 * 3600
    old_names = [fresh_reply_topic(prefix, now=time.time() - day - 60 * i) for i in range(3)]
    recent = fresh_reply_topic(prefix, now=time.time() - day + 600)
    ensure_topics(
        build_config(ClientConfig, **broker_settings),
        {name: (1, {}) for name in [*old_names, recent]},
    )
    assert find_stale_reply_topics(prefix=prefix, **broker_settings) == sorted(old_names)
    assert delete_stale_reply_topics(prefix=prefix, **broker_settings) == sorted(old_names)
    assert find_stale_reply_topics(prefix=prefix, older_than=0, **broker_settings) == [recent]
    delete_stale_reply_topics(prefix=prefix, older_than=0, **broker_settings)
