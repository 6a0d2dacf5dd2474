"""``UnaryAnswer``: the one answer of a unary request, given early or when its handler returns."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kafka.future import Future

from ..errors import A2AError
from ..wire import Request, RequestHeaders, encode_reply
from .replies import Abandoned, ReplySender
from .watchdog import ActiveCall

__all__ = ["UnaryAnswer"]


class UnaryAnswer:
    """A unary request's answer, sent once: early, through ``context.respond`` (a non-blocking
    ``message_send`` answers as soon as its task exists, its agent running on), or with what
    the handler returns.

    Args:
        replies: where replies are produced.
        request: the request answered.
        sent: the futures of the request's replies (the answer's joins them).
        as_error: the error a caller is told for an exception (the dispatcher's).
    """

    def __init__(
        self,
        replies: ReplySender,
        request: Request,
        sent: list[Future],
        as_error: Callable[[Exception, RequestHeaders], A2AError],
    ) -> None:
        self._replies = replies
        self._request = request
        self._as_error = as_error
        self.sent = sent
        self.call: ActiveCall | None = None
        """The watchdog's timing of the handler, once it has one (its answer stops there)."""
        self._given = False
        self._lock = threading.Lock()

    @property
    def given(self) -> bool:
        """True once the answer was sent (waits for one being sent)."""
        with self._lock:
            return self._given

    def give(self, result: Any) -> None:
        """Send ``result`` as the answer, unless one was given already; raises as
        :meth:`ReplySender.send` does (Abandoned once the watchdog answered)."""
        request = self._request
        with self._lock:
            if self._given:
                return
            reply = encode_reply(result, method=request.method.name, version=request.version)
            self._replies.send(request.headers, reply, self.sent, call=self.call)
            self._given = True

    def respond(self, result: Any) -> None:
        """``context.respond``: :meth:`give`, never raising into the handler. An answer that
        cannot be sent is replaced by its error; once the watchdog answered, nothing is sent."""
        try:
            self.give(result)
        except Abandoned:
            pass
        except Exception as exc:
            headers = self._request.headers
            error = self._as_error(exc, headers)
            with self._lock:
                if not self._given:
                    method = self._request.method.name
                    self._replies.send_error(headers, error, self.sent, method)
                    self._given = True
