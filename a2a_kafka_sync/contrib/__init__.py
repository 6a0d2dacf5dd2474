"""What the web-framework integrations share: one client per process, built from a settings dict.

:mod:`a2a_kafka_sync.contrib.flask` and :mod:`a2a_kafka_sync.contrib.django` stand on
this module, which imports neither framework:

- :func:`client_factory` checks a settings dict (the keyword arguments of
  :class:`~a2a_kafka_sync.client.KafkaClientTransport`) at start-up, and returns
  what builds the client later;
- :class:`ProcessClient` holds the one client of a process: built on first use,
  shared by every thread, rebuilt in a forked child (gunicorn, uWSGI prefork);
- :func:`http_status` and :func:`error_body` turn the library's errors into an
  HTTP status and a JSON body, and :func:`event_stream` turns a stream of agent
  events into Server-Sent Events.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from ..client import KafkaClientTransport, ReplyStream
from ..config import ClientConfig, build_config
from ..errors import (
    A2AError,
    A2AKafkaError,
    AuthenticatedExtendedCardNotConfiguredError,
    BrokerUnavailableError,
    ClientClosedError,
    ConfigurationError,
    ContentTypeNotSupportedError,
    InvalidParamsError,
    KafkaOperationError,
    MethodNotFoundError,
    NoAgentError,
    PendingLimitError,
    ProtocolError,
    PushNotificationNotSupportedError,
    RequestTimeoutError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from ..types import AgentCard

__all__ = [
    "ProcessClient",
    "client_factory",
    "error_body",
    "event_stream",
    "http_status",
]

logger = logging.getLogger(__name__)


# -- settings ----------------------------------------------------------------------------------


def client_factory(settings: Mapping[str, Any]) -> Callable[[], KafkaClientTransport]:
    """Check a settings dict now; return a function that builds a client from it later.

    ``settings`` holds :class:`~a2a_kafka_sync.client.KafkaClientTransport` keyword
    arguments: ``agent_card`` (an AgentCard, or a dict of one), and either ``config``
    (a complete ClientConfig) or any ClientConfig field (``bootstrap_servers``,
    ``request_topic``, ``timeout``, ``profile``...) and kafka-python setting
    (``security_protocol``, ``client_id``...). Building the client connects to
    nothing. Raises ConfigurationError naming each refused setting.
    """
    if not isinstance(settings, Mapping):
        raise ConfigurationError(
            f"the settings must be a dict of KafkaClientTransport arguments, "
            f"not {type(settings).__name__}"
        )
    options = dict(settings)
    card = _agent_card(options.pop("agent_card", None))
    config = options.pop("config", None)
    if config is None:
        config = build_config(ClientConfig, **options)
    elif not isinstance(config, ClientConfig):
        raise ConfigurationError(f"config must be a ClientConfig, not {type(config).__name__}")
    elif options:
        raise ConfigurationError(
            f"pass either config or individual settings, not both (also given: {sorted(options)})"
        )
    return functools.partial(KafkaClientTransport, card, config=config)


def _agent_card(value: Any) -> AgentCard | None:
    if value is None or isinstance(value, AgentCard):
        return value
    if isinstance(value, Mapping):
        try:
            return AgentCard.model_validate(dict(value))
        except ValidationError as exc:
            raise ConfigurationError(f"invalid agent_card: {exc}") from exc
    raise ConfigurationError(
        f"agent_card must be an AgentCard or a dict, not {type(value).__name__}"
    )


# -- the client of this process ----------------------------------------------------------------


def _forget_in_child(ref: weakref.ReferenceType[ProcessClient]) -> None:
    holder = ref()
    if holder is not None:
        holder._after_fork()


class ProcessClient:
    """The one :class:`~a2a_kafka_sync.client.KafkaClientTransport` of this process.

    :meth:`get` builds the client on first use, with ``factory``, and returns that
    same client to every thread afterwards; the client opens on its first call.
    In a forked child (a gunicorn or uWSGI worker, a ``multiprocessing`` child)
    the parent's client is forgotten and the child's first :meth:`get` builds its
    own, with its own connections and reply topic. :meth:`close` closes the client;
    a later :meth:`get` builds a new one. At interpreter exit an open client
    closes itself (its own ``atexit`` hook, bounded to 1 s).

    Args:
        factory: builds the client (see :func:`client_factory`); called at most once
            per process between closes, under a lock.
    """

    def __init__(self, factory: Callable[[], KafkaClientTransport]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._client: KafkaClientTransport | None = None
        os.register_at_fork(after_in_child=functools.partial(_forget_in_child, weakref.ref(self)))

    def _after_fork(self) -> None:
        """In a forked child: the parent's lock state and client are not ours."""
        self._lock = threading.Lock()
        self._client = None

    def get(self) -> KafkaClientTransport:
        """This process's client, built on the first call (thread-safe)."""
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                self._client = self._factory()
                logger.debug("built the process client (pid %d): %r", os.getpid(), self._client)
            return self._client

    @property
    def current(self) -> KafkaClientTransport | None:
        """The client if one was built (and not closed since), without building one."""
        return self._client

    def close(self, timeout: float = 5.0) -> None:
        """Close the client, if one was built, and forget it. Idempotent.

        Calls still waiting on it fail with ClientClosedError. ``timeout`` bounds
        the close (see :meth:`KafkaClientTransport.close
        <a2a_kafka_sync.client.KafkaClientTransport.close>`).
        """
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close(timeout)

    def __repr__(self) -> str:
        return f"<ProcessClient {self._client!r}>"


# -- errors as HTTP responses ------------------------------------------------------------------

# Checked in order: the first class the error is an instance of gives the status.
_STATUSES: tuple[tuple[type[A2AKafkaError], int], ...] = (
    (InvalidParamsError, 400),
    (TaskNotFoundError, 404),
    (TaskNotCancelableError, 409),
    (ContentTypeNotSupportedError, 415),
    (MethodNotFoundError, 501),
    (UnsupportedOperationError, 501),
    (PushNotificationNotSupportedError, 501),
    (AuthenticatedExtendedCardNotConfiguredError, 501),
    (A2AError, 502),
    (ProtocolError, 502),
    (RequestTimeoutError, 504),
    (BrokerUnavailableError, 503),
    (NoAgentError, 503),
    (KafkaOperationError, 503),
    (ClientClosedError, 503),
    (PendingLimitError, 503),
)

_EXPLANATIONS = {
    502: "the agent failed to answer",
    503: "the agent cannot be reached right now",
    504: "the agent did not answer in time",
}


def http_status(error: BaseException) -> int:
    """The HTTP status a web view should answer with when an A2A call raised ``error``.

    The agent is the web application's upstream: what the agent refuses because of
    the request's content is a 4xx (InvalidParamsError 400, TaskNotFoundError 404,
    TaskNotCancelableError 409, ContentTypeNotSupportedError 415), what it does not
    implement is 501, any other agent error or an unreadable reply is 502, Kafka
    trouble (no broker, a failed send, a closed or saturated client) and no agent
    serving the request topic (NoAgentError) are 503, a timeout is 504, and anything
    else (ConfigurationError included) is 500.
    """
    for error_class, status in _STATUSES:
        if isinstance(error, error_class):
            return status
    return 500


def error_body(error: BaseException) -> dict[str, Any]:
    """A JSON-ready body describing ``error`` for an HTTP response.

    ``{"error": {"type": ..., "message": ..., "code": ...}}``: ``code`` is the A2A
    code of an A2AError (else None). The agent's own message is shown only for a
    4xx status (the caller can act on it); for a 5xx the message is a generic one,
    so that an agent's internal error text (InternalError carries the exception's
    text) does not reach a browser. The error itself is for your logs.
    """
    status = http_status(error)
    if status < 500:
        message = error.message if isinstance(error, A2AKafkaError) else str(error)
    else:
        message = _EXPLANATIONS.get(status, "internal error")
    code = error.code if isinstance(error, A2AError) else None
    return {"error": {"type": type(error).__name__, "message": message, "code": code}}


# -- streams as Server-Sent Events -------------------------------------------------------------


def event_stream(stream: ReplyStream) -> Iterator[str]:
    """The events of ``stream`` as Server-Sent Events, for a streaming HTTP response.

    Each agent event becomes ``event: <kind>`` (``message``, ``task``,
    ``status-update``, ``artifact-update``) and ``data: <the event's A2A JSON>``.
    An error raised part-way (the agent's A2AError, a timeout) ends the stream with
    one ``event: error`` whose data is :func:`error_body`, since the HTTP status
    has already been sent. The stream is closed when the iterator ends or is
    closed (the server does that when the HTTP client goes away).
    """
    try:
        with stream:
            for event in stream:
                yield f"event: {event.kind}\ndata: {event.to_json().decode()}\n\n"
    except A2AKafkaError as exc:
        logger.warning("a streamed A2A call failed part-way: %s", exc)
        yield f"event: error\ndata: {json.dumps(error_body(exc))}\n\n"
