"""Exactly-once mode: replies and offsets commit in one transaction, on a real broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import committed_and_end

from a2a_kafka_sync import Message

pytestmark = pytest.mark.slow


def test_calls_and_streams_work_exactly_once_and_offsets_commit_with_replies(
    serve, connect, broker_settings, topic
) -> None:
    def words(message: Message) -> Iterator[str]:
        yield from message.text.split()

    app = serve(words, exactly_once=True)
    client = connect(isolation_level="read_committed")

    assert client.send_text("one two") == "two"  # a generator's last Message answers
    assert list(client.send_message_streaming("a b c").texts()) == ["a", "b", "c"]
    for i in range(10):
        assert client.send_text(f"n{i}") == f"n{i}"
    app.stop()

    committed, end = committed_and_end(
        broker_settings["bootstrap_servers"], app.config.group_id, topic
    )
    assert committed == end == 12


def test_a_redelivered_request_in_exactly_once_mode_is_answered_from_the_cache(
    serve, broker_settings, topic
) -> None:
    import json

    from helpers import RawKafka

    runs: list[int] = []
    serve(lambda message: runs.append(1) or "once", exactly_once=True)
    raw = RawKafka(broker_settings["bootstrap_servers"])
    replies = raw.reply_topic()
    try:
        body = json.dumps(
            {
                "method": "message_send",
                "params": {
                    "message": {
                        "kind": "message",
                        "messageId": "m",
                        "role": "user",
                        "parts": [{"kind": "text", "text": "x"}],
                    }
                },
            }
        ).encode()
        headers = [("correlation_id", b"eos-dup"), ("reply_topic", replies.topic.encode())]
        raw.send(topic, body, headers, key=b"k")
        got = replies.read(1)  # answered: the duplicate below can only come from the cache
        raw.send(topic, body, headers, key=b"k")
        got += replies.read(1)
    finally:
        replies.close()
        raw.close()
    assert runs == [1]
    assert [cid for cid, _ in got] == ["eos-dup", "eos-dup"]
