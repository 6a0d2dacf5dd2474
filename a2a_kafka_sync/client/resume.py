"""Auto-resume of a task's stream: after a break, resubscribe after the last sequence seen.

A *break* is a failure after which the task's events may still be coming, just not on
this stream:

- :class:`~a2a_kafka_sync.errors.RequestTimeoutError`: no record within the timeout
  (the serving instance died, or is slow, or the task is quiet);
- an :class:`~a2a_kafka_sync.errors.InternalError` whose ``data["reason"]`` is
  ``"server_stopping"``: the instance serving a resubscription stops; or
  ``"no_progress"``: the task sent no event for the server's ``resubscribe_idle_timeout``;
- :class:`~a2a_kafka_sync.errors.KafkaOperationError`: sending the resubscription failed;
- :class:`~a2a_kafka_sync.errors.StreamGapError`: the next event is numbered past the one
  after the last seen (the request was run again after its server died, and the dead run's
  last events never reached this stream): the resubscription replays them.

Anything else (the agent's own errors, a closed client or stream, events no longer
kept: InvalidParamsError) ends the stream as without resuming. A stream resumes only
once it has seen a task event with a sequence number (it knows the task and where it
stopped), at most ``attempts`` times in a row without an event in between, waiting
0.1 s, 0.2 s, 0.4 s ... (at most 2 s) before each try (tenacity).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from ..errors import (
    BrokerUnavailableError,
    InternalError,
    KafkaAuthenticationError,
    KafkaOperationError,
    RequestTimeoutError,
    StreamGapError,
)

if TYPE_CHECKING:
    from .stream import ReplyStream

__all__ = ["DEFAULT_RESUME_ATTEMPTS", "Resumer", "is_break"]

logger = logging.getLogger(__name__)

DEFAULT_RESUME_ATTEMPTS = 3
"""How many times in a row a stream resumes (with no event in between) before it gives up."""

_SERVER_STOPPING = "server_stopping"  # the server's reason; see a2a_kafka_sync.server.resume
_NO_PROGRESS = "no_progress"  # the task sent nothing for the server's resubscribe_idle_timeout


def is_break(error: BaseException) -> bool:
    """True when ``error`` broke a stream whose task may still be sending events."""
    if isinstance(error, KafkaAuthenticationError):
        return False  # refused credentials: no retry cures that
    if isinstance(error, (RequestTimeoutError, KafkaOperationError, BrokerUnavailableError)):
        return True  # BrokerUnavailableError: a request not delivered while a leader moved
    if isinstance(error, StreamGapError):
        return True  # events that never reached the stream: the resubscription replays them
    data = getattr(error, "data", None)
    return (
        isinstance(error, InternalError)
        and isinstance(data, dict)
        and data.get("reason") in (_SERVER_STOPPING, _NO_PROGRESS)
    )


@dataclass(frozen=True)
class Resumer:
    """How a :class:`~a2a_kafka_sync.client.ReplyStream` resumes: ``reopen(task_id, after)``
    starts the resubscription, at most ``attempts`` times in a row."""

    reopen: Callable[[str, int], ReplyStream]
    attempts: int = DEFAULT_RESUME_ATTEMPTS

    def next(self, stream: ReplyStream, read: Callable[[], Any]) -> Any:
        """The next item ``read()`` gives for ``stream``, resuming the stream after breaks."""

        def resumable(error: BaseException) -> bool:
            return (
                is_break(error) and stream.task_id is not None and stream.last_sequence is not None
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts + 1),
            wait=wait_exponential(multiplier=0.1, max=2.0),
            retry=retry_if_exception(resumable),
            reraise=True,
            before_sleep=lambda state: logger.info(
                "stream %s broke (%s): resuming task %s after sequence %s",
                stream.correlation_id,
                state.outcome.exception() if state.outcome else None,
                stream.task_id,
                stream.last_sequence,
            ),
        )
        for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    assert stream.task_id is not None and stream.last_sequence is not None
                    stream._take_over(self.reopen(stream.task_id, stream.last_sequence))
                return read()
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover
