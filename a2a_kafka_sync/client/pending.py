"""A call sent without waiting: what ``submit()`` returns, read later with ``result()``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..errors import ClientClosedError
from ..types import Message, Task
from .correlation import Waiter
from .timeouts import USE_CLIENT_DEFAULT, Timeout

if TYPE_CHECKING:
    from .transport import KafkaClientTransport

__all__ = ["PendingCall"]


class PendingCall:
    """A ``message_send`` on its way: the request has left, the reply is awaited later.

    Lets one thread have many calls in flight (a fan-out, a batch job) without a
    thread per call; like ``concurrent.futures.Future`` without callbacks. Read
    the answer with :meth:`result`, or stop waiting with :meth:`cancel`.
    """

    __slots__ = ("_client", "_deadline", "_timeout", "_waiter")

    def __init__(
        self,
        client: KafkaClientTransport,
        waiter: Waiter,
        timeout: float | None,
        deadline: float | None,
    ) -> None:
        self._client = client
        self._waiter = waiter
        self._timeout = timeout
        self._deadline = deadline  # time.monotonic(), set when the call began

    @property
    def correlation_id(self) -> str:
        """The correlation id of the request."""
        return self._waiter.correlation_id

    def done(self) -> bool:
        """True once the reply (or an error) has arrived: :meth:`result` will not block."""
        return self._waiter.done()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the answer (or an error) is in, at most ``timeout`` s; True once it is.

        Unlike :meth:`result` it neither raises nor ends the call, so a caller can
        wait in slices and do something else in between.
        """
        return self._waiter.wait_done(timeout)

    def result(self, timeout: Timeout = USE_CLIENT_DEFAULT) -> Message | Task:
        """The agent's Message or Task; blocks until it arrives.

        By default waits until the call's own timeout (given to ``submit``) runs
        out; ``timeout`` seconds instead, or None for no limit. Raises what
        ``send_message`` raises: RequestTimeoutError, the agent's A2AError, ...
        """
        if timeout is USE_CLIENT_DEFAULT:
            seconds, deadline = self._timeout, self._deadline
        else:
            seconds = timeout
            deadline = None if timeout is None else time.monotonic() + timeout
        reply = self._client._await(self._waiter, seconds, deadline)
        return self._client._message_or_task(reply)

    def cancel(self) -> bool:
        """Stop waiting: a later reply is dropped and :meth:`result` raises ClientClosedError.

        False when the answer had already arrived (it stays readable). The request
        itself has left: the agent may still act on it (``cancel_task`` asks it to stop).
        """
        error = ClientClosedError("the call was cancelled", correlation_id=self.correlation_id)
        return self._client._registry.fail(self.correlation_id, error)

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"<PendingCall {self.correlation_id} {state}>"
