"""A task store on a compacted Kafka topic, shared by every server instance of an agent.

A record's key is the task id (UTF-8); its value is the id's whole state, UTF-8 JSON::

    {"task": {...},                     the A2A Task (camelCase); absent when only configs exist
     "pushNotificationConfigs": [...],  the task's push configs, each with its "id"
     "change": "save",                  "save": the task was (re)saved; "push": only its configs
                                        changed (the task keeps its place in list_tasks)
     "owner": "alice"}                  the principal that created the task; absent: nobody's

A null value (tombstone) deletes the task and its configs. Each instance reads the
topic from its start on one thread and keeps the latest value per key itself (the
embedded broker never compacts). Writes wait for the broker's acknowledgement.
Reads (and the read-modify-writes) first take the topic's end offsets and, unless
the view is there already, hand them as a barrier to the reader thread and wait
until it has read that far: a read sees every write acknowledged before it began,
by any instance. The end offsets come from a second consumer that never fetches:
asked on the reader's own connection, ListOffsets waits behind the pending fetch
(up to fetch_max_wait_ms). When two instances change one task at the same moment,
the later record wins whole.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import Field

from ..._kafka import build_consumer, build_producer, ensure_topics, translate_kafka_errors
from ...config import _CommonConfig, config_from
from ...errors import ClientClosedError, KafkaOperationError
from ...types import PushNotificationConfig, Task
from .store import TaskStore

__all__ = ["KafkaTaskStore", "KafkaTaskStoreConfig"]

logger = logging.getLogger(__name__)

POLL_TIMEOUT_MS = 100
"""How long one poll of the reader waits; also the longest close() waits for it to notice."""

_STRIPES = 64
# task, configs, saved, owner
_Snapshot = tuple[Task | None, list[PushNotificationConfig], bool, str | None]
_Barrier = tuple[dict[TopicPartition, int], float, threading.Event]  # end offsets, deadline


class KafkaTaskStoreConfig(_CommonConfig):
    """Settings of a :class:`KafkaTaskStore`: the common connection settings, and these."""

    topic: str = Field(
        default="a2a-tasks", min_length=1, description="Compacted topic of the task snapshots."
    )
    topic_partitions: int = Field(
        default=1,
        ge=1,
        description="Partitions of the task topic when the store creates it; with one, "
        "list_tasks order is the topic's order on every instance.",
    )
    read_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a write waits for the broker's acknowledgement, and a read for "
        "the local view to catch up with the topic, before KafkaOperationError.",
    )


def _encode(
    task: Task | None, configs: list[PushNotificationConfig], saved: bool, owner: str | None
) -> bytes:
    value: dict[str, Any] = {"pushNotificationConfigs": [c.to_wire() for c in configs]}
    if task is not None:
        value["task"] = task.to_wire()
    value["change"] = "save" if saved else "push"
    if owner is not None:
        value["owner"] = owner
    return json.dumps(value, separators=(",", ":")).encode()


def _decode(key: bytes | None, value: bytes | None) -> tuple[str, _Snapshot | None]:
    if key is None:
        raise ValueError("the record has no key")
    task_id = key.decode("utf-8")
    if value is None:
        return task_id, None
    data = json.loads(value.decode("utf-8"))
    task = Task.from_wire(data["task"]) if data.get("task") is not None else None
    if task is not None and task.id != task_id:
        raise ValueError(f"it holds task {task.id!r} under the key {task_id!r}")
    wire_configs = data.get("pushNotificationConfigs") or []
    configs = [PushNotificationConfig.from_wire(c) for c in wire_configs]
    owner = data.get("owner")
    owner = owner if isinstance(owner, str) and owner else None
    return task_id, (task, configs, data.get("change", "save") == "save", owner)


class KafkaTaskStore(TaskStore):
    """Tasks on a compacted Kafka topic, so any server instance answers for any task.

    :meth:`start` rebuilds the view from the topic (after restarts too) before it
    returns. Pass either ``config`` or settings: :class:`KafkaTaskStoreConfig`
    fields, and kafka-python settings for any other key, as for the client.
    """

    shared = True

    def __init__(
        self,
        bootstrap_servers: str | list[str] | None = None,
        topic: str | None = None,
        *,
        config: KafkaTaskStoreConfig | None = None,
        **settings: Any,
    ) -> None:
        explicit = {"bootstrap_servers": bootstrap_servers, "topic": topic}
        self.config: KafkaTaskStoreConfig = config_from(
            KafkaTaskStoreConfig, config, explicit, settings
        )
        self._lock = threading.Lock()  # the view, the barriers and the state below
        self._tasks: dict[str, Task] = {}
        self._order: dict[str, tuple[int, int, int]] = {}  # task id -> where it was last saved
        self._push: dict[str, dict[str, PushNotificationConfig]] = {}
        self._owners: dict[str, str] = {}  # task id -> owner, carried by every record
        self._offsets: dict[str, int] = {}  # task id -> offset of the record its state is from
        self._barriers: list[_Barrier] = []
        self._positions: dict[TopicPartition, int] = {}  # how far the reader has applied
        self._applied: set[tuple[int, int]] = set()  # (partition, offset) applied past those
        self._started = self._closed = self._reader_done = False
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]  # one writer per task id
        self._stop = threading.Event()
        self._producer: KafkaProducer | None = None
        self._consumer: Any = None  # a KafkaConsumer, the reader thread's alone once started
        self._ends: Any = None  # a KafkaConsumer that only asks end offsets, under its lock
        self._ends_lock = threading.Lock()
        self._partitions: list[TopicPartition] = []
        self._thread = threading.Thread(
            target=self._run, name="a2a-kafka-task-store-reader", daemon=True
        )

    def start(self) -> None:
        """Connect, create the topic if missing, start the reader and load the view. Idempotent."""
        config = self.config
        with self._lock:
            if self._closed:
                raise self._not_open()
            if self._started:
                return
            with contextlib.ExitStack() as undo:  # closes what was opened when a step fails
                extra = {} if "max_block_ms" in config.kafka else {"max_block_ms": 10_000}
                producer = build_producer(config, **extra)  # first: see build_consumer
                undo.callback(producer.close, timeout=1.0)
                if config.create_topics:
                    compact = {"cleanup.policy": "compact"}
                    ensure_topics(config, {config.topic: (config.topic_partitions, compact)})
                consumers = [build_consumer(config, group_id=None, enable_auto_commit=False)]
                undo.callback(consumers[0].close, autocommit=False, timeout_ms=1000)
                consumers.append(build_consumer(config, group_id=None, enable_auto_commit=False))
                undo.callback(consumers[1].close, autocommit=False, timeout_ms=1000)
                consumer = consumers[0]
                with translate_kafka_errors("assigning the task topic", topic=config.topic):
                    partitions = sorted(consumer.partitions_for_topic(config.topic) or ())
                    if not partitions:
                        raise KafkaOperationError("no such topic", topic=config.topic)
                    self._partitions = [TopicPartition(config.topic, p) for p in partitions]
                    consumer.assign(self._partitions)
                    consumer.seek_to_beginning(*self._partitions)
                undo.pop_all()
            self._producer, self._consumer, self._ends = producer, consumer, consumers[1]
            self._started = True
            self._thread.start()
        try:
            self._catch_up()
        except BaseException:
            self.close()
            raise

    def close(self, timeout: float = 5.0) -> None:
        """Stop the reader (waiting up to ``timeout`` s) and close the producer. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the task store reader did not stop within %ss", timeout)
        if self._producer is not None:
            self._producer.close(timeout=timeout)
        if self._ends is not None:
            locked = self._ends_lock.acquire(timeout=timeout)
            try:
                self._ends.close(autocommit=False, timeout_ms=1000)
            finally:
                if locked:
                    self._ends_lock.release()

    def save(self, task: Task) -> None:
        """Write the task's snapshot (with its current push configs); wait for the broker."""
        task = task.model_copy(deep=True)
        self._catch_up()
        with self._stripes[hash(task.id) % _STRIPES]:
            with self._lock:
                configs = list(self._push.get(task.id, {}).values())
                owner = self._owners.get(task.id)
            self._write(task.id, (task, configs, True, owner))

    def get(self, task_id: str) -> Task | None:
        """A copy of the task as of the latest acknowledged write, or None."""
        self._catch_up()
        with self._lock:
            task = self._tasks.get(task_id)
            return task.model_copy(deep=True) if task is not None else None

    def delete(self, task_id: str) -> None:
        """Write a tombstone (the task and its push configs go); wait for the broker."""
        with self._stripes[hash(task_id) % _STRIPES]:
            self._write(task_id, None)

    def set_owner(self, task_id: str, owner: str) -> None:
        """Write the task's owner (kept in every later record of the task); wait for the broker."""
        self._catch_up()
        with self._stripes[hash(task_id) % _STRIPES]:
            with self._lock:
                task = self._tasks.get(task_id)
                configs = list(self._push.get(task_id, {}).values())
            self._write(task_id, (task, configs, False, owner))

    def get_owner(self, task_id: str) -> str | None:
        """The task's owner as of the latest read: call it after :meth:`get` (an owner is
        written before the task's first save, so a task read is never newer than its owner)."""
        with self._lock:
            return self._owners.get(task_id)

    def list_tasks(self, context_id: str | None = None) -> list[Task]:
        """Copies of every task, or of one context's, in the order they were last saved."""
        self._catch_up()
        with self._lock:
            tasks = [self._tasks[i] for i in sorted(self._tasks, key=self._order.__getitem__)]
            return [t.model_copy(deep=True) for t in tasks if context_id in (None, t.context_id)]

    def set_push_config(
        self, task_id: str, config: PushNotificationConfig
    ) -> PushNotificationConfig:
        """Add or replace a config (its id defaults to the task id); write the snapshot."""
        config = self.with_config_id(task_id, config)
        self._change_configs(task_id, put=config)
        return config.model_copy(deep=True)

    def get_push_configs(self, task_id: str) -> list[PushNotificationConfig]:
        """Copies of the task's push configs, as of the latest acknowledged write."""
        self._catch_up()
        with self._lock:
            return [c.model_copy(deep=True) for c in self._push.get(task_id, {}).values()]

    def delete_push_config(self, task_id: str, config_id: str) -> bool:
        """Remove one push config and write the snapshot; False (nothing written) when absent."""
        return self._change_configs(task_id, remove=config_id)

    def _change_configs(
        self, task_id: str, *, put: PushNotificationConfig | None = None, remove: str = ""
    ) -> bool:
        """Read-modify-write of one task's configs; False when ``remove`` names none."""
        self._catch_up()
        with self._stripes[hash(task_id) % _STRIPES]:
            with self._lock:
                task = self._tasks.get(task_id)
                configs = dict(self._push.get(task_id, {}))
                owner = self._owners.get(task_id)
            if put is not None:
                configs[put.id or task_id] = put
            elif configs.pop(remove, None) is None:
                return False
            empty = task is None and not configs and owner is None
            self._write(task_id, None if empty else (task, list(configs.values()), False, owner))
        return True

    def _write(self, task_id: str, snapshot: _Snapshot | None) -> None:
        if self._producer is None or self._closed:
            raise self._not_open()
        value = _encode(*snapshot) if snapshot is not None else None
        with translate_kafka_errors(f"writing task {task_id!r}", topic=self.config.topic):
            future = self._producer.send(self.config.topic, key=task_id.encode(), value=value)
            meta = future.get(timeout=self.config.read_timeout)
        self._apply(task_id, snapshot, meta.partition, meta.offset, meta.timestamp)

    def _not_open(self) -> ClientClosedError:
        why = "closed" if self._closed else "not started: call start() first"
        return ClientClosedError(f"the task store is {why}", topic=self.config.topic)

    def _apply(self, task_id: str, snap: _Snapshot | None, part: int, offset: int, ts: int) -> None:
        """Make ``snap`` the state of ``task_id``, unless a later record already did."""
        with self._lock:
            self._applied.add((part, offset))
            if offset <= self._offsets.get(task_id, -1):
                return
            self._offsets[task_id] = offset
            task, configs, saved, owner = snap or (None, [], False, None)
            if snap is None:
                self._owners.pop(task_id, None)
            elif owner is not None:
                self._owners[task_id] = owner
            if task is None:
                self._tasks.pop(task_id, None)
                self._order.pop(task_id, None)
            else:
                if saved or task_id not in self._order:
                    multi = len(self._partitions) > 1
                    self._order[task_id] = (ts, part, offset) if multi else (0, 0, offset)
                self._tasks[task_id] = task
            if configs:
                self._push[task_id] = {c.id or task_id: c for c in configs}
            else:
                self._push.pop(task_id, None)

    def _catch_up(self) -> None:
        """Block until the reader has applied every record that existed when this was called."""
        if not self._started or self._closed:
            raise self._not_open()
        topic, timeout = self.config.topic, self.config.read_timeout
        with self._ends_lock, translate_kafka_errors("reading end offsets", topic=topic):
            if self._closed:
                raise self._not_open()
            ends = self._ends.end_offsets(self._partitions, int(timeout * 1000))
        done = threading.Event()
        with self._lock:
            if self._reader_done:
                raise self._not_open()
            if self._reached(ends):
                return  # the view is current: no need to wake anyone
            self._barriers.append((ends, time.monotonic() + timeout, done))
        done.wait(timeout)
        with self._lock:
            if self._reached(ends):
                return
        if self._closed:
            raise self._not_open()
        raise KafkaOperationError(
            f"the task view did not catch up within read_timeout={timeout}s", topic=topic
        )

    def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        """True when the view holds every record before these offsets (own writes too)."""
        for tp, end in ends.items():
            position = self._positions.get(tp, 0)
            while position < end and (tp.partition, position) in self._applied:
                position += 1
            if position < end:
                return False
        return True

    def _run(self) -> None:
        consumer = self._consumer
        try:
            while not self._stop.is_set():
                try:
                    batches = consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
                except Exception:
                    logger.warning("reading the task topic failed; retrying", exc_info=True)
                    self._stop.wait(0.2)
                    continue
                for record in (r for records in batches.values() for r in records):
                    try:  # one record must never stop the reader
                        task_id, snap = _decode(record.key, record.value)
                    except Exception as exc:
                        where = f"{record.topic}[{record.partition}]@{record.offset}"
                        logger.warning("skipped an undecodable task record at %s: %s", where, exc)
                        continue
                    self._apply(task_id, snap, record.partition, record.offset, record.timestamp)
                self._release(consumer)
        finally:
            with self._lock:  # wake the waiting reads: they fail, as no one will catch up
                self._reader_done = True
                waiting, self._barriers = self._barriers, []
            for _, _, done in waiting:
                done.set()
            try:
                consumer.close(autocommit=False, timeout_ms=1000)
            except Exception:
                logger.warning("closing the task store consumer failed", exc_info=True)

    def _release(self, consumer: KafkaConsumer) -> None:
        """Publish how far the view is, and release the barriers it has reached."""
        try:
            positions = {tp: consumer.position(tp, timeout_ms=100) for tp in self._partitions}
        except Exception:
            logger.warning("reading the task topic positions failed", exc_info=True)
            return
        now = time.monotonic()
        with self._lock:
            self._positions = {tp: p for tp, p in positions.items() if p is not None}
            self._applied = {
                (p, o)
                for p, o in self._applied
                if o >= self._positions.get(TopicPartition(self.config.topic, p), 0)
            }
            reached = [b for b in self._barriers if self._reached(b[0])]
            self._barriers = [b for b in self._barriers if b not in reached and now < b[1]]
        for _, _, done in reached:
            done.set()
