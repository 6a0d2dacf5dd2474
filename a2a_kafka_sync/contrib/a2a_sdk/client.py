"""The async face of the blocking client, shared by the a2a-sdk transports of both lines.

a2a-sdk's clients are asyncio code; :class:`KafkaClientTransport` blocks. A
:class:`KafkaBridge` runs each blocking call in a worker thread
(``asyncio.to_thread``), so the event loop never waits on Kafka, and reads a
stream one event per thread hop. This module imports no a2a-sdk code: the
transports of each line (``transport03.py``, ``transport1.py``) stand on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from ...client import KafkaClientTransport
from ...client.raw import RawReplyStream
from ...client.stream import ReplyStream
from ...client.timeouts import USE_CLIENT_DEFAULT, Timeout
from ...discovery import parse_kafka_url
from ...errors import A2AKafkaError
from .convert import sdk_client_error

__all__ = ["KafkaBridge", "call_timeout", "client_for_url"]

_END = object()


def client_for_url(url: str, **settings: Any) -> KafkaClientTransport:
    """A (not yet opened) client for the agent at a ``kafka://`` URL.

    ``settings`` are KafkaClientTransport settings; they win over the URL's
    address, e.g. ``bootstrap_servers`` when the card names an address only
    valid inside a cluster.
    """
    servers, topic = parse_kafka_url(url)
    options: dict[str, Any] = {"bootstrap_servers": servers, "request_topic": topic, **settings}
    return KafkaClientTransport(**options)


def call_timeout(context: Any) -> Timeout:
    """The timeout of one call: an a2a-sdk ``ClientCallContext``'s ``timeout`` (1.x) when set,
    else the client's."""
    timeout = getattr(context, "timeout", None)
    return USE_CLIENT_DEFAULT if timeout is None else float(timeout)


class KafkaBridge:
    """Runs a :class:`KafkaClientTransport`'s blocking calls from asyncio code.

    Every call runs in a thread of the loop's default executor; this library's
    errors come out as a2a-sdk's (:func:`~.convert.sdk_client_error`), raised
    ``from`` the original. The bridge owns the client: :meth:`close` closes it.
    """

    def __init__(self, client: KafkaClientTransport) -> None:
        self.client = client

    async def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in a worker thread; library errors raised as a2a-sdk's."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except A2AKafkaError as exc:
            raise sdk_client_error(exc) from exc

    async def stream(
        self, open_stream: Callable[..., ReplyStream | RawReplyStream], /, *args: Any, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """The events of the stream ``open_stream(*args, **kwargs)`` opens, as they arrive.

        Each event is awaited in a worker thread. Leaving early (``break``, an
        error, the task cancelled) closes the stream, which wakes a thread still
        waiting on it.
        """
        stream = await self.call(open_stream, *args, **kwargs)
        try:
            while True:
                event = await self.call(next, stream, _END)
                if event is _END:
                    return
                yield event
        finally:
            stream.close()  # never blocks: it only takes the waiter out of the registry

    async def close(self) -> None:
        """Close the client (in a worker thread: closing joins the reply reader)."""
        await asyncio.to_thread(self.client.close)
