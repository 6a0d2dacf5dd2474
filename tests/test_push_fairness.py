"""Push fairness and limits on a real broker (issue 18, item 5).

One principal's webhooks at an address that never answers must not delay another
principal's push; a task takes at most ``max_push_configs_per_task`` configs; the delivery
queue is capped, and what it drops is counted. The assertions are orders of events (how
many connections the dead target holds when the other push arrives, which deliveries have
ended), and the only bound is one the settings make: a push that waited behind a dead
delivery would arrive after ``push_timeout``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from helpers import BlackHole, Webhook, wait_for

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp, Message, RequestContext, Task
from a2a_kafka_sync.auth import api_key_authenticator
from a2a_kafka_sync.client import push_config
from a2a_kafka_sync.errors import InvalidParamsError

pytestmark = pytest.mark.slow

ALICE = "key-alice-7d1e"
BOB = "key-bob-2c9a"
KEYS = api_key_authenticator({ALICE: "alice", BOB: "bob"})
PUSH_TIMEOUT = 30.0  # a dead delivery cannot end sooner than this, so the bound below holds


def two_turns(message: Message, context: RequestContext) -> str | None:
    """A task that waits for a second message, then completes."""
    task = context.task
    if message.text == "start":
        task.start_work()
        task.requires_input("and then?")
        return None
    return "done"


def _completed(webhook: Webhook, task_id: str) -> bool:
    bodies = [json.loads(r["body"]) for r in webhook.received]
    return any(b["id"] == task_id and b["status"]["state"] == "completed" for b in bodies)


def _task(client: KafkaClientTransport) -> Task:
    task = client.send_text("start")
    assert isinstance(task, Task)
    return task


def test_webhooks_that_never_answer_delay_only_themselves(
    serve: Callable[..., KafkaServerApp],
    connect: Callable[..., KafkaClientTransport],
    webhook: Webhook,
    black_hole: BlackHole,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync.server")
    app = serve(
        two_turns,
        authenticator=KEYS,
        allow_insecure_webhooks=True,
        push_timeout=PUSH_TIMEOUT,
        push_workers=4,
        push_per_target=2,
    )
    alice, bob = connect(credentials=ALICE), connect(credentials=BOB)
    bob_task = _task(bob)
    bob.set_task_callback(push_config(bob_task.id, webhook.url()))
    alice_tasks = [_task(alice) for _ in range(4)]
    for task in alice_tasks:  # 24 webhooks, as in the issue, at an address that never answers
        for i in range(6):
            alice.set_task_callback(push_config(task.id, black_hole.url(f"/{i}"), id=f"h{i}"))
    for task in alice_tasks:
        alice.send_text("go on", task_id=task.id)  # its completion, pushed to its 6 webhooks
    assert wait_for(lambda: black_hole.accepted >= 1)

    bob.send_text("go on", task_id=bob_task.id)

    # Had it waited behind one dead delivery, it would come after push_timeout at the earliest.
    assert wait_for(lambda: _completed(webhook, bob_task.id), PUSH_TIMEOUT)
    assert black_hole.accepted <= 2  # the dead target held at most push_per_target threads
    assert app.metrics.value("push_deliveries", outcome="failed") == 0  # none of them ended
    # counted once the POST's answer is read, a moment after the receiver has the body
    assert wait_for(lambda: app.metrics.value("push_deliveries", outcome="delivered") >= 1)
    # the rest wait their turn (once the lanes' first deliveries have connected)
    assert wait_for(lambda: app.metrics.value("push_queued") + black_hole.accepted == 24)
    queued = app.metrics.value("push_queued")

    # stop() is bounded with deliveries stuck: what waits is dropped, counted and logged
    app.stop(timeout=5)
    assert app.metrics.value("push_dropped", reason="closed") == queued
    assert app.metrics.value("push_deliveries", outcome="failed") == 0  # still stuck
    assert any(f"dropped {int(queued)} queued" in r.getMessage() for r in caplog.records)


def test_a_task_takes_at_most_max_push_configs_per_task(
    serve: Callable[..., KafkaServerApp],
    connect: Callable[..., KafkaClientTransport],
    webhook: Webhook,
) -> None:
    serve(two_turns, allow_insecure_webhooks=True, max_push_configs_per_task=3)
    client = connect()
    task = _task(client)
    for i in range(3):
        client.set_task_callback(push_config(task.id, webhook.url(f"/{i}"), id=f"h{i}"))
    with pytest.raises(InvalidParamsError) as refused:
        client.set_task_callback(push_config(task.id, webhook.url("/3"), id="h3"))
    assert refused.value.code == -32602
    assert "max_push_configs_per_task=3" in refused.value.message
    with pytest.raises(InvalidParamsError):  # no id: stored under the task's id, a new one
        client.set_task_callback(push_config(task.id, webhook.url("/4")))
    replaced = client.set_task_callback(push_config(task.id, webhook.url("/new"), id="h1"))
    assert replaced.push_notification_config.url == webhook.url("/new")  # replacing is allowed
    listed = client.list_task_callbacks(task.id)
    assert sorted(c.push_notification_config.id or "" for c in listed) == ["h0", "h1", "h2"]
    client.delete_task_callback(task.id, "h0")
    client.set_task_callback(push_config(task.id, webhook.url("/3"), id="h3"))  # room again


def test_the_default_cap_is_ten_configs(
    serve: Callable[..., KafkaServerApp],
    connect: Callable[..., KafkaClientTransport],
    webhook: Webhook,
) -> None:
    serve(two_turns, allow_insecure_webhooks=True)
    client = connect()
    task = _task(client)
    for i in range(10):
        client.set_task_callback(push_config(task.id, webhook.url(f"/{i}"), id=f"h{i}"))
    with pytest.raises(InvalidParamsError, match="max_push_configs_per_task=10"):
        client.set_task_callback(push_config(task.id, webhook.url("/10"), id="h10"))
    assert len(client.list_task_callbacks(task.id)) == 10


def test_past_the_queue_cap_deliveries_are_dropped_counted_and_logged(
    serve: Callable[..., KafkaServerApp],
    connect: Callable[..., KafkaClientTransport],
    black_hole: BlackHole,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync.server")
    app = serve(
        two_turns,
        allow_insecure_webhooks=True,
        push_timeout=PUSH_TIMEOUT,
        push_per_target=1,
        max_push_queue_per_target=2,
        max_push_configs_per_task=8,
    )
    client = connect()
    task = _task(client)
    for i in range(8):
        client.set_task_callback(push_config(task.id, black_hole.url(f"/{i}"), id=f"h{i}"))
    client.send_text("go on", task_id=task.id)  # 8 pushes, queued before the reply

    assert wait_for(lambda: black_hole.accepted == 1)  # one runs (and hangs), per_target=1
    dropped = app.metrics.value("push_dropped", reason="target_full")
    queued = app.metrics.value("push_queued")
    assert queued <= 2 and dropped >= 5
    assert dropped + queued + 1 == 8  # nothing else lost, nothing else queued
    lines = [r for r in caplog.records if "dropped (" in r.getMessage()]
    assert len(lines) == dropped and all(task.id in r.getMessage() for r in lines)


def test_push_limits_are_settings_of_the_server_and_validated(
    broker_settings: dict[str, Any],
) -> None:
    limits = {
        "push_workers": 3,
        "push_per_target": 1,
        "push_timeout": 0.5,
        "max_push_configs_per_task": 4,
        "max_push_queue": 50,
        "max_push_queue_per_target": 5,
    }
    app = KafkaServerApp(two_turns, request_topic="t", **broker_settings, **limits)
    assert {name: getattr(app.config, name) for name in limits} == limits
    for name in limits:
        with pytest.raises(ValueError, match=name):
            KafkaServerApp(two_turns, request_topic="t", **broker_settings, **{name: 0})
