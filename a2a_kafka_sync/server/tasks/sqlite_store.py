"""A task store in one SQLite file: tasks and push configs survive a restart of the process.

Two tables: ``tasks`` (``id`` primary key, ``context_id``, the task's wire JSON,
and ``saved``, a sequence that grows with every save and gives ``list_tasks``
its "last saved" order), ``push_configs`` (``task_id``, ``config_id``, the
config's wire JSON; listed in the order each id was first stored) and
``task_owners`` (``task_id``, ``owner``: the principal that created it). One
connection is shared by every thread, serialized by a lock; the file is in
WAL mode so other processes can read it while this one writes.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

from ...errors import ClientClosedError
from ...types import PushNotificationConfig, Task
from .store import TaskStore

__all__ = ["SQLiteTaskStore"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    context_id TEXT NOT NULL,
    task_json TEXT NOT NULL,
    saved INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_saved ON tasks (saved);
CREATE INDEX IF NOT EXISTS tasks_by_context ON tasks (context_id, saved);
CREATE TABLE IF NOT EXISTS push_configs (
    task_id TEXT NOT NULL,
    config_id TEXT NOT NULL,
    config_json TEXT NOT NULL,
    PRIMARY KEY (task_id, config_id)
);
CREATE TABLE IF NOT EXISTS task_owners (
    task_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL
);
"""


class SQLiteTaskStore(TaskStore):
    """Tasks and their push configs in an SQLite file (stdlib ``sqlite3``), for one host.

    Durable across restarts and safe to share between threads; several servers
    on other hosts need a shared store instead (see :mod:`.kafka_store`).
    :meth:`start` opens the file and creates the schema (it is also done on first
    use); after :meth:`close` the store raises ClientClosedError.
    """

    shared = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    def start(self) -> None:
        """Open the database file and create the tables when missing. Idempotent."""
        with self._lock:
            self._open()

    def _open(self) -> sqlite3.Connection:
        if self._closed:
            raise ClientClosedError(f"the task store on {self.path} is closed")
        if self._conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA busy_timeout=5000")
                conn.executescript(_SCHEMA)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            logger.debug("task store opened on %s", self.path)
        return self._conn

    def close(self) -> None:
        """Close the connection. Idempotent."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def save(self, task: Task) -> None:
        """Store ``task`` (replacing its earlier version) as the most recently saved."""
        data = task.to_json().decode()
        with self._lock:
            conn = self._open()
            with _transaction(conn):
                conn.execute(
                    "INSERT OR REPLACE INTO tasks (id, context_id, task_json, saved) VALUES "
                    "(?, ?, ?, (SELECT COALESCE(MAX(saved), 0) + 1 FROM tasks))",
                    (task.id, task.context_id, data),
                )

    def get(self, task_id: str) -> Task | None:
        """The task with this id, freshly parsed (a copy), or None."""
        with self._lock:
            row = (
                self._open()
                .execute("SELECT task_json FROM tasks WHERE id = ?", (task_id,))
                .fetchone()
            )
        return Task.model_validate_json(row[0]) if row else None

    def delete(self, task_id: str) -> None:
        """Forget the task and its push configs (no error when absent)."""
        with self._lock:
            conn = self._open()
            with _transaction(conn):
                conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
                conn.execute("DELETE FROM push_configs WHERE task_id = ?", (task_id,))
                conn.execute("DELETE FROM task_owners WHERE task_id = ?", (task_id,))

    def list_tasks(self, context_id: str | None = None) -> list[Task]:
        """Every task, or those of one context, in the order they were last saved."""
        with self._lock:
            conn = self._open()
            if context_id is None:
                rows = conn.execute("SELECT task_json FROM tasks ORDER BY saved").fetchall()
            else:
                rows = conn.execute(
                    "SELECT task_json FROM tasks WHERE context_id = ? ORDER BY saved",
                    (context_id,),
                ).fetchall()
        return [Task.model_validate_json(row[0]) for row in rows]

    def set_owner(self, task_id: str, owner: str) -> None:
        """Record the task's owner (in ``task_owners``: it survives a restart)."""
        with self._lock:
            self._open().execute(
                "INSERT OR REPLACE INTO task_owners (task_id, owner) VALUES (?, ?)",
                (task_id, owner),
            )

    def get_owner(self, task_id: str) -> str | None:
        """The task's owner, or None."""
        with self._lock:
            row = (
                self._open()
                .execute("SELECT owner FROM task_owners WHERE task_id = ?", (task_id,))
                .fetchone()
            )
        return row[0] if row else None

    def list_visible(self, owner: str | None, context_id: str | None = None) -> list[Task]:
        """The tasks of ``owner`` and of nobody (or of one context), in the order last saved."""
        query = (
            "SELECT t.task_json FROM tasks t LEFT JOIN task_owners o ON o.task_id = t.id"
            " WHERE (o.owner IS NULL OR o.owner = ?) AND (? IS NULL OR t.context_id = ?)"
            " ORDER BY t.saved"
        )
        with self._lock:
            rows = self._open().execute(query, (owner, context_id, context_id)).fetchall()
        return [Task.model_validate_json(row[0]) for row in rows]

    def set_push_config(
        self, task_id: str, config: PushNotificationConfig
    ) -> PushNotificationConfig:
        """Store the config under its id (the task id when it has none); returns it with its id."""
        config = self.with_config_id(task_id, config)
        assert config.id is not None
        with self._lock:
            conn = self._open()
            with _transaction(conn):
                conn.execute(
                    "INSERT INTO push_configs (task_id, config_id, config_json) VALUES (?, ?, ?)"
                    " ON CONFLICT (task_id, config_id)"
                    " DO UPDATE SET config_json = excluded.config_json",
                    (task_id, config.id, config.to_json().decode()),
                )
        return config

    def get_push_configs(self, task_id: str) -> list[PushNotificationConfig]:
        """The task's push configs, in the order their ids were first stored."""
        with self._lock:
            rows = (
                self._open()
                .execute(
                    "SELECT config_json FROM push_configs WHERE task_id = ? ORDER BY rowid",
                    (task_id,),
                )
                .fetchall()
            )
        return [PushNotificationConfig.model_validate_json(row[0]) for row in rows]

    def delete_push_config(self, task_id: str, config_id: str) -> bool:
        """Remove one push config; False when it did not exist."""
        with self._lock:
            conn = self._open()
            with _transaction(conn):
                cursor = conn.execute(
                    "DELETE FROM push_configs WHERE task_id = ? AND config_id = ?",
                    (task_id, config_id),
                )
        return cursor.rowcount > 0

    def __repr__(self) -> str:
        return f"<SQLiteTaskStore {self.path!r}>"


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
