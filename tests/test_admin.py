"""Cleaning up the reply topics of clients that are gone, on a real broker."""

from __future__ import annotations

import time
import uuid
from typing import Any

from a2a_kafka_sync.admin import delete_stale_reply_topics, find_stale_reply_topics

AGE = 3.0
"""older_than of the test: more than any one find or delete takes on a busy machine."""


def test_stale_reply_topics_are_found_and_deleted_and_live_ones_kept(
    serve, connect, broker_settings: dict[str, Any]
) -> None:
    serve(lambda message: "ok")
    prefix = f"a2a-reply-stale-test-{uuid.uuid4().hex[:6]}"
    old, idle, live = (connect(reply_topic_prefix=prefix) for _ in range(3))
    assert old.send_text("x") == "ok"  # old has a reply on its topic
    old.close()
    time.sleep(AGE + 0.5)

    def fresh(kwargs: dict[str, Any]) -> dict[str, Any]:
        """live answered just now (idle never called), so only old is older than AGE."""
        assert live.send_text("y") == "ok"
        return {"prefix": prefix, "older_than": AGE, **broker_settings, **kwargs}

    stale = find_stale_reply_topics(**fresh({}))
    assert stale == [old.reply_topic]
    with_empty = find_stale_reply_topics(**fresh({"include_empty": True}))
    assert sorted(with_empty) == sorted([old.reply_topic, idle.reply_topic])
    assert find_stale_reply_topics(**fresh({"keep": {old.reply_topic}})) == []

    assert delete_stale_reply_topics(**fresh({"dry_run": True})) == [old.reply_topic]
    assert delete_stale_reply_topics(**fresh({})) == [old.reply_topic]
    assert find_stale_reply_topics(prefix=prefix, older_than=0, **broker_settings) == [
        live.reply_topic
    ]
    assert live.send_text("still works") == "ok"
