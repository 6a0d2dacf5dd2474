"""The command line's reply topic: one per user and host, shared, so calls leave no topic behind."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient
from test_cli import CALL_TIMEOUT, cli, cli_env, command, echo, words

from a2a_kafka_sync import KafkaServerApp
from a2a_kafka_sync._reply_topics import cli_reply_topic

pytestmark = pytest.mark.slow

SENDS = 20
"""CLI calls the test makes; 100 were measured by hand (docs/operations.md)."""
AT_ONCE = 4
"""CLI processes running at the same time, on the same reply topic."""


@pytest.fixture
def args(broker_settings: dict[str, Any], topic: str) -> list[str]:
    """The options that point the CLI at the test broker and the test's agent."""
    options = [
        "--bootstrap-servers",
        broker_settings["bootstrap_servers"],
        "--request-topic",
        topic,
    ]
    if broker_settings.get("profile"):
        options += ["--profile", broker_settings["profile"]]
    return options


@pytest.fixture
def admin(broker_settings: dict[str, Any]) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=broker_settings["bootstrap_servers"])
    yield client
    client.close()


def run_together(calls: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Run the CLI with each argument list, all at once; their results, in order."""
    started = [
        subprocess.Popen(
            command(*call),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=cli_env(),
        )
        for call in calls
    ]
    results = []
    for process, call in zip(started, calls, strict=True):
        out, err = process.communicate(timeout=CALL_TIMEOUT)
        results.append(subprocess.CompletedProcess(call, process.returncode, out, err))
    return results


def test_many_cli_calls_leave_at_most_one_new_topic_and_each_gets_its_own_reply(
    serve: Callable[..., KafkaServerApp], args: list[str], admin: KafkaAdminClient
) -> None:
    serve(echo)
    before = set(admin.list_topics())
    for first in range(0, SENDS, AT_ONCE):
        texts = [f"call-{n}" for n in range(first, min(first + AT_ONCE, SENDS))]
        for text, result in zip(
            texts, run_together([["send", t, *args] for t in texts]), strict=True
        ):
            assert (result.returncode, result.stdout, result.stderr) == (0, f"echo: {text}\n", "")
    new = set(admin.list_topics()) - before
    assert len(new) <= 1, sorted(new)
    assert new <= {cli_reply_topic()}
    assert cli_reply_topic() in admin.list_topics()


def test_stream_uses_the_same_reply_topic(
    serve: Callable[..., KafkaServerApp], args: list[str], admin: KafkaAdminClient
) -> None:
    serve(words)
    assert cli("send", "warm up", *args).returncode in (0, 1)  # the shared topic exists now
    before = set(admin.list_topics())
    results = run_together([["stream", "one two three", *args]] * 2)
    for result in results:
        assert (result.returncode, result.stderr) == (0, ""), result
        lines = result.stdout.splitlines()  # a generator's stream is a task's: its states too
        task = lines[0].split(":")[0]
        assert lines == [
            f"{task}: submitted",
            f"{task}: working",
            "one",
            "two",
            "three",
            f"{task}: completed",
        ], result.stdout
    assert set(admin.list_topics()) == before


def test_a_call_reads_the_shared_topic_from_its_end_not_what_was_there_before(
    serve: Callable[..., KafkaServerApp],
    args: list[str],
    broker_settings: dict[str, Any],
) -> None:
    serve(echo)
    shared = f"a2a-reply-cli-test-{uuid.uuid4().hex[:8]}"
    assert cli("send", "first", "--reply-topic", shared, *args).stdout == "echo: first\n"
    # Records a reader starting at the beginning would trip on: a warning on stderr each.
    producer = KafkaProducer(bootstrap_servers=broker_settings["bootstrap_servers"])
    for n in range(5):  # a batch each: Tansu puts a topic's end after the last batch's first
        record = producer.send(shared, b"{}", headers=[("not_a_reply", str(n).encode())])
        record.get(timeout=10)
    producer.close()
    result = cli("send", "second", "--reply-topic", shared, *args)
    assert (result.returncode, result.stdout, result.stderr) == (0, "echo: second\n", "")
    verbose = cli("send", "third", "--reply-topic", shared, "-v", *args)
    assert verbose.returncode == 0 and "without correlation_id" not in verbose.stderr


def test_the_reply_topic_is_chosen_by_option_or_environment(
    serve: Callable[..., KafkaServerApp],
    args: list[str],
    admin: KafkaAdminClient,
    broker_settings: dict[str, Any],
) -> None:
    serve(echo)
    by_option, by_env = (f"a2a-reply-cli-test-{uuid.uuid4().hex[:8]}" for _ in "oe")
    result = cli("send", "hi", "--reply-topic", by_option, *args)
    assert (result.returncode, result.stdout) == (0, "echo: hi\n"), result.stderr
    env = cli_env(A2A_KAFKA_REPLY_TOPIC=by_env)
    result = cli("send", "ho", *args, env=env)
    assert (result.returncode, result.stdout) == (0, "echo: ho\n"), result.stderr
    listed = set(admin.list_topics())
    assert {by_option, by_env} <= listed
    admin.delete_topics([by_option, by_env])
