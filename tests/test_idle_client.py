"""An idle client costs nothing: its reply reader fetches only while someone waits for a record."""

from __future__ import annotations

import time

import pytest
from helpers import UNSERVED, wait_for

from a2a_kafka_sync import Message


def _fetch_rate(client) -> float:
    metrics = client._reader._consumer.metrics()
    return float(metrics["consumer-fetch-manager-metrics"]["fetch-rate"])


@pytest.mark.slow
def test_an_idle_client_does_not_poll_and_wakes_for_its_next_call(serve, connect) -> None:
    serve(lambda message: f"echo {message.text}")
    client = connect()
    time.sleep(1.5)
    assert _fetch_rate(client) == 0.0  # open, positioned, and not fetching

    assert client.send_text("one", timeout=10) == "echo one"  # woken by the call at once
    assert _fetch_rate(client) > 0.0
    time.sleep(1.5)  # idle again
    assert client.send_text("two", timeout=10) == "echo two"


def test_a_client_keeps_reading_while_a_stream_is_open(connect) -> None:
    client = connect(**UNSERVED)  # nobody serves: the stream waits
    with client.send_message_streaming("anyone?", timeout=30):
        assert wait_for(lambda: _fetch_rate(client) > 0.0, 10)


@pytest.mark.slow
def test_a_push_listener_keeps_the_reader_reading(serve, connect) -> None:
    pushed: list[object] = []
    app = serve(lambda message: "ok")
    client = connect()
    client.on_push(pushed.append)

    assert wait_for(lambda: _fetch_rate(client) > 0.0, 10)
    app.push(client.reply_topic, Message.agent_text("unasked")).get(10)
    assert wait_for(lambda: len(pushed) == 1, 10)
    assert isinstance(pushed[0], Message) and pushed[0].text == "unasked"
