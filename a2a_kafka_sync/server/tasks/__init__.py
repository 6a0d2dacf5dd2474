"""Tasks on the server: where they are stored, and how a handler drives one."""

from .event_log import InMemoryTaskEventLog, TaskEventLog
from .kafka_event_log import KafkaTaskEventLog, KafkaTaskEventLogConfig
from .kafka_store import KafkaTaskStore, KafkaTaskStoreConfig
from .sqlite_store import SQLiteTaskStore
from .store import InMemoryTaskStore, TaskStore
from .updater import TaskUpdater, apply_event

__all__ = [
    "InMemoryTaskEventLog",
    "InMemoryTaskStore",
    "KafkaTaskEventLog",
    "KafkaTaskEventLogConfig",
    "KafkaTaskStore",
    "KafkaTaskStoreConfig",
    "SQLiteTaskStore",
    "TaskEventLog",
    "TaskStore",
    "TaskUpdater",
    "apply_event",
]
