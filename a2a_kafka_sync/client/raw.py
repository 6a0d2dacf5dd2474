"""Raw calls: one A2A request by method name and params dict, its raw result(s) back.

For gateways, test harnesses and protocol tools, which hold A2A JSON rather than models:
:meth:`RawCalls.raw_call` (unary) and :meth:`RawCalls.raw_stream` (streaming) take a
method name of either version (v0.3 ``message/send``, v1.0 ``SendMessage``, ...) and its
params as a dict, and give back the JSON-RPC ``result`` of that version as a dict. They
go the one way every call goes (``CallPath``): the same waiters, timeouts, credentials,
extension headers, size check, metrics and trace context.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

from ..errors import ProtocolError
from ..wire import SUCCESS, Reply, resolve_any_method
from .call_path import CallPath
from .credentials import CallCredentials
from .stream import ReplyStream
from .timeouts import USE_CLIENT_DEFAULT, Timeout

__all__ = ["RawCalls", "RawReplyStream", "raw_result"]


def raw_result(reply: Reply) -> Any:
    """The JSON-RPC ``result`` a reply record carries: its ``data`` as the server wrote it
    (a dict; a list for the v0.3 list methods), and None for a v0.3 delete (the record's
    ``{"success": true}``, A2A's ``null`` result)."""
    if reply.type == SUCCESS:
        return None
    try:
        return json.loads(reply.value or b"")["data"]
    except (ValueError, KeyError, TypeError):
        raise ProtocolError(f"a {reply.type} reply without its record's value") from None


class RawReplyStream(Iterator[Any]):
    """The raw results of one streaming raw call, in the order the agent sent them: each a
    dict (v0.3: the Task, Message, ``status-update`` or ``artifact-update`` JSON; v1.0: a
    ``StreamResponse``).

    A :class:`~a2a_kafka_sync.client.ReplyStream` underneath, with its rules: iteration
    ends at the agent's ``stream_complete``, an ``error`` record is raised as its
    A2AError, a wait longer than the timeout for the next result raises
    RequestTimeoutError, and ``close()`` (or leaving a ``with`` block) stops listening.
    Keep-alives are not results: they are skipped.
    """

    def __init__(self, stream: ReplyStream, version: str) -> None:
        self._stream = stream
        self.version = version
        """The A2A version of the call (``"0.3"`` or ``"1.0"``), so of its results."""

    def __iter__(self) -> RawReplyStream:
        return self

    def __next__(self) -> Any:
        return raw_result(self._stream.next_reply())

    @property
    def correlation_id(self) -> str:
        """The correlation id of the request behind this stream."""
        return self._stream.correlation_id

    @property
    def last_sequence(self) -> int | None:
        """The sequence number of the last task event this stream yielded (None before one)."""
        return self._stream.last_sequence

    def close(self) -> None:
        """Stop listening: later results of this stream are dropped when they arrive."""
        self._stream.close()

    def __enter__(self) -> RawReplyStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RawReplyStream {self.correlation_id} {self.version}>"


class RawCalls(CallPath):
    """The raw calls of :class:`~a2a_kafka_sync.client.KafkaClientTransport`."""

    def raw_call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
        extensions: Iterable[str] = (),
    ) -> Any:
        """Send one A2A request as it is and return its raw result.

        Args:
            method: an A2A method name: v0.3 (``message/send``, ``tasks/get``,
                ``tasks/pushNotificationConfig/set``, ``agent/getAuthenticatedExtendedCard``
                ...; or the wire's own ``message_send``, ``task_get`` ...) sends an A2A 0.3
                request, v1.0 (``SendMessage``, ``GetTask``, ``ListTasks``,
                ``CreateTaskPushNotificationConfig``, ``GetExtendedAgentCard`` ...) a 1.0
                one, whatever the client's ``protocol_version``.
            params: the method's params as A2A JSON of that version (v0.3
                ``MessageSendParams``, v1.0 ``SendMessageRequest`` ...); sent as given,
                the agent checks them (-32602). Default ``{}``.
            timeout: seconds to wait for the result (default: the client's ``timeout``;
                None waits for ever).
            credentials: this call's credentials (default: the client's).
            extensions: extension URIs this call uses besides the client's
                ``extensions`` (its ``a2a_extensions`` header: both, each once).

        Returns:
            the JSON-RPC ``result`` of the method in its version, as the agent sent it:
            a dict (v0.3: the Task or Message JSON; v1.0: the response message, e.g. a
            ``SendMessageResponse``), a list for the v0.3 list methods, None for a v0.3
            delete.

        Raises:
            MethodNotFoundError: (-32601) for a name of neither version, before anything
                is sent; TypeError for a streaming method (use :meth:`raw_stream`) or
                params that are not a JSON object.
            A2AError: the agent's error reply, as its class (``code``, ``data``).
            RequestTimeoutError, BrokerUnavailableError, NoAgentError, ...: as every call
                (``docs/errors.md``).
        """
        canonical, streams, version = resolve_any_method(method)
        if streams:
            raise TypeError(f"{method} is a streaming method: use raw_stream()")
        reply = self._call(
            canonical,
            {} if params is None else params,
            timeout,
            credentials,
            version=version,
            extensions=self._call_extensions(extensions),
        )
        return raw_result(reply)

    def raw_stream(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
        extensions: Iterable[str] = (),
    ) -> RawReplyStream:
        """Send one streaming A2A request as it is; iterate over its raw results.

        ``method`` is a streaming method: v0.3 ``message/stream`` or
        ``tasks/resubscribe``, v1.0 ``SendStreamingMessage`` or ``SubscribeToTask``
        (TypeError for another; MethodNotFoundError, -32601, for a name of neither
        version). ``params``, ``timeout`` (for the first result, then between results),
        ``credentials`` and ``extensions`` are those of :meth:`raw_call`. Returns a
        :class:`RawReplyStream` of the JSON-RPC results of that version (v0.3: Task,
        Message and update event JSON; v1.0: ``StreamResponse``); an error reply is
        raised from it as its A2AError.
        """
        canonical, streams, version = resolve_any_method(method)
        if not streams:
            raise TypeError(f"{method} is not a streaming method: use raw_call()")
        stream = self._stream(
            canonical,
            {} if params is None else params,
            timeout,
            credentials,
            version=version,
            extensions=self._call_extensions(extensions),
        )
        return RawReplyStream(stream, version)

    def _call_extensions(self, extensions: Iterable[str]) -> str | None:
        """The ``a2a_extensions`` header of a call that adds ``extensions`` to the client's."""
        if isinstance(extensions, str):
            raise TypeError("extensions must be a list of URIs, not a string")
        uris = dict.fromkeys([*self.config.extensions, *(u.strip() for u in extensions)])
        return ",".join(uri for uri in uris if uri) or None
