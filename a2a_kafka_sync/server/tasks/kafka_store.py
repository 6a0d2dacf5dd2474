"""A task store on a compacted Kafka topic, shared by every server instance of an agent.

A record's key is the task id (UTF-8); its value is the id's whole state, UTF-8 JSON::

    {"task": {...},                     the A2A Task (camelCase); absent when only configs exist
     "pushNotificationConfigs": [...],  the task's push configs, each with its "id"
     "change": "save",                  "save": the task was (re)saved; "push": only its configs
                                        changed (the task keeps its place in list_tasks)
     "owner": "alice"}                  the principal that created the task; absent: nobody's

A null value (tombstone) deletes the task and its configs. Each instance reads the
topic from its start on one thread (a ``TopicFollower``) and keeps the latest value per
key itself (the embedded broker never compacts). Writes wait for the broker's
acknowledgement, and the writer applies its own record at once. Reads (and the
read-modify-writes) first catch up with the topic: its end offsets become a barrier
the reader releases once it has read that far (the writer's own records count as
read), so a read sees every write acknowledged before it began, by any instance.
When two instances change one task at the same moment, the later record wins whole.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from kafka import KafkaProducer
from pydantic import Field

from ..._kafka import translate_kafka_errors
from ...config import TopicName, _CommonConfig, config_from
from ...errors import ClientClosedError
from ...types import PushNotificationConfig, Task
from .store import TaskStore
from .topic_follower import TopicFollower, close_followed_topic, open_followed_topic

__all__ = ["KafkaTaskStore", "KafkaTaskStoreConfig"]

_STRIPES = 64
# task, configs, saved, owner
_Snapshot = tuple[Task | None, list[PushNotificationConfig], bool, str | None]


class KafkaTaskStoreConfig(_CommonConfig):
    """Settings of a :class:`KafkaTaskStore`: the common connection settings, and these."""

    topic: TopicName = Field(
        default="a2a-tasks", description="Compacted topic of the task snapshots."
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
        self._lock = threading.Lock()  # the view and the state below
        self._tasks: dict[str, Task] = {}
        self._order: dict[str, tuple[int, int, int]] = {}  # task id -> where it was last saved
        self._push: dict[str, dict[str, PushNotificationConfig]] = {}
        self._owners: dict[str, str] = {}  # task id -> owner, carried by every record
        self._offsets: dict[str, int] = {}  # task id -> offset of the record its state is from
        self._started = self._closed = False
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]  # one writer per task id
        self._producer: KafkaProducer | None = None
        self._reader = TopicFollower(
            self.config, self.config.topic, self._read, name="a2a-kafka-task-store-reader"
        )

    def start(self) -> None:
        """Connect, create the topic if missing, start the reader and load the view. Idempotent."""
        config = self.config
        with self._lock:
            if self._closed:
                raise self._not_open()
            if self._started:
                return
            compact = {"cleanup.policy": "compact"}
            self._producer = open_followed_topic(
                config, config.topic, config.topic_partitions, compact, self._reader
            )
            self._started = True
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
        close_followed_topic(self._reader, self._producer, timeout)

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
        self._reader.count_as_read(meta.partition, meta.offset)  # after the view has it

    def _not_open(self) -> ClientClosedError:
        why = "closed" if self._closed else "not started: call start() first"
        return ClientClosedError(f"the task store is {why}", topic=self.config.topic)

    def _apply(self, task_id: str, snap: _Snapshot | None, part: int, offset: int, ts: int) -> None:
        """Make ``snap`` the state of ``task_id``, unless a later record already did."""
        with self._lock:
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
                    multi = len(self._reader.partitions) > 1
                    self._order[task_id] = (ts, part, offset) if multi else (0, 0, offset)
                self._tasks[task_id] = task
            if configs:
                self._push[task_id] = {c.id or task_id: c for c in configs}
            else:
                self._push.pop(task_id, None)

    def _read(self, record: Any) -> None:
        """A record read from the topic (on the reader thread): apply it to the view."""
        task_id, snap = _decode(record.key, record.value)
        self._apply(task_id, snap, record.partition, record.offset, record.timestamp)

    def _catch_up(self) -> None:
        """Block until the view holds every record that existed when this was called."""
        if not self._started or self._closed:
            raise self._not_open()
        try:
            self._reader.catch_up(self.config.read_timeout)
        except ClientClosedError:
            raise self._not_open() from None
