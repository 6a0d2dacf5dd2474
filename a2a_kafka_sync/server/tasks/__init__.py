"""Tasks on the server: where they are stored, and how a handler drives one."""

from .kafka_store import KafkaTaskStore, KafkaTaskStoreConfig
from .sqlite_store import SQLiteTaskStore
from .store import InMemoryTaskStore, TaskStore
from .updater import TaskUpdater, apply_event

__all__ = [
    "InMemoryTaskStore",
    "KafkaTaskStore",
    "KafkaTaskStoreConfig",
    "SQLiteTaskStore",
    "TaskStore",
    "TaskUpdater",
    "apply_event",
]
