"""The task stores: one contract for all three, then what only SQLite or Kafka promises.

The Kafka store runs against the session's real broker, on a topic of each test's own.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import RawKafka, library_threads, wait_for

from a2a_kafka_sync import ClientClosedError, ConfigurationError, KafkaOperationError
from a2a_kafka_sync.server.push_versions import config_version, remember_version
from a2a_kafka_sync.server.tasks import (
    InMemoryTaskStore,
    KafkaTaskStore,
    KafkaTaskStoreConfig,
    SQLiteTaskStore,
    TaskStore,
)
from a2a_kafka_sync.server.tasks import topic_follower as topic_follower_module
from a2a_kafka_sync.testing import EmbeddedBroker
from a2a_kafka_sync.types import Message, PushNotificationConfig, Task, TaskState, TaskStatus

READER = "a2a-kafka-task-store-reader"


def make_task(task_id: str, context_id: str = "ctx", state: str = "working") -> Task:
    return Task(
        id=task_id,
        context_id=context_id,
        status=TaskStatus(state=TaskState(state)),
        history=[Message.user_text(f"hello {task_id}")],
        metadata={"n": 1},
    )


def push(url: str, config_id: str | None = None) -> PushNotificationConfig:
    return PushNotificationConfig(url=url, id=config_id, token="secret")


@pytest.fixture
def task_topic() -> str:
    return f"test-tasks-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def open_kafka_store(
    request: pytest.FixtureRequest, task_topic: str, collect_garbage: None
) -> Iterator[Callable[..., KafkaTaskStore]]:
    """Start KafkaTaskStores on the test's topic (the real broker); all closed after the test."""
    stores: list[KafkaTaskStore] = []

    def open_store(**settings: Any) -> KafkaTaskStore:
        broker = request.getfixturevalue("broker_settings")
        store = KafkaTaskStore(**{**broker, "topic": task_topic, **settings})
        stores.append(store)
        store.start()
        return store

    yield open_store
    for store in stores:
        store.close()


@pytest.fixture(params=["memory", "sqlite", "kafka"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, open_kafka_store: Callable[..., KafkaTaskStore]
) -> Iterator[TaskStore]:
    if request.param == "kafka":
        yield open_kafka_store()
        return
    opened = (
        InMemoryTaskStore() if request.param == "memory" else SQLiteTaskStore(tmp_path / "t.db")
    )
    opened.start()
    yield opened
    opened.close()


# -- the contract --------------------------------------------------------------------------------


def test_get_returns_copies_of_the_saved_task(store: TaskStore) -> None:
    task = make_task("t-1")
    store.save(task)

    first = store.get("t-1")
    assert first == task and first is not task
    assert first is not None and first.metadata is not None and first.history is not None
    first.metadata["n"] = 2
    first.history.append(Message.user_text("changed"))
    first.status.state = TaskState.failed

    assert store.get("t-1") == task
    assert store.get("absent") is None


def test_save_replaces_the_task_with_the_same_id(store: TaskStore) -> None:
    store.save(make_task("t-1", state="working"))
    store.save(make_task("t-1", state="completed"))

    got = store.get("t-1")
    assert got is not None and got.status.state is TaskState.completed
    assert [t.id for t in store.list_tasks()] == ["t-1"]


def test_delete_forgets_the_task_and_its_push_configs(store: TaskStore) -> None:
    store.save(make_task("t-1"))
    store.save(make_task("t-2"))
    store.set_push_config("t-1", push("http://a"))

    store.delete("t-1")

    assert store.get("t-1") is None
    assert store.get_push_configs("t-1") == []
    assert [t.id for t in store.list_tasks()] == ["t-2"]
    store.delete("t-1")  # absent: no error
    store.delete("never-saved")
    assert store.get("t-2") is not None


def test_list_tasks_by_context_in_last_saved_order(store: TaskStore) -> None:
    for task_id, context in [("a", "c1"), ("b", "c2"), ("c", "c1"), ("d", "c2")]:
        store.save(make_task(task_id, context))
    store.save(make_task("a", "c1", state="completed"))  # re-saved: now the newest
    store.set_push_config("b", push("http://b"))  # a push config change does not reorder

    assert [t.id for t in store.list_tasks()] == ["b", "c", "d", "a"]
    assert [t.id for t in store.list_tasks("c1")] == ["c", "a"]
    assert [t.id for t in store.list_tasks("c2")] == ["b", "d"]
    assert store.list_tasks("nobody") == []


def test_push_configs_set_get_replace_and_delete(store: TaskStore) -> None:
    store.save(make_task("t-1"))
    named = store.set_push_config("t-1", push("http://one", "one"))
    default = store.set_push_config("t-1", push("http://default"))

    assert named.id == "one" and default.id == "t-1"  # no id: stored under the task id
    assert [(c.id, c.url) for c in store.get_push_configs("t-1")] == [
        ("one", "http://one"),
        ("t-1", "http://default"),
    ]

    store.set_push_config("t-1", push("http://one-again", "one"))
    assert [(c.id, c.url) for c in store.get_push_configs("t-1")] == [
        ("one", "http://one-again"),
        ("t-1", "http://default"),
    ]
    assert store.get_push_configs("t-1")[0].token == "secret"

    assert store.delete_push_config("t-1", "one") is True
    assert store.delete_push_config("t-1", "one") is False
    assert store.delete_push_config("absent", "one") is False
    assert [c.id for c in store.get_push_configs("t-1")] == ["t-1"]
    assert store.get_push_configs("absent") == []


def test_push_configs_survive_saves_and_need_no_task(store: TaskStore) -> None:
    store.set_push_config("later", push("http://early", "early"))
    assert [c.url for c in store.get_push_configs("later")] == ["http://early"]
    assert store.get("later") is None and store.list_tasks() == []

    store.save(make_task("later"))
    store.save(make_task("later", state="completed"))
    assert [c.url for c in store.get_push_configs("later")] == ["http://early"]

    assert store.delete_push_config("later", "early") is True
    assert store.get_push_configs("later") == []
    assert store.get("later") is not None


def test_a_push_config_keeps_the_a2a_version_that_set_it(store: TaskStore) -> None:
    store.set_push_config("t-v", remember_version(push("https://a.example/hook", "v1"), "1.0"))
    store.set_push_config("t-v", remember_version(push("https://b.example/hook", "v03"), "0.3"))
    store.set_push_config("t-v", push("https://c.example/hook", "before"))  # stored before
    versions = {c.id: config_version(c) for c in store.get_push_configs("t-v")}
    assert versions == {"v1": "1.0", "v03": "0.3", "before": "0.3"}


def test_stored_push_config_versions_survive_a_restart(
    tmp_path: Path, open_kafka_store: Callable[..., KafkaTaskStore]
) -> None:
    config = remember_version(push("https://a.example/hook", "v1"), "1.0")
    first = SQLiteTaskStore(tmp_path / "t.db")
    first.start()
    first.set_push_config("t-v", config)
    first.close()
    reopened = SQLiteTaskStore(tmp_path / "t.db")
    reopened.start()
    try:
        assert [config_version(c) for c in reopened.get_push_configs("t-v")] == ["1.0"]
    finally:
        reopened.close()
    open_kafka_store().set_push_config("t-v", config)
    restarted = open_kafka_store()  # a new instance: its view is read from the topic
    assert [config_version(c) for c in restarted.get_push_configs("t-v")] == ["1.0"]


def test_concurrent_saves_and_push_configs_from_16_threads(store: TaskStore) -> None:
    threads_n, per_thread = 16, 5
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []
    store.save(make_task("shared"))

    def work(n: int) -> None:
        try:
            start.wait(30)
            for i in range(per_thread):
                store.save(make_task(f"t-{n}-{i}", context_id=f"c-{n}"))
                store.save(make_task("shared", state="working"))
            store.set_push_config("shared", push(f"http://{n}", f"cfg-{n}"))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)

    assert not errors, errors
    assert not any(w.is_alive() for w in workers)
    assert len(store.list_tasks()) == threads_n * per_thread + 1
    for n in range(threads_n):
        assert [t.id for t in store.list_tasks(f"c-{n}")] == [f"t-{n}-{i}" for i in range(5)]
    # every read-modify-write of the shared task's configs kept the others' configs
    ids = sorted(c.id or "" for c in store.get_push_configs("shared"))
    assert ids == sorted(f"cfg-{n}" for n in range(threads_n))


# -- SQLite ----------------------------------------------------------------------------------------


def test_sqlite_store_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    first = SQLiteTaskStore(path)
    first.start()
    for task_id in ["a", "b", "c"]:
        first.save(make_task(task_id))
    first.save(make_task("a", state="completed"))
    first.set_push_config("b", push("http://b"))
    first.delete("c")
    first.close()
    with pytest.raises(ClientClosedError):
        first.get("a")

    second = SQLiteTaskStore(str(path))
    second.start()
    try:
        assert [t.id for t in second.list_tasks()] == ["b", "a"]
        got = second.get("a")
        assert got is not None and got.status.state is TaskState.completed
        assert [c.url for c in second.get_push_configs("b")] == ["http://b"]
        second.save(make_task("d"))
        assert [t.id for t in second.list_tasks()] == ["b", "a", "d"]
    finally:
        second.close()


# -- Kafka -----------------------------------------------------------------------------------------


def test_kafka_store_config_is_validated() -> None:
    config = KafkaTaskStoreConfig(topic="tasks", read_timeout=2)
    store = KafkaTaskStore(config=config)
    assert store.config.topic == "tasks" and store.config.topic_partitions == 1
    assert KafkaTaskStore("h:1", "t", request_timeout_ms=500).config.kafka == {
        "request_timeout_ms": 500
    }
    with pytest.raises(TypeError):
        KafkaTaskStore(config=config, topic="other")
    with pytest.raises(ConfigurationError):
        KafkaTaskStore(read_timeout=0)
    with pytest.raises(ConfigurationError):
        KafkaTaskStore(not_a_kafka_setting=1)
    with pytest.raises(ClientClosedError):
        store.get("t-1")  # not started


def test_the_topic_is_created_compacted(
    open_kafka_store: Callable[..., KafkaTaskStore],
    task_topic: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[dict[str, tuple[int, dict[str, str]]]] = []
    real = topic_follower_module.ensure_topics  # where the store's topic is created

    def spy(config: Any, topics: dict[str, tuple[int, dict[str, str]]], **access: Any) -> list[str]:
        asked.append(topics)
        return real(config, topics, **access)

    monkeypatch.setattr(topic_follower_module, "ensure_topics", spy)
    open_kafka_store(topic_partitions=2).save(make_task("t-1"))

    assert asked == [{task_topic: (2, {"cleanup.policy": "compact"})}]


def test_a_second_instance_reads_the_first_ones_writes_at_once(
    open_kafka_store: Callable[..., KafkaTaskStore],
) -> None:
    first, second = open_kafka_store(), open_kafka_store()
    states = ["submitted", "working", "input-required", "working", "completed"]
    for round_n in range(4):
        for state in states:
            task = make_task(f"t-{round_n}", state=state)
            first.save(task)
            assert second.get(task.id) == task  # no waiting: the read catches up first
        second.set_push_config(f"t-{round_n}", push(f"http://{round_n}"))
        assert [c.url for c in first.get_push_configs(f"t-{round_n}")] == [f"http://{round_n}"]
    assert [t.id for t in second.list_tasks()] == ["t-0", "t-1", "t-2", "t-3"]

    second.delete("t-2")
    assert first.get("t-2") is None
    assert [t.id for t in first.list_tasks()] == ["t-0", "t-1", "t-3"]
    # a save on the first instance keeps the config the second one set
    first.save(make_task("t-3", state="failed"))
    assert [c.url for c in second.get_push_configs("t-3")] == ["http://3"]


def test_a_late_local_update_never_overwrites_a_newer_record(
    open_kafka_store: Callable[..., KafkaTaskStore],
) -> None:
    # A writer applies its own record after the broker's ack; by then the reader may have
    # applied a later record for the same task. The record's offset decides, not the timing.
    store = open_kafka_store()
    store.save(make_task("t-1", state="working"))
    newer, older = make_task("t-1", state="completed"), make_task("t-1", state="failed")
    store._apply("t-1", (newer, [push("http://new")], True, None), 0, 1001, 0)
    store._apply("t-1", (older, [], True, None), 0, 1000, 0)
    store._apply("t-1", None, 0, 999, 0)

    got = store._tasks["t-1"]
    assert got.status.state is TaskState.completed
    assert [c.url for c in store._push["t-1"].values()] == ["http://new"]


def test_a_restarted_instance_rebuilds_the_view_from_the_topic(
    open_kafka_store: Callable[..., KafkaTaskStore],
) -> None:
    first = open_kafka_store()
    for task_id, context in [("a", "c1"), ("b", "c2"), ("c", "c1")]:
        first.save(make_task(task_id, context))
    completed = make_task("a", "c1", state="completed")
    first.save(completed)
    first.set_push_config("b", push("http://b", "hook"))
    first.set_push_config("b", push("http://b2", "hook"))
    first.set_push_config("orphan", push("http://o"))
    first.delete("c")
    first.close()

    restarted = open_kafka_store()

    assert [t.id for t in restarted.list_tasks()] == ["b", "a"]
    assert [t.id for t in restarted.list_tasks("c1")] == ["a"]
    assert restarted.get("a") == completed
    assert restarted.get("c") is None
    assert [(c.id, c.url) for c in restarted.get_push_configs("b")] == [("hook", "http://b2")]
    assert [c.id for c in restarted.get_push_configs("orphan")] == ["orphan"]


def test_a_tombstone_on_the_topic_deletes_the_task(
    open_kafka_store: Callable[..., KafkaTaskStore],
    broker_settings: dict[str, Any],
    task_topic: str,
) -> None:
    store = open_kafka_store()
    store.save(make_task("t-1"))
    store.save(make_task("t-2"))
    store.set_push_config("t-1", push("http://a"))

    raw = RawKafka(broker_settings["bootstrap_servers"])
    try:
        raw.send(task_topic, None, [], key=b"t-1")
    finally:
        raw.close()

    assert store.get("t-1") is None
    assert store.get_push_configs("t-1") == []
    assert [t.id for t in open_kafka_store().list_tasks()] == ["t-2"]


def test_undecodable_records_are_skipped_and_the_reader_keeps_going(
    open_kafka_store: Callable[..., KafkaTaskStore],
    broker_settings: dict[str, Any],
    task_topic: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    store, good = open_kafka_store(), make_task("good")
    store.save(good)
    raw = RawKafka(broker_settings["bootstrap_servers"])
    try:
        raw.send(task_topic, b"\x00not json", [], key=b"good")
        raw.send(task_topic, b"[1, 2]", [], key=b"list")
        raw.send(task_topic, b'{"task": {"id": "other"}}', [], key=b"bad-task")
        raw.send(task_topic, b'{"task": ' + make_task("x").to_json() + b"}", [], key=b"y")
        raw.send(task_topic, b"{}", [], key=b"\xff\xfe")
    finally:
        raw.close()

    assert store.get("good") == good  # the garbage under its key changed nothing
    assert store.get("y") is None and store.get("x") is None
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 5 and all(r.levelno == logging.WARNING for r in skipped)

    store.save(make_task("after"))
    assert [t.id for t in open_kafka_store().list_tasks()] == ["good", "after"]
    assert READER in library_threads()


@pytest.mark.only_on(
    "tansu", reason="Apache Kafka refuses a keyless record on a compacted topic (InvalidRecord)"
)
def test_a_keyless_record_is_skipped_and_the_reader_keeps_going(
    open_kafka_store: Callable[..., KafkaTaskStore],
    broker_settings: dict[str, Any],
    task_topic: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    store = open_kafka_store()
    store.save(make_task("before"))
    raw = RawKafka(broker_settings["bootstrap_servers"])
    try:
        raw.send(task_topic, b"{}", [], key=None)
    finally:
        raw.close()
    store.save(make_task("after"))
    assert [t.id for t in open_kafka_store().list_tasks()] == ["before", "after"]
    # Each store's reader skips it (the second one certainly: it caught up to list).
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert skipped and all(r.levelno == logging.WARNING for r in skipped)
    assert all("has no key" in r.getMessage() for r in skipped)


def test_close_stops_every_thread_the_store_started(
    open_kafka_store: Callable[..., KafkaTaskStore],
) -> None:
    before = set(threading.enumerate())
    store = open_kafka_store()
    store.save(make_task("t-1"))
    started = [
        t
        for t in threading.enumerate()
        if t not in before and t.name.startswith(("a2a-kafka", "kafka-"))
    ]
    assert READER in [t.name for t in started]
    assert any(t.name.startswith("kafka-") for t in started)

    store.close()
    store.close()  # idempotent

    assert wait_for(lambda: not any(t.is_alive() for t in started)), started
    assert READER not in library_threads()
    with pytest.raises(ClientClosedError):
        store.get("t-1")
    with pytest.raises(ClientClosedError):
        store.save(make_task("t-2"))


def test_a_read_the_reader_cannot_catch_up_with_raises_kafka_operation_error(
    open_kafka_store: Callable[..., KafkaTaskStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck, writer = open_kafka_store(read_timeout=0.5), open_kafka_store()
    gate, apply = threading.Event(), stuck._apply

    def held_apply(*args: Any) -> None:  # the reader thread (only) waits for the gate
        if threading.current_thread().name == READER:
            gate.wait(30)
        apply(*args)

    monkeypatch.setattr(stuck, "_apply", held_apply)
    own, task = make_task("own"), make_task("t-1")
    try:
        stuck.save(own)
        assert stuck.get("own") == own  # its own writes count as read: no need of the reader
        writer.save(task)
        with pytest.raises(KafkaOperationError, match="did not catch up"):
            stuck.get("t-1")
    finally:
        gate.set()
    assert stuck.get("t-1") == task  # the reader moved on: the view catches up again


def test_a_read_without_a_broker_raises_kafka_operation_error(collect_garbage: None) -> None:
    before = set(threading.enumerate())
    with EmbeddedBroker() as broker:
        store = KafkaTaskStore(**broker.settings(), topic="tasks", read_timeout=1.0)
        store.start()
        try:
            store.save(make_task("t-1"))
            broker.kill()
            with pytest.raises(KafkaOperationError):
                store.get("t-1")
        finally:
            store.close(timeout=5)
    left = [t for t in threading.enumerate() if t not in before and t.name == READER]
    assert wait_for(lambda: not any(t.is_alive() for t in left)), left


def test_owners_are_kept_beside_the_task_and_go_with_delete(store: TaskStore) -> None:
    store.set_owner("t-1", "alice")
    store.save(make_task("t-1"))
    store.save(make_task("t-2"))
    store.set_push_config("t-1", push("http://hook"))  # a config change keeps the owner
    assert store.records_owners
    assert (store.get("t-1") is not None, store.get_owner("t-1")) == (True, "alice")
    assert store.get_owner("t-2") is None
    assert "alice" not in store.get("t-1").to_json().decode()  # not inside the A2A task
    assert [t.id for t in store.list_visible("alice")] == ["t-1", "t-2"]
    assert [t.id for t in store.list_visible("bob")] == ["t-2"]
    assert [t.id for t in store.list_visible(None)] == ["t-2"]
    store.delete("t-1")
    assert store.get("t-1") is None and store.get_owner("t-1") is None


def test_a_kafka_store_reads_the_owners_back_after_a_restart(
    open_kafka_store: Callable[..., KafkaTaskStore],
) -> None:
    first = open_kafka_store()
    first.set_owner("t-1", "alice")
    first.save(make_task("t-1"))
    first.set_push_config("t-1", push("http://hook"))
    first.close()
    again = open_kafka_store()
    assert again.get("t-1") is not None and again.get_owner("t-1") == "alice"
    assert [t.id for t in again.list_visible("bob")] == []
