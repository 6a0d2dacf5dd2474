"""Cleaning up the reply topics of clients that are gone, on a real broker."""

from __future__ import annotations

import time
import uuid
from typing import Any

from a2a_kafka_sync.admin import delete_stale_reply_topics, find_stale_reply_topics


def test_stale_reply_topics_are_found_and_deleted_and_live_ones_kept(
    serve, connect, broker_settings: dict[str, Any]
) -> None:
    serve(lambda message: "ok")
    prefix = f"a2a-reply-stale-test-{uuid.uuid4().hex[:6]}"
    old, idle, live = (connect(reply_topic_prefix=prefix) for _ in range(3))
    assert old.send_text("x") == "ok"  # old has a reply on its topic
    old.close()
    time.sleep(1.5)
    assert live.send_text("y") == "ok"  # live answered just now; idle never called

    stale = find_stale_reply_topics(prefix=prefix, older_than=1.0, **broker_settings)
    assert stale == [old.reply_topic]
    with_empty = find_stale_reply_topics(
        prefix=prefix, older_than=1.0, include_empty=True, **broker_settings
    )
    assert sorted(with_empty) == sorted([old.reply_topic, idle.reply_topic])
    assert (
        find_stale_reply_topics(
            prefix=prefix, older_than=1.0, keep={old.reply_topic}, **broker_settings
        )
        == []
    )

    assert delete_stale_reply_topics(
        prefix=prefix, older_than=1.0, dry_run=True, **broker_settings
    ) == [old.reply_topic]
    assert delete_stale_reply_topics(prefix=prefix, older_than=1.0, **broker_settings) == [
        old.reply_topic
    ]
    assert find_stale_reply_topics(prefix=prefix, older_than=0, **broker_settings) == [
        live.reply_topic
    ]
    assert live.send_text("still works") == "ok"
