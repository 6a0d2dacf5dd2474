"""Tasks on the server: where they are stored, and how a handler drives one."""

from .store import InMemoryTaskStore, TaskStore

__all__ = ["InMemoryTaskStore", "TaskStore"]
