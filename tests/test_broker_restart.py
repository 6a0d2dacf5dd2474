"""A broker that restarts and forgets everything: client and server recover on their own."""

from __future__ import annotations

import time

import pytest
from helpers import library_threads, wait_for

from a2a_kafka_sync import A2AKafkaError, KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.testing import EmbeddedBroker

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    __import__("os").environ.get("A2A_KAFKA_BOOTSTRAP") is not None,
    reason="restarts its own embedded broker",
)
def test_client_and_server_recover_after_the_broker_restarts_empty() -> None:
    before = library_threads()
    broker = EmbeddedBroker().start()
    settings = broker.settings()
    app = KafkaServerApp(
        lambda message: f"pong {message.text}", request_topic="restart", **settings
    ).start()
    client = KafkaClientTransport(request_topic="restart", **settings)
    try:
        assert app.wait_until_assigned(30)
        assert client.send_text("1", timeout=10) == "pong 1"

        broker.kill()  # memory storage: topics, offsets, groups, producer ids all gone
        started = time.monotonic()
        with pytest.raises(A2AKafkaError):  # a clear error, within the call's timeout
            client.send_text("during", timeout=2)
        assert time.monotonic() - started < 3

        broker.start()  # same port, empty
        answers: list[str] = []

        def answered() -> bool:
            try:
                answers.append(client.send_text("again", timeout=5))  # type: ignore[arg-type]
            except A2AKafkaError:
                return False
            return True

        assert wait_for(answered, timeout=90), "no answer within 90 s of the restart"
        assert answers[-1] == "pong again"
        assert [client.send_text(str(i), timeout=10) for i in range(5)] == [
            f"pong {i}" for i in range(5)
        ]
    finally:
        client.close()
        app.stop()
        broker.stop()
    assert wait_for(lambda: library_threads() == before, timeout=10), library_threads()


def test_a_client_whose_reply_topic_was_made_again_behind_its_back_recovers(
    serve, connect, broker_settings
) -> None:
    """A broker that restarts empty sees the reply topic made again at once (the reply
    reader's metadata requests create it) and starting from offset 0, below where the
    reader stands: the embedded broker then answers its fetches with nothing, for ever.
    The check after a timeout compares the topic's end with what the reader read."""
    from kafka import KafkaAdminClient

    serve(lambda message: f"pong {message.text}")
    client = connect()
    for i in range(20):  # the reader stands at offset 20
        assert client.send_text(str(i), timeout=30) == f"pong {i}"
    admin = KafkaAdminClient(bootstrap_servers=broker_settings["bootstrap_servers"])
    try:
        admin.delete_topics([client.reply_topic])
        assert wait_for(lambda: client.reply_topic not in admin.list_topics(), timeout=30)
        admin.create_topics({client.reply_topic: {"num_partitions": 1, "replication_factor": -1}})
    finally:
        admin.close()
    answers: list[str] = []

    def answered() -> bool:
        try:
            answers.append(client.send_text("again", timeout=3))  # type: ignore[arg-type]
        except A2AKafkaError:
            return False
        return True

    # Measured on the embedded broker: answered again 6-9 s later; without the check of the
    # topic's end, about 60 s later (whatever else made the reader move on).
    assert wait_for(answered, timeout=30), "the client did not read its new reply topic"
    assert answers[-1] == "pong again"
