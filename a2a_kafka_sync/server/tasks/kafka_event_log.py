"""The task-event log on a Kafka topic, so any instance of an agent can replay a task's events.

A record's key is the task id (UTF-8), so a task's events stay in order on one
partition; its value is UTF-8 JSON::

    {"taskId": "t-1", "sequence": 7, "type": "task_status_update", "data": {...}}

``type`` is the reply type of the event (``task``, ``task_status_update``,
``task_artifact_update``) and ``data`` its A2A v0.3 JSON; ``run_ended`` (no data,
``sequence`` the last of the run) says the handler returned with the turn open.
The topic is created with ``retention.ms``: old events leave it by time.

Each instance reads the topic from its start on one thread and keeps the view
bounded (see :mod:`.event_log`). Writes wait for the broker's acknowledgement
before the event reaches anyone, so every event a caller has seen can be replayed.
Before it numbers the first event of a turn, and before a resubscription reads,
an instance catches up with the topic (the end offsets, asked on a second consumer,
as a barrier for the reader, like :class:`~a2a_kafka_sync.server.tasks.KafkaTaskStore`),
so a turn on another instance continues the numbering of the previous one.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from pydantic import Field, model_validator

from ..._kafka import translate_kafka_errors
from ...config import TopicName, _CommonConfig, check_topic_name, config_from
from ...errors import A2AKafkaError, ClientClosedError
from ...types import Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent
from .event_log import (
    DEFAULT_MAX_EVENTS_PER_TASK,
    DEFAULT_MAX_TASKS,
    LoggedEvent,
    TaskEventLog,
    TaskEventSubscription,
    ends_turn,
)
from .topic_follower import TopicFollower, close_followed_topic, open_followed_topic
from .updater import TaskEvent

__all__ = ["KafkaTaskEventLog", "KafkaTaskEventLogConfig", "event_log_for"]

logger = logging.getLogger(__name__)

_STRIPES = 64
_TYPES: dict[str, type[Any]] = {
    "task": Task,
    "task_status_update": TaskStatusUpdateEvent,
    "task_artifact_update": TaskArtifactUpdateEvent,
}
_RUN_ENDED = "run_ended"


class KafkaTaskEventLogConfig(_CommonConfig):
    """Settings of a :class:`KafkaTaskEventLog`: the common connection settings, and these."""

    topic: TopicName | None = Field(
        default=None,
        description="Topic of the task events, keyed by task id; default "
        "'<request_topic>.task-events'.",
    )
    topic_partitions: int = Field(
        default=1, ge=1, description="Partitions of the event topic when the log creates it."
    )
    retention_ms: int = Field(
        default=7 * 24 * 3600 * 1000,
        ge=1,
        description="retention.ms of the event topic when the log creates it: how long a "
        "task's events can be replayed after a restart of every instance.",
    )
    max_events_per_task: int = Field(
        default=DEFAULT_MAX_EVENTS_PER_TASK,
        ge=1,
        description="Events of a task each instance keeps in memory for replay, the latest.",
    )
    max_tasks: int = Field(
        default=DEFAULT_MAX_TASKS,
        ge=1,
        description="Tasks whose events each instance keeps in memory, those with the "
        "latest events; the others' events are no longer replayable.",
    )
    read_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a write waits for the broker's acknowledgement, and a catch-up "
        "with the topic for the reader, before KafkaOperationError.",
    )

    @property
    def topic_name(self) -> str:
        """The event topic in force."""
        return self.topic or f"{self.request_topic}.task-events"

    @model_validator(mode="after")
    def _default_topic_fits(self) -> KafkaTaskEventLogConfig:
        if self.topic is None:
            try:
                check_topic_name(self.topic_name)
            except ValueError as exc:
                raise ValueError(
                    f"the default task-event topic is no topic name ({exc}): set topic, "
                    "or a shorter request_topic"
                ) from None
        return self


def _encode(task_id: str, sequence: int, kind: str, event: TaskEvent | None) -> bytes:
    data = event.to_wire() if event is not None else None
    value = {"taskId": task_id, "sequence": sequence, "type": kind, "data": data}
    return json.dumps(value, separators=(",", ":")).encode()


def _kind(event: TaskEvent) -> str:
    for kind, model in _TYPES.items():
        if isinstance(event, model):
            return kind
    raise TypeError(f"not a task event: {type(event).__name__}")


class KafkaTaskEventLog(TaskEventLog):
    """Task events on a Kafka topic: a resubscription on any instance replays them.

    :meth:`start` reads the topic from its start before it returns. Pass either
    ``config`` or settings: :class:`KafkaTaskEventLogConfig` fields, and kafka-python
    settings for any other key.
    """

    def __init__(
        self,
        bootstrap_servers: str | list[str] | None = None,
        topic: str | None = None,
        *,
        config: KafkaTaskEventLogConfig | None = None,
        **settings: Any,
    ) -> None:
        explicit = {"bootstrap_servers": bootstrap_servers, "topic": topic}
        self.config: KafkaTaskEventLogConfig = config_from(
            KafkaTaskEventLogConfig, config, explicit, settings
        )
        super().__init__(self.config.max_events_per_task, self.config.max_tasks)
        self._lock = threading.Lock()  # the state below
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]  # one numbering per task
        self._owned: set[str] = set()  # tasks this instance numbers now (a turn in progress)
        self._written: set[tuple[int, int]] = set()  # own records the reader has yet to see
        self._started = self._closed = False
        self._producer: Any = None
        self._reader = TopicFollower(
            self.config, self.config.topic_name, self._apply, name="a2a-kafka-task-events-reader"
        )

    def start(self) -> None:
        """Connect, create the topic if missing, start the reader and catch up. Idempotent."""
        config, topic = self.config, self.config.topic_name
        with self._lock:
            if self._closed:
                raise self._not_open()
            if self._started:
                return
            kept = {"cleanup.policy": "delete", "retention.ms": str(config.retention_ms)}
            self._producer = open_followed_topic(
                config, topic, config.topic_partitions, kept, self._reader
            )
            self._started = True
        try:
            self._reader.catch_up(config.read_timeout)
        except BaseException:
            self.close()
            raise

    def close(self, timeout: float = 5.0) -> None:
        """Wake subscribers, stop the reader (up to ``timeout`` s), close the producer."""
        super().close()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        close_followed_topic(self._reader, self._producer, timeout)

    def append(self, task_id: str, event: TaskEvent) -> int:
        """Number ``event``, write it and wait for the broker, then hand it to subscribers."""
        with self._stripes[hash(task_id) % _STRIPES]:
            if task_id not in self._owned:
                self._catch_up()  # the previous turn may have run on another instance
                self._owned.add(task_id)
            sequence = self._view.last(task_id) + 1
            where = self._write(task_id, sequence, _kind(event), event)
            if not self._view.add(LoggedEvent(task_id, sequence, event)):
                with self._lock:  # the reader kept it first: it will not look for it again
                    self._written.discard(where)
            if ends_turn(event):
                self._owned.discard(task_id)
        return sequence

    def end_run(self, task_id: str) -> None:
        """Wake subscribers, and write a ``run_ended`` record after the task's last event
        (a failed write is logged: followers on other instances then wait until their
        timeout)."""
        with self._stripes[hash(task_id) % _STRIPES]:
            self._owned.discard(task_id)
            sequence = self._view.last(task_id)
            if not sequence:
                return
            self._view.run_ended(task_id, sequence)
            try:
                self._write(task_id, sequence, _RUN_ENDED, None)
            except A2AKafkaError as exc:  # advisory: other instances' followers wait on
                logger.warning("could not write the end of a run of task %s: %s", task_id, exc)

    def subscribe(self, task_id: str, after: int | None = None) -> TaskEventSubscription:
        """Catch up with the topic, then replay and follow (see :class:`TaskEventLog`)."""
        self._catch_up()
        return super().subscribe(task_id, after)

    def last_sequence(self, task_id: str) -> int:
        """The task's last sequence number, after catching up with the topic."""
        self._catch_up()
        return super().last_sequence(task_id)

    def _catch_up(self) -> None:
        if not self._started or self._closed:
            raise self._not_open()
        self._reader.catch_up(self.config.read_timeout)

    def _write(
        self, task_id: str, sequence: int, kind: str, event: TaskEvent | None
    ) -> tuple[int, int]:
        """Write one record and wait for the broker; its (partition, offset)."""
        if self._producer is None or self._closed:
            raise self._not_open()
        topic = self.config.topic_name
        value = _encode(task_id, sequence, kind, event)
        with translate_kafka_errors(f"writing an event of task {task_id!r}", topic=topic):
            future = self._producer.send(topic, key=task_id.encode(), value=value)
            meta = future.get(timeout=self.config.read_timeout)
        where = (meta.partition, meta.offset)
        if kind != _RUN_ENDED:
            with self._lock:
                self._written.add(where)
        return where

    def _not_open(self) -> ClientClosedError:
        why = "closed" if self._closed else "not started: call start() first"
        return ClientClosedError(f"the task-event log is {why}", topic=self.config.topic_name)

    def _apply(self, record: Any) -> None:
        """A record read from the topic (on the reader thread): keep its event."""
        where = (record.partition, record.offset)
        with self._lock:
            if where in self._written:  # this instance's own: append() keeps it
                self._written.discard(where)
                return
        data = json.loads(record.value.decode("utf-8"))
        task_id, sequence, kind = data["taskId"], int(data["sequence"]), data["type"]
        if record.key is not None and record.key.decode("utf-8") != task_id:
            raise ValueError(f"it holds task {task_id!r} under another key")
        if kind == _RUN_ENDED:
            self._view.run_ended(task_id, sequence)
            return
        event = _TYPES[kind].from_wire(data["data"])
        if not self._view.add(LoggedEvent(task_id, sequence, event)):
            # two writers numbered one task at once (a cancel on another instance)
            logger.warning(
                "task %s: a second event numbered %d at %s[%d]@%d was not kept",
                task_id,
                sequence,
                record.topic,
                record.partition,
                record.offset,
            )


def event_log_for(choice: TaskEventLog | str | None, server: _CommonConfig) -> TaskEventLog | None:
    """The event log a server's ``event_log`` argument names: a log as given, ``"memory"``
    (or None: the handler's default), or ``"kafka"``, a :class:`KafkaTaskEventLog` on
    ``'<request_topic>.task-events'`` with the server's connection settings."""
    if choice is None or isinstance(choice, TaskEventLog):
        return choice
    if not isinstance(choice, str):
        what = f"the class {choice.__name__}" if isinstance(choice, type) else type(choice).__name__
        raise TypeError(f"event_log must be a TaskEventLog, 'memory' or 'kafka', not {what}")
    if choice == "memory":
        from .event_log import InMemoryTaskEventLog

        return InMemoryTaskEventLog()
    if choice == "kafka":
        config = KafkaTaskEventLogConfig(
            bootstrap_servers=server.bootstrap_servers,
            request_topic=server.request_topic,
            profile=server.profile,
            kafka=server.kafka,
            connect_timeout=server.connect_timeout,
            create_topics=server.create_topics,
        )
        return KafkaTaskEventLog(config=config)
    raise ValueError(f"event_log must be a TaskEventLog, 'memory' or 'kafka', not {choice!r}")
