"""``ArtifactChunks``: a generator's streamed text as one artifact of its task, chunk by chunk.

A2A streams are one Message, or a Task followed by its status and artifact updates: a
client rejects a second Message. So in a stream, each ``str`` or ``Message`` a generator
agent yields becomes the next chunk of one artifact of the request's task:

- the first chunk makes the task (``Task`` submitted, then status ``working``; a task the
  message continues goes back to ``working``) unless the agent set the task's status
  itself, and has ``append=false``; later chunks ``append=true``; every
  chunk ``lastChunk=false``;
- when the generator returns, :meth:`close` sends a closing chunk, ``append=true,
  lastChunk=true``, with one empty text part (A2A 1.0 wants at least one part; holding
  every chunk back until the next one comes, to mark the last one, would delay each chunk
  by the agent's own pace), then completes the task unless the agent set its status itself;
- :meth:`fail` marks the task ``failed`` when the generator raised.
"""

from __future__ import annotations

import hashlib

from ...types import (
    Artifact,
    Message,
    Part,
    TaskArtifactUpdateEvent,
    TaskState,
    TextPart,
    new_id,
)
from .updater import TaskUpdater

__all__ = ["ArtifactChunks"]


class ArtifactChunks:
    """The one artifact the text a generator streams goes into (see the module docstring).

    Args:
        updater: the request's task.
    """

    def __init__(self, updater: TaskUpdater) -> None:
        self._updater = updater
        self._artifact_id: str | None = None
        self._own_status_updates = 0
        self.agent_controls = False
        """Set when the agent yielded a Task or a status update of its own: its task's status
        is then its own, and :meth:`close` does not complete it."""

    @staticmethod
    def takes(item: object) -> bool:
        """True for what becomes a chunk: a ``str`` or a ``Message``."""
        return isinstance(item, (str, Message))

    def add(self, item: str | Message) -> None:
        """Send ``item``'s content as the artifact's next chunk (the task made first if need be)."""
        parts: list[Part] = [TextPart(text=item)] if isinstance(item, str) else list(item.parts)
        if not parts:
            return
        updater = self._updater
        first = self._artifact_id is None
        # A new task: the Task (submitted), then working; a continued one (input-required
        # until this message came, say): working again.
        if (
            first
            and not self.agent_set_status
            and (not updater.touched or updater.state is not TaskState.working)
        ):
            before = updater.status_updates
            updater.start_work()
            self._own_status_updates += updater.status_updates - before
        if self._artifact_id is None:
            self._artifact_id = self._artifact_id_of(updater)
        self._chunk(parts, append=not first, last=False)

    def _chunk(self, parts: list[Part], *, append: bool, last: bool) -> None:
        updater = self._updater
        assert self._artifact_id is not None
        updater.record(
            TaskArtifactUpdateEvent(
                task_id=updater.task_id,
                context_id=updater.context_id,
                artifact=Artifact(artifact_id=self._artifact_id, parts=parts),
                append=append,
                last_chunk=last,
            )
        )

    @property
    def agent_set_status(self) -> bool:
        """True when the agent changed the task's status itself (context.task, its own events)."""
        return self._updater.status_updates > self._own_status_updates

    @staticmethod
    def _artifact_id_of(updater: TaskUpdater) -> str:
        """The artifact's id, from the task and the turn's message: a request run again
        after its instance died writes the same artifact, its first chunk (append false)
        replacing what the dead run had streamed, instead of adding a second artifact."""
        request = updater.request
        if request is None:
            return new_id()
        seed = f"{updater.task_id}\x1f{request.message_id}"
        return hashlib.sha256(seed.encode()).hexdigest()[:32]

    def close(self) -> None:
        """The generator returned: close the artifact, then complete the task unless the
        agent ended its turn or took control of its status (:attr:`agent_controls`).

        ``context.task.start_work()`` alone does not take control: a generator that marks
        its task working first (for the keep-alive of a quiet start, say) is completed when
        it returns, like any other."""
        updater = self._updater
        if updater.turn_ended:
            return
        if self._artifact_id is not None:
            self._chunk([TextPart(text="")], append=True, last=True)
        if self._artifact_id is not None and not self.agent_controls:
            updater.complete()

    def fail(self, error: BaseException) -> None:
        """The generator raised ``error``: the task (if there is one) fails, final.

        The status message is what the caller is told anyway: an A2AError's message, or,
        for any other exception, only its class (its message may hold secrets).
        """
        self._updater.fail_for(error)
