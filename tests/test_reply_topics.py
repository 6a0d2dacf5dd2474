"""Reply topics a client leaves behind: none it made itself, within a bound, whatever the broker."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import pytest
from kafka.admin import KafkaAdminClient

from a2a_kafka_sync import KafkaClientTransport
from a2a_kafka_sync._reply_topics import (
    MAX_TOPIC_NAME,
    cli_reply_topic,
    created_at,
    fresh_reply_topic,
    topic_name,
)
from a2a_kafka_sync.testing import EmbeddedBroker

LEGAL = re.compile(r"[a-zA-Z0-9._-]{1,249}")


# -- names ----------------------------------------------------------------------------------------


def test_a_fresh_reply_topic_name_says_when_it_was_made() -> None:
    made = 1_700_000_000.123
    name = fresh_reply_topic("a2a-reply", now=made)
    digits = name.removeprefix("a2a-reply-")
    assert len(digits) == 32 and uuid.UUID(digits).version == 7
    assert uuid.UUID(digits).variant == uuid.RFC_4122
    assert created_at(name, "a2a-reply") == pytest.approx(made, abs=0.001)
    assert created_at(name) == pytest.approx(made, abs=0.001)
    assert fresh_reply_topic("a2a-reply") != fresh_reply_topic("a2a-reply")


@pytest.mark.parametrize(
    "name",
    [
        f"a2a-reply-{uuid.uuid4().hex}",  # a name from an older version
        "a2a-reply-cli-alice-host1",  # the command line's
        "a2a-reply-",
        f"other-{'0' * 32}",
    ],
)
def test_a_name_that_does_not_say_has_no_age(name: str) -> None:
    assert created_at(name, "a2a-reply") is None


def test_a_name_with_another_prefix_has_no_age_for_this_prefix() -> None:
    name = fresh_reply_topic("app-replies")
    assert created_at(name, "a2a-reply") is None
    assert created_at(name, "app-replies") is not None


def test_topic_names_are_cut_to_kafkas_rules() -> None:
    assert topic_name("a2a-reply-cli-Jo Smith-host/ü.local") == "a2a-reply-cli-Jo-Smith-host-.local"
    assert len(topic_name("x" * 400)) == MAX_TOPIC_NAME
    assert topic_name("..") == "-" and topic_name("") == "-"


def test_the_command_lines_reply_topic_is_stable_legal_and_per_user_and_host() -> None:
    name = cli_reply_topic()
    assert name == cli_reply_topic()
    assert name.startswith("a2a-reply-cli-") and LEGAL.fullmatch(name)


# -- deletion at close ----------------------------------------------------------------------------


def topics(broker_settings: dict[str, Any]) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=broker_settings["bootstrap_servers"])
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def gone(broker_settings: dict[str, Any], name: str, within: float = 15.0) -> bool:
    """True once ``name`` is not listed (a deletion may take a moment to be seen)."""
    deadline = time.monotonic() + within
    while name in topics(broker_settings):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.mark.slow
def test_a_client_deletes_the_reply_topic_it_made_when_it_closes(
    serve, connect, broker_settings: dict[str, Any]
) -> None:
    serve(lambda message: "ok")
    client = connect()
    assert client.send_text("x") == "ok"
    assert client.reply_topic in topics(broker_settings)
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 6
    assert gone(broker_settings, client.reply_topic)


@pytest.mark.slow
def test_a_fixed_reply_topic_and_one_told_to_stay_are_kept_at_close(
    serve, connect, broker_settings: dict[str, Any]
) -> None:
    serve(lambda message: "ok")
    fixed = f"a2a-reply-fixed-{uuid.uuid4().hex[:8]}"
    shared = connect(reply_topic=fixed)
    kept = connect(delete_reply_topic_on_close=False)
    assert shared.send_text("x") == kept.send_text("y") == "ok"
    shared.close()
    kept.close()
    time.sleep(1.0)  # time for a deletion, had one been asked
    listed = topics(broker_settings)
    assert fixed in listed and kept.reply_topic in listed
    admin = KafkaAdminClient(bootstrap_servers=broker_settings["bootstrap_servers"])
    try:
        admin.delete_topics([fixed, kept.reply_topic])
    finally:
        admin.close()


@pytest.mark.slow
def test_closing_on_a_dead_broker_is_bounded_and_only_logged(
    caplog: pytest.LogCaptureFixture, collect_garbage: None
) -> None:
    with EmbeddedBroker() as broker:
        client = KafkaClientTransport(**broker.settings(), request_topic="dead-end").open()
        broker.stop()
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync._reply_topics")
    started = time.monotonic()
    client.close(timeout=2.0)  # must not raise
    took = time.monotonic() - started
    assert took < 6, f"close took {took:.1f}s on a dead broker"
    assert f"reply topic {client.reply_topic} not deleted at close" in caplog.text or (
        f"deleting reply topic {client.reply_topic} took over" in caplog.text
    )
