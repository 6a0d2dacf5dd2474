"""The task store interface, and the in-memory store every server starts with."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

from ...types import PushNotificationConfig, Task

__all__ = ["InMemoryTaskStore", "TaskStore"]


class TaskStore(ABC):
    """Where a server keeps its tasks and each task's push notification configs.

    Implementations are thread-safe: worker threads call them concurrently.
    ``get`` returns a copy the caller may change freely; ``save`` replaces the
    whole task. A push config without an ``id`` is stored under the task's id
    (A2A's rule for the single-config case). :meth:`start` is called before the
    first use by the server that owns the store, :meth:`close` when it stops.

    A task may have an *owner*, the name of the principal that created it
    (:meth:`set_owner`, before its first save); a task without one is everybody's.
    The owner is kept beside the task, never inside the Task callers see, and goes
    with :meth:`delete`. A store that does not override :meth:`set_owner` cannot be
    used with authentication (the server refuses it at construction).
    """

    shared = False
    """True when other processes write to the same tasks (another server instance may
    cancel a task this one runs): the task updater then re-reads a task before changing it."""

    def start(self) -> None:  # noqa: B027 - optional hook
        """Connect or load (called by the owning server's start)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and threads (called by the owning server's stop)."""

    @abstractmethod
    def save(self, task: Task) -> None:
        """Store ``task``, replacing any earlier version with the same id."""

    @abstractmethod
    def get(self, task_id: str) -> Task | None:
        """The task with this id, or None."""

    @abstractmethod
    def delete(self, task_id: str) -> None:
        """Forget the task and its push configs (no error when absent)."""

    @abstractmethod
    def list_tasks(self, context_id: str | None = None) -> list[Task]:
        """Every task, or those of one context, oldest first."""

    @property
    def records_owners(self) -> bool:
        """True when this store keeps task owners (it overrides :meth:`set_owner`)."""
        return type(self).set_owner is not TaskStore.set_owner

    def set_owner(self, task_id: str, owner: str) -> None:
        """Record ``owner`` (a principal's name) as the owner of ``task_id``."""
        raise NotImplementedError(f"{type(self).__name__} does not record task owners")

    def get_owner(self, task_id: str) -> str | None:
        """The owner of the task, or None (no owner: everybody's; or no such task)."""
        return None

    def list_visible(self, owner: str | None, context_id: str | None = None) -> list[Task]:
        """:meth:`list_tasks`, limited to the tasks of ``owner`` and those without an owner."""
        return [t for t in self.list_tasks(context_id) if self.get_owner(t.id) in (None, owner)]

    @staticmethod
    def with_config_id(task_id: str, config: PushNotificationConfig) -> PushNotificationConfig:
        """A copy of ``config`` with its id set: its own, or the task id (A2A's default)."""
        return config.model_copy(update={"id": config.id or task_id}, deep=True)

    @abstractmethod
    def set_push_config(
        self, task_id: str, config: PushNotificationConfig
    ) -> PushNotificationConfig:
        """Add or replace (by id) a push config of the task; returns it with its id set."""

    @abstractmethod
    def get_push_configs(self, task_id: str) -> list[PushNotificationConfig]:
        """The task's push configs (empty when none)."""

    @abstractmethod
    def delete_push_config(self, task_id: str, config_id: str) -> bool:
        """Remove one push config; False when it did not exist."""


class InMemoryTaskStore(TaskStore):
    """Tasks in a dict: fast, and gone when the process ends. The default."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._push: dict[str, dict[str, PushNotificationConfig]] = {}
        self._owners: dict[str, str] = {}

    def set_owner(self, task_id: str, owner: str) -> None:
        """Record the task's owner."""
        with self._lock:
            self._owners[task_id] = owner

    def get_owner(self, task_id: str) -> str | None:
        """The task's owner, or None."""
        with self._lock:
            return self._owners.get(task_id)

    def list_visible(self, owner: str | None, context_id: str | None = None) -> list[Task]:
        """Copies of the tasks of ``owner`` and of nobody, in the order they were last saved."""
        with self._lock:
            tasks = [
                t
                for t in self._tasks.values()
                if context_id in (None, t.context_id) and self._owners.get(t.id) in (None, owner)
            ]
        return [t.model_copy(deep=True) for t in tasks]

    def save(self, task: Task) -> None:
        """Store ``task`` (a shallow copy: a saved task is not to be changed in place)."""
        with self._lock:
            self._tasks.pop(task.id, None)  # re-insert: dict order is "last saved"
            self._tasks[task.id] = task.model_copy()

    def get(self, task_id: str) -> Task | None:
        """A copy of the task, or None."""
        with self._lock:
            task = self._tasks.get(task_id)
        return task.model_copy(deep=True) if task is not None else None

    def delete(self, task_id: str) -> None:
        """Forget the task and its push configs."""
        with self._lock:
            self._tasks.pop(task_id, None)
            self._push.pop(task_id, None)
            self._owners.pop(task_id, None)

    def list_tasks(self, context_id: str | None = None) -> list[Task]:
        """Copies of the stored tasks, in the order they were last saved."""
        with self._lock:
            tasks = [t for t in self._tasks.values() if context_id in (None, t.context_id)]
        return [t.model_copy(deep=True) for t in tasks]

    def set_push_config(
        self, task_id: str, config: PushNotificationConfig
    ) -> PushNotificationConfig:
        """Store the config under its id (the task id when it has none)."""
        config = self.with_config_id(task_id, config)
        assert config.id is not None
        with self._lock:
            self._push.setdefault(task_id, {})[config.id] = config
        return config

    def get_push_configs(self, task_id: str) -> list[PushNotificationConfig]:
        """The task's push configs."""
        with self._lock:
            return list(self._push.get(task_id, {}).values())

    def delete_push_config(self, task_id: str, config_id: str) -> bool:
        """Remove one push config."""
        with self._lock:
            return self._push.get(task_id, {}).pop(config_id, None) is not None
